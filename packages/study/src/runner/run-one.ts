import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { engineDefinition, stopHeldServer, stopLeftoverServer } from "@llem/backends";
import { type ManifestStore, writeJsonAtomic } from "@llem/manifest";
import { ExperimentResult } from "@llem/schema";
import { type ChildOutcome, runInChild } from "../child.js";
import { BASELINE_CACHE_FILE_NAME, experimentDirName, experimentDirPath } from "../study-dir.js";
import type { LoadedStudy, PlannedRun } from "../types.js";
import type { EventInput } from "./events.js";

/** What every run of one study shares while the study runs (one runner, or one worker). */
export interface RunSession {
  loaded: LoadedStudy;
  store: ManifestStore;
  studyDir: string;
  /** Stops the study: SIGTERM to the running experiment's group, the run goes back to pending. */
  signal: AbortSignal;
  /** Second interrupt: SIGKILL to the running experiment's group. */
  forceKill?: AbortSignal;
  /** Environment for the experiment processes. */
  env?: NodeJS.ProcessEnv;
  /** The experiment process's script (tests use a fault-injecting one). */
  workerPath?: string;
  emit: (event: EventInput) => void;
}

/** How one run ended: its manifest status, the error, and the result when it completed. */
export interface RunReport {
  status: "completed" | "failed";
  error?: { type: string; message: string };
  result?: ExperimentResult;
}

/**
 * One run, start to finish: claim (`running` in the manifest) → execute in its own process →
 * record (`completed` once result.json is durable and valid, else `failed` with the error; an
 * interrupted run goes back to `pending`). Never throws for anything the experiment does; a
 * manifest that cannot be written does throw.
 */
export async function runOne(
  session: RunSession,
  run: PlannedRun,
  where: { position: number; total: number; next?: PlannedRun | undefined },
): Promise<RunReport | "interrupted"> {
  const { loaded, store, studyDir, signal, emit } = session;
  const entry = loaded.configs[run.configIndex]!;
  const dirName = experimentDirName(run.configIndex, run.cycle, entry.config, run.configHash);
  const experimentDir = experimentDirPath(studyDir, dirName);
  await mkdir(experimentDir, { recursive: true });
  await store.markRunning(run.configHash, run.cycle);
  const identity = { configHash: run.configHash, cycle: run.cycle };
  emit({
    type: "run_started",
    ...identity,
    summary: run.summary,
    position: where.position,
    total: where.total,
  });
  const serverReuse = serverReuseFor(session, run, where.next);
  const started = Date.now();
  const outcome = await runInChild({
    job: {
      type: "run",
      config: entry.config,
      configHash: run.configHash,
      cycle: run.cycle,
      experimentDir,
      baselineCacheFile: join(studyDir, BASELINE_CACHE_FILE_NAME),
      saveTimeseries: loaded.study.output.save_timeseries,
      baseDir: dirname(loaded.file),
      ...(serverReuse ? { serverReuse } : {}),
    },
    onProgress: (stage, message) => emit({ type: "run_progress", ...identity, stage, message }),
    timeoutS: loaded.study.study_execution.experiment_timeout_seconds,
    signal,
    ...(session.forceKill ? { forceKill: session.forceKill } : {}),
    ...(session.env ? { env: session.env } : {}),
    ...(session.workerPath ? { workerPath: session.workerPath } : {}),
  });
  const durationS = (Date.now() - started) / 1000;
  // An experiment process that was killed (timeout, second Ctrl-C) cannot stop what it started;
  // a container outlives its process group. server.json says what to stop.
  const leftover = await stopLeftoverServer(experimentDir);
  if (leftover.kind === "stopped") emit({ type: "leftover_stopped", detail: leftover.detail });
  // A shared server outlives its run only when the next run takes it over.
  if (serverReuse && (!serverReuse.keep || outcome.kind !== "result" || signal.aborted)) {
    const how = signal.aborted
      ? "stopped: the study was interrupted"
      : outcome.kind !== "result"
        ? "stopped: its run did not finish"
        : "stopped: the next run needs another server";
    await stopHeldServer(serverReuse.recordFile, how);
  }

  if (outcome.kind !== "result" && signal.aborted) {
    // Interrupted: the run did not finish; it goes back to pending and a resume runs it again.
    await store.requeue(run.configHash, run.cycle);
    return "interrupted";
  }
  const report = await record(session, run, outcome, dirName);
  const result = report.result;
  emit({
    type: "run_finished",
    ...identity,
    summary: run.summary,
    status: report.status,
    durationS,
    energyPerOutputTokenJ: result?.energy.energy_per_output_token_j ?? null,
    energyMethod: result?.energy.method ?? null,
    outputTokensPerS: result?.throughput.output_tokens_per_s ?? null,
    ...(report.error ? { error: report.error } : {}),
  });
  return report;
}

/** Where shared servers are recorded between runs (reuse_servers), one folder per server key. */
export const SHARED_SERVERS_DIR_NAME = "servers";

/**
 * With `study_execution.reuse_servers`, runs whose engine says which server they start (its
 * server key) share it with the next run when that one starts the same server; null otherwise.
 */
function serverReuseFor(session: RunSession, run: PlannedRun, next: PlannedRun | undefined) {
  const { loaded, studyDir } = session;
  if (!loaded.study.study_execution.reuse_servers) return null;
  const keyOf = (planned: PlannedRun): string | null => {
    const config = loaded.configs[planned.configIndex]?.config;
    return config ? (engineDefinition(config.engine)?.serverKey?.(config) ?? null) : null;
  };
  const key = keyOf(run);
  if (key === null) return null;
  return {
    key,
    recordFile: join(studyDir, SHARED_SERVERS_DIR_NAME, key, "server.json"),
    keep: next !== undefined && keyOf(next) === key,
  };
}

/** Writes the result and marks the run completed, or marks it failed with what went wrong. */
async function record(
  { store, studyDir }: RunSession,
  run: PlannedRun,
  outcome: ChildOutcome,
  dirName: string,
): Promise<RunReport> {
  if (outcome.kind === "result") {
    const parsed = ExperimentResult.safeParse(outcome.result);
    if (parsed.success && parsed.data.config_hash === run.configHash) {
      const resultFile = `experiments/${dirName}/result.json`;
      await writeJsonAtomic(join(studyDir, resultFile), parsed.data);
      await store.markCompleted(run.configHash, run.cycle, resultFile);
      return { status: "completed", result: parsed.data };
    }
    const problem = parsed.success
      ? `config_hash ${parsed.data.config_hash} is not the run's ${run.configHash}`
      : parsed.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`)
          .join("; ");
    return markFailed(store, run, {
      type: "InvalidResult",
      message: `the experiment's result did not validate: ${problem}`,
    });
  }
  return markFailed(store, run, describeFailure(outcome));
}

async function markFailed(
  store: ManifestStore,
  run: PlannedRun,
  error: { type: string; message: string },
): Promise<RunReport> {
  await store.markFailed(run.configHash, run.cycle, {
    errorType: error.type,
    errorMessage: error.message,
  });
  return { status: "failed", error };
}

function describeFailure(outcome: Exclude<ChildOutcome, { kind: "result" }>): {
  type: string;
  message: string;
} {
  switch (outcome.kind) {
    case "timeout":
      return {
        type: "TimeoutError",
        message: `experiment exceeded experiment_timeout_seconds (${outcome.timeoutS} s); its process group was killed`,
      };
    case "crash":
      return { type: "ProcessCrash", message: outcome.detail };
    case "error":
      return { type: outcome.errorType, message: outcome.message };
  }
}
