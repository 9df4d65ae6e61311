/**
 * The experiment process: @llem/study forks this file (dist/worker.js) once per run, in its own
 * process group, and it runs that one experiment (worker/experiment-job.ts) over the protocol of
 * worker/host.ts. Tests point the runner at a test-only worker instead (tools/fault-study).
 */

import { runExperimentJob } from "./worker/experiment-job.js";
import { serveOneJob } from "./worker/host.js";

serveOneJob(runExperimentJob);
