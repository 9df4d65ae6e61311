/**
 * @llem/study: expand a study file into ordered runs, run each isolated in its own process,
 * interrupt, resume and summarise — with one runner, or several workers sharing the study dir
 * (`runWorkers` on one node, `runWorker` to join, `prepareSlurmArray` for SLURM job arrays). `@llem/study/status` is the light entry for progress views.
 */
export { aggregate, aggregateConfigs, type SkippedResult } from "./aggregate.js";
export { expandStudy } from "./expand.js";
export { estimateDuration, type LoadStudyOptions, loadStudy, preflightStudy } from "./load.js";
export { latinSquareRow, orderRuns, shuffleSeed } from "./order.js";
export { runStudy } from "./run-study.js";
export { MAX_CLOCK_SKEW_MS, type StudyTiming, studyTiming } from "./runner/timing.js";
export { type FinalizeOutcome, finalizeStudy } from "./scale/finalize.js";
export {
  type RunWorkersOptions,
  runWorkers,
  type WorkersOutcome,
} from "./scale/multi-worker.js";
export {
  formatCpuList,
  parseCpuList,
  planPlacements,
  type WorkerPlacement,
} from "./scale/placement.js";
export {
  prepareSlurmArray,
  type SlurmArrayOptions,
  type SlurmArrayOutcome,
  sbatchScript,
} from "./scale/slurm.js";
export { type RunWorkerOptions, runWorker, type WorkerOutcome } from "./scale/worker-loop.js";
export { readWorkerRecords, type WorkerRecord } from "./scale/worker-records.js";
export {
  findResumableStudy,
  readStudyResultSet,
  readStudyResults,
  readStudyStatus,
} from "./status.js";
export { isStudyFinished, type WatchOptions, watchStudyStatus } from "./status-watch.js";
export {
  attemptDirName,
  BASELINE_CACHE_FILE_NAME,
  experimentDirName,
  modelSlug,
  SKIPPED_FILE_NAME,
  STUDY_YAML_FILE_NAME,
  SUMMARY_FILE_NAME,
} from "./study-dir.js";
export { summarizeConfig } from "./summary.js";
export type * from "./types.js";
