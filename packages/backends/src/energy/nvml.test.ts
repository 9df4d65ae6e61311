import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
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

/** Runs a sampler over [fromMs, toMs] of a recording, polling every `intervalMs` of virtual time. */
async function replayWindow(
  recording: NvmlRecording,
  { fromMs, toMs, intervalMs = 100 }: { fromMs: number; toMs: number; intervalMs?: number },
  configure: (backend: NvmlBackend) => NvmlBackend = (b) => b,
) {
  const clock = manualClock(fromMs);
  const backend = configure(replayNvmlBackend(recording, { clock: clock.now }));
  const sampler = new NvmlSampler({ sampleIntervalMs: intervalMs, backend, ...clock });
  await sampler.start();
  while (clock.now() + intervalMs <= toMs) await clock.tick(intervalMs);
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
      expect.stringMatching(/gpu0 \(GPU 0\) has no total-energy counter/),
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
      {
        device: "gpu0",
        kind: "gpu",
        energy_j: (counterAt(10_500) - counterAt(1_500)) / 1000,
        source: "energy_counter",
        integrated_j: expect.closeTo((counterAt(10_500) - counterAt(1_500)) / 1000, 0),
        name: "constructed GPU",
      },
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
