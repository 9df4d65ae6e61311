/**
 * `@llem/study/status`: what a progress view needs — a study's status from its manifest, and a
 * watch that follows it — without loading the runner, YAML or any engine.
 */
export {
  findResumableStudy,
  readStudyResultSet,
  readStudyResults,
  readStudyStatus,
} from "./status.js";
export { isStudyFinished, type WatchOptions, watchStudyStatus } from "./status-watch.js";
