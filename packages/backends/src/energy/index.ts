export {
  BaselineCache,
  type BaselineCacheOptions,
  baselineKey,
  type IdleBaseline,
  type MeasureIdleBaselineOptions,
  measureIdleBaseline,
} from "./baseline.js";
export { CombinedSampler, combineMeasurements, sharedScheduler } from "./combined.js";
export {
  counterDelta,
  cumulativeAt,
  cumulativeFromPower,
  detectUpdatePeriod,
  energyBetween,
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
export { MIN_COUNTER_PERIODS, NvmlSampler, type NvmlSamplerOptions } from "./nvml.js";
export type {
  NvmlBackend,
  NvmlBackendFactory,
  NvmlDeviceInfo,
  NvmlMigInstance,
  NvmlReading,
} from "./nvml-backend.js";
export { openKoffiNvml } from "./nvml-koffi.js";
export { nvmlLibraryOf, openDefaultNvml, openNvml } from "./nvml-open.js";
export { type NvmlRecording, parseNvidiaSmiCsv, replayNvmlBackend } from "./nvml-replay.js";
export { DEFAULT_POWERCAP_ROOT, discoverRapl, RaplSampler, type RaplZone } from "./rapl.js";
export { monotonicNow, timerScheduler } from "./scheduler.js";
export {
  type ComponentProbe,
  createSampler,
  probeComponents,
  probeSamplers,
  type SamplerChoiceOutcome,
  type SamplerOptions,
  type SamplerProbe,
} from "./select.js";
export type {
  ComponentSamplerKind,
  CumulativeEnergy,
  DeviceEnergy,
  DeviceKind,
  DeviceTemperature,
  EnergyMeasurement,
  EnergyMethod,
  EnergySampler,
  EnergySamplerConfig,
  EstimateInputs,
  GpuWindowDetails,
  PowerSample,
  SamplerChoice,
  SamplerKind,
  Scheduler,
  TickerHandle,
} from "./types.js";
