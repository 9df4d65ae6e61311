/**
 * @llem/study: expand a study file into ordered runs, run each isolated in its own process,
 * interrupt, resume and summarise. `@llem/study/status` is the light entry for progress views.
 */
export { aggregate, aggregateConfigs, type SkippedResult } from "./aggregate.js";
export { expandStudy } from "./expand.js";
export { estimateDuration, type LoadStudyOptions, loadStudy, preflightStudy } from "./load.js";
export { latinSquareRow, orderRuns, shuffleSeed } from "./order.js";
export { runStudy } from "./run-study.js";
export {
  findResumableStudy,
  isStudyFinished,
  readStudyResultSet,
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
export { summarizeConfig } from "./summary.js";
export type * from "./types.js";
