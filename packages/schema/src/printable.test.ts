import { describe, expect, it } from "vitest";
import { printable, printableMessage } from "./printable.js";

describe("printable", () => {
  it("leaves ordinary text, Unicode included, alone", () => {
    expect(printable("llamacpp / synthetic:tiny / batch=4 — µ ✓")).toBe(
      "llamacpp / synthetic:tiny / batch=4 — µ ✓",
    );
  });

  it("escapes C0 controls, DEL and C1 controls as JavaScript writes them", () => {
    expect(printable("a\u001b[2Jb")).toBe("a\\x1b[2Jb");
    expect(printable("x\ty\nz\u0000")).toBe("x\\ty\\nz\\x00");
    expect(printable("\u007f\u0085\u009f")).toBe("\\x7f\\x85\\x9f");
  });

  it("keeps a message's line breaks and escapes the rest", () => {
    expect(printableMessage("a\nb\u0007")).toBe("a\nb\\x07");
  });
});
