import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { engineDefinition, stopHeldServer } from "@llem/backends";
import type { ManifestStore } from "@llem/manifest";
import { ExperimentResult, LlemError } from "@llem/schema";
import { type ChildOutcome, runInChild } from "../child.js";
import {
  attemptDirName,
  BASELINE_CACHE_FILE_NAME,
  experimentDirName,
  experimentDirPath,
  SHARED_SERVERS_DIR_NAME,
} from "../study-dir.js";
import type { LoadedStudy, PlannedRun } from "../types.js";
import {
  ATTEMPT_BASELINE_CACHE_FILE_NAME,
  baselineCacheForAttempt,
  isLostWrite,
  keepFreshBaseline,
  usesBaselineCache,
} from "./baselines.js";
import type { EventInput } from "./events.js";
import { stopLeftovers } from "./leftovers.js";

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
  /** The idle-baseline cache of this runner, relative to the study dir (default baseline_cache.json). */
  baselineCacheFile?: string;
  /** CPU cores the experiment processes are pinned to (a `taskset -c` list), if any. */
  cpus?: string;
  /** NVML indices of the GPUs this runner's experiments measure (all when absent). */
  gpuDevices?: number[];
  /**
   * Workers: watches the lease of a run while it executes; `signal` aborts once the lease is lost
   * (the run was claimed again after this worker stalled), which stops the experiment.
   */
  watchRun?: (
    run: { configHash: string; cycle: number },
    attempt: number,
  ) => { signal: AbortSignal; dispose(): void };
  emit: (event: EventInput) => void;
}

/** How one run ended: its manifest status, the error, and the result when it completed. */
export interface RunReport {
  status: "completed" | "failed";
  error?: { type: string; message: string };
  result?: ExperimentResult;
}

/**
 * One run, start to finish: claim (`running` in the manifest; a worker passes the attempt it
 * claimed with claimNext instead) → execute in its own process, in the attempt's own directory →
 * record (`completed` once result.json is durable and valid, else `failed` with the error; an
 * interrupted run goes back to `pending`). Every file goes through the store's fenced write.
 *
 * Never throws for anything the experiment does. "lost": the run stopped being this runner's
 * while it ran (a worker's lease claimed again, or the study's lock taken over in shared mode);
 * nothing was written for it. A manifest that cannot be written does throw, and so does a lost
 * lock in exclusive mode (the study ends).
 */
export async function runOne(
  session: RunSession,
  run: PlannedRun,
  where: { position: number; total: number; next?: PlannedRun | undefined },
  claimedAttempt?: number,
): Promise<RunReport | "interrupted" | "lost"> {
  const { loaded, store, studyDir, signal, emit } = session;
  const entry = loaded.configs[run.configIndex]!;
  const identity = { configHash: run.configHash, cycle: run.cycle };
  const attempt = claimedAttempt ?? (await store.markRunning(run.configHash, run.cycle));
  const dirName = attemptDirName(
    experimentDirName(run.configIndex, run.cycle, entry.config, run.configHash),
    attempt,
  );
  const experimentDir = experimentDirPath(studyDir, dirName);
  await mkdir(experimentDir, { recursive: true });
  const cacheFile = session.baselineCacheFile ?? BASELINE_CACHE_FILE_NAME;
  const attemptCache = usesBaselineCache(entry.config)
    ? await baselineCacheForAttempt(studyDir, cacheFile, experimentDir)
    : undefined;
  const watch = session.watchRun?.(identity, attempt);
  const runSignal = watch ? AbortSignal.any([signal, watch.signal]) : signal;
  emit({
    type: "run_started",
    ...identity,
    summary: run.summary,
    position: where.position,
    total: where.total,
    attempt,
  });
  const serverReuse = serverReuseFor(session, run, where.next);
  const started = Date.now();
  let report: RunReport;
  try {
    const outcome = await runInChild({
      job: {
        type: "run",
        config: entry.config,
        configHash: run.configHash,
        cycle: run.cycle,
        experimentDir,
        // The attempt's own copy (without the cached strategy the experiment never reads it).
        baselineCacheFile: attemptCache ?? join(experimentDir, ATTEMPT_BASELINE_CACHE_FILE_NAME),
        saveTimeseries: loaded.study.output.save_timeseries,
        baseDir: dirname(loaded.file),
        ...(session.gpuDevices ? { gpuDevices: session.gpuDevices } : {}),
        ...(serverReuse ? { serverReuse } : {}),
      },
      onProgress: (stage, message) => emit({ type: "run_progress", ...identity, stage, message }),
      timeoutS: loaded.study.study_execution.experiment_timeout_seconds,
      signal: runSignal,
      ...(session.forceKill ? { forceKill: session.forceKill } : {}),
      ...(session.env ? { env: session.env } : {}),
      ...(session.workerPath ? { workerPath: session.workerPath } : {}),
      ...(session.cpus ? { cpus: session.cpus } : {}),
    });
    await stopWhatOutlived(session, experimentDir, serverReuse, outcome);
    if (watch?.signal.aborted) return lost(session, identity, attempt);
    if (outcome.kind !== "result" && signal.aborted) {
      // Interrupted: the run did not finish; it goes back to pending and a resume runs it again.
      await store.requeue(run.configHash, run.cycle);
      return "interrupted";
    }
    report = await record(session, run, outcome, dirName, attemptCache && cacheFile);
  } catch (error) {
    if (store.mode === "shared" && isLostWrite(error)) return lost(session, identity, attempt);
    throw error;
  } finally {
    watch?.dispose();
  }
  const durationS = (Date.now() - started) / 1000;
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

/**
 * After a run: what outlived its experiment process (killed by a timeout or a second Ctrl-C, it
 * could not stop a container or a detached server) is stopped from its records, as on resume; a
 * shared server outlives its run only when the next run takes it over.
 */
async function stopWhatOutlived(
  session: RunSession,
  experimentDir: string,
  serverReuse: ReturnType<typeof serverReuseFor>,
  outcome: ChildOutcome,
): Promise<void> {
  const { signal, emit } = session;
  const stopped = await stopLeftovers([experimentDir]);
  if (stopped.processes > 0)
    emit({
      type: "leftovers_stopped",
      processes: stopped.processes,
      experimentDirs: [experimentDir],
    });
  if (serverReuse && (!serverReuse.keep || outcome.kind !== "result" || signal.aborted)) {
    const how = signal.aborted
      ? "stopped: the study was interrupted"
      : outcome.kind !== "result"
        ? "stopped: its run did not finish"
        : "stopped: the next run needs another server";
    await stopHeldServer(serverReuse.recordFile, how);
  }
}

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

function lost(
  session: RunSession,
  identity: { configHash: string; cycle: number },
  attempt: number,
): "lost" {
  session.emit({ type: "run_lost", ...identity, attempt });
  return "lost";
}

/** Writes the result and marks the run completed, or marks it failed with what went wrong. */
async function record(
  { store, studyDir }: RunSession,
  run: PlannedRun,
  outcome: ChildOutcome,
  dirName: string,
  studyCacheFile: string | undefined,
): Promise<RunReport> {
  const identity = { configHash: run.configHash, cycle: run.cycle };
  if (outcome.kind === "result") {
    const parsed = ExperimentResult.safeParse(outcome.result);
    if (parsed.success && parsed.data.config_hash === run.configHash) {
      // Fenced and per attempt: refused once this runner lost the study or the run, and never
      // over another attempt's file even in the moment between the check and the rename.
      let resultFile: string;
      try {
        resultFile = await store.writeFileFenced(
          `experiments/${dirName}/result.json`,
          `${JSON.stringify(parsed.data, null, 2)}
`,
          { run: identity },
        );
      } catch (error) {
        await recordFault(store, run, error);
        throw error;
      }
      if (studyCacheFile !== undefined) {
        const attemptDir = experimentDirPath(studyDir, dirName);
        const attemptCache = join(attemptDir, ATTEMPT_BASELINE_CACHE_FILE_NAME);
        await keepFreshBaseline(store, parsed.data, attemptCache, studyCacheFile, identity);
      }
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

/**
 * A fault of the study itself, not of the experiment (result.json cannot be written: a full disk,
 * a read-only file system): the run is marked failed with it — if the manifest can still be
 * written — and the error stops the study, since every run after it would fail the same way.
 */
async function recordFault(store: ManifestStore, run: PlannedRun, error: unknown): Promise<void> {
  const errorType = LlemError.isInstance(error)
    ? error.code
    : ((error as NodeJS.ErrnoException).code ?? "Error");
  const errorMessage = error instanceof Error ? error.message : String(error);
  await store.markFailed(run.configHash, run.cycle, { errorType, errorMessage }).catch(() => {}); // the manifest keeps the run `running`; a resume re-runs it all the same
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
