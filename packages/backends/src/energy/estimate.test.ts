import { describe, expect, it } from "vitest";
import { DEFAULT_CPU_WATTS_PER_CORE, ESTIMATE_FORMULA, EstimateSampler } from "./estimate.js";
import { manualClock } from "./test-support.js";

/** Spins until this process has used `ms` more CPU time (wall time varies with machine load). */
function burnCpu(ms: number): void {
  const start = process.cpuUsage();
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + i);
    const used = process.cpuUsage(start);
    if ((used.user + used.system) / 1000 >= ms) return;
  }
}

describe("EstimateSampler", () => {
  it("models energy as CPU time × watts per core and records its inputs", async () => {
    let cpuUs = 5_000_000;
    const clock = manualClock();
    const sampler = new EstimateSampler({
      sampleIntervalMs: 100,
      wattsPerCore: 12,
      cpuTimeUs: () => cpuUs,
      ...clock,
    });
    await sampler.start();
    for (let i = 0; i < 10; i++) {
      cpuUs += 150_000; // 1.5 cores busy
      await clock.tick(100);
    }
    const m = await sampler.stop();
    expect(m).toMatchObject({
      sampler: "estimate",
      method: "estimated",
      duration_s: 1,
      sample_count: 10,
      per_device: [{ device: "cpu_estimate", kind: "cpu_estimate", source: "cpu_time_model" }],
    });
    expect(m.energy_j).toBeCloseTo(1.5 * 12, 9);
    expect(m.estimate_inputs).toEqual({
      cpu_time_s: 1.5,
      watts_per_core: 12,
      cores_busy_mean: 1.5,
      formula: ESTIMATE_FORMULA,
    });
    expect(m.samples.every((s) => Math.abs(s.power_w - 18) < 1e-9)).toBe(true);
    expect(m.warnings[0]).toMatch(/modelled as CPU time × 12 W per core, not measured/);
  });

  it("counts the CPU time the process really spends (process.cpuUsage)", async () => {
    const sampler = new EstimateSampler({
      sampleIntervalMs: 20,
      wattsPerCore: DEFAULT_CPU_WATTS_PER_CORE,
    });
    await sampler.start();
    burnCpu(120);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const m = await sampler.stop();
    const inputs = m.estimate_inputs!;
    expect(inputs.cpu_time_s).toBeGreaterThanOrEqual(0.12);
    expect(m.energy_j).toBeCloseTo(inputs.cpu_time_s * DEFAULT_CPU_WATTS_PER_CORE, 9);
    expect(inputs.cores_busy_mean).toBeCloseTo(inputs.cpu_time_s / m.duration_s, 9);
    // The timer could not fire while the loop was busy; it shows in the samples as a gap.
    expect(m.sample_count).toBeGreaterThanOrEqual(1);
  });

  it("reports a stalled loop as a gap without changing the total", async () => {
    let cpuUs = 0;
    const clock = manualClock();
    const sampler = new EstimateSampler({
      sampleIntervalMs: 100,
      wattsPerCore: 10,
      cpuTimeUs: () => cpuUs,
      ...clock,
    });
    await sampler.start();
    await clock.tick(100);
    clock.skip(900);
    cpuUs += 1_000_000;
    await clock.tick(100);
    const m = await sampler.stop();
    expect(m.energy_j).toBe(10);
    expect(m.warnings[1]).toMatch(/1 gap\(s\) in the sampling loop, the longest 1000 ms/);
  });
});
