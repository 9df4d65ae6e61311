import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { LlemError } from "@llem/schema";
import { tempDir } from "@llem/test-utils";
import { describe, expect, it } from "vitest";
import { BaselineCache, type IdleBaseline, measureIdleBaseline } from "./baseline.js";
import { EstimateSampler } from "./estimate.js";
import { NoneSampler } from "./none.js";

function baseline(overrides: Partial<IdleBaseline> = {}): IdleBaseline {
  return {
    power_w: 41.5,
    duration_s: 30,
    method: "measured",
    sampler: "rapl",
    sample_count: 300,
    measured_at: "2026-11-24T05:00:00.000Z",
    warnings: [],
    ...overrides,
  };
}

describe("measureIdleBaseline", () => {
  it("samples for the duration and returns the mean power", async () => {
    // A model process burning a steady 0.25 core: 2.5 W at 10 W per core.
    const started = performance.now();
    const baselineResult = await measureIdleBaseline({
      sampler: async () =>
        new EstimateSampler({
          sampleIntervalMs: 20,
          wattsPerCore: 10,
          cpuTimeUs: () => (performance.now() - started) * 250,
        }),
      duration_s: 0.2,
    });
    expect(baselineResult).toMatchObject({ method: "estimated", sampler: "estimate" });
    expect(baselineResult!.power_w).toBeCloseTo(2.5, 2);
    expect(baselineResult!.components).toEqual([
      { device: "cpu_estimate", power_w: baselineResult!.power_w },
    ]);
    // libuv's timers count whole milliseconds, so a 200 ms sleep can end up to 1 ms early by
    // performance.now() (seen: 0.19988 s under load).
    expect(baselineResult!.duration_s).toBeGreaterThanOrEqual(0.199);
    expect(baselineResult!.sample_count).toBeGreaterThan(3);
    expect(Date.parse(baselineResult!.measured_at)).not.toBeNaN();
  });

  it("builds the sampler from an energy config", async () => {
    const result = await measureIdleBaseline({
      energyConfig: { sampler: "estimate", sample_interval_ms: 50, cpu_watts_per_core: 10 },
      duration_s: 0.1,
    });
    expect(result?.sampler).toBe("estimate");
    expect(result?.key).toBe("estimate:cpu_estimate");
    expect(result!.power_w).toBeGreaterThanOrEqual(0);
  });

  it("is null for a sampler that measures nothing", async () => {
    expect(
      await measureIdleBaseline({ sampler: async () => new NoneSampler("off"), duration_s: 5 }),
    ).toBeNull();
  });

  it("stops early and throws EXPERIMENT_ABORTED when aborted", async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("Ctrl-C")), 30);
    const began = performance.now();
    const error = await measureIdleBaseline({
      energyConfig: { sampler: "estimate", sample_interval_ms: 10, cpu_watts_per_core: 10 },
      duration_s: 30,
      signal: controller.signal,
    }).catch((e) => e);
    expect(LlemError.hasCode(error, "EXPERIMENT_ABORTED")).toBe(true);
    expect(performance.now() - began).toBeLessThan(10_000);
  });
});

describe("BaselineCache", () => {
  it("returns a baseline until it is older than the TTL", async () => {
    let now = Date.parse("2026-11-24T05:00:00.000Z");
    const cache = new BaselineCache({ ttlSeconds: 60, now: () => now });
    await cache.set(baseline());
    expect(await cache.get("rapl")).toEqual(baseline());
    expect(await cache.get("nvml")).toBeNull();
    now += 60_000;
    expect(await cache.get("rapl")).not.toBeNull();
    now += 1;
    expect(await cache.get("rapl")).toBeNull();
  });

  it("shares baselines between instances (processes) through its file, written atomically", async () => {
    const dir = await tempDir();
    const filePath = join(dir, "baseline_cache.json");
    const now = () => Date.parse("2026-11-24T05:10:00.000Z");
    const writer = new BaselineCache({ filePath, now });
    await writer.set(baseline());
    await writer.set(baseline({ sampler: "nvml", power_w: 180 }));
    expect(await readdir(dir)).toEqual(["baseline_cache.json"]);
    const onDisk = JSON.parse(await readFile(filePath, "utf8"));
    expect(Object.keys(onDisk.entries).sort()).toEqual(["nvml", "rapl"]);

    const reader = new BaselineCache({ filePath, now });
    expect((await reader.get("nvml"))?.power_w).toBe(180);
  });

  it("measures once and then serves the cached baseline", async () => {
    const cache = new BaselineCache({ now: () => Date.parse("2026-11-24T05:00:01.000Z") });
    let measured = 0;
    const measure = async () => {
      measured += 1;
      return baseline();
    };
    expect((await cache.getOrMeasure("rapl", measure))?.source).toBe("fresh");
    expect((await cache.getOrMeasure("rapl", measure))?.source).toBe("cached");
    expect(measured).toBe(1);
  });

  it("keeps one baseline per GPU set: the key names the samplers and the devices", async () => {
    const cache = new BaselineCache({ now: () => Date.parse("2026-11-24T05:00:01.000Z") });
    const setA = "nvml:GPU-aaaa,GPU-bbbb+rapl:package-0";
    const setB = "nvml:GPU-cccc+rapl:package-0";
    await cache.set(baseline({ sampler: "combined", key: setA, power_w: 180 }));
    expect(await cache.get(setB)).toBeNull();
    await cache.set(baseline({ sampler: "combined", key: setB, power_w: 95 }));
    expect((await cache.get(setA))?.power_w).toBe(180);
    expect((await cache.get(setB))?.power_w).toBe(95);
  });

  it("treats a corrupt cache file as empty", async () => {
    const dir = await tempDir();
    const filePath = join(dir, "baseline_cache.json");
    await writeFile(filePath, "{ torn");
    const cache = new BaselineCache({ filePath });
    expect(await cache.get("rapl")).toBeNull();
    await cache.set(baseline({ measured_at: new Date().toISOString() }));
    expect((await new BaselineCache({ filePath }).get("rapl"))?.power_w).toBe(41.5);
  });
});
