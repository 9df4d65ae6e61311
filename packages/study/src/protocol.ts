import type { GpuPlacement } from "@llem/backends";
import type { ExperimentConfig } from "@llem/schema";

/** Parent → worker: the one experiment this process runs. */
export interface WorkerJob {
  type: "run";
  config: ExperimentConfig;
  configHash: string;
  cycle: number;
  /** The experiment's directory (engine.log is already there; timeseries.csv goes there). */
  experimentDir: string;
  /**
   * JSON file of the idle-baseline cache this experiment reads and updates: the attempt's own copy
   * of its runner's cache (runner/baselines.ts), inside `experimentDir`.
   */
  baselineCacheFile: string;
  /** NVML indices of the GPUs to measure (a worker's devices); all GPUs when absent. */
  gpuDevices?: number[];
  saveTimeseries: boolean;
  /** Relative model and dataset paths are resolved against this (the study file's directory). */
  baseDir: string;
  /**
   * study_execution.reuse_servers: the server key of this run, the record of the shared server,
   * and whether the next run has the same key (leave the server running for it).
   */
  serverReuse?: { key: string; recordFile: string; keep: boolean };
  /**
   * The experiment's GPUs as the parent placed them (its process's CUDA_VISIBLE_DEVICES lists
   * exactly these); null for none. Set by `runInChild`.
   */
  gpuPlacement?: GpuPlacement | null;
}

/** Worker → parent. */
export type WorkerMessage =
  | { type: "ready" }
  | { type: "progress"; stage: string; message: string }
  | { type: "result"; result: unknown }
  | { type: "error"; errorType: string; code: string | null; message: string; aborted: boolean };
