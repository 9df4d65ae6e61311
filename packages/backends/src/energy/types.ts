/**
 * The contract between the measurement harness and the energy samplers. Field names of
 * `EnergyMeasurement` are snake_case because the measurement is copied into result.json.
 */

export type SamplerKind = "nvml" | "rapl" | "estimate" | "none";
export type SamplerChoice = "auto" | SamplerKind;
export type EnergyMethod = "measured" | "estimated" | "none";
export type DeviceKind = "gpu" | "cpu_package" | "dram" | "cpu_estimate";

/** One power reading. `t_ms` counts from the sampler's `start()`, so a window starts at 0. */
export interface PowerSample {
  t_ms: number;
  device: string;
  power_w: number;
  temperature_c?: number;
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
  sampler: SamplerKind;
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
  readonly kind: SamplerKind;
  readonly method: EnergyMethod;
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
