import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "./canonical.js";
import { LlemError } from "./errors.js";

describe("canonicalJson", () => {
  it("sorts keys at every depth and drops whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });

  it("writes numbers in shortest round-trip form and folds -0 into 0", () => {
    expect(canonicalJson([1, 1.0, 0.1, -0, 1e21, 1.5e-7, 2 ** 53])).toBe(
      "[1,1,0.1,0,1e+21,1.5e-7,9007199254740992]",
    );
  });

  it("keeps 0, false, null and the empty string apart", () => {
    const forms = [0, false, null, ""].map((value) => canonicalJson({ v: value }));
    expect(new Set(forms).size).toBe(4);
  });

  it("escapes strings as JSON and keeps non-ASCII as UTF-8", () => {
    expect(canonicalJson('é"\n\u0001')).toBe('"é\\"\\n\\u0001"');
  });

  it("omits undefined properties, as JSON does", () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
  });

  it.each([
    ["NaN", { x: Number.NaN }, "$.x"],
    ["Infinity", { x: [Number.POSITIVE_INFINITY] }, "$.x[0]"],
    ["-Infinity", Number.NEGATIVE_INFINITY, "$"],
    ["a bigint", { x: 1n }, "$.x"],
    ["undefined in an array", [1, undefined], "$[1]"],
    ["a Date", { when: new Date(0) }, "$.when"],
  ])("rejects %s with CANONICAL_JSON_INVALID naming the path", (_label, value, path) => {
    try {
      canonicalJson(value);
      expect.unreachable("should have thrown");
    } catch (error) {
      expect(LlemError.hasCode(error, "CANONICAL_JSON_INVALID")).toBe(true);
      expect((error as LlemError).message.startsWith(`${path}:`)).toBe(true);
    }
  });

  it("hashes to the vector computed independently with Python's hashlib", () => {
    const text = canonicalJson({ b: [1, 0.1, -0, 1e21, "é\n"], a: { d: null, c: true } });
    expect(text).toBe('{"a":{"c":true,"d":null},"b":[1,0.1,0,1e+21,"é\\n"]}');
    expect(sha256Hex(text)).toBe(
      "0a68f8ad3e4d838e121e17f5da1339a665f6fd7cf18d573d901d760b9006407b",
    );
  });
});
