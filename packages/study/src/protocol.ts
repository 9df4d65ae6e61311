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
  /**
   * study_execution.reuse_servers: the server key of this run, the record of the shared server,
   * and whether the next run has the same key (leave the server running for it).
   */
  serverReuse?: { key: string; recordFile: string; keep: boolean };
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: "ready" }
  | { type: "progress"; stage: string; message: string }
  | { type: "result"; result: unknown }
  | { type: "error"; errorType: string; code: string | null; message: string; aborted: boolean };
