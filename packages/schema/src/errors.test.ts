import { describe, expect, it } from "vitest";
import { LlemError } from "./errors.js";

describe("LlemError", () => {
  it("carries a stable code, a cause and details", () => {
    const cause = new Error("disk full");
    const error = new LlemError("MANIFEST_WRITE_FAILED", "could not write", {
      cause,
      details: { file: "m.json" },
    });
    expect(error.code).toBe("MANIFEST_WRITE_FAILED");
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ file: "m.json" });
    expect(error.name).toBe("LlemError");
  });

  it("recognises instances from another copy of the package, and nothing else", () => {
    const foreign = Object.assign(new Error("x"), {
      [Symbol.for("@llem/error")]: true,
      code: "USAGE",
    });
    expect(LlemError.isInstance(foreign)).toBe(true);
    expect(LlemError.isInstance(new Error("x"))).toBe(false);
    expect(LlemError.isInstance(null)).toBe(false);
    expect(LlemError.hasCode(new LlemError("USAGE", "u"), "USAGE", "INTERNAL")).toBe(true);
    expect(LlemError.hasCode(new LlemError("USAGE", "u"), "INTERNAL")).toBe(false);
  });

  it("names subclasses after themselves", () => {
    class ManifestLockedError extends LlemError {}
    expect(new ManifestLockedError("MANIFEST_LOCKED", "held").name).toBe("ManifestLockedError");
  });
});

describe("LlemError as built (dist/, what other packages and users load)", () => {
  it("keeps its class names through bundling and shows the code in the stack", async () => {
    const built = (await import("../dist/index.js")) as unknown as typeof import("./index.js");
    const error = new built.LlemError("CONFIG_INVALID", "bad");
    expect(error.name).toBe("LlemError");
    expect(error.stack?.split("\n")[0]).toBe("LlemError [CONFIG_INVALID]: bad");
    const invalid = new built.ConfigValidationError("study", [{ path: "a", message: "b" }]);
    expect(invalid.name).toBe("ConfigValidationError");
    expect(invalid.stack?.split("\n")[0]).toMatch(/^ConfigValidationError \[CONFIG_INVALID\]: /);
    expect(String(invalid)).toMatch(/^ConfigValidationError: study has 1 problem/);
  });
});
