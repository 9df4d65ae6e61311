export { canonicalJson, sha256Hex } from "./canonical.js";
export { LlemError, type LlemErrorCode, type LlemErrorOptions } from "./errors.js";
export {
  BaselineConfig,
  DatasetConfig,
  ENERGY_SAMPLERS,
  ENGINES,
  EnergyConfig,
  Engine,
  ExperimentConfig,
  type ExperimentConfigInput,
  KV_CACHE_TYPES,
  LlamaCppConfig,
  llamaCppSection,
  MeasurementConfig,
  SERVER_ENGINES,
  type ServerEngine,
  ServerEngineConfig,
  TaskConfig,
  WarmupConfig,
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
  LatencyStats,
  ResultWarning,
  SAMPLER_KINDS,
  SamplerKind,
  WarmupOutcome,
} from "./experiment-result.js";
export { configHash, configHashOf, studyDesignHash, studyYamlHash } from "./hashes.js";
export { jsonSchemaFor, PUBLIC_FORMATS, type PublicFormat } from "./json-schema.js";
export {
  parseExperimentConfig,
  parseWith,
  type SafeParseOutcome,
  safeParseExperimentConfig,
  safeParseWith,
} from "./parse.js";
export { printable } from "./printable.js";
export {
  EXPERIMENT_ORDERS,
  isSweepGroup,
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
export { Aggregate, ConfigAggregate, StudyResult } from "./study-result.js";
export { summarizeConfig } from "./summary.js";
export { nowIso, Timestamp } from "./timestamps.js";
export {
  ConfigValidationError,
  closestMatch,
  formatIssues,
  formatPath,
  schemaAtPath,
  type ValidationIssue,
} from "./validation.js";
export { LLEM_VERSION } from "./version.js";
