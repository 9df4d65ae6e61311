import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { stopHeldServer, stopLeftoverServer } from "@llem/backends";
import { type ManifestStore, writeJsonAtomic } from "@llem/manifest";
import type { ExperimentResult } from "@llem/schema";
import { preflightStudy } from "./load.js";
import { eventEmitter } from "./runner/events.js";
import { addMissingRuns, openStudy } from "./runner/open-study.js";
import { type RunSession, SHARED_SERVERS_DIR_NAME } from "./runner/run-one.js";
import { runSchedule, totalRuns } from "./runner/schedule.js";
import { buildSummary } from "./runner/study-summary.js";
import { EXPERIMENTS_DIR_NAME, SKIPPED_FILE_NAME, SUMMARY_FILE_NAME } from "./study-dir.js";
import type {
  LoadedStudy,
  RunCountsView,
  RunStudyOptions,
  StudyOutcome,
  StudyOutcomeStatus,
} from "./types.js";

/**
 * Runs (or resumes) a loaded study: one isolated child process per run, in the planned order,
 * with the manifest recording every transition. Resolves with the outcome however the study ends
 * (study_summary.json is written in every case); throws only for problems before the first run
 * (lock held, drift refused, unwritable results dir) or a manifest that can no longer be written.
 *
 * The stages: open (runner/open-study.ts) → the schedule of runs (runner/schedule.ts, each run by
 * runner/run-one.ts) → the summary (runner/study-summary.ts).
 */
export async function runStudy(
  loaded: LoadedStudy,
  options: RunStudyOptions = {},
): Promise<StudyOutcome> {
  preflightStudy(loaded);
  const emit = eventEmitter(options.onEvent);
  const stop = new AbortController();
  const externalSignal = options.signal;
  const onExternalAbort = () => stop.abort(externalSignal?.reason);
  if (externalSignal?.aborted) onExternalAbort();
  else externalSignal?.addEventListener("abort", onExternalAbort, { once: true });

  const { studyDir, store, resumed } = await openStudy(loaded, options).catch((error: unknown) => {
    externalSignal?.removeEventListener("abort", onExternalAbort);
    throw error;
  });
  // A store that loses its lock (another process took the study over) stops the study too.
  const onLockLost = () => stop.abort(store.signal.reason);
  if (store.signal.aborted) onLockLost();
  else store.signal.addEventListener("abort", onLockLost, { once: true });
  const startedAtMs = Date.now();
  const results = new Map<string, ExperimentResult>();
  let status: StudyOutcomeStatus = "completed";
  let thrown: unknown;
  try {
    if (loaded.skipped.length > 0) {
      await writeJsonAtomic(join(studyDir, SKIPPED_FILE_NAME), loaded.skipped);
    }
    if (resumed) await stopLeftovers(studyDir, emit);
    await addMissingRuns(store, loaded);
    const todo = loaded.runs.filter(
      (run) => store.entry(run.configHash, run.cycle)?.status !== "completed",
    );
    emit({
      type: "study_started",
      studyDir,
      totalRuns: totalRuns(store.counts),
      remainingRuns: todo.length,
      resumed,
    });
    const session: RunSession = {
      loaded,
      store,
      studyDir,
      signal: stop.signal,
      emit,
      ...(options.forceKill ? { forceKill: options.forceKill } : {}),
      ...(options.env ? { env: options.env } : {}),
      ...(options.workerPath ? { workerPath: options.workerPath } : {}),
    };
    await runSchedule(session, todo, results);
    status = finalStatus(store, stop.signal.aborted);
  } catch (error) {
    thrown = error;
    status = stop.signal.aborted ? "interrupted" : "failed";
  } finally {
    externalSignal?.removeEventListener("abort", onExternalAbort);
    store.signal.removeEventListener("abort", onLockLost);
    await stopSharedServers(studyDir).catch(() => {});
  }

  if (stop.signal.aborted)
    emit({ type: "interrupted", signalCount: options.forceKill?.aborted ? 2 : 1 });
  const counts = countsOf(store);
  const summary = await buildSummary(loaded, store, studyDir, status, startedAtMs, results);
  const summaryFile = join(studyDir, SUMMARY_FILE_NAME);
  try {
    await writeJsonAtomic(summaryFile, summary);
  } finally {
    await store.close().catch((error: unknown) => {
      thrown ??= error;
    });
  }
  emit({ type: "study_finished", status, summaryFile, counts });
  if (thrown !== undefined) throw thrown;
  return { studyDir, status, summary, summaryFile, counts };
}

/**
 * Before a resumed study runs anything: whatever a killed llem's runs left running (a server, a
 * container) is stopped, from each experiment dir's server.json. Runs still alive in another
 * worker are left alone (their owner process is alive).
 */
async function stopLeftovers(
  studyDir: string,
  emit: (event: { type: "leftover_stopped"; detail: string }) => void,
): Promise<void> {
  for (const folder of [EXPERIMENTS_DIR_NAME, SHARED_SERVERS_DIR_NAME]) {
    const dir = join(studyDir, folder);
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const outcome = await stopLeftoverServer(join(dir, name));
      if (outcome.kind === "stopped") emit({ type: "leftover_stopped", detail: outcome.detail });
    }
  }
}

/** A study that ends with a shared server still held (its last run was stopped) stops it. */
async function stopSharedServers(studyDir: string): Promise<void> {
  const dir = join(studyDir, SHARED_SERVERS_DIR_NAME);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    await stopHeldServer(join(dir, name, "server.json"), "stopped at the end of the study");
  }
}

function countsOf(store: ManifestStore): RunCountsView {
  const counts = store.counts;
  return {
    total: totalRuns(counts),
    completed: counts.completed,
    failed: counts.failed,
    pending: counts.pending,
    running: counts.running,
  };
}

function finalStatus(store: ManifestStore, interrupted: boolean): StudyOutcomeStatus {
  const counts = store.counts;
  // An interrupt that arrives after the last run finished does not undo a complete study.
  if (counts.completed === totalRuns(counts)) return "completed";
  if (interrupted) return "interrupted";
  if (counts.completed === 0 && counts.failed > 0) return "failed";
  return "partial";
}
