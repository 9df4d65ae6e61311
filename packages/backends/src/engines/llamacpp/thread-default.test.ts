import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { ensureSyntheticModel } from "../../models/synthetic.js";
import { getLlamaFor } from "./node-llama-cpp.js";
import {
  cachedThreadCalibration,
  clearLead,
  defaultThreadCount,
  pickThreads,
  windowedRate,
} from "./thread-default.js";

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

describe("windowedRate and clearLead", () => {
  it("rates a count by its best window's median, so one slow span does not decide", () => {
    // The shape seen on this VM: two threads slowed to one thread's pace for one window.
    expect(
      windowedRate([
        [3000, 3100, 3050],
        [4400, 4500, 4450],
        [4300, 4400, 4350],
      ]),
    ).toBe(4450);
    // One fast round in a slow window is luck, not speed.
    expect(
      windowedRate([
        [900, 4000, 950],
        [1000, 980, 990],
      ]),
    ).toBe(990);
    expect(windowedRate([[], [1200]])).toBe(1200);
    expect(windowedRate([])).toBe(0);
  });

  it("names a count only when it leads every other by 10 %", () => {
    expect(
      clearLead(
        new Map([
          [1, 3000],
          [2, 4400],
        ]),
      ),
    ).toBe(2);
    expect(
      clearLead(
        new Map([
          [1, 3100],
          [2, 3050],
        ]),
      ),
    ).toBeNull();
    expect(
      clearLead(
        new Map([
          [1, 1000],
          [2, 1099],
        ]),
      ),
    ).toBeNull();
    expect(
      clearLead(
        new Map([
          [1, 900],
          [2, 300],
          [3, 850],
        ]),
      ),
    ).toBeNull();
    expect(clearLead(new Map([[2, 4400]]))).toBe(2);
    expect(clearLead(new Map())).toBeNull();
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
