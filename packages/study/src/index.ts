// CONTRACT CHANGES (additive, see /work/brief/STUDY-API.md): LoadedStudy also has kind,
// yamlBytes, duplicates, shuffleSeed; runs carry configIndex; skipped entries carry origin;
// StudyEvent adds circuit_stopped {consecutiveFailures} and run_progress {configHash, cycle,
// stage, message}; RunStudyOptions adds env;
// StudyOutcome adds summaryFile. loadStudy takes an optional { nCycles } override.
export { aggregate, aggregateConfigs } from "./aggregate.js";
export { expandStudy } from "./expand.js";
export { estimateDuration, type LoadStudyOptions, loadStudy } from "./load.js";
export { latinSquareRow, orderRuns, shuffleSeed } from "./order.js";
export { seededRandom, shuffleInPlace } from "./prng.js";
export { runStudy } from "./run-study.js";
export {
  findResumableStudy,
  isStudyFinished,
  readStudyResults,
  readStudyStatus,
  type WatchOptions,
  watchStudyStatus,
} from "./status.js";
export {
  BASELINE_CACHE_FILE_NAME,
  experimentDirName,
  modelSlug,
  SKIPPED_FILE_NAME,
  STUDY_YAML_FILE_NAME,
  SUMMARY_FILE_NAME,
} from "./study-dir.js";
export type * from "./types.js";
