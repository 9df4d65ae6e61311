import { describe, expect, it } from "vitest";
import { printable } from "./printable.js";

describe("printable", () => {
  it("keeps ordinary text, including non-ASCII, unchanged", () => {
    expect(printable("llamacpp / synthetic:tiny / batch=4 — µ ✓")).toBe(
      "llamacpp / synthetic:tiny / batch=4 — µ ✓",
    );
  });
  it("shows C0 controls as control pictures, C1 controls and DEL as U+FFFD", () => {
    expect(printable("a\u001b[2Jb")).toBe("a␛[2Jb");
    expect(printable("x\ty\nz\u0000")).toBe("x␉y␊z␀");
    expect(printable("\u007f\u0085\u009f")).toBe("\uFFFD\uFFFD\uFFFD");
  });
  it("leaves HTML alone (escaping markup is the caller's job)", () => {
    expect(printable("<script>")).toBe("<script>");
  });
});
