import { readdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { readRegularFile } from "@llem/backends/files";
import { isProcessDead, readLockOwner, readManifest } from "@llem/manifest";
import {
  type ConfigAggregate,
  type ExperimentConfig,
  LlemError,
  type StudyManifest,
} from "@llem/schema";
import { readStudyResultSet as readResultSet, type SkippedResult } from "./aggregate.js";
import { readWorkerRecords, type WorkerRecord } from "./scale/worker-records.js";
import { SUMMARY_FILE_NAME } from "./study-dir.js";
import type { FailedRunStatus, RunningRunStatus, StudyStatus, WorkerStatus } from "./types.js";

/** The manifest of a study dir; STUDY_NOT_FOUND (not MANIFEST_NOT_FOUND) when `studyDir` is not one. */
export async function readStudyManifest(studyDir: string): Promise<StudyManifest> {
  try {
    return await readManifest(studyDir);
  } catch (error) {
    if (LlemError.hasCode(error, "MANIFEST_NOT_FOUND")) {
      throw new LlemError(
        "STUDY_NOT_FOUND",
        `${studyDir} is not a study directory (no study_manifest.json)`,
        { cause: error, details: { studyDir } },
      );
    }
    throw error;
  }
}

function isUnfinished(manifest: StudyManifest): boolean {
  if (manifest.status !== undefined && manifest.status !== "completed") return true;
  return manifest.experiments.some((entry) => entry.status !== "completed");
}

/**
 * The newest study under `resultsDir` that was started from `studyYamlPath` and is not finished
 * (some run not completed). Unreadable or corrupt study dirs are passed over.
 */
export async function findResumableStudy(
  studyYamlPath: string,
  resultsDir: string,
): Promise<string | undefined> {
  const wanted = resolve(studyYamlPath);
  let names: string[];
  try {
    names = await readdir(resolve(resultsDir));
  } catch {
    return undefined;
  }
  let best: { dir: string; startedAt: number } | undefined;
  for (const name of names) {
    const dir = join(resolve(resultsDir), name);
    let manifest: StudyManifest;
    try {
      manifest = await readManifest(dir);
    } catch {
      continue;
    }
    if (resolve(manifest.study_yaml_path) !== wanted || !isUnfinished(manifest)) continue;
    const startedAt = Date.parse(manifest.started_at);
    if (
      best === undefined ||
      startedAt > best.startedAt ||
      (startedAt === best.startedAt && dir > best.dir)
    ) {
      best = { dir, startedAt };
    }
  }
  return best?.dir;
}

/** The largest study_summary.json read for its status (150,000 configs make about 100 MB). */
const MAX_SUMMARY_BYTES = 512 << 20;

/**
 * How the study ended, as far as a reader can tell. The manifest says `interrupted` for any study
 * its runner stopped with runs left to do; when the summary the runner wrote last says `failed`
 * (a fault stopped it: a full disk, a manifest it could no longer write), that is what it was.
 */
async function endedAs(studyDir: string, manifest: StudyManifest): Promise<string> {
  const recorded = manifest.status ?? "running";
  if (recorded !== "interrupted") return recorded;
  try {
    const bytes = await readRegularFile(join(studyDir, SUMMARY_FILE_NAME), {
      maxBytes: MAX_SUMMARY_BYTES,
    });
    const summary = JSON.parse(bytes.toString("utf8")) as { status?: unknown; ended_at?: unknown };
    const lastChange = manifest.updated_at ?? manifest.started_at;
    const current =
      typeof summary.ended_at === "string" &&
      Date.parse(summary.ended_at) >= Date.parse(lastChange) - 5000;
    return summary.status === "failed" && current ? "failed" : recorded;
  } catch {
    return recorded; // no summary (killed), or one that cannot be read: the manifest's word
  }
}

/**
 * Progress of a study from its manifest alone (lock-free; works while another process runs it):
 * counts, running runs and for how long, failures, an ETA from completed durations, and the lock
 * holder if any.
 */
export async function readStudyStatus(studyDir: string, now = Date.now()): Promise<StudyStatus> {
  const dir = resolve(studyDir);
  const manifest = await readStudyManifest(dir);
  const owner = await readLockOwner(dir).catch(() => null);
  const counts = {
    total: manifest.experiments.length,
    completed: 0,
    failed: 0,
    pending: 0,
    running: 0,
  };
  const running: RunningRunStatus[] = [];
  const failures: FailedRunStatus[] = [];
  let durationSum = 0;
  let durationCount = 0;
  const leases = new Map<string, NonNullable<StudyManifest["experiments"][number]["lease"]>>();
  for (const entry of manifest.experiments) {
    counts[entry.status]++;
    if (entry.status === "running" && entry.started_at) {
      const lease = entry.lease;
      if (lease) leases.set(`${entry.config_hash}:${entry.cycle}`, lease);
      running.push({
        configHash: entry.config_hash,
        cycle: entry.cycle,
        summary: entry.config_summary,
        startedAt: entry.started_at,
        elapsedS: Math.max(0, (now - Date.parse(entry.started_at)) / 1000),
        ...(lease
          ? {
              worker: lease.worker,
              heartbeatAt: lease.heartbeat_at,
              heartbeatAgeS: Math.max(0, (now - Date.parse(lease.heartbeat_at)) / 1000),
            }
          : {}),
      });
    } else if (entry.status === "failed") {
      failures.push({
        configHash: entry.config_hash,
        cycle: entry.cycle,
        summary: entry.config_summary,
        errorType: entry.error_type ?? null,
        errorMessage: entry.error_message ?? null,
      });
    } else if (entry.status === "completed" && entry.started_at && entry.completed_at) {
      const seconds = (Date.parse(entry.completed_at) - Date.parse(entry.started_at)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) {
        durationSum += seconds;
        durationCount++;
      }
    }
  }
  const meanRunSeconds = durationCount > 0 ? durationSum / durationCount : null;
  const remaining = counts.pending + counts.running;
  return {
    studyDir: dir,
    studyName: manifest.study_name,
    status: await endedAs(dir, manifest),
    startedAt: manifest.started_at,
    completedAt: manifest.completed_at ?? null,
    counts,
    running,
    failures,
    meanRunSeconds,
    etaSeconds: meanRunSeconds === null ? null : remaining * meanRunSeconds,
    lockHolder: owner
      ? {
          host: owner.host,
          pid: owner.pid,
          since: owner.since,
          // A holder on this host can be checked; one on another host cannot from here.
          alive: owner.host === hostname() ? !isProcessDead(owner.pid) : null,
        }
      : null,
    workers: workerStatuses(await readWorkerRecords(dir), running, leases),
    entries: manifest.experiments,
  };
}

/** Workers from their records, with the run each holds now (by its lease). */
function workerStatuses(
  records: WorkerRecord[],
  running: RunningRunStatus[],
  leases: ReadonlyMap<string, { host: string; pid: number }>,
): WorkerStatus[] {
  const byWorker = new Map<string, WorkerStatus>();
  const here = hostname();
  const aliveOf = (host: string, pid: number) => (host === here ? !isProcessDead(pid) : null);
  for (const record of records) {
    const alive = aliveOf(record.host, record.pid);
    byWorker.set(record.worker, {
      worker: record.worker,
      host: record.host,
      pid: record.pid,
      slurm: record.slurm ?? null,
      state: record.state === "stopped" ? "stopped" : alive === false ? "gone" : "running",
      alive,
      cpus: record.cpus ?? null,
      gpus: record.gpus ?? null,
      startedAt: record.started_at ?? null,
      reason: record.reason ?? null,
      message: record.message ?? null,
      runs: typeof record.runs === "number" ? record.runs : null,
      current: null,
      heartbeatAt: null,
      heartbeatAgeS: null,
    });
  }
  for (const run of running) {
    if (run.worker === undefined) continue;
    const lease = leases.get(`${run.configHash}:${run.cycle}`);
    let status = byWorker.get(run.worker);
    if (status === undefined && lease) {
      const alive = aliveOf(lease.host, lease.pid);
      status = {
        worker: run.worker,
        host: lease.host,
        pid: lease.pid,
        slurm: null,
        state: alive === false ? "gone" : "running",
        alive,
        cpus: null,
        gpus: null,
        startedAt: null,
        reason: null,
        message: null,
        runs: null,
        current: null,
        heartbeatAt: null,
        heartbeatAgeS: null,
      };
      byWorker.set(run.worker, status);
    }
    if (status === undefined) continue;
    status.current = { configHash: run.configHash, cycle: run.cycle, summary: run.summary };
    status.heartbeatAt = run.heartbeatAt ?? null;
    status.heartbeatAgeS = run.heartbeatAgeS ?? null;
  }
  return [...byWorker.values()];
}

/**
 * Per config, across cycles, from the study's result files; `onSkipped` hears of each completed
 * run whose result_file was refused or unreadable (outside the study dir, a FIFO, invalid …).
 */
export async function readStudyResults(
  studyDir: string,
  options: { onSkipped?: (skipped: SkippedResult) => void } = {},
): Promise<ConfigAggregate[]> {
  return (await readStudyResultSet(studyDir, options)).aggregates;
}

/** `readStudyResults`, and the config of each result (by config hash): see aggregate.ts. */
export async function readStudyResultSet(
  studyDir: string,
  options: { onSkipped?: (skipped: SkippedResult) => void } = {},
): Promise<{ aggregates: ConfigAggregate[]; configs: Map<string, ExperimentConfig> }> {
  const dir = resolve(studyDir);
  await readStudyManifest(dir);
  return readResultSet(dir, options);
}
