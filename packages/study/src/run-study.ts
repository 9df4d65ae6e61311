import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { stopHeldServer } from "@llem/backends";
import type { ExperimentResult } from "@llem/schema";
import { preflightStudy } from "./load.js";
import { eventEmitter } from "./runner/events.js";
import { runningExperimentDirs, stopLeftovers } from "./runner/leftovers.js";
import { addMissingRuns, openStudy } from "./runner/open-study.js";
import type { RunSession } from "./runner/run-one.js";
import { countsOf, plannedRuns, runSchedule, totalRuns } from "./runner/schedule.js";
import { buildSummary, finalStatus } from "./runner/study-summary.js";
import { SHARED_SERVERS_DIR_NAME, SKIPPED_FILE_NAME, SUMMARY_FILE_NAME } from "./study-dir.js";
import type { LoadedStudy, RunStudyOptions, StudyOutcome, StudyOutcomeStatus } from "./types.js";

/**
 * Runs (or resumes) a loaded study: one isolated child process per run, in the planned order,
 * with the manifest recording every transition. Resolves with the outcome however the study ends
 * (study_summary.json is written in every case); throws only for problems before the first run
 * (lock held, drift refused, unwritable results dir) or a manifest that can no longer be written.
 *
 * The stages: open (runner/open-study.ts) → the schedule of runs (runner/schedule.ts, each run by
 * runner/run-one.ts) → the summary (runner/study-summary.ts). Every file it writes into the study
 * dir goes through the store's fenced write; each attempt of a run has a directory of its own.
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

  const { studyDir, store, resumed, leftRunning } = await openStudy(loaded, options).catch(
    (error: unknown) => {
      externalSignal?.removeEventListener("abort", onExternalAbort);
      throw error;
    },
  );
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
      await store.writeFileFenced(
        SKIPPED_FILE_NAME,
        `${JSON.stringify(loaded.skipped, null, 2)}\n`,
      );
    }
    if (resumed) {
      // What runs of a dead runner left running (their process groups, servers, containers, a
      // server shared between runs) stops before anything runs.
      const stopped = await stopLeftovers([
        ...runningExperimentDirs(studyDir, leftRunning),
        ...(await sharedServerDirs(studyDir)),
      ]);
      if (stopped.processes > 0) {
        emit({
          type: "leftovers_stopped",
          processes: stopped.processes,
          experimentDirs: stopped.experimentDirs,
        });
      }
    }
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
    await runSchedule(session, plannedRuns(todo), results);
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
    // Fenced: a runner that lost the study (stalled past the lock's stale period while another
    // took it over) is refused here, and never leaves a summary that contradicts the manifest.
    await store.writeFileFenced(SUMMARY_FILE_NAME, `${JSON.stringify(summary, null, 2)}\n`);
  } catch (error) {
    // The first failure is the one to report (a full disk fails the summary too, after the result).
    thrown ??= error;
  } finally {
    await store.close().catch((error: unknown) => {
      thrown ??= error;
    });
  }
  emit({ type: "study_finished", status, summaryFile, counts });
  if (thrown !== undefined) throw thrown;
  return { studyDir, status, summary, summaryFile, counts };
}

/** The dirs of servers shared between runs (reuse_servers), each with its server.json. */
async function sharedServerDirs(studyDir: string): Promise<string[]> {
  const dir = join(studyDir, SHARED_SERVERS_DIR_NAME);
  return (await readdir(dir).catch(() => [] as string[])).map((name) => join(dir, name));
}

/** A study that ends with a shared server still held (its last run was stopped) stops it. */
async function stopSharedServers(studyDir: string): Promise<void> {
  for (const dir of await sharedServerDirs(studyDir)) {
    await stopHeldServer(join(dir, "server.json"), "stopped at the end of the study");
  }
}
