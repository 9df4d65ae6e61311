/**
 * `workers/<worker>.json` in the study dir: one small record per worker process — who it is
 * (host, pid, SLURM job and task), where its experiments run (cores, GPUs), when it started, and
 * once it stops, why (done, deadline, its circuit breaker, interrupted …) and how many runs it
 * executed. `llem status` shows them beside the leases of the runs in flight, so a worker whose
 * breaker stopped it is visible to whoever watches the study, not only in its own log. Written
 * through the store's fenced write.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ManifestStore } from "@llem/manifest";
import type { WorkerStopReason } from "../types.js";

export const WORKERS_DIR_NAME = "workers";

export interface WorkerRecord {
  worker: string;
  host: string;
  pid: number;
  /** `<array job id>_<task id>` (or the job id) when SLURM started it. */
  slurm: string | null;
  cpus: string | null;
  gpus: string | null;
  started_at: string;
  state: "running" | "stopped";
  stopped_at: string | null;
  reason: WorkerStopReason | null;
  message: string | null;
  runs: number;
}

/** A file name for a worker id (ids carry `@`, `:` and host names). */
export function workerRecordPath(worker: string): string {
  return `${WORKERS_DIR_NAME}/${worker.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`;
}

export function writeWorkerRecord(store: ManifestStore, record: WorkerRecord): Promise<string> {
  return store.writeFileFenced(
    workerRecordPath(record.worker),
    `${JSON.stringify(record, null, 2)}\n`,
  );
}

/** A record is a few hundred bytes; anything far larger is not one of ours. */
const MAX_RECORD_BYTES = 64 * 1024;

/**
 * Every worker record of a study dir that parses (lock-free; for status views). A study dir is
 * data, not instructions: only regular files of a sensible size are read (no FIFO, device or
 * symbolic link), and at most the first 10,000.
 */
export async function readWorkerRecords(studyDir: string): Promise<WorkerRecord[]> {
  const dir = join(studyDir, WORKERS_DIR_NAME);
  const names = await readdir(dir).catch(() => [] as string[]);
  const records: WorkerRecord[] = [];
  for (const name of names
    .filter((n) => n.endsWith(".json"))
    .sort()
    .slice(0, 10_000)) {
    try {
      const path = join(dir, name);
      const stats = await lstat(path);
      if (!stats.isFile() || stats.size > MAX_RECORD_BYTES) continue;
      const value = JSON.parse(await readFile(path, "utf8")) as Partial<WorkerRecord>;
      if (typeof value.worker === "string" && typeof value.host === "string") {
        records.push(value as WorkerRecord);
      }
    } catch {
      // being replaced, or not ours: skipped
    }
  }
  return records;
}

/** `<array job>_<task>` or `<job>` from SLURM's environment; null outside SLURM. */
export function slurmTaskOf(env: NodeJS.ProcessEnv): string | null {
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID) {
    return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  }
  return env.SLURM_JOB_ID ?? null;
}
