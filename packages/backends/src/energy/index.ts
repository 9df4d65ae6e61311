export {
  BaselineCache,
  type BaselineCacheOptions,
  type IdleBaseline,
  type MeasureIdleBaselineOptions,
  measureIdleBaseline,
} from "./baseline.js";
export {
  counterDelta,
  findGaps,
  integratePower,
  totalEnergy,
  wrapIsAmbiguous,
} from "./counter.js";
export {
  type CpuTemperatureReader,
  DEFAULT_HWMON_ROOT,
  findCpuTemperature,
} from "./cpu-temperature.js";
export {
  type CpuTimeSource,
  DEFAULT_CPU_WATTS_PER_CORE,
  ESTIMATE_FORMULA,
  EstimateSampler,
  processCpuTimeUs,
} from "./estimate.js";
export { NoneSampler } from "./none.js";
export { NvmlSampler } from "./nvml.js";
export type {
  NvmlBackend,
  NvmlBackendFactory,
  NvmlDeviceInfo,
  NvmlReading,
} from "./nvml-backend.js";
export { openKoffiNvml } from "./nvml-koffi.js";
export { type NvmlRecording, parseNvidiaSmiCsv, replayNvmlBackend } from "./nvml-replay.js";
export { DEFAULT_POWERCAP_ROOT, discoverRapl, RaplSampler, type RaplZone } from "./rapl.js";
export { monotonicNow, timerScheduler } from "./scheduler.js";
export { createSampler, probeSamplers, type SamplerOptions, type SamplerProbe } from "./select.js";
export type {
  DeviceEnergy,
  DeviceKind,
  DeviceTemperature,
  EnergyMeasurement,
  EnergyMethod,
  EnergySampler,
  EnergySamplerConfig,
  EstimateInputs,
  PowerSample,
  SamplerChoice,
  SamplerKind,
  Scheduler,
  TickerHandle,
} from "./types.js";
