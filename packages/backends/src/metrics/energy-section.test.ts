import { describe, expect, it } from "vitest";
import type { IdleBaseline } from "../energy/baseline.js";
import type { EnergyMeasurement } from "../energy/types.js";
import { consistencyChecks } from "./energy.js";
import { componentSection } from "./energy-section.js";

/** A 10 s window: two GPUs (counter), a CPU package and its DRAM (RAPL), with their series. */
function measurement(): EnergyMeasurement {
  const linear = (watts: number): [number, number][] =>
    Array.from({ length: 101 }, (_, i) => [i * 100, (watts * i) / 10]);
  const gpu = (index: number, watts: number) => ({
    device: `gpu${index}`,
    kind: "gpu" as const,
    energy_j: watts * 10,
    source: "energy_counter" as const,
    integrated_j: watts * 10 * 1.01,
    name: "H100",
    scope: "one GPU board",
    gpu: {
      index,
      uuid: `GPU-${index}`,
      pci_bus_id: null,
      mig_instances: [],
      module_power: false,
      counter_update_period_ms: 100,
      mean_power_w: watts,
      peak_power_w: watts + 20,
      peak_memory_used_bytes: 2 ** 36,
      memory_total_bytes: 2 ** 37,
      temperature_c: { start: 40, end: 55, peak: 56 },
    },
    cumulative: linear(watts),
  });
  return {
    sampler: "combined",
    samplers: ["nvml", "rapl"],
    method: "measured",
    energy_j: 6000 + 4000 + 800 + 100,
    per_device: [
      gpu(0, 600),
      gpu(1, 400),
      {
        device: "package-0",
        kind: "cpu_package",
        energy_j: 800,
        source: "energy_counter",
        cumulative: linear(80),
      },
      {
        device: "dram-0",
        kind: "dram",
        energy_j: 100,
        source: "energy_counter",
        cumulative: linear(10),
      },
    ],
    duration_s: 10,
    sample_interval_ms: 100,
    sample_count: 0,
    samples: [],
    estimate_inputs: null,
    warnings: [],
    temperatures: [],
  };
}

const baseline: IdleBaseline = {
  power_w: 70 + 60 + 30 + 5,
  duration_s: 30,
  method: "measured",
  sampler: "combined",
  sample_count: 300,
  measured_at: "2026-11-24T05:00:00.000Z",
  warnings: [],
  key: "nvml:GPU-0,GPU-1+rapl:package-0,dram-0",
  components: [
    { device: "gpu0", power_w: 70 },
    { device: "gpu1", power_w: 60 },
    { device: "package-0", power_w: 30 },
    { device: "dram-0", power_w: 5 },
  ],
};

describe("componentSection", () => {
  it("one block per device, adjusted by its own idle power; the total covers every component", () => {
    const section = componentSection({
      energy: measurement(),
      baseline,
      windowS: 10,
      notCovered: [],
    });
    expect(
      section.components.map((b) => [
        b.device,
        b.component,
        b.source,
        b.method,
        b.raw_j,
        b.adjusted_j,
      ]),
    ).toEqual([
      ["gpu0", "gpu", "nvml", "measured", 6000, 5300],
      ["gpu1", "gpu", "nvml", "measured", 4000, 3400],
      ["package-0", "cpu_package", "rapl", "measured", 800, 500],
      ["dram-0", "dram", "rapl", "measured", 100, 50],
    ]);
    expect(section.total).toEqual({
      components: ["gpu", "cpu_package", "dram"],
      devices: ["gpu0", "gpu1", "package-0", "dram-0"],
      method: "measured",
      raw_j: 10_900,
      adjusted_j: 9_250,
      not_covered: [],
    });
    expect(section.byComponent[0]).toEqual({
      component: "gpu",
      devices: ["gpu0", "gpu1"],
      raw_j: 10_000,
      adjusted_j: 8_700,
    });
    expect(section.headline).toBe("gpu + cpu_package + dram, idle-adjusted");
    expect(section.components[0]!.gpu).toMatchObject({
      uuid: "GPU-0",
      name: "H100",
      peak_power_w: 620,
    });
  });

  it("the steady state's energy comes from the same readings, per device and in total", () => {
    const section = componentSection({
      energy: measurement(),
      baseline,
      windowS: 10,
      notCovered: [],
      steadyState: { fromMs: 2_000, toMs: 8_000, outputTokens: 3_000 },
    });
    expect(section.components.map((b) => b.steady_state_raw_j)).toEqual([3600, 2400, 480, 60]);
    expect(section.steadyState).toEqual({
      from_ms: 2_000,
      to_ms: 8_000,
      duration_s: 6,
      raw_j: 6_540,
      // 6540 − 165 W × 6 s
      adjusted_j: 5_550,
      output_tokens: 3_000,
      energy_per_output_token_j: 1.85,
    });
  });

  it("an estimate is labelled everywhere, and a total without a baseline is raw", () => {
    const estimated: EnergyMeasurement = {
      ...measurement(),
      sampler: "estimate",
      method: "estimated",
      energy_j: 12,
      per_device: [
        { device: "cpu_estimate", kind: "cpu_estimate", energy_j: 12, source: "cpu_time_model" },
      ],
    };
    const section = componentSection({
      energy: estimated,
      baseline: null,
      windowS: 10,
      notCovered: ["gpu: no NVIDIA driver", "cpu_package, dram: no powercap tree"],
    });
    expect(section.components[0]).toMatchObject({
      component: "cpu_estimate",
      source: "estimate",
      method: "estimated",
      reading: "cpu_time_model",
      adjusted_j: null,
    });
    expect(section.total.method).toBe("estimated");
    expect(section.headline).toBe("cpu_estimate, raw (estimated)");
    expect(section.total.not_covered).toHaveLength(2);
  });
});

describe("consistencyChecks on component blocks", () => {
  const reported = (mutate: (energy: Record<string, unknown>) => void = () => {}) => {
    const section = componentSection({
      energy: measurement(),
      baseline,
      windowS: 10,
      notCovered: [],
      steadyState: { fromMs: 2_000, toMs: 8_000 },
    });
    const energy: Record<string, unknown> = {
      raw_j: section.rawJ,
      adjusted_j: section.adjustedJ,
      energy_per_output_token_j: section.adjustedJ! / 1000,
      energy_per_request_j: null,
      mean_power_w: section.rawJ! / 10,
      duration_s: 10,
      per_device: [],
      components: section.components,
      total: section.total,
      by_component: section.byComponent,
      steady_state: section.steadyState,
    };
    mutate(energy);
    return consistencyChecks({
      window: { duration_s: 10 },
      tokens: { output: 1000, requests: 0 },
      energy: energy as never,
    });
  };

  it("is silent when the blocks add up", () => {
    expect(reported()).toEqual([]);
  });

  it("names a component whose figure disagrees, with both figures", () => {
    const warnings = reported((energy) => {
      const blocks = energy.components as { raw_j: number; adjusted_j: number }[];
      blocks[1]!.adjusted_j = 4000;
    });
    expect(warnings.map((w) => w.code)).toEqual(["inconsistent_component", "inconsistent_total"]);
    expect(warnings[0]!.message).toMatch(
      /^gpu1: adjusted energy vs max\(0, raw − idle power × window\) \(J\): 4000 reported, 3400 from/,
    );
  });

  it("flags a counter that disagrees with its integrated power, per component", () => {
    const warnings = reported((energy) => {
      (energy.components as { integrated_j: number }[])[0]!.integrated_j = 9000;
    });
    expect(warnings.map((w) => w.code)).toEqual(["counter_power_disagree"]);
    expect(warnings[0]!.message).toMatch(
      /^gpu0: energy counter vs integrated power samples \(J\): 6000 reported, 9000/,
    );
  });

  it("flags a total that is not its devices' sum, and a steady state larger than its window", () => {
    const warnings = reported((energy) => {
      (energy.total as { raw_j: number }).raw_j = 20_000;
      (energy.steady_state as { raw_j: number }).raw_j = 25_000;
    });
    expect(warnings.map((w) => w.code)).toEqual([
      "inconsistent_total",
      "inconsistent_total",
      "inconsistent_steady_state",
      "inconsistent_steady_state",
    ]);
  });
});
