import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { readGgufHeader } from "./gguf-reader.js";
import {
  ensureSyntheticModel,
  parseSyntheticSpec,
  SYNTHETIC_PRESETS,
  syntheticParameterCount,
} from "./synthetic.js";

const sha256 = (path: string): string =>
  createHash("sha256").update(readFileSync(path)).digest("hex");

describe("synthetic model specs", () => {
  it("parses presets, overrides and the parameterised form", () => {
    expect(parseSyntheticSpec("synthetic:tiny")).toMatchObject({
      layers: 2,
      width: 128,
      vocab: 512,
      dtype: "f16",
    });
    expect(parseSyntheticSpec("synthetic:medium,dtype=q8_0")).toMatchObject({
      layers: 8,
      width: 512,
      dtype: "q8_0",
    });
    expect(parseSyntheticSpec("synthetic:layers=4,width=256,vocab=512,dtype=f32")).toMatchObject({
      layers: 4,
      width: 256,
      heads: 4,
      vocab: 512,
      dtype: "f32",
    });
  });

  it("presets span more than 30× in parameters", () => {
    const counts = Object.keys(SYNTHETIC_PRESETS).map((name) =>
      syntheticParameterCount(parseSyntheticSpec(`synthetic:${name}`)),
    );
    expect(Math.max(...counts) / Math.min(...counts)).toBeGreaterThan(30);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
  });

  it("rejects an unknown preset with CONFIG_INVALID listing the presets", () => {
    let error: unknown;
    try {
      parseSyntheticSpec("synthetic:enormous");
    } catch (caught) {
      error = caught;
    }
    expect(LlemError.hasCode(error, "CONFIG_INVALID")).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('unknown preset "enormous"');
    for (const preset of Object.keys(SYNTHETIC_PRESETS)) expect(message).toContain(preset);
  });

  it.each([
    ["synthetic:layers=4,width=250,vocab=512", "multiple of 32"],
    ["synthetic:tiny,dtype=q3", "dtype=q3"],
    ["synthetic:tiny,colour=blue", 'unknown key "colour"'],
    ["synthetic:width=256,vocab=512", 'missing "layers"'],
    ["synthetic:tiny,vocab=100", "vocab=100 is outside"],
  ])("rejects %s", (model, fragment) => {
    expect(() => parseSyntheticSpec(model)).toThrow(fragment);
  });
});

describe("synthetic GGUF files", () => {
  it("are byte-for-byte deterministic and carry the parameter count in their header", async () => {
    const first = await tempDir();
    const second = await tempDir();
    for (const dtype of ["f16", "q8_0"]) {
      const model = `synthetic:tiny,dtype=${dtype}`;
      const a = ensureSyntheticModel(model, first);
      const b = ensureSyntheticModel(model, second);
      expect(a.created && b.created).toBe(true);
      expect(sha256(a.path)).toBe(sha256(b.path));
      const header = readGgufHeader(a.path);
      expect(header.architecture).toBe("llama");
      expect(header.weightType).toBe(dtype);
      expect(header.parameterCount).toBe(syntheticParameterCount(a.spec));
      // Norms stay f32 whatever the weight type (llama.cpp requires it).
      expect(
        header.tensors
          .filter((tensor) => tensor.dims.length === 1)
          .every((tensor) => tensor.typeName === "f32"),
      ).toBe(true);
    }
  });

  it("reuses the cached file and leaves no temp files behind", async () => {
    const cache = await tempDir();
    const created = ensureSyntheticModel("synthetic:tiny", cache);
    const again = ensureSyntheticModel("synthetic:tiny", cache);
    expect(again).toMatchObject({ path: created.path, created: false });
    expect(readdirSync(join(cache, "models")).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  it("is written to LLEM_CACHE_DIR by default", async () => {
    const cache = await tempDir();
    const previous = process.env.LLEM_CACHE_DIR;
    process.env.LLEM_CACHE_DIR = cache;
    try {
      expect(ensureSyntheticModel("synthetic:tiny").path.startsWith(join(cache, "models"))).toBe(
        true,
      );
    } finally {
      if (previous === undefined) delete process.env.LLEM_CACHE_DIR;
      else process.env.LLEM_CACHE_DIR = previous;
    }
  });
});
