import { setTimeout as sleepMs } from "node:timers/promises";
import { LlemError } from "@llem/schema";
import type { PlacedGpu } from "../gpus/resolve.js";
import {
  cumulativeFromPower,
  detectUpdatePeriod,
  findGaps,
  integratePower,
  totalEnergy,
} from "./counter.js";
import type {
  NvmlBackend,
  NvmlBackendFactory,
  NvmlDeviceInfo,
  NvmlReading,
} from "./nvml-backend.js";
import { monotonicNow, timerScheduler } from "./scheduler.js";
import type {
  DeviceEnergy,
  DeviceTemperature,
  EnergyMeasurement,
  EnergySampler,
  PowerSample,
  Scheduler,
} from "./types.js";

/** A window shorter than this many counter update periods is quantised to a few updates. */
export const MIN_COUNTER_PERIODS = 3;
/**
 * A GPU board draws at most ~1.2 kW (B200); a counter step implying 5 kW is not energy, it is a
 * corrupted reading (a driver bug, a counter reset to a high value).
 */
const MAX_PLAUSIBLE_GPU_WATTS = 5000;

export interface NvmlSamplerOptions {
  sampleIntervalMs: number;
  /** Opens NVML at start(); injected in tests with a backend that replays recorded readings. */
  backend: NvmlBackend | NvmlBackendFactory;
  /** The placed GPUs to measure, matched by UUID (NVML index where a UUID is missing). */
  gpus?: readonly PlacedGpu[];
  /** NVML device indices to measure, where no placement is given; all devices by default. */
  devices?: number[];
  /**
   * The counter's update period: found by polling the counter before the first window of each
   * GPU in this process ("detect", the default), or given (tests, or a known GPU).
   */
  counterUpdatePeriodMs?: number | "detect";
  now?: () => number;
  /** Waits between the detection's polls; the default sleeps (tests advance a virtual clock). */
  sleep?: (ms: number) => Promise<void>;
  scheduler?: Scheduler;
}

interface DeviceState {
  info: NvmlDeviceInfo;
  placed: PlacedGpu | undefined;
  device: string;
  /** Counter readings (t_ms, mJ) since the window start; the first is the start reading. */
  counter: [number, number][];
  counterSupported: boolean;
  counterProblem: string | null;
  updatePeriodMs: number | null;
  samples: PowerSample[];
  failedReads: number;
  reads: number;
  startTemperature: number | null;
  endTemperature: number | null;
  peakTemperature: number | null;
  peakMemory: number | null;
}

/** Update periods found in this process, per GPU: polling once per GPU is enough. */
const detectedPeriods = new Map<string, number | null>();

/**
 * GPU energy from NVML's total-energy counter (Volta and newer) as the difference between the
 * window's first and last reading, per GPU — exactly the placed GPUs. Power, temperature and
 * memory are read every interval for the timeseries, the peaks and the counter's cross-check
 * (integrated power, reported beside it and judged by the result's consistency check).
 *
 * The counter advances in steps (~100 ms on A100/H100), found by polling it before the first
 * window. Where the counter cannot give the window's energy, the device's energy is its power
 * samples integrated and the result says so, never a silent 0 J:
 * - no counter (pre-Volta);
 * - the counter went back (a reset: driver reload) or jumped implausibly;
 * - the window is shorter than one update period, or the counter did not advance in it;
 * - the read at the window's end failed.
 */
export class NvmlSampler implements EnergySampler {
  readonly kind = "nvml" as const;
  readonly method = "measured" as const;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly scheduler: Scheduler;
  private readonly backendSource: NvmlBackend | NvmlBackendFactory;
  private readonly options: NvmlSamplerOptions;
  private backend: NvmlBackend | undefined;
  private ownsBackend = false;
  private states: DeviceState[] = [];
  private tickTimes: number[] = [];
  private startedAt = 0;
  private ticker: { stop(): Promise<void> } | undefined;

  constructor(options: NvmlSamplerOptions) {
    this.options = options;
    this.intervalMs = options.sampleIntervalMs;
    this.now = options.now ?? monotonicNow;
    this.sleep = options.sleep ?? ((ms) => sleepMs(ms));
    this.scheduler = options.scheduler ?? timerScheduler;
    this.backendSource = options.backend;
  }

  private prepared = false;

  /** Opens NVML, picks the devices and finds their counters' update period (outside the window). */
  async prepare(): Promise<void> {
    if (this.prepared) return;
    const backend = await this.open();
    this.states = this.select(backend.devices()).map(({ info, placed }) => ({
      info,
      placed,
      device: `gpu${info.index}`,
      counter: [],
      counterSupported: true,
      counterProblem: null,
      updatePeriodMs: null,
      samples: [],
      failedReads: 0,
      reads: 0,
      startTemperature: null,
      endTemperature: null,
      peakTemperature: null,
      peakMemory: null,
    }));
    await this.findUpdatePeriods(backend);
    this.prepared = true;
  }

  async start(): Promise<void> {
    await this.prepare();
    this.prepared = false; // the next window (a sampler can be reused) starts afresh
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

  private async open(): Promise<NvmlBackend> {
    if (this.backend) return this.backend;
    if (typeof this.backendSource !== "function") {
      this.backend = this.backendSource;
      return this.backend;
    }
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
    return this.backend;
  }

  /** The devices to measure: the placed GPUs by UUID, else the listed indices, else all. */
  private select(all: NvmlDeviceInfo[]): { info: NvmlDeviceInfo; placed?: PlacedGpu }[] {
    const { gpus, devices } = this.options;
    if (gpus) {
      return gpus.map((placed) => {
        const info = all.find((device) =>
          placed.uuid ? device.uuid === placed.uuid : device.index === placed.index,
        );
        if (!info) {
          throw new LlemError(
            "SAMPLER_UNAVAILABLE",
            `nvml sampler cannot start: the placed GPU ${placed.uuid ?? placed.index} (${placed.name}) is not among NVML's devices`,
          );
        }
        return { info, placed };
      });
    }
    const chosen = all.filter((info) => devices === undefined || devices.includes(info.index));
    if (chosen.length === 0) {
      throw new LlemError(
        "SAMPLER_UNAVAILABLE",
        `nvml sampler cannot start: none of the GPUs ${JSON.stringify(devices)} is present`,
      );
    }
    return chosen.map((info) => ({ info }));
  }

  private async findUpdatePeriods(backend: NvmlBackend): Promise<void> {
    const given = this.options.counterUpdatePeriodMs ?? "detect";
    await Promise.all(
      this.states.map(async (state) => {
        if (given !== "detect") {
          state.updatePeriodMs = given;
          return;
        }
        const key = state.info.uuid ?? `index ${state.info.index} of ${backend.description}`;
        if (!detectedPeriods.has(key)) {
          const read = backend.readEnergy
            ? () => backend.readEnergy!(state.info.index)
            : async () => (await backend.read(state.info.index)).energy_mj;
          const found = await detectUpdatePeriod(read, { now: this.now, sleep: this.sleep });
          detectedPeriods.set(key, found.period_ms);
        }
        state.updatePeriodMs = detectedPeriods.get(key) ?? null;
      }),
    );
  }

  private async readAll(tMs: number, phase: "start" | "tick" | "stop"): Promise<void> {
    if (phase === "tick") this.tickTimes.push(tMs);
    const backend = this.backend!;
    const readings = await Promise.allSettled(
      this.states.map((state) => backend.read(state.info.index)),
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
      state.peakTemperature = Math.max(state.peakTemperature ?? -Infinity, reading.temperature_c);
    }
    if (typeof reading.memory_used_bytes === "number") {
      state.peakMemory = Math.max(state.peakMemory ?? 0, reading.memory_used_bytes);
    }
    if (phase === "start") {
      state.counterSupported = reading.energy_mj !== null;
      if (reading.energy_mj !== null) state.counter = [[tMs, reading.energy_mj]];
      return;
    }
    if (!state.counterSupported || state.counterProblem || reading.energy_mj === null) return;
    const last = state.counter.at(-1);
    if (!last) return;
    const [lastMs, lastMj] = last;
    if (reading.energy_mj < lastMj) {
      state.counterProblem = `the energy counter went back from ${lastMj} to ${reading.energy_mj} mJ at ${Math.round(tMs)} ms (a reset: driver reload or GPU reset; the 64-bit mJ counter cannot wrap)`;
      return;
    }
    const elapsedS = (tMs - lastMs) / 1000;
    const watts = elapsedS > 0 ? (reading.energy_mj - lastMj) / 1000 / elapsedS : 0;
    if (watts > MAX_PLAUSIBLE_GPU_WATTS) {
      state.counterProblem = `the energy counter jumped by ${reading.energy_mj - lastMj} mJ in ${Math.round(tMs - lastMs)} ms (${Math.round(watts)} W, implausible)`;
      return;
    }
    if (tMs === lastMs) state.counter[state.counter.length - 1] = [tMs, reading.energy_mj];
    else state.counter.push([tMs, reading.energy_mj]);
  }

  /** The device's energy and how it was obtained, with the notes that qualify it. */
  private deviceEnergy(state: DeviceState, endMs: number, warnings: string[]): DeviceEnergy {
    const label = `nvml: ${state.device} (${state.info.name})`;
    const integrated = integratePower(state.samples, 0, endMs);
    const period = state.updatePeriodMs;
    let fallback: string | null = null;
    let counterJ: number | null = null;
    const first = state.counter[0];
    const last = state.counter.at(-1);
    if (!state.counterSupported) {
      fallback = "no total-energy counter (it needs Volta or newer)";
    } else if (state.counterProblem) {
      fallback = state.counterProblem;
    } else if (!first || !last || last[0] < endMs) {
      fallback = "the counter read at the window end failed";
    } else {
      counterJ = (last[1] - first[1]) / 1000;
      if (period !== null && endMs < period) {
        fallback = `the ${Math.round(endMs)} ms window is shorter than one update of the energy counter (every ${Math.round(period)} ms)`;
      } else if (counterJ === 0 && (integrated ?? 0) > 0) {
        fallback = `the energy counter did not advance in the ${Math.round(endMs)} ms window${period === null ? "" : ` (it updates every ${Math.round(period)} ms)`}`;
      } else if (period !== null && endMs < MIN_COUNTER_PERIODS * period) {
        warnings.push(
          `${label}: the ${Math.round(endMs)} ms window spans fewer than ${MIN_COUNTER_PERIODS} updates of the energy counter (every ${Math.round(period)} ms); its energy is quantised to whole updates`,
        );
      }
    }
    let energy: number | null = counterJ;
    let source: DeviceEnergy["source"] = "energy_counter";
    let crossCheck: number | null = null;
    let cumulative: [number, number][];
    if (fallback !== null) {
      energy = integrated;
      source = "power_integration";
      cumulative = cumulativeFromPower(state.samples, 0, endMs);
      const counterNote = counterJ === null ? "" : ` (the counter said ${counterJ.toFixed(3)} J)`;
      warnings.push(
        integrated === null
          ? `${label}: ${fallback}, and no power samples either: energy unknown`
          : `${label}: ${fallback}; its energy is the power samples integrated, ${integrated.toFixed(3)} J${counterNote}`,
      );
    } else {
      const startMj = first![1];
      cumulative = state.counter.map(([t, mj]) => [t, (mj - startMj) / 1000]);
      if (integrated !== null && state.samples.length >= 2) crossCheck = integrated;
    }
    if (state.failedReads > 0) {
      warnings.push(
        `nvml: ${state.failedReads} of ${state.reads + state.failedReads} reads of ${state.device} failed`,
      );
    }
    const moduleScope = state.placed?.moduleScope ?? state.info.moduleScope === true;
    const mig = state.placed?.migInstances ?? [];
    if (moduleScope) {
      warnings.push(
        `${label} reports module power (Grace Hopper-class: C2C enabled): its energy covers the Grace CPU, the GPU and their memory, not the GPU alone`,
      );
    }
    const powers = state.samples.map((sample) => sample.power_w);
    return {
      device: state.device,
      kind: "gpu",
      energy_j: energy,
      source,
      integrated_j: crossCheck,
      name: state.info.name,
      scope: moduleScope
        ? "the whole module: Grace CPU + GPU + memory (NVML module power)"
        : mig.length > 0
          ? `the whole GPU, placed as MIG instance(s) ${mig.join(", ")} (other instances included)`
          : "one GPU board",
      gpu: {
        index: state.info.index,
        uuid: state.info.uuid,
        pci_bus_id: state.info.pciBusId ?? null,
        mig_instances: mig,
        module_power: moduleScope,
        counter_update_period_ms: period,
        mean_power_w: energy === null || !(endMs > 0) ? null : energy / (endMs / 1000),
        peak_power_w: powers.length === 0 ? null : Math.max(...powers),
        peak_memory_used_bytes: state.peakMemory,
        memory_total_bytes: state.info.memoryTotalBytes ?? null,
        temperature_c: {
          start: state.startTemperature,
          end: state.endTemperature,
          peak: state.peakTemperature,
        },
      },
      cumulative,
    };
  }

  private measurement(endMs: number): EnergyMeasurement {
    const warnings: string[] = [];
    const perDevice = this.states.map((state) => this.deviceEnergy(state, endMs, warnings));
    const temperatures: DeviceTemperature[] = this.states.map((state) => ({
      device: state.device,
      start_c: state.startTemperature,
      end_c: state.endTemperature,
    }));
    const gaps = findGaps(this.tickTimes, this.intervalMs);
    if (gaps.count > 0) {
      warnings.push(
        `nvml: ${gaps.count} gap(s) in the sampling loop, the longest ${Math.round(gaps.longest_ms)} ms (interval ${this.intervalMs} ms)`,
      );
    }
    const samples = this.states.flatMap((state) => state.samples).sort((a, b) => a.t_ms - b.t_ms);
    return {
      sampler: "nvml",
      samplers: ["nvml"],
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
