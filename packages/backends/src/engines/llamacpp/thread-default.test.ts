import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { ensureSyntheticModel } from "../../models/synthetic.js";
import { getLlamaFor } from "./node-llama-cpp.js";
import { cachedThreadCalibration, defaultThreadCount, pickThreads } from "./thread-default.js";

describe("pickThreads", () => {
  it("takes the fastest median, and fewer threads when another count is within 3 %", () => {
    expect(
      pickThreads(
        new Map([
          [1, 300],
          [2, 439],
        ]),
      ),
    ).toBe(2);
    expect(
      pickThreads(
        new Map([
          [1, 3156],
          [2, 3098],
        ]),
      ),
    ).toBe(1);
    expect(
      pickThreads(
        new Map([
          [1, 1000],
          [2, 1020],
        ]),
      ),
    ).toBe(1);
    expect(
      pickThreads(
        new Map([
          [1, 1000],
          [2, 1040],
        ]),
      ),
    ).toBe(2);
    expect(
      pickThreads(
        new Map([
          [1, 100],
          [2, 390],
          [3, 400],
          [4, 401],
        ]),
      ),
    ).toBe(2);
  });
});

describe("defaultThreadCount", () => {
  it("calibrates on the loaded model once, records each count's median rate, and reuses the cache", {
    timeout: 120_000,
  }, async () => {
    const cacheDir = await tempDir();
    const { path } = ensureSyntheticModel("synthetic:tiny", cacheDir);
    const llama = await getLlamaFor("cpu");
    const model = await llama.loadModel({ modelPath: path });
    const identity = { fileName: `calibration-test-${Date.now()}.gguf`, sizeBytes: 1 };
    try {
      const threads = await defaultThreadCount(llama, model, identity, cacheDir);
      const cached = cachedThreadCalibration(llama, identity, cacheDir);
      const counts = Math.max(1, Math.min(llama.cpuMathCores, availableParallelism(), 16));
      expect(threads).toBeGreaterThanOrEqual(1);
      expect(threads).toBeLessThanOrEqual(counts);
      if (counts === 1) return;
      // Every count was measured (real generation: positive rates), and the pick follows them.
      expect(Object.keys(cached?.tokens_per_s ?? {})).toHaveLength(counts);
      const rates = new Map(
        Object.entries(cached?.tokens_per_s ?? {}).map(([key, rate]) => [Number(key), rate]),
      );
      for (const rate of rates.values()) expect(rate).toBeGreaterThan(0);
      expect(cached?.threads).toBe(threads);
      // pickThreads' rule on the recorded (rounded) rates, with 1 tok/s of slack for the rounding.
      const best = Math.max(...rates.values());
      expect(rates.get(threads) ?? 0).toBeGreaterThanOrEqual(best * 0.97 - 1);
      for (const [count, rate] of rates)
        if (count < threads) expect(rate).toBeLessThan(best * 0.97 + 1);
      // A second ask is answered from the file, not measured again.
      const file = JSON.parse(readFileSync(join(cacheDir, "thread-calibration.json"), "utf8"));
      expect(Object.values(file.entries)).toHaveLength(1);
      expect(await defaultThreadCount(llama, model, identity, cacheDir)).toBe(threads);
    } finally {
      await model.dispose();
    }
  });
});
