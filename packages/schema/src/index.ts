export { canonicalJson, canonicalJsonOfData, sha256Hex } from "./canonical.js";
export { closestMatch, editDistance } from "./closest-match.js";
export {
  COMPONENT_READINGS,
  ComponentSum,
  ENERGY_COMPONENTS,
  EnergyComponent,
  EnergyComponentKind,
  EnergyTotal,
  GpuDetails,
  SteadyStateEnergy,
} from "./energy-result.js";
export { LlemError, type LlemErrorCode, type LlemErrorOptions } from "./errors.js";
export {
  ARRIVALS,
  BaselineConfig,
  COMPONENT_SAMPLERS,
  DatasetConfig,
  DEFAULT_ENGINE,
  ENERGY_SAMPLERS,
  ENGINE_SECTIONS,
  ENGINES,
  EnergyConfig,
  Engine,
  ExperimentConfig,
  type ExperimentConfigInput,
  isServerEngine,
  KV_CACHE_TYPES,
  LlamaCppConfig,
  llamaCppSection,
  MeasurementConfig,
  SERVER_ENGINE_APIS,
  SERVER_ENGINES,
  SERVER_WORKLOAD_DEFAULTS,
  type ServerEngine,
  SloConfig,
  TaskConfig,
  WarmupConfig,
  WORKLOAD_MODES,
  WorkloadConfig,
  withEngineSection,
} from "./experiment-config.js";
export {
  Baseline,
  ENERGY_METHODS,
  EnergyMethod,
  EnergySection,
  Environment,
  ExperimentResult,
  Goodput,
  LatencyStats,
  RequestErrors,
  ResultSampler,
  ResultWarning,
  SAMPLER_KINDS,
  SamplerKind,
  SteadyState,
  WarmupOutcome,
} from "./experiment-result.js";
export {
  GPU_UUID_PATTERN,
  GpuId,
  GpuSelection,
  gpuCountIssues,
  parallelGpuCount,
  withoutDefaultGpus,
} from "./gpus.js";
export {
  canonicalConfigJson,
  configHash,
  configHashOf,
  configHashOfCanonical,
  studyDesignHash,
  studyYamlHash,
} from "./hashes.js";
export { jsonSchemaFor, PUBLIC_FORMATS, type PublicFormat } from "./json-schema.js";
export {
  parseExperimentConfig,
  parseWith,
  type SafeParseOutcome,
  safeParseExperimentConfig,
  safeParseWith,
} from "./parse.js";
export { printable, printableMessage } from "./printable.js";
export {
  deriveSeed,
  type SeededRandom,
  seededRandom,
  shuffleInPlace,
  xoshiro128StarStar,
} from "./random.js";
export { REQUEST_STATUSES, RequestRecord } from "./request-record.js";
export {
  LLAMA_SERVER_KV_CACHE_TYPES,
  LlamaServerConfig,
  OpenAiConfig,
  RUNNERS,
  type Runner,
  SERVER_APIS,
  type ServerApi,
  type ServerLaunch,
  SglangConfig,
  TensorrtConfig,
  TransformersConfig,
  VllmConfig,
} from "./server-engine-config.js";
export {
  DEFAULT_MAX_RUNS,
  EXPERIMENT_ORDERS,
  isSweepGroup,
  MAX_WAIT_SECONDS,
  parseStudyConfig,
  StudyConfig,
  type StudyConfigInput,
  StudyExecution,
  StudyOutput,
  safeParseStudyConfig,
  sharedExperimentFields,
  studyFieldIssues,
  sweepKeyPath,
} from "./study-config.js";
export {
  ManifestEntry,
  RUN_STATUSES,
  RunLease,
  RunStatus,
  STUDY_STATUSES,
  StudyManifest,
} from "./study-manifest.js";
export { Aggregate, ConfigAggregate, EnergyBasis, StudyResult } from "./study-result.js";
export { nowIso, Timestamp } from "./timestamps.js";
export {
  ConfigValidationError,
  formatIssues,
  formatPath,
  isPlainObject,
  schemaAtPath,
  type ValidationIssue,
} from "./validation.js";
export { LLEM_VERSION } from "./version.js";
