import { findGaps } from "./counter.js";
import { type CpuTemperatureReader, cpuTemperatures } from "./cpu-temperature.js";
import { monotonicNow, timerScheduler } from "./scheduler.js";
import type { EnergyMeasurement, EnergySampler, PowerSample, Scheduler } from "./types.js";

/**
 * Default power of one fully busy core. CodeCarbon's fallback CPU model is TDP × CPU load, with
 * an 85 W TDP (`POWER_CONSTANT`) for a CPU missing from its table; 85 W over the 8 cores of a
 * typical desktop part is ≈ 10.6 W per core. Server parts come lower (≈ 3–5 W per core at 64 cores and
 * 200–300 W) and laptops lower still, so 10 W errs high for them: set `cpu_watts_per_core` to
 * TDP ÷ cores of the actual CPU when it is known.
 */
export const DEFAULT_CPU_WATTS_PER_CORE = 10;

export const ESTIMATE_FORMULA = "energy_j = cpu_time_s × watts_per_core";

/** Cumulative CPU time of the measured process, user + system, in microseconds. */
export type CpuTimeSource = () => number;

/**
 * `process.cpuUsage()` sums every thread of the process, llama.cpp's native worker threads
 * included, so the in-process engine's compute is counted.
 */
export const processCpuTimeUs: CpuTimeSource = () => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

export interface EstimateSamplerOptions {
  /** CPU package temperature, read at the window's edges for the thermal-drift warning. */
  cpuTemperature?: CpuTemperatureReader | null;
  sampleIntervalMs: number;
  wattsPerCore: number;
  now?: () => number;
  scheduler?: Scheduler;
  cpuTimeUs?: CpuTimeSource;
}

/**
 * Energy modelled as CPU time × a per-core power figure. It has no idle term (an idle process
 * costs 0 J here) and ignores frequency, memory and everything outside this process, so it is
 * always labelled `estimated` and carries its inputs.
 */
export class EstimateSampler implements EnergySampler {
  readonly kind = "estimate" as const;
  readonly method = "estimated" as const;
  private readonly intervalMs: number;
  private readonly wattsPerCore: number;
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly cpuTimeUs: CpuTimeSource;
  private startedAt = 0;
  private startCpuUs = 0;
  private lastMs = 0;
  private lastCpuUs = 0;
  private samples: PowerSample[] = [];
  private cumulative: [number, number][] = [];
  private ticker: { stop(): Promise<void> } | undefined;
  private readonly cpuTemperature: CpuTemperatureReader | null;
  private startTemperature: number | null = null;

  constructor(options: EstimateSamplerOptions) {
    this.cpuTemperature = options.cpuTemperature ?? null;
    this.intervalMs = options.sampleIntervalMs;
    this.wattsPerCore = options.wattsPerCore;
    this.now = options.now ?? monotonicNow;
    this.scheduler = options.scheduler ?? timerScheduler;
    this.cpuTimeUs = options.cpuTimeUs ?? processCpuTimeUs;
  }

  async start(): Promise<void> {
    this.samples = [];
    this.cumulative = [[0, 0]];
    this.startTemperature = this.cpuTemperature?.read() ?? null;
    this.startedAt = this.now();
    this.startCpuUs = this.cpuTimeUs();
    this.lastMs = 0;
    this.lastCpuUs = this.startCpuUs;
    this.ticker = this.scheduler(this.intervalMs, () => {
      this.sample(this.now() - this.startedAt, this.cpuTimeUs());
    });
  }

  async stop(): Promise<EnergyMeasurement> {
    await this.ticker?.stop();
    this.ticker = undefined;
    const endMs = this.now() - this.startedAt;
    const endCpuUs = this.cpuTimeUs();
    this.sample(endMs, endCpuUs);
    const cpuTimeS = Math.max(0, endCpuUs - this.startCpuUs) / 1e6;
    const durationS = endMs / 1000;
    const energy = cpuTimeS * this.wattsPerCore;
    const warnings = [
      `estimate: energy is modelled as CPU time × ${this.wattsPerCore} W per core, not measured`,
    ];
    const gaps = findGaps(
      this.samples.map((sample) => sample.t_ms),
      this.intervalMs,
    );
    if (gaps.count > 0) {
      warnings.push(
        `estimate: ${gaps.count} gap(s) in the sampling loop, the longest ${Math.round(gaps.longest_ms)} ms; the total is unaffected`,
      );
    }
    return {
      sampler: "estimate",
      samplers: ["estimate"],
      method: "estimated",
      energy_j: energy,
      per_device: [
        {
          device: "cpu_estimate",
          kind: "cpu_estimate",
          energy_j: energy,
          source: "cpu_time_model",
          scope: `this process's CPU time × ${this.wattsPerCore} W per core (a model, not a measurement)`,
          cumulative: this.cumulative,
        },
      ],
      duration_s: durationS,
      sample_interval_ms: this.intervalMs,
      sample_count: this.samples.length,
      samples: this.samples,
      estimate_inputs: {
        cpu_time_s: cpuTimeS,
        watts_per_core: this.wattsPerCore,
        cores_busy_mean: durationS > 0 ? cpuTimeS / durationS : 0,
        formula: ESTIMATE_FORMULA,
      },
      warnings,
      temperatures: cpuTemperatures(this.cpuTemperature, this.startTemperature),
    };
  }

  private sample(tMs: number, cpuUs: number): void {
    const elapsedMs = tMs - this.lastMs;
    if (elapsedMs <= 0) return;
    const coresBusy = Math.max(0, cpuUs - this.lastCpuUs) / 1000 / elapsedMs;
    this.samples.push({
      t_ms: tMs,
      device: "cpu_estimate",
      power_w: coresBusy * this.wattsPerCore,
    });
    this.lastMs = tMs;
    this.lastCpuUs = cpuUs;
    this.cumulative.push([tMs, (Math.max(0, cpuUs - this.startCpuUs) / 1e6) * this.wattsPerCore]);
  }
}
