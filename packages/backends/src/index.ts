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
  ServerReuse,
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
export {
  STEADY_STATE_DEFINITION,
  type SteadySpan,
  steadyStateSpan,
} from "./harness/steady-state.js";
export {
  type Arrival,
  type ArrivalOptions,
  arrivalSchedule,
  gammaSample,
} from "./load/arrivals.js";
export { type LoadOptions, type LoadPlan, type LoadRequest, runLoad } from "./load/generator.js";
export { apiUrl, type BodyOptions, requestBody } from "./load/request-body.js";
export { REQUESTS_FILE_NAME, writeRequestsFile } from "./load/requests-file.js";
export {
  type ServerApi,
  type StreamedResponse,
  type StreamOptions,
  type StreamStatus,
  type StreamTarget,
  streamRequest,
} from "./load/stream-request.js";
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
export { type BinaryLookup, findBinary, searchPath } from "./servers/find-binary.js";
export { stopHeldServer } from "./servers/held-server.js";
export { type LeftoverOutcome, stopLeftoverServer } from "./servers/leftovers.js";
export { probeRunners, type RunnerProbe } from "./servers/runner-probe.js";
export {
  type LaunchPlan,
  type LaunchRequest,
  type ListenAddress,
  launchPlan,
  listenAddress,
} from "./servers/runners/index.js";
export { SERVER_RECORD_FILE_NAME, type ServerRecord } from "./servers/server-record.js";
export type { ServerEngineSpec } from "./servers/spec.js";
