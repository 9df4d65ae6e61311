import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { PlacedGpu } from "../gpus/resolve.js";
import { COUNTER_CROSS_CHECK_TOLERANCE, consistencyChecks } from "../metrics/energy.js";
import { integratePower } from "./counter.js";
import { NvmlSampler } from "./nvml.js";
import type { NvmlBackend } from "./nvml-backend.js";
import { type NvmlRecording, parseNvidiaSmiCsv, replayNvmlBackend } from "./nvml-replay.js";
import { manualClock } from "./test-support.js";

// Both fixtures are CONSTRUCTED in nvidia-smi's / NVML's formats, not recorded on a GPU: see
// __fixtures__/make-constructed-gpu-fixtures.mjs for how and why.
const smiCsv = readFileSync(
  new URL("./__fixtures__/nvidia-smi-constructed-2gpu.csv", import.meta.url),
  "utf8",
);
const counterRecording: NvmlRecording = JSON.parse(
  readFileSync(
    new URL("./__fixtures__/nvml-counter-constructed-1gpu.json", import.meta.url),
    "utf8",
  ),
);

/**
 * Runs a sampler over [fromMs, toMs] of a recording, polling every `intervalMs` of virtual time.
 * The counter's update period is given (100 ms, the recordings' own) unless `detect` is asked
 * for: detection polls before the window and would move its start.
 */
async function replayWindow(
  recording: NvmlRecording,
  {
    fromMs,
    toMs,
    intervalMs = 100,
    gpus,
    counterUpdatePeriodMs = 100,
  }: {
    fromMs: number;
    toMs: number;
    intervalMs?: number;
    gpus?: PlacedGpu[];
    counterUpdatePeriodMs?: number | "detect";
  },
  configure: (backend: NvmlBackend) => NvmlBackend = (b) => b,
) {
  const clock = manualClock(fromMs);
  const backend = configure(replayNvmlBackend(recording, { clock: clock.now }));
  const sampler = new NvmlSampler({
    sampleIntervalMs: intervalMs,
    backend,
    counterUpdatePeriodMs,
    ...(gpus ? { gpus } : {}),
    ...clock,
  });
  await sampler.start();
  while (clock.now() + intervalMs <= toMs) await clock.tick(intervalMs);
  clock.skip(toMs - clock.now());
  return sampler.stop();
}

describe("parseNvidiaSmiCsv (constructed sequence in nvidia-smi's CSV format)", () => {
  const parsed = parseNvidiaSmiCsv(smiCsv, "constructed 2-GPU CSV");

  it("finds both GPUs, aligns time to the earliest row and keeps [N/A] as a missing value", () => {
    expect(parsed.devices.map((d) => d.index)).toEqual([0, 1]);
    expect(parsed.skipped_rows).toBe(0);
    expect(parsed.readings[0]!.t_ms).toBe(0);
    const na = parsed.readings.find((r) => r.index === 0 && r.power_w === null);
    expect(na?.t_ms).toBeGreaterThan(7_290);
    expect(na?.temperature_c).toBe(53);
  });

  it("keeps the recording's hole for GPU 1 (no rows from 5.0 to 5.8 s)", () => {
    const gpu1 = parsed.readings.filter((r) => r.index === 1).map((r) => r.t_ms);
    const longest = Math.max(...gpu1.slice(1).map((t, i) => t - gpu1[i]!));
    expect(longest).toBeGreaterThan(850);
  });

  it("accepts nounits output, a repeated header and unit-less power columns", () => {
    const text = [
      "timestamp, index, power.draw.instant [W], temperature.gpu",
      "2026/11/24 05:10:00.000, 0, 100.00, 40",
      "timestamp, index, power.draw.instant [W], temperature.gpu",
      "2026/11/24 05:10:00.500, 0, 120.50, 41",
      "not a row",
    ].join("\n");
    const r = parseNvidiaSmiCsv(text);
    expect(r.readings).toEqual([
      { t_ms: 0, index: 0, power_w: 100, temperature_c: 40 },
      { t_ms: 500, index: 0, power_w: 120.5, temperature_c: 41 },
    ]);
    expect(r.skipped_rows).toBe(1);
  });

  it("names what is missing from a header without power", () => {
    expect(() => parseNvidiaSmiCsv("timestamp, index, temperature.gpu\n", "x.csv")).toThrow(
      /x\.csv: the header needs timestamp and power\.draw columns/,
    );
  });
});

describe("NvmlSampler replaying the constructed nvidia-smi sequence (no energy counter)", () => {
  it("integrates power per GPU, records temperatures, and reports the missing samples", async () => {
    const parsed = parseNvidiaSmiCsv(smiCsv);
    const m = await replayWindow(parsed, { fromMs: 1_000, toMs: 11_000 });
    expect(m).toMatchObject({ sampler: "nvml", method: "measured", duration_s: 10 });
    expect(m.per_device.map((d) => [d.device, d.source])).toEqual([
      ["gpu0", "power_integration"],
      ["gpu1", "power_integration"],
    ]);
    // Independent figure: the recorded rows integrated directly over the same window.
    for (const device of m.per_device) {
      const index = Number(device.device.slice(3));
      const rows = parsed.readings
        .filter(
          (r) => r.index === index && r.power_w !== null && r.t_ms >= 1_000 && r.t_ms <= 11_000,
        )
        .map((r) => ({ t_ms: r.t_ms, power_w: r.power_w! }));
      const direct = integratePower(rows, 1_000, 11_000)!;
      expect(Math.abs(device.energy_j! - direct) / direct).toBeLessThan(0.02);
    }
    // GPU 0 at ~62 W for 1 s + ~251 W for 8 s + ~62 W for 1 s ≈ 2.13 kJ.
    expect(m.per_device[0]!.energy_j).toBeGreaterThan(2_050);
    expect(m.per_device[0]!.energy_j).toBeLessThan(2_200);
    expect(m.energy_j).toBeCloseTo(m.per_device[0]!.energy_j! + m.per_device[1]!.energy_j!, 9);
    expect(m.temperatures).toEqual([
      { device: "gpu0", start_c: 46, end_c: 57 },
      { device: "gpu1", start_c: 45, end_c: 49 },
    ]);
    expect(m.warnings).toContainEqual(
      expect.stringMatching(/gpu0 \(GPU 0\): no total-energy counter \(it needs Volta or newer\)/),
    );
    // The 0.8 s hole for GPU 1 makes its reads fail until the recording resumes.
    expect(m.warnings).toContainEqual(
      expect.stringMatching(/^nvml: [4-8] of \d+ reads of gpu1 failed/),
    );
    // The [N/A] power value is a reading without a power sample, not a failed read.
    const gpu0Samples = m.samples.filter((s) => s.device === "gpu0");
    const gpu1Samples = m.samples.filter((s) => s.device === "gpu1");
    expect(gpu0Samples.length).toBe(100);
    expect(gpu1Samples.length).toBeLessThan(97);
    expect(m.sample_count).toBe(m.samples.length);
    expect(gpu0Samples.every((s) => typeof s.temperature_c === "number")).toBe(true);
  });
});

describe("NvmlSampler replaying constructed energy-counter readings", () => {
  const counterAt = (tMs: number) =>
    counterRecording.readings.filter((r) => r.t_ms <= tMs).at(-1)!.energy_mj!;

  it("takes the counter difference between the window's edges", async () => {
    const m = await replayWindow(counterRecording, { fromMs: 1_500, toMs: 10_500 });
    expect(m.per_device).toEqual([
      expect.objectContaining({
        device: "gpu0",
        kind: "gpu",
        energy_j: (counterAt(10_500) - counterAt(1_500)) / 1000,
        source: "energy_counter",
        integrated_j: expect.closeTo((counterAt(10_500) - counterAt(1_500)) / 1000, 0),
        name: "constructed GPU",
        scope: "one GPU board",
      }),
    ]);
    expect(m.warnings).toEqual([]);
    expect(m.sample_count).toBe(91);
  });

  it("falls back to integrated power when the counter resets mid-window", async () => {
    const reset: NvmlRecording = {
      ...counterRecording,
      readings: counterRecording.readings.map((r) =>
        r.t_ms >= 6_000 ? { ...r, energy_mj: r.energy_mj! - 84_000_000_000 } : r,
      ),
    };
    const m = await replayWindow(reset, { fromMs: 1_000, toMs: 11_000 });
    expect(m.per_device[0]!.source).toBe("power_integration");
    expect(m.per_device[0]!.energy_j).toBeGreaterThan(2_000);
    expect(m.warnings[0]).toMatch(/the energy counter went back from \d+ to \d+ mJ/);
  });

  it("reports the integrated power samples beside the counter, for the result's cross-check", async () => {
    const inflated: NvmlRecording = {
      ...counterRecording,
      readings: counterRecording.readings.map((r) => ({ ...r, power_w: r.power_w! * 1.5 })),
    };
    const plain = (await replayWindow(counterRecording, { fromMs: 1_000, toMs: 11_000 }))
      .per_device[0]!;
    const m = await replayWindow(inflated, { fromMs: 1_000, toMs: 11_000 });
    const device = m.per_device[0]!;
    expect(device.source).toBe("energy_counter");
    expect(device.energy_j).toBe(plain.energy_j);
    expect(device.integrated_j! / plain.integrated_j!).toBeCloseTo(1.5, 6);
    // The disagreement is judged once, by the result's consistency check.
    const warnings = consistencyChecks({
      window: { duration_s: m.duration_s },
      tokens: { output: 0, requests: 0 },
      energy: {
        raw_j: m.energy_j,
        adjusted_j: null,
        energy_per_output_token_j: null,
        energy_per_request_j: null,
        mean_power_w: null,
        per_device: m.per_device.map((d) => ({ ...d, energy_j: d.energy_j! })),
      },
    });
    expect(warnings.map((warning) => warning.code)).toEqual(["counter_power_disagree"]);
    expect(warnings[0]!.message).toMatch(
      new RegExp(`tolerance ${COUNTER_CROSS_CHECK_TOLERANCE * 100} %`),
    );
  });

  it("falls back to integrated power when the read at the window end fails", async () => {
    const truncated: NvmlRecording = {
      ...counterRecording,
      readings: counterRecording.readings.filter((r) => r.t_ms <= 9_000),
    };
    const m = await replayWindow(truncated, { fromMs: 1_000, toMs: 11_000 });
    expect(m.per_device[0]!.source).toBe("power_integration");
    expect(m.warnings).toContainEqual(
      expect.stringMatching(/counter read at the window end failed/),
    );
  });
});

// CONSTRUCTED 4-GPU trace (make-constructed-gpu-fixtures.mjs): experiment A on GPUs 0+1 from
// 2–10 s, experiment B on GPUs 2+3 from 3–11 s; NVML index order is not PCI bus order.
const fourGpus: NvmlRecording = JSON.parse(
  readFileSync(
    new URL("./__fixtures__/nvml-counter-constructed-4gpu.json", import.meta.url),
    "utf8",
  ),
);

/** The trace's own counter delta of one GPU over [fromMs, toMs], in joules. */
function traceDelta(recording: NvmlRecording, index: number, fromMs: number, toMs: number): number {
  const at = (t: number) =>
    recording.readings.filter((r) => r.index === index && r.t_ms <= t).at(-1)!.energy_mj!;
  return (at(toMs) - at(fromMs)) / 1000;
}

const placed = (recording: NvmlRecording, ...indices: number[]): PlacedGpu[] =>
  indices.map((index) => {
    const info = recording.devices.find((d) => d.index === index)!;
    return {
      index,
      uuid: info.uuid,
      name: info.name,
      pciBusId: info.pciBusId ?? null,
      memoryTotalBytes: info.memoryTotalBytes ?? null,
      migInstances: [],
      moduleScope: false,
    };
  });

describe("NvmlSampler on placed GPUs (constructed 4-GPU trace)", () => {
  it("two experiments on disjoint GPUs each measure only theirs, per GPU and summed", async () => {
    const a = await replayWindow(fourGpus, {
      fromMs: 1_500,
      toMs: 10_500,
      gpus: placed(fourGpus, 1, 0),
    });
    const b = await replayWindow(fourGpus, {
      fromMs: 2_500,
      toMs: 11_500,
      gpus: placed(fourGpus, 2, 3),
    });
    expect(a.per_device.map((d) => d.device)).toEqual(["gpu1", "gpu0"]);
    expect(b.per_device.map((d) => d.device)).toEqual(["gpu2", "gpu3"]);
    for (const [m, from, to] of [
      [a, 1_500, 10_500],
      [b, 2_500, 11_500],
    ] as const) {
      for (const device of m.per_device) {
        const expected = traceDelta(fourGpus, device.gpu!.index, from, to);
        expect(device.source).toBe("energy_counter");
        expect(Math.abs(device.energy_j! - expected) / expected).toBeLessThan(0.001);
      }
      const sum = m.per_device.reduce((total, d) => total + d.energy_j!, 0);
      expect(m.energy_j).toBeCloseTo(sum, 9);
      // Samples come only from the experiment's own GPUs.
      expect(new Set(m.samples.map((s) => s.device))).toEqual(
        new Set(m.per_device.map((d) => d.device)),
      );
    }
    // A's GPUs at ~600 W for 8 of 9 s; B's at ~400 W: what each measured is its own load.
    expect(a.energy_j! / 2 / 9).toBeGreaterThan(500);
    expect(b.energy_j! / 2 / 9).toBeLessThan(400);
  });

  it("reports per GPU its UUID, bus, mean and peak power, peak memory and temperatures", async () => {
    const m = await replayWindow(fourGpus, {
      fromMs: 1_000,
      toMs: 11_000,
      gpus: placed(fourGpus, 0),
    });
    const gpu = m.per_device[0]!.gpu!;
    const rows = fourGpus.readings.filter(
      (r) => r.index === 0 && r.t_ms >= 1_000 && r.t_ms <= 11_000,
    );
    expect(gpu).toMatchObject({
      index: 0,
      uuid: fourGpus.devices[0]!.uuid,
      pci_bus_id: "00000000:5E:00.0",
      counter_update_period_ms: 100,
      memory_total_bytes: fourGpus.devices[0]!.memoryTotalBytes,
      module_power: false,
    });
    expect(gpu.mean_power_w).toBeCloseTo(m.per_device[0]!.energy_j! / 10, 9);
    // Sampled every 100 ms of a 50 ms recording: the peak seen is at most the recording's.
    const peak = Math.max(...rows.map((r) => r.power_w!));
    expect(gpu.peak_power_w).toBeLessThanOrEqual(peak);
    expect(gpu.peak_power_w).toBeGreaterThan(600);
    expect(gpu.peak_memory_used_bytes).toBe(Math.max(...rows.map((r) => r.memory_used_bytes!)));
    expect(gpu.temperature_c.peak).toBeGreaterThanOrEqual(gpu.temperature_c.start!);
  });

  it("keeps the counter readings, so a sub-span's energy comes from the same counter", async () => {
    const m = await replayWindow(fourGpus, {
      fromMs: 1_000,
      toMs: 11_000,
      gpus: placed(fourGpus, 0),
    });
    const device = m.per_device[0]!;
    const { energyBetween } = await import("./counter.js");
    // 3–9 s of the trace is 2–8 s of the window.
    const steady = energyBetween(device.cumulative, 2_000, 8_000)!;
    const expected = traceDelta(fourGpus, 0, 3_000, 9_000);
    expect(Math.abs(steady - expected) / expected).toBeLessThan(0.001);
    expect(energyBetween(device.cumulative, 0, 10_000)).toBeCloseTo(device.energy_j!, 9);
  });

  it("finds the counter's update period by polling it before the window", async () => {
    const recording = { ...fourGpus, source: `${fourGpus.source} (detection test)` };
    const m = await replayWindow(recording, {
      fromMs: 1_000,
      toMs: 3_000,
      gpus: placed(recording, 2),
      counterUpdatePeriodMs: "detect",
    });
    expect(m.per_device[0]!.gpu!.counter_update_period_ms).toBe(100);
  });

  it("a 50 ms window: power × time from the samples, never a silent 0 J, and says so", async () => {
    const m = await replayWindow(fourGpus, {
      fromMs: 5_010,
      toMs: 5_060,
      gpus: placed(fourGpus, 0),
    });
    const device = m.per_device[0]!;
    expect(device.source).toBe("power_integration");
    expect(device.energy_j).toBeGreaterThan(0.05 * 590);
    expect(device.energy_j).toBeLessThan(0.05 * 630);
    expect(m.warnings).toContainEqual(
      expect.stringMatching(
        /gpu0 .*: the 50 ms window is shorter than one update of the energy counter \(every 100 ms\); its energy is the power samples integrated, [\d.]+ J \(the counter said [\d.]+ J\)/,
      ),
    );
  });

  it("a window of under 3 counter updates keeps the counter, with a warning", async () => {
    const m = await replayWindow(fourGpus, {
      fromMs: 5_000,
      toMs: 5_250,
      gpus: placed(fourGpus, 0),
    });
    expect(m.per_device[0]!.source).toBe("energy_counter");
    expect(m.warnings).toContainEqual(
      expect.stringMatching(/spans fewer than 3 updates of the energy counter \(every 100 ms\)/),
    );
  });

  it("a counter reset on one GPU: that GPU integrates power, with both figures; the other keeps its counter", async () => {
    const reset: NvmlRecording = {
      ...fourGpus,
      readings: fourGpus.readings.map((r) =>
        r.index === 3 && r.t_ms >= 6_000 ? { ...r, energy_mj: r.energy_mj! - 87_000_000_000 } : r,
      ),
    };
    const m = await replayWindow(reset, { fromMs: 2_500, toMs: 11_500, gpus: placed(reset, 2, 3) });
    const [gpu2, gpu3] = m.per_device;
    expect(gpu2!.source).toBe("energy_counter");
    expect(gpu3!.source).toBe("power_integration");
    expect(
      Math.abs(gpu3!.energy_j! - traceDelta(fourGpus, 3, 2_500, 11_500)) / gpu3!.energy_j!,
    ).toBeLessThan(0.02);
    expect(m.warnings).toContainEqual(
      expect.stringMatching(
        /gpu3 .*: the energy counter went back from \d+ to \d+ mJ at \d+ ms \(a reset/,
      ),
    );
  });

  it("labels module power (Grace Hopper) and MIG placement", async () => {
    const module = placed(fourGpus, 0).map((gpu) => ({ ...gpu, moduleScope: true }));
    const m = await replayWindow(fourGpus, { fromMs: 1_000, toMs: 3_000, gpus: module });
    expect(m.per_device[0]!.scope).toMatch(/whole module: Grace CPU \+ GPU \+ memory/);
    expect(m.per_device[0]!.gpu!.module_power).toBe(true);
    expect(m.warnings).toContainEqual(expect.stringMatching(/reports module power/));
    const mig = placed(fourGpus, 1).map((gpu) => ({ ...gpu, migInstances: ["MIG-1234"] }));
    const n = await replayWindow(fourGpus, { fromMs: 1_000, toMs: 3_000, gpus: mig });
    expect(n.per_device[0]!.scope).toMatch(/the whole GPU, placed as MIG instance\(s\) MIG-1234/);
  });

  it("refuses a placed GPU NVML does not list", async () => {
    const ghost = [{ ...placed(fourGpus, 0)[0]!, uuid: "GPU-0000dead" }];
    await expect(replayWindow(fourGpus, { fromMs: 0, toMs: 500, gpus: ghost })).rejects.toThrow(
      /the placed GPU GPU-0000dead .* is not among NVML's devices/,
    );
  });
});
