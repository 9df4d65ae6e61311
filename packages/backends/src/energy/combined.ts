import { totalEnergy } from "./counter.js";
import type {
  EnergyMeasurement,
  EnergySampler,
  SamplerKind,
  Scheduler,
  TickerHandle,
} from "./types.js";

/**
 * One timer for several samplers: every sampler that registers gets called on each tick of a
 * single underlying loop, one after another. On a VM the wake-up is most of a tick's cost
 * (bench/RESULTS.md), so GPU + CPU + DRAM sampled together cost one wake-up, not two.
 * The loop starts with the first registration and stops with the last.
 */
export function sharedScheduler(base: Scheduler): Scheduler {
  const callbacks = new Set<() => void | Promise<void>>();
  let handle: TickerHandle | undefined;
  return (intervalMs, onTick) => {
    callbacks.add(onTick);
    handle ??= base(intervalMs, async () => {
      for (const callback of [...callbacks]) {
        try {
          await callback();
        } catch {
          // one sampler's failed tick is its missing sample, not the others'
        }
      }
    });
    return {
      async stop() {
        callbacks.delete(onTick);
        if (callbacks.size > 0 || !handle) return;
        const stopping = handle;
        handle = undefined;
        await stopping.stop();
      },
    };
  };
}

/**
 * Several samplers over one window (GPUs through NVML, CPU package and DRAM through RAPL …):
 * started in order, stopped in reverse, and their devices reported side by side. The total is
 * the sum over every device (null if any is unknown); `method` is estimated if any part is.
 */
export class CombinedSampler implements EnergySampler {
  readonly kind = "combined" as const;
  readonly method: "measured" | "estimated";

  constructor(readonly parts: readonly EnergySampler[]) {
    this.method = parts.some((part) => part.method === "estimated") ? "estimated" : "measured";
  }

  async prepare(): Promise<void> {
    for (const part of this.parts) await part.prepare?.();
  }

  async start(): Promise<void> {
    await this.prepare();
    const started: EnergySampler[] = [];
    try {
      for (const part of this.parts) {
        await part.start();
        started.push(part);
      }
    } catch (error) {
      for (const part of started.reverse()) await part.stop().catch(() => undefined);
      throw error;
    }
  }

  async stop(): Promise<EnergyMeasurement> {
    const measurements: EnergyMeasurement[] = [];
    let failure: unknown;
    for (const part of [...this.parts].reverse()) {
      try {
        measurements.unshift(await part.stop());
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
    return combineMeasurements(measurements);
  }
}

/** The measurements of samplers that ran over one window, as one. */
export function combineMeasurements(measurements: readonly EnergyMeasurement[]): EnergyMeasurement {
  const perDevice = measurements.flatMap((m) => m.per_device);
  const samples = measurements.flatMap((m) => m.samples).sort((a, b) => a.t_ms - b.t_ms);
  const samplers = measurements.flatMap((m) => m.samplers ?? [m.sampler as SamplerKind]);
  return {
    sampler: "combined",
    samplers,
    method: measurements.some((m) => m.method === "estimated") ? "estimated" : "measured",
    energy_j: totalEnergy(perDevice),
    per_device: perDevice,
    duration_s: Math.max(...measurements.map((m) => m.duration_s)),
    sample_interval_ms: measurements[0]?.sample_interval_ms ?? 0,
    sample_count: samples.length,
    samples,
    estimate_inputs: measurements.find((m) => m.estimate_inputs)?.estimate_inputs ?? null,
    warnings: measurements.flatMap((m) => m.warnings),
    temperatures: measurements.flatMap((m) => m.temperatures),
  };
}
