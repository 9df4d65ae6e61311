/**
 * `@llem/study/worker-host`: the pieces of the experiment process, for a process of one's own
 * (a wrapper that profiles, a test double that injects faults): the IPC side of the protocol
 * (`serveOneJob`) and the job the production worker runs (`runExperimentJob`). Point a study at
 * such a script with `RunStudyOptions.workerPath` or `LLEM_STUDY_WORKER`.
 */
export type { WorkerJob, WorkerMessage } from "./protocol.js";
export { runExperimentJob } from "./worker/experiment-job.js";
export { type JobContext, type JobExecutor, serveOneJob } from "./worker/host.js";
