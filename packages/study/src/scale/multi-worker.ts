import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ManifestStore } from "@llem/manifest";
import { preflightStudy } from "../load.js";
import { eventEmitter } from "../runner/events.js";
import { addMissingRuns, openStudy } from "../runner/open-study.js";
import { countsOf, totalRuns } from "../runner/schedule.js";
import { SKIPPED_FILE_NAME } from "../study-dir.js";
import type { LoadedStudy, RunStudyOptions, StudyOutcome } from "../types.js";
import { planPlacements } from "./placement.js";
import { writeStudySummary } from "./summary-file.js";
import type { WorkerOutcome } from "./worker-loop.js";
import type { FromWorker, ToWorker } from "./worker-process.js";

export interface RunWorkersOptions extends RunStudyOptions {
  /** How many worker processes share the study on this node (≥ 1). */
  workers: number;
  /** GPUs per worker (consecutive slices of the visible GPUs); 0: CPU only. */
  gpusPerWorker?: number;
}

export interface WorkersOutcome extends StudyOutcome {
  workers: WorkerOutcome[];
}

/** dist/study-worker.js beside this module (or, from the sources, the built one). */
function studyWorkerPath(): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  for (const candidate of [
    join(here, "study-worker.js"),
    join(here, "..", "study-worker.js"),
    join(here, "..", "..", "dist", "study-worker.js"),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return join(here, "study-worker.js");
}

/**
 * `llem run --workers N`: runs (or resumes) a study with N worker processes on this node, each
 * on its own cores (and GPUs with `gpusPerWorker`), sharing the study dir by leases
 * (scale/worker-loop.ts). The same study dir, manifest and results as a single runner; resuming
 * re-runs failed runs too. Interrupts go to every worker (the first stops each cleanly, the
 * second kills their experiments). When all workers are done, this process writes
 * study_summary.json (however the study ended) and resolves with the outcome and each worker's.
 */
export async function runWorkers(
  loaded: LoadedStudy,
  options: RunWorkersOptions,
): Promise<WorkersOutcome> {
  preflightStudy(loaded);
  const emit = eventEmitter(options.onEvent);
  const { placements, warnings } = planPlacements(options.workers, options.gpusPerWorker ?? 0);
  const { studyDir, store, resumed } = await openStudy(loaded, options, "shared");
  const startedAtMs = Date.now();
  let interrupted = false;
  const outcomes: WorkerOutcome[] = [];
  try {
    await prepareForWorkers(store, loaded, resumed);
    for (const warning of warnings) emit({ type: "warning", message: warning });
    emit({
      type: "study_started",
      studyDir,
      totalRuns: totalRuns(store.counts),
      remainingRuns: totalRuns(store.counts) - store.counts.completed,
      resumed,
    });
    const execution = loaded.study.study_execution;
    const deadlineAt =
      execution.wall_clock_timeout_hours === null
        ? undefined
        : Date.now() + execution.wall_clock_timeout_hours * 3600_000;
    const children = placements.map((placement, index) =>
      startWorker({
        label: `w${index + 1}`,
        message: {
          type: "start",
          acceptDrift: resumed, // openStudy confirmed any drift already
          options: {
            studyDir,
            label: `w${index + 1}`,
            placement,
            writeSummary: false,
            ...(deadlineAt === undefined ? {} : { deadlineAt }),
            ...(options.env ? { env: options.env } : {}),
            ...(options.workerPath ? { workerPath: options.workerPath } : {}),
            ...(options.lockStaleMs ? { timing: { lockStaleMs: options.lockStaleMs } } : {}),
          },
        },
        // This process reports the study's start and end; the workers' own are left out.
        onEvent: (event) => {
          if (event.type !== "study_started") options.onEvent?.(event);
        },
        emit,
      }),
    );
    const onStop = () => {
      interrupted = true;
      for (const child of children) child.tell({ type: "stop" });
    };
    const onKill = () => {
      for (const child of children) child.tell({ type: "kill" });
    };
    if (options.signal?.aborted) onStop();
    else options.signal?.addEventListener("abort", onStop, { once: true });
    if (options.forceKill?.aborted) onKill();
    else options.forceKill?.addEventListener("abort", onKill, { once: true });
    try {
      for (const outcome of await Promise.all(children.map((child) => child.done))) {
        if (outcome) outcomes.push(outcome);
      }
    } finally {
      options.signal?.removeEventListener("abort", onStop);
      options.forceKill?.removeEventListener("abort", onKill);
    }
    if (interrupted) emit({ type: "interrupted", signalCount: options.forceKill?.aborted ? 2 : 1 });
    await store.refresh();
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
  let written: Awaited<ReturnType<typeof writeStudySummary>>;
  try {
    written = await writeStudySummary(loaded, store, studyDir, interrupted, new Map(), startedAtMs);
  } finally {
    await store.close();
  }
  const { summary, file: summaryFile } = written;
  const counts = countsOf(store);
  emit({ type: "study_finished", status: summary.status, summaryFile, counts });
  return { studyDir, status: summary.status, summary, summaryFile, counts, workers: outcomes };
}

/**
 * Before a session of workers: a resumed study re-runs its failed runs (as `llem run --resume`
 * does; workers themselves never retry a failed run) and is topped up with runs its file adds;
 * skipped configs are recorded.
 */
export async function prepareForWorkers(
  store: ManifestStore,
  loaded: LoadedStudy,
  resumed: boolean,
): Promise<void> {
  if (resumed) {
    for (const entry of store.entries) {
      if (entry.status === "failed") await store.requeue(entry.config_hash, entry.cycle);
    }
    await addMissingRuns(store, loaded);
  }
  if (loaded.skipped.length > 0) {
    await store.writeFileFenced(SKIPPED_FILE_NAME, `${JSON.stringify(loaded.skipped, null, 2)}\n`);
  }
}

interface StartedWorker {
  tell(message: ToWorker): void;
  /** The worker's outcome; undefined when it died or failed (said in an event). */
  done: Promise<WorkerOutcome | undefined>;
}

function startWorker(spec: {
  label: string;
  message: Extract<ToWorker, { type: "start" }>;
  onEvent: NonNullable<RunStudyOptions["onEvent"]>;
  emit: ReturnType<typeof eventEmitter>;
}): StartedWorker {
  const child: ChildProcess = fork(studyWorkerPath(), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    execArgv: [],
    serialization: "advanced",
  });
  let outcome: WorkerOutcome | undefined;
  let failure: { code: string | null; message: string } | undefined;
  child.on("message", (message: FromWorker) => {
    if (message.type === "ready") child.send(spec.message);
    else if (message.type === "event") spec.onEvent(message.event);
    else if (message.type === "outcome") outcome = message.outcome;
    else if (message.type === "error") failure = { code: message.code, message: message.message };
  });
  child.on("error", () => {}); // surfaced by "exit"
  const done = new Promise<WorkerOutcome | undefined>((resolve) => {
    child.on("exit", (code, signal) => {
      if (outcome) return resolve(outcome);
      const worker = `${spec.label}@pid ${child.pid ?? "?"}`;
      if (failure) {
        spec.emit({
          type: "worker_finished",
          worker,
          reason: failure.code === "MANIFEST_LOCK_COMPROMISED" ? "lock_lost" : "error",
          runs: 0,
          message: failure.message,
        });
      } else {
        spec.emit({ type: "worker_exited", worker, code, signal });
      }
      resolve(undefined);
    });
  });
  return {
    tell: (message) => {
      if (child.connected) child.send(message);
    },
    done,
  };
}
