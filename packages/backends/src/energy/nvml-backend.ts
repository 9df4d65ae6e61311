/**
 * What the NVML sampler needs from NVML. The live implementation is an FFI binding to
 * libnvidia-ml (nvml-koffi.ts); tests and offline replays inject a backend that serves recorded
 * readings, so both go through the same sampler code.
 */

/** A MIG instance on a GPU (`nvmlDeviceGetMigDeviceHandleByIndex`). */
export interface NvmlMigInstance {
  /** "MIG-…" as CUDA_VISIBLE_DEVICES takes it. */
  uuid: string;
  gpuInstanceId: number | null;
  computeInstanceId: number | null;
}

export interface NvmlDeviceInfo {
  /** NVML's index (PCI bus order in practice; NVML promises nothing, so placement sorts by bus id). */
  index: number;
  name: string;
  uuid: string | null;
  /** "00000000:3B:00.0" (`nvmlDeviceGetPciInfo_v3().busId`); null where unknown. */
  pciBusId?: string | null;
  memoryTotalBytes?: number | null;
  /** MIG instances where MIG mode is on; empty or absent otherwise. */
  mig?: NvmlMigInstance[];
  /**
   * True where NVML's power and energy cover a whole module (Grace Hopper: CPU + GPU + memory,
   * found by `nvmlDeviceGetC2cModeInfoV`, as Zeus does), not the GPU alone.
   */
  moduleScope?: boolean;
}

export interface NvmlReading {
  /** nvmlDeviceGetTotalEnergyConsumption: mJ since the driver loaded; null if not supported (pre-Volta). */
  energy_mj: number | null;
  /** nvmlDeviceGetPowerUsage in watts (a 1 s average on Ampere and newer, per the NVML docs). */
  power_w: number | null;
  temperature_c: number | null;
  /** nvmlDeviceGetMemoryInfo().used in bytes; absent or null where unknown. */
  memory_used_bytes?: number | null;
}

export interface NvmlBackend {
  /** E.g. "libnvidia-ml.so.1, driver 550.90.07". */
  readonly description: string;
  devices(): NvmlDeviceInfo[];
  /** One reading of one device; a rejection is a missing sample, not a failed experiment. */
  read(index: number): Promise<NvmlReading>;
  /**
   * Only the energy counter of one device (mJ), for finding the counter's update period by
   * polling it quickly before the window; backends without it are polled through `read`.
   */
  readEnergy?(index: number): Promise<number | null>;
  close(): void;
}

/** Opens NVML; rejects with an Error whose message says why NVML is unavailable. */
export type NvmlBackendFactory = () => Promise<NvmlBackend>;
