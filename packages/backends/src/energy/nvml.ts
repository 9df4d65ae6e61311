import { LlemError } from "@llem/schema";
import { findGaps, integratePower, totalEnergy } from "./counter.js";
import type { NvmlBackend, NvmlBackendFactory, NvmlReading } from "./nvml-backend.js";
import { monotonicNow, timerScheduler } from "./scheduler.js";
import type {
  DeviceEnergy,
  DeviceTemperature,
  EnergyMeasurement,
  EnergySampler,
  PowerSample,
  Scheduler,
} from "./types.js";

export interface NvmlSamplerOptions {
  sampleIntervalMs: number;
  /** Opens NVML at start(); injected in tests with a backend that replays recorded readings. */
  backend: NvmlBackend | NvmlBackendFactory;
  /** NVML device indices to measure; all devices by default. */
  devices?: number[];
  now?: () => number;
  scheduler?: Scheduler;
}

interface DeviceState {
  index: number;
  device: string;
  name: string;
  /** Counter at the window start, null if unsupported or the first read failed. */
  startMj: number | null;
  lastMj: number | null;
  lastCounterMs: number;
  counterSupported: boolean;
  counterProblem: string | null;
  samples: PowerSample[];
  failedReads: number;
  reads: number;
  startTemperature: number | null;
  endTemperature: number | null;
}

/**
 * GPU energy from NVML's total-energy counter (Volta and newer) as the difference between the
 * window's first and last reading, per device. Power and temperature are sampled every interval
 * for the timeseries and to cross-check the counter. Without a counter (older GPUs) or when the
 * counter resets (driver reload), the device's energy is the integrated power instead, and the
 * result says so.
 */
export class NvmlSampler implements EnergySampler {
  readonly kind = "nvml" as const;
  readonly method = "measured" as const;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly scheduler: Scheduler;
  private readonly backendSource: NvmlBackend | NvmlBackendFactory;
  private readonly deviceFilter: number[] | undefined;
  private backend: NvmlBackend | undefined;
  private ownsBackend = false;
  private states: DeviceState[] = [];
  private tickTimes: number[] = [];
  private startedAt = 0;
  private ticker: { stop(): Promise<void> } | undefined;

  constructor(options: NvmlSamplerOptions) {
    this.intervalMs = options.sampleIntervalMs;
    this.now = options.now ?? monotonicNow;
    this.scheduler = options.scheduler ?? timerScheduler;
    this.backendSource = options.backend;
    this.deviceFilter = options.devices;
  }

  async start(): Promise<void> {
    if (!this.backend) {
      if (typeof this.backendSource === "function") {
        try {
          this.backend = await this.backendSource();
        } catch (error) {
          throw new LlemError(
            "SAMPLER_UNAVAILABLE",
            `nvml sampler cannot start: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          );
        }
        this.ownsBackend = true;
      } else {
        this.backend = this.backendSource;
      }
    }
    const devices = this.backend
      .devices()
      .filter((info) => this.deviceFilter === undefined || this.deviceFilter.includes(info.index));
    if (devices.length === 0) {
      throw new LlemError(
        "SAMPLER_UNAVAILABLE",
        `nvml sampler cannot start: none of the GPUs ${JSON.stringify(this.deviceFilter)} is present`,
      );
    }
    this.states = devices.map((info) => ({
      index: info.index,
      device: `gpu${info.index}`,
      name: info.name,
      startMj: null,
      lastMj: null,
      lastCounterMs: 0,
      counterSupported: true,
      counterProblem: null,
      samples: [],
      failedReads: 0,
      reads: 0,
      startTemperature: null,
      endTemperature: null,
    }));
    this.tickTimes = [];
    this.startedAt = this.now();
    await this.readAll(0, "start");
    this.ticker = this.scheduler(this.intervalMs, () =>
      this.readAll(this.now() - this.startedAt, "tick"),
    );
  }

  async stop(): Promise<EnergyMeasurement> {
    await this.ticker?.stop();
    this.ticker = undefined;
    const endMs = this.now() - this.startedAt;
    await this.readAll(endMs, "stop");
    if (this.ownsBackend) {
      this.backend?.close();
      this.backend = undefined;
    }
    return this.measurement(endMs);
  }

  private async readAll(tMs: number, phase: "start" | "tick" | "stop"): Promise<void> {
    if (phase === "tick") this.tickTimes.push(tMs);
    const backend = this.backend!;
    const readings = await Promise.allSettled(
      this.states.map((state) => backend.read(state.index)),
    );
    readings.forEach((outcome, i) => {
      const state = this.states[i]!;
      if (outcome.status === "rejected") {
        state.failedReads += 1;
        if (phase === "start") state.counterProblem = "the counter read at the window start failed";
        return;
      }
      state.reads += 1;
      this.absorb(state, outcome.value, tMs, phase);
    });
  }

  private absorb(state: DeviceState, reading: NvmlReading, tMs: number, phase: string): void {
    if (reading.power_w !== null) {
      const sample: PowerSample = { t_ms: tMs, device: state.device, power_w: reading.power_w };
      if (reading.temperature_c !== null) sample.temperature_c = reading.temperature_c;
      // The stop() read can land on the last tick's instant; keep one sample per instant.
      if (state.samples.at(-1)?.t_ms === tMs) state.samples[state.samples.length - 1] = sample;
      else state.samples.push(sample);
    }
    if (reading.temperature_c !== null) {
      state.startTemperature ??= reading.temperature_c;
      state.endTemperature = reading.temperature_c;
    }
    if (phase === "start") {
      state.counterSupported = reading.energy_mj !== null;
      state.startMj = reading.energy_mj;
      state.lastMj = reading.energy_mj;
      return;
    }
    if (!state.counterSupported || state.counterProblem || reading.energy_mj === null) return;
    if (state.lastMj !== null && reading.energy_mj < state.lastMj) {
      state.counterProblem = `the energy counter went back from ${state.lastMj} to ${reading.energy_mj} mJ (driver reload or reset)`;
      return;
    }
    state.lastMj = reading.energy_mj;
    state.lastCounterMs = tMs;
  }

  private measurement(endMs: number): EnergyMeasurement {
    const warnings: string[] = [];
    const perDevice: DeviceEnergy[] = [];
    const temperatures: DeviceTemperature[] = [];
    for (const state of this.states) {
      const integrated = integratePower(state.samples, 0, endMs);
      let counterJ: number | null = null;
      if (!state.counterSupported) {
        warnings.push(
          `nvml: ${state.device} (${state.name}) has no total-energy counter (needs Volta or newer); its energy is integrated power samples`,
        );
      } else if (state.counterProblem) {
        warnings.push(
          `nvml: ${state.device}: ${state.counterProblem}; its energy is integrated power samples`,
        );
      } else if (state.startMj !== null && state.lastMj !== null) {
        if (state.lastCounterMs < endMs) {
          warnings.push(
            `nvml: ${state.device}: the counter read at the window end failed; its energy is integrated power samples`,
          );
        } else {
          counterJ = (state.lastMj - state.startMj) / 1000;
        }
      }
      let energy: number | null = counterJ;
      let source: DeviceEnergy["source"] = "energy_counter";
      // The counter's cross-check: the result's consistency check compares the two
      // (metrics/energy.ts, COUNTER_CROSS_CHECK_TOLERANCE).
      let crossCheck: number | null = null;
      if (energy === null) {
        energy = integrated;
        source = "power_integration";
        if (energy === null)
          warnings.push(`nvml: ${state.device}: no power samples either; energy unknown`);
      } else if (integrated !== null && state.samples.length >= 2) {
        crossCheck = integrated;
      }
      if (state.failedReads > 0) {
        warnings.push(
          `nvml: ${state.failedReads} of ${state.reads + state.failedReads} reads of ${state.device} failed`,
        );
      }
      perDevice.push({
        device: state.device,
        kind: "gpu",
        energy_j: energy,
        source,
        integrated_j: crossCheck,
        name: state.name,
      });
      temperatures.push({
        device: state.device,
        start_c: state.startTemperature,
        end_c: state.endTemperature,
      });
    }
    const gaps = findGaps(this.tickTimes, this.intervalMs);
    if (gaps.count > 0) {
      warnings.push(
        `nvml: ${gaps.count} gap(s) in the sampling loop, the longest ${Math.round(gaps.longest_ms)} ms (interval ${this.intervalMs} ms)`,
      );
    }
    const samples = this.states.flatMap((state) => state.samples).sort((a, b) => a.t_ms - b.t_ms);
    return {
      sampler: "nvml",
      method: "measured",
      energy_j: totalEnergy(perDevice),
      per_device: perDevice,
      duration_s: endMs / 1000,
      sample_interval_ms: this.intervalMs,
      sample_count: samples.length,
      samples,
      estimate_inputs: null,
      warnings,
      temperatures,
    };
  }
}
