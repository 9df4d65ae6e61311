/**
 * The contract between the measurement harness and the energy samplers. Field names of
 * `EnergyMeasurement` are snake_case because the measurement is copied into result.json.
 */

export type SamplerKind = "nvml" | "rapl" | "estimate" | "none";
/** A sampler that measures components and can be listed with others in `sampler: [...]`. */
export type ComponentSamplerKind = Exclude<SamplerKind, "none">;
export type SamplerChoice = "auto" | SamplerKind | readonly ComponentSamplerKind[];
export type EnergyMethod = "measured" | "estimated" | "none";
export type DeviceKind = "gpu" | "cpu_package" | "dram" | "cpu_estimate";

/** One power reading. `t_ms` counts from the sampler's `start()`, so a window starts at 0. */
export interface PowerSample {
  t_ms: number;
  device: string;
  power_w: number;
  temperature_c?: number;
}

/**
 * Energy used since the window's start at moments inside it (t_ms from the start, joules), in
 * time order: each counter reading, or each power sample integrated. Energy over any span of
 * the window (the steady state) is read off it by `energyBetween`.
 */
export type CumulativeEnergy = ReadonlyArray<readonly [t_ms: number, joules: number]>;

/** What NVML said about one GPU over the window. */
export interface GpuWindowDetails {
  index: number;
  uuid: string | null;
  pci_bus_id: string | null;
  mig_instances: string[];
  module_power: boolean;
  counter_update_period_ms: number | null;
  mean_power_w: number | null;
  peak_power_w: number | null;
  peak_memory_used_bytes: number | null;
  memory_total_bytes: number | null;
  temperature_c: { start: number | null; end: number | null; peak: number | null };
}

export interface DeviceEnergy {
  device: string;
  kind: DeviceKind;
  /** Null when the device's energy could not be established (counter reset, ambiguous wrap). */
  energy_j: number | null;
  /** Where the figure came from: a hardware energy counter, integrated power, or a model. */
  source?: "energy_counter" | "power_integration" | "cpu_time_model";
  /** For counter energy: the same window's power samples integrated, as a cross-check. */
  integrated_j?: number | null;
  /** Human label such as the GPU's name, when known. */
  name?: string;
  /** What the figure covers, in words: "one GPU board", "CPU socket 0 (every process on it)". */
  scope?: string;
  gpu?: GpuWindowDetails;
  /** The energy through the window; absent where the sampler kept none. */
  cumulative?: CumulativeEnergy;
}

/** Inputs of the estimate model, recorded so a reader can redo (or reject) the arithmetic. */
export interface EstimateInputs {
  cpu_time_s: number;
  watts_per_core: number;
  /** CPU time ÷ window: how many cores were busy on average. */
  cores_busy_mean: number;
  formula: string;
}

/** Temperature of a device at the start and end of the window, where the sampler can read it. */
export interface DeviceTemperature {
  device: string;
  start_c: number | null;
  end_c: number | null;
}

export interface EnergyMeasurement {
  /** One sampler's kind, or `combined` when several measured together (`samplers`). */
  sampler: SamplerKind | "combined";
  /** Every sampler that measured; [sampler] for one. */
  samplers?: SamplerKind[];
  method: EnergyMethod;
  /** Sum over devices; null when no energy could be obtained (sampler none, every device failed). */
  energy_j: number | null;
  per_device: DeviceEnergy[];
  /** Length of the window as the sampler saw it (start() to stop()). */
  duration_s: number;
  sample_interval_ms: number;
  /** Timeseries samples collected (over all devices). */
  sample_count: number;
  samples: PowerSample[];
  estimate_inputs: EstimateInputs | null;
  warnings: string[];
  temperatures: DeviceTemperature[];
}

export interface EnergySampler {
  readonly kind: SamplerKind | "combined";
  readonly method: EnergyMethod;
  /**
   * Work that must not fall inside the window (finding the NVML counter's update period);
   * `start` does it when it was not called. Optional.
   */
  prepare?(): Promise<void>;
  /** Takes the first counter reading and starts the timeseries loop. */
  start(): Promise<void>;
  /** Takes the last counter reading, stops the loop and returns the window's energy. */
  stop(): Promise<EnergyMeasurement>;
}

/** The `measurement.energy` section of an experiment config. */
export interface EnergySamplerConfig {
  sampler: SamplerChoice;
  sample_interval_ms: number;
  cpu_watts_per_core: number;
}

/**
 * Drives a periodic callback. The live one uses timers; tests inject a manual one and step it,
 * so recorded data goes through exactly the code a live run uses.
 */
export type Scheduler = (intervalMs: number, onTick: () => void | Promise<void>) => TickerHandle;

export interface TickerHandle {
  /** Stops the loop; resolves once a tick in progress (if any) has finished. */
  stop(): Promise<void>;
}
