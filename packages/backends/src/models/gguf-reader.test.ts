import { execFileSync } from "node:child_process";
import { readFileSync, truncateSync, writeFileSync } from "node:fs";
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

describe("readGgufHeader on hostile files", () => {
  it("refuses a FIFO named as a model at once (opening it would wait for a writer)", async () => {
    const fifo = join(await tempDir(), "model.gguf");
    execFileSync("mkfifo", [fifo]);
    expect(() => readGgufHeader(fifo)).toThrow(
      `model file ${fifo} is a FIFO (named pipe), not a regular file`,
    );
  });

  it("refuses a header string longer than 16 MiB instead of allocating it", async () => {
    const file = join(await tempDir(), "long-string.gguf");
    const key = Buffer.from("general.name");
    const header = Buffer.alloc(4 + 4 + 8 + 8 + 8 + key.length + 4 + 8);
    let at = header.write("GGUF", 0, "latin1");
    at = header.writeUInt32LE(3, at);
    at = header.writeBigUInt64LE(0n, at); // tensors
    at = header.writeBigUInt64LE(1n, at); // metadata entries
    at = header.writeBigUInt64LE(BigInt(key.length), at);
    at += key.copy(header, at);
    at = header.writeUInt32LE(8, at); // string
    header.writeBigUInt64LE(BigInt(32 << 20), at);
    writeFileSync(file, header);
    truncateSync(file, 40 << 20); // sparse: the string's bytes are there, as zeros
    expect(() => readGgufHeader(file)).toThrow(/string of 33554432 bytes .* over the 16 MiB limit/);
  });
});
