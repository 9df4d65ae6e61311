import type { ExperimentConfig } from "@llem/schema";

/** Parent → worker: the one experiment this process runs. */
export interface WorkerJob {
  type: "run";
  config: ExperimentConfig;
  configHash: string;
  cycle: number;
  /** The experiment's directory (engine.log is already there; timeseries.csv goes there). */
  experimentDir: string;
  /** JSON file of the study's shared idle-baseline cache (read and updated by every worker). */
  baselineCacheFile: string;
  saveTimeseries: boolean;
  /** Relative model and dataset paths are resolved against this (the study file's directory). */
  baseDir: string;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: "ready" }
  | { type: "progress"; stage: string; message: string }
  | { type: "result"; result: unknown }
  | { type: "error"; errorType: string; code: string | null; message: string; aborted: boolean };

/**
 * Test- and bench-only switches honoured by the worker (never set them for real studies):
 *
 * - `LLEM_TEST_WORKER_FAULT`: `crash` (SIGKILLs itself), `abort` (SIGABRT), `exit3` (exits 3
 *   without a message), `hang` (never answers and ignores SIGTERM; starts a grandchild `sleep` whose
 *   pid goes to `<experimentDir>/grandchild.pid`, to show the whole group is killed), `error` (the
 *   experiment throws), `fake` (no engine: a result with synthetic figures — tok/s = 100 + cycle,
 *   J/token = 0.01 × cycle — after `LLEM_TEST_WORKER_DELAY_MS`, abortable by SIGTERM).
 * - `LLEM_TEST_WORKER_FAULT_ONLY`: comma-separated `<configHash>:<cycle>` (or `<configHash>`)
 *   the fault applies to; the other runs use `LLEM_TEST_WORKER_OTHERWISE` (`fake` or `real`,
 *   default `real`).
 * - `LLEM_TEST_WORKER_LOG`: a file each worker appends `<configHash> <cycle>` to when it starts.
 * - `LLEM_TEST_WORKER_IMPORT_BACKENDS=1`: in `fake` mode, still import @llem/backends (as a real
 *   run does), so that bench/expand-orchestration.mjs counts its load in the overhead.
 */
export const TEST_FAULT_ENV = "LLEM_TEST_WORKER_FAULT";
export const TEST_FAULT_ONLY_ENV = "LLEM_TEST_WORKER_FAULT_ONLY";
export const TEST_FAULT_OTHERWISE_ENV = "LLEM_TEST_WORKER_OTHERWISE";
export const TEST_DELAY_ENV = "LLEM_TEST_WORKER_DELAY_MS";
export const TEST_LOG_ENV = "LLEM_TEST_WORKER_LOG";
export const TEST_IMPORT_BACKENDS_ENV = "LLEM_TEST_WORKER_IMPORT_BACKENDS";
