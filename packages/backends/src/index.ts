/**
 * @llem/backends: run and measure one LLM inference experiment.
 * Engines are reached through the registry (engines/registry.ts); their native code and clients
 * are imported lazily by `create`, so importing this module is cheap.
 */
export { abortedError, throwIfAborted } from "./aborted.js";
export * from "./energy/index.js";
export { describeLlamaCppBinary, type LlamaCppBinary } from "./engines/llamacpp/binary.js";
export { LlamaCppEngine, type LlamaCppEngineOptions } from "./engines/llamacpp/engine.js";
export {
  LLAMACPP_PROCESS_ENV,
  libuvThreadpoolSize,
  llamaCppProcessEnv,
} from "./engines/llamacpp/process-env.js";
export {
  type LlamaCppSetupRecord,
  type SetupOptions,
  type SetupOutcome,
  setupLlamaCpp,
} from "./engines/llamacpp/setup.js";
export {
  defaultEngine,
  engineDefinition,
  engineUnavailableReason,
  registeredEngines,
  requireEngine,
} from "./engines/registry.js";
export type {
  Engine,
  EngineContext,
  EngineDefinition,
  EngineProbe,
  EngineRateEstimate,
  EngineRunOptions,
  GpuAssignment,
  PreparedModel,
  RequestMeasurement,
  ResultContext,
} from "./engines/types.js";
export * from "./gpus/index.js";
export { assembleResult, type MeasuredExperiment } from "./harness/assemble-result.js";
export { describeEnvironment, type EnvironmentSnapshot } from "./harness/environment.js";
export { checkoutRoot, llemVersion } from "./harness/llem-version.js";
export {
  type ExperimentProgress,
  type ExperimentStage,
  type RunExperimentOptions,
  runExperiment,
} from "./harness/run-experiment.js";
export * from "./metrics/index.js";
export { type GgufHeader, type GgufTensorInfo, readGgufHeader } from "./models/gguf-reader.js";
export { type ResolvedModel, resolveModel } from "./models/resolve-model.js";
export {
  ensureSyntheticModel,
  llemCacheDir,
  parseSyntheticSpec,
  SYNTHETIC_DTYPES,
  SYNTHETIC_PRESETS,
  type SyntheticDtype,
  type SyntheticPreset,
  type SyntheticSpec,
  syntheticFileName,
  syntheticParameterCount,
} from "./models/synthetic.js";
export { BUILTIN_PROMPT_SETS, type BuiltinPromptSet } from "./prompts/builtin-sets.js";
export {
  type DatasetSelection,
  datasetPreflight,
  loadPrompts,
  MAX_DATASET_BYTES,
  MAX_PROMPT_LINE_BYTES,
  type PromptSelection,
  readJsonlPrompts,
} from "./prompts/load-prompts.js";
