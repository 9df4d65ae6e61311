/**
 * What the NVML sampler needs from NVML. The live implementation is an FFI binding to
 * libnvidia-ml (nvml-koffi.ts); tests and offline replays inject a backend that serves recorded
 * readings, so both go through the same sampler code.
 */

export interface NvmlDeviceInfo {
  index: number;
  name: string;
  uuid: string | null;
}

export interface NvmlReading {
  /** nvmlDeviceGetTotalEnergyConsumption: mJ since the driver loaded; null if not supported (pre-Volta). */
  energy_mj: number | null;
  /** nvmlDeviceGetPowerUsage in watts (a 1 s average on Ampere and newer, per the NVML docs). */
  power_w: number | null;
  temperature_c: number | null;
}

export interface NvmlBackend {
  /** E.g. "libnvidia-ml.so.1, driver 550.90.07". */
  readonly description: string;
  devices(): NvmlDeviceInfo[];
  /** One reading of one device; a rejection is a missing sample, not a failed experiment. */
  read(index: number): Promise<NvmlReading>;
  close(): void;
}

/** Opens NVML; rejects with an Error whose message says why NVML is unavailable. */
export type NvmlBackendFactory = () => Promise<NvmlBackend>;
