import { mkdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ManifestStore,
  type RunSpec,
  readManifest,
  writeFileAtomic,
  writeJsonAtomic,
} from "@llem/manifest";
import {
  ExperimentResult,
  LLEM_VERSION,
  LlemError,
  StudyExecution,
  type StudyManifest,
  type StudyResult,
} from "@llem/schema";
import { parse as parseYamlText } from "yaml";
import { aggregateConfigs, readCompletedResults } from "./aggregate.js";
import { type ChildOutcome, runInChild } from "./child.js";
import {
  BASELINE_CACHE_FILE_NAME,
  createStudyDir,
  experimentDirName,
  experimentDirPath,
  SKIPPED_FILE_NAME,
  STUDY_YAML_FILE_NAME,
  SUMMARY_FILE_NAME,
} from "./study-dir.js";
import type {
  DriftInfo,
  LoadedStudy,
  PlannedRun,
  RunCountsView,
  RunStudyOptions,
  StudyEvent,
  StudyOutcome,
  StudyOutcomeStatus,
} from "./types.js";

type EventInput = StudyEvent extends infer E
  ? E extends StudyEvent
    ? Omit<E, "at">
    : never
  : never;

/** Summary of one finished run, as events and the summary report it. */
interface RunReport {
  status: "completed" | "failed";
  error?: { type: string; message: string };
  result?: ExperimentResult;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The study_execution block of a study.yaml text, minus n_cycles (for the top-up check). */
function executionWithoutCycles(yamlText: string): string | undefined {
  try {
    const document = parseYamlText(yamlText) as unknown;
    const raw =
      isPlainObject(document) && isPlainObject(document.study_execution)
        ? document.study_execution
        : {};
    const parsed = StudyExecution.safeParse(raw);
    if (!parsed.success) return undefined;
    const { n_cycles: _cycles, ...rest } = parsed.data;
    return JSON.stringify(rest);
  } catch {
    return undefined;
  }
}

async function driftInfo(
  studyDir: string,
  manifest: StudyManifest,
  loaded: LoadedStudy,
): Promise<DriftInfo> {
  let onlyCyclesChanged = false;
  if (manifest.study_design_hash === loaded.designHash) {
    const recordedYaml = await readFile(join(studyDir, STUDY_YAML_FILE_NAME), "utf8").catch(
      () => undefined,
    );
    const before = recordedYaml === undefined ? undefined : executionWithoutCycles(recordedYaml);
    const now = executionWithoutCycles(loaded.yamlText);
    onlyCyclesChanged = before !== undefined && before === now;
  }
  return { recorded: manifest.study_yaml_hash, current: loaded.yamlHash, onlyCyclesChanged };
}

/**
 * Runs in the manifest, from its counts: `store.entries` copies every entry, which a 56,832-run
 * study must not pay on every transition.
 */
function totalRuns(store: ManifestStore): number {
  const counts = store.counts;
  return counts.pending + counts.running + counts.completed + counts.failed;
}

function countsOf(store: ManifestStore): RunCountsView {
  const counts = store.counts;
  return {
    total: totalRuns(store),
    completed: counts.completed,
    failed: counts.failed,
    pending: counts.pending,
    running: counts.running,
  };
}

function describeOutcome(outcome: ChildOutcome): { type: string; message: string } {
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
    case "result":
      return { type: "InvalidResult", message: "the experiment's result did not validate" };
  }
}

/** Sleeps, or returns false at once when `signal` aborts. */
async function gap(seconds: number, signal: AbortSignal): Promise<boolean> {
  if (seconds <= 0) return !signal.aborted;
  try {
    await sleep(seconds * 1000, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

interface ManifestWithAddRuns {
  addRuns(runs: readonly RunSpec[]): Promise<void>;
}

/**
 * Runs (or resumes) a loaded study: one isolated child process per run, in the planned order,
 * with the manifest recording every transition. Resolves with the outcome however the study ends
 * (study_summary.json is written in every case); throws only for problems before the first run
 * (lock held, drift refused, unwritable results dir) or a manifest that can no longer be written.
 */
export async function runStudy(
  loaded: LoadedStudy,
  options: RunStudyOptions = {},
): Promise<StudyOutcome> {
  const emit = (event: EventInput) => {
    try {
      options.onEvent?.({ ...event, at: new Date().toISOString() } as StudyEvent);
    } catch {
      // a listener's bug must not stop a study
    }
  };
  const stop = new AbortController();
  const externalSignal = options.signal;
  const onExternalAbort = () => stop.abort(externalSignal?.reason);
  if (externalSignal?.aborted) onExternalAbort();
  else externalSignal?.addEventListener("abort", onExternalAbort, { once: true });

  let studyDir: string;
  let store: ManifestStore;
  const resumed = options.resumeDir !== undefined;
  if (options.resumeDir !== undefined) {
    studyDir = resolve(options.resumeDir);
    let recorded: StudyManifest;
    try {
      recorded = await readManifest(studyDir);
    } catch (error) {
      if (LlemError.hasCode(error, "MANIFEST_NOT_FOUND")) {
        throw new LlemError(
          "STUDY_NOT_FOUND",
          `${studyDir} is not a study directory (no study_manifest.json)`,
          {
            cause: error,
            details: { studyDir },
          },
        );
      }
      throw error;
    }
    if (recorded.study_yaml_hash !== loaded.yamlHash) {
      const info = await driftInfo(studyDir, recorded, loaded);
      const proceed = options.onDrift ? await options.onDrift(info) : false;
      if (!proceed) {
        throw new LlemError(
          "STUDY_DRIFT",
          `${loaded.file} changed since ${studyDir} started (study_yaml_hash ${info.recorded.slice(0, 12)}… → ${info.current.slice(0, 12)}…)` +
            (info.onlyCyclesChanged
              ? "; only n_cycles changed, so resuming would top the study up with new cycles"
              : "") +
            (options.onDrift
              ? "; resuming was declined"
              : "; confirm to resume with the changed file"),
          { details: { studyDir, ...info } },
        );
      }
    }
    store = await ManifestStore.open(studyDir);
  } else {
    const resultsDir = resolve(options.resultsDir ?? loaded.study.output.results_dir);
    studyDir = await createStudyDir(resultsDir, loaded.study.study_name);
    await writeFileAtomic(join(studyDir, STUDY_YAML_FILE_NAME), loaded.yamlBytes);
    store = await ManifestStore.create(studyDir, {
      studyName: loaded.study.study_name,
      studyYamlPath: loaded.file,
      studyYamlHash: loaded.yamlHash,
      studyDesignHash: loaded.designHash,
      runs: runSpecs(loaded.runs),
    });
  }

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
    const missing = loaded.runs.filter(
      (run) => store.entry(run.configHash, run.cycle) === undefined,
    );
    if (missing.length > 0) {
      const adder = store as unknown as Partial<ManifestWithAddRuns>;
      if (typeof adder.addRuns !== "function") {
        throw new LlemError(
          "INTERNAL",
          "this @llem/manifest cannot add runs to a study (top-up needs ManifestStore.addRuns)",
        );
      }
      await adder.addRuns(runSpecs(missing));
    }
    const todo = loaded.runs.filter(
      (run) => store.entry(run.configHash, run.cycle)?.status !== "completed",
    );
    emit({
      type: "study_started",
      studyDir,
      totalRuns: totalRuns(store),
      remainingRuns: todo.length,
      resumed,
    });
    await runLoop(loaded, options, store, studyDir, todo, stop, emit, results);
    status = finalStatus(store, stop.signal.aborted);
  } catch (error) {
    thrown = error;
    status = stop.signal.aborted ? "interrupted" : "failed";
  } finally {
    externalSignal?.removeEventListener("abort", onExternalAbort);
    store.signal.removeEventListener("abort", onLockLost);
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

function runSpecs(runs: readonly PlannedRun[]): RunSpec[] {
  return runs.map((run) => ({
    configHash: run.configHash,
    configSummary: run.summary,
    cycle: run.cycle,
  }));
}

function finalStatus(store: ManifestStore, interrupted: boolean): StudyOutcomeStatus {
  const counts = store.counts;
  // An interrupt that arrives after the last run finished does not undo a complete study.
  if (counts.completed === totalRuns(store)) return "completed";
  if (interrupted) return "interrupted";
  if (counts.completed === 0 && counts.failed > 0) return "failed";
  return "partial";
}

async function runLoop(
  loaded: LoadedStudy,
  options: RunStudyOptions,
  store: ManifestStore,
  studyDir: string,
  todo: PlannedRun[],
  stop: AbortController,
  emit: (event: EventInput) => void,
  results: Map<string, ExperimentResult>,
): Promise<void> {
  const execution = loaded.study.study_execution;
  const sequential = execution.experiment_order === "sequential";
  const deadline =
    execution.wall_clock_timeout_hours === null
      ? Number.POSITIVE_INFINITY
      : Date.now() + execution.wall_clock_timeout_hours * 3600_000;
  const threshold = execution.max_consecutive_failures;
  let consecutiveFailures = 0;
  let probing = false;
  let previous: PlannedRun | undefined;
  const doneBefore = store.counts.completed;
  let attempted = 0;

  for (const run of todo) {
    if (stop.signal.aborted) return;
    if (previous !== undefined) {
      if (!(await gap(execution.experiment_gap_seconds, stop.signal))) return;
      if (execution.experiment_gap_seconds > 0)
        emit({ type: "gap", seconds: execution.experiment_gap_seconds, reason: "experiment" });
      // A cycle gap separates blocks: cycles in every order, configs in sequential order.
      const newBlock = sequential
        ? run.configIndex !== previous.configIndex
        : run.cycle !== previous.cycle;
      if (newBlock && execution.cycle_gap_seconds > 0) {
        emit({ type: "gap", seconds: execution.cycle_gap_seconds, reason: "cycle" });
        if (!(await gap(execution.cycle_gap_seconds, stop.signal))) return;
      }
    }
    if (Date.now() >= deadline) {
      emit({ type: "deadline_reached" });
      return;
    }
    previous = run;
    attempted++;
    const report = await runOne(loaded, options, store, studyDir, run, stop.signal, emit, {
      position: doneBefore + attempted,
      total: totalRuns(store),
    });
    if (report === "interrupted") return;
    if (report.result) results.set(`${run.configHash}:${run.cycle}`, report.result);
    if (report.status === "completed") {
      consecutiveFailures = 0;
      probing = false;
      continue;
    }
    consecutiveFailures++;
    if (threshold === 0) continue;
    if (probing) {
      emit({ type: "circuit_stopped", consecutiveFailures });
      return;
    }
    if (consecutiveFailures >= threshold) {
      const cooldown = execution.circuit_breaker_cooldown_seconds;
      emit({ type: "circuit_open", consecutiveFailures, cooldownSeconds: cooldown });
      if (cooldown > 0) emit({ type: "gap", seconds: cooldown, reason: "circuit_breaker" });
      if (!(await gap(cooldown, stop.signal))) return;
      probing = true; // the next run decides: success closes the breaker, failure stops the study
    }
  }
}

async function runOne(
  loaded: LoadedStudy,
  options: RunStudyOptions,
  store: ManifestStore,
  studyDir: string,
  run: PlannedRun,
  signal: AbortSignal,
  emit: (event: EventInput) => void,
  where: { position: number; total: number },
): Promise<RunReport | "interrupted"> {
  const entry = loaded.configs[run.configIndex]!;
  const execution = loaded.study.study_execution;
  const dirName = experimentDirName(run.configIndex, run.cycle, entry.config, run.configHash);
  const experimentDir = experimentDirPath(studyDir, dirName);
  await mkdir(experimentDir, { recursive: true });
  await store.markRunning(run.configHash, run.cycle);
  emit({
    type: "run_started",
    configHash: run.configHash,
    cycle: run.cycle,
    summary: run.summary,
    ...where,
  });
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
    },
    onProgress: (stage, message) =>
      emit({ type: "run_progress", configHash: run.configHash, cycle: run.cycle, stage, message }),
    timeoutS: execution.experiment_timeout_seconds,
    signal,
    ...(options.forceKill ? { forceKill: options.forceKill } : {}),
    ...(options.env ? { env: options.env } : {}),
  });
  const durationS = (Date.now() - started) / 1000;

  let report: RunReport;
  if (outcome.kind === "result") {
    const parsed = ExperimentResult.safeParse(outcome.result);
    if (parsed.success && parsed.data.config_hash === run.configHash) {
      const resultFile = join(experimentDir, "result.json");
      await writeJsonAtomic(resultFile, parsed.data);
      await store.markCompleted(run.configHash, run.cycle, `experiments/${dirName}/result.json`);
      report = { status: "completed", result: parsed.data };
    } else {
      const problem = parsed.success
        ? `config_hash ${parsed.data.config_hash} is not the run's ${run.configHash}`
        : parsed.error.issues
            .slice(0, 3)
            .map((issue) => `${issue.path.join(".") || "(top level)"}: ${issue.message}`)
            .join("; ");
      report = {
        status: "failed",
        error: {
          type: "InvalidResult",
          message: `the experiment's result did not validate: ${problem}`,
        },
      };
      await store.markFailed(run.configHash, run.cycle, {
        errorType: "InvalidResult",
        errorMessage: report.error!.message,
      });
    }
  } else if (
    signal.aborted &&
    (outcome.kind !== "error" || outcome.aborted || outcome.kind === "error")
  ) {
    // Interrupted: the run did not finish; it goes back to pending and a resume runs it again.
    await store.requeue(run.configHash, run.cycle);
    return "interrupted";
  } else {
    const error = describeOutcome(outcome);
    await store.markFailed(run.configHash, run.cycle, {
      errorType: error.type,
      errorMessage: error.message,
    });
    report = { status: "failed", error };
  }
  const result = report.result;
  emit({
    type: "run_finished",
    configHash: run.configHash,
    cycle: run.cycle,
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

async function buildSummary(
  loaded: LoadedStudy,
  store: ManifestStore,
  studyDir: string,
  status: StudyOutcomeStatus,
  startedAtMs: number,
  known: Map<string, ExperimentResult>,
): Promise<StudyResult> {
  const manifest = store.manifest;
  const entries = manifest.experiments;
  const results = await readCompletedResults(studyDir, entries, known);
  const configs = aggregateConfigs(entries, results);
  const counts = store.counts;
  let totalEnergy: number | null = null;
  const methods = new Set<ExperimentResult["energy"]["method"]>();
  for (const list of results.values()) {
    for (const result of list) {
      if (result.energy.raw_j !== null) {
        totalEnergy = (totalEnergy ?? 0) + result.energy.raw_j;
        methods.add(result.energy.method);
      }
    }
  }
  const execution = loaded.study.study_execution;
  const endedAt = new Date();
  const startedAt = manifest.started_at;
  return {
    schema_version: "1.0",
    study_name: manifest.study_name,
    study_design_hash: loaded.designHash,
    study_yaml_hash: loaded.yamlHash,
    llem_version: LLEM_VERSION,
    status,
    started_at: startedAt,
    ended_at: endedAt.toISOString(),
    total_wall_time_s: Math.max(
      0,
      (endedAt.getTime() - Date.parse(startedAt || new Date(startedAtMs).toISOString())) / 1000,
    ),
    counts: {
      unique_configs: configs.length,
      total_runs: entries.length,
      completed: counts.completed,
      failed: counts.failed,
      pending: counts.pending + counts.running,
      skipped_configs: loaded.skipped.length,
    },
    total_energy_j: totalEnergy,
    energy_methods: [...methods].sort(),
    measurement_protocol: {
      n_cycles: execution.n_cycles,
      experiment_order: execution.experiment_order,
      experiment_gap_seconds: execution.experiment_gap_seconds,
      cycle_gap_seconds: execution.cycle_gap_seconds,
      shuffle_seed: loaded.shuffleSeed,
      experiment_timeout_seconds: execution.experiment_timeout_seconds,
    },
    configs,
    failures: entries
      .filter((entry) => entry.status === "failed")
      .map((entry) => ({
        config_hash: entry.config_hash,
        config_summary: entry.config_summary,
        cycle: entry.cycle,
        error_type: entry.error_type ?? null,
        error_message: entry.error_message ?? null,
      })),
    skipped: loaded.skipped.map((item) => ({ config_summary: item.summary, reason: item.reason })),
  };
}
