import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { readGgufHeader } from "./gguf-reader.js";
import { ensureSyntheticModel } from "./synthetic.js";

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return LlemError.isInstance(error) ? error.code : "not an LlemError";
  }
  return undefined;
}

describe("readGgufHeader", () => {
  it("reads metadata and tensors of every weight type llem writes", async () => {
    const cache = await tempDir();
    for (const dtype of ["f32", "f16", "q8_0", "q4_0"]) {
      const { path } = ensureSyntheticModel(
        `synthetic:layers=1,width=64,vocab=300,dtype=${dtype}`,
        cache,
      );
      const header = readGgufHeader(path);
      expect(header.version).toBe(3);
      expect(header.metadata.get("llama.block_count")).toBe(1);
      expect(header.metadata.get("tokenizer.ggml.tokens")).toEqual({
        arrayItemType: 8,
        length: 300,
      });
      expect(header.weightType).toBe(dtype);
      expect(header.tensors.map((tensor) => tensor.name)).toContain("blk.0.ffn_down.weight");
    }
  });

  it("reports a missing file as MODEL_NOT_FOUND", async () => {
    const dir = await tempDir();
    expect(codeOf(() => readGgufHeader(join(dir, "absent.gguf")))).toBe("MODEL_NOT_FOUND");
  });

  it("reports wrong magic, truncation and a directory as MODEL_INVALID naming the file", async () => {
    const dir = await tempDir();
    const garbage = join(dir, "garbage.gguf");
    writeFileSync(garbage, "this is not a model file at all, just text");
    expect(codeOf(() => readGgufHeader(garbage))).toBe("MODEL_INVALID");
    expect(() => readGgufHeader(garbage)).toThrow(
      `${garbage} is not a valid GGUF file: wrong magic`,
    );

    const { path } = ensureSyntheticModel("synthetic:tiny", dir);
    const bytes = readFileSync(path);
    const truncated = join(dir, "truncated.gguf");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 1000));
    expect(() => readGgufHeader(truncated)).toThrow(/truncated/);
    const headerOnly = join(dir, "header-only.gguf");
    writeFileSync(headerOnly, bytes.subarray(0, 2000));
    expect(codeOf(() => readGgufHeader(headerOnly))).toBe("MODEL_INVALID");

    expect(codeOf(() => readGgufHeader(dir))).toBe("MODEL_INVALID");
  });
});
