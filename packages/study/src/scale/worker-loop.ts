import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { ManifestStore } from "@llem/manifest";
import { type ExperimentResult, LlemError, type StudyManifest } from "@llem/schema";
import { loadStudy, preflightStudy } from "../load.js";
import { eventEmitter } from "../runner/events.js";
import { addMissingRuns, confirmDrift } from "../runner/open-study.js";
import type { RunSession } from "../runner/run-one.js";
import { countsOf, runSchedule, totalRuns } from "../runner/schedule.js";
import { type StudyTiming, studyTiming } from "../runner/timing.js";
import { readStudyManifest } from "../status.js";
import { STUDY_YAML_FILE_NAME } from "../study-dir.js";
import type {
  LoadedStudy,
  RunCountsView,
  RunStudyOptions,
  StudyEvent,
  WorkerStopReason,
} from "../types.js";
import { claimedRuns } from "./claims.js";
import { LeaseKeeper } from "./lease-keeper.js";
import { baselineCacheName, gpuIndices, placementEnv, type WorkerPlacement } from "./placement.js";
import { writeStudySummary } from "./summary-file.js";
import { slurmTaskOf, type WorkerRecord, writeWorkerRecord } from "./worker-records.js";

export interface RunWorkerOptions {
  /** A study dir made by `llem run`, `llem run --workers` or `llem slurm` (it has a manifest). */
  studyDir: string;
  /** A label in the worker id (`w2`, `slurm-1234_5`); the id adds host and pid, so it is unique. */
  label?: string;
  signal?: AbortSignal;
  forceKill?: AbortSignal;
  onEvent?: (event: StudyEvent) => void;
  /** study.yaml changed since the study started: return true to join anyway. Else STUDY_DRIFT. */
  onDrift?: RunStudyOptions["onDrift"];
  env?: NodeJS.ProcessEnv;
  workerPath?: string;
  placement?: WorkerPlacement;
  /** No run starts after this (ms since the epoch); default now + wall_clock_timeout_hours. */
  deadlineAt?: number;
  timing?: Partial<StudyTiming>;
  /** Leave as soon as nothing is claimable, without waiting for other workers' runs in flight. */
  exitWhenIdle?: boolean;
  /** Write study_summary.json when this worker finds the study finished (default true). */
  writeSummary?: boolean;
}

export interface WorkerOutcome {
  studyDir: string;
  worker: string;
  reason: WorkerStopReason;
  message: string;
  /** Runs this worker executed (completed, failed, or lost to another worker). */
  runs: number;
  /** The study as this worker left it. */
  counts: RunCountsView;
  /** Set when this worker found the study finished and wrote its summary. */
  summaryFile: string | null;
  /** True when the study was already finished when this worker came (nothing was done). */
  alreadyFinished: boolean;
}

/**
 * One worker of a shared study (`llem worker DIR`; each process of `llem run --workers N`; each
 * task of a `llem slurm` array): it joins the study dir — the same drift check as a resume —,
 * claims runs by lease one at a time and runs each exactly as a single runner does
 * (runner/run-one.ts, in a schedule of its own: gaps, its own circuit breaker, the deadline),
 * heart-beating its lease meanwhile. It leaves when no run is pending or running; the worker
 * that finds the study finished writes study_summary.json.
 *
 * What makes it safe with others: claims and transitions are atomic under the study lock; a run
 * is finished, and its files written, only under the lease and attempt this worker claimed
 * (a stalled worker whose lease was re-claimed writes nothing); each attempt writes into a
 * directory of its own.
 */
export async function runWorker(options: RunWorkerOptions): Promise<WorkerOutcome> {
  const studyDir = resolve(options.studyDir);
  const recorded = await readStudyManifest(studyDir);
  const loaded = await loadStudy(studyFileOf(studyDir, recorded));
  preflightStudy(loaded);
  await confirmDrift(studyDir, recorded, loaded, options.onDrift);

  const env = options.env ?? process.env;
  const host = hostname();
  const slurm = slurmTaskOf(env);
  const label = options.label ?? (slurm ? `slurm-${slurm}` : undefined);
  const worker = `${label ? `${label}@` : ""}${host}:${process.pid}`;
  const timing = studyTiming(options.timing ?? {}, env);
  const store = await ManifestStore.open(studyDir, {
    mode: "shared",
    workerId: worker,
    leaseTtlMs: timing.leaseTtlMs,
    lockStaleMs: timing.lockStaleMs,
  });
  const emitStamped = eventEmitter(options.onEvent);
  const emit: RunSession["emit"] = (event) => emitStamped({ ...event, worker });
  const placement = options.placement ?? {};

  if (isFinished(store)) {
    await store.close();
    const counts = countsOf(store);
    return {
      studyDir,
      worker,
      reason: "done",
      message:
        `${studyDir} is finished (${counts.completed}/${counts.total} runs completed): nothing to do` +
        (counts.failed > 0
          ? `; its ${counts.failed} failed run${counts.failed === 1 ? " is" : "s are"} re-run by \`llem run --resume DIR\` or \`llem slurm … --resume DIR\``
          : ""),
      runs: 0,
      counts,
      summaryFile: null,
      alreadyFinished: true,
    };
  }

  const stop = new AbortController();
  const onAbort = () => stop.abort(options.signal?.reason);
  if (options.signal?.aborted) onAbort();
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const keeper = new LeaseKeeper(store, timing.heartbeatMs);
  const record: WorkerRecord = {
    worker,
    host,
    pid: process.pid,
    slurm,
    cpus: placement.cpus ?? null,
    gpus: placement.gpus?.join(",") ?? null,
    started_at: new Date().toISOString(),
    state: "running",
    stopped_at: null,
    reason: null,
    message: null,
    runs: 0,
  };
  const results = new Map<string, ExperimentResult>();
  let runs = 0;
  let reason: WorkerStopReason = "error";
  let message = "";
  let thrown: unknown;
  try {
    await addRunsOnce(store, loaded);
    await writeWorkerRecord(store, record);
    emit({
      type: "worker_started",
      worker,
      host,
      pid: process.pid,
      cpus: record.cpus,
      gpus: record.gpus,
      slurm,
    });
    emit({
      type: "study_started",
      studyDir,
      totalRuns: totalRuns(store.counts),
      remainingRuns: totalRuns(store.counts) - store.counts.completed,
      resumed: true,
    });
    keeper.start();
    const session: RunSession = {
      loaded,
      store,
      studyDir,
      signal: stop.signal,
      emit: (event) => {
        if (event.type === "run_started") runs++;
        emit(event);
      },
      env: placementEnv(env, placement),
      baselineCacheFile: baselineCacheName(host, placement),
      watchRun: (run, attempt) => keeper.watch(run, attempt),
      ...(options.forceKill ? { forceKill: options.forceKill } : {}),
      ...(options.workerPath ? { workerPath: options.workerPath } : {}),
      ...(placement.cpus ? { cpus: placement.cpus } : {}),
      ...(gpuIndices(placement) ? { gpuDevices: gpuIndices(placement)! } : {}),
    };
    const source = claimedRuns(store, loaded, {
      signal: stop.signal,
      pollMs: Math.min(1000, timing.heartbeatMs),
      ...(options.exitWhenIdle ? { exitWhenIdle: true } : {}),
    });
    reason = await runSchedule(session, source, results, options.deadlineAt);
    message = describeStop(reason, store, loaded);
  } catch (error) {
    thrown = error;
    reason = LlemError.hasCode(error, "MANIFEST_LOCK_COMPROMISED") ? "lock_lost" : "error";
    message = error instanceof Error ? error.message : String(error);
  } finally {
    keeper.stop();
    options.signal?.removeEventListener("abort", onAbort);
  }

  let summaryFile: string | null = null;
  try {
    await store.refresh();
    if (thrown === undefined && isFinished(store) && options.writeSummary !== false) {
      summaryFile = (await writeStudySummary(loaded, store, studyDir, false, results)).file;
    }
    await writeWorkerRecord(store, {
      ...record,
      state: "stopped",
      stopped_at: new Date().toISOString(),
      reason,
      message,
      runs,
    });
  } catch (error) {
    thrown ??= error;
  } finally {
    await store.close().catch((error: unknown) => {
      thrown ??= error;
    });
  }
  emit({ type: "worker_finished", worker, reason, runs, message });
  if (thrown !== undefined) throw thrown;
  return {
    studyDir,
    worker,
    reason,
    message,
    runs,
    counts: countsOf(store),
    summaryFile,
    alreadyFinished: false,
  };
}

/** The study file a study dir runs from: the original if it is still there, else the copy. */
export function studyFileOf(studyDir: string, manifest: StudyManifest): string {
  const original = manifest.study_yaml_path;
  if (typeof original === "string" && existsSync(original)) return original;
  return join(studyDir, STUDY_YAML_FILE_NAME);
}

/** No run is pending or running (every run completed or failed). */
export function isFinished(store: ManifestStore): boolean {
  const counts = store.counts;
  return counts.pending === 0 && counts.running === 0;
}

/**
 * Tops the study up with runs its file asks for and the manifest lacks (a drift accepted with
 * --yes). Two workers may try at once: the second finds the runs added and adds nothing.
 */
async function addRunsOnce(store: ManifestStore, loaded: LoadedStudy): Promise<void> {
  try {
    await addMissingRuns(store, loaded);
  } catch (error) {
    if (!LlemError.hasCode(error, "INVALID_TRANSITION")) throw error;
    await store.refresh();
    await addMissingRuns(store, loaded);
  }
}

function describeStop(reason: WorkerStopReason, store: ManifestStore, loaded: LoadedStudy): string {
  const counts = countsOf(store);
  const left = `${counts.completed}/${counts.total} runs completed, ${counts.failed} failed, ${counts.pending} pending, ${counts.running} running`;
  switch (reason) {
    case "done":
      return `nothing left to claim (${left})`;
    case "deadline":
      return `wall_clock_timeout_hours (${loaded.study.study_execution.wall_clock_timeout_hours} h) reached: this worker starts no more runs (${left})`;
    case "circuit_breaker":
      return `this worker's circuit breaker stopped it after ${loaded.study.study_execution.max_consecutive_failures} failures in a row and a failed probe; the other workers go on (${left})`;
    case "interrupted":
      return `interrupted; its run in flight went back to pending (${left})`;
    default:
      return left;
  }
}
