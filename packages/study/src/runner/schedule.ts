import type { ExperimentResult } from "@llem/schema";
import type { PlannedRun, RunCountsView, WorkerStopReason } from "../types.js";
import { type RunSession, runOne } from "./run-one.js";
import { waitSeconds } from "./timers.js";

/**
 * Where a schedule gets its runs: the planned list of one runner (`plannedRuns`), or a worker's
 * claims on a shared study (scale/claims.ts), which marks each run running as it hands it out.
 */
export interface RunSource {
  /** The next run, with the attempt when the source claimed it already; null when none is left. */
  next(): Promise<{ run: PlannedRun; attempt?: number } | null>;
  /** False when it is known that nothing is left (a list); claims cannot know without claiming. */
  mayHaveMore(): boolean;
  /**
   * The run `next` will hand out, where the source knows it (a list; claims do not): what lets a
   * run leave its server to the next one (`reuse_servers`).
   */
  peek?(): PlannedRun | undefined;
}

/** The runs of `todo`, in order, claimed by `runOne` itself as each starts. */
export function plannedRuns(todo: readonly PlannedRun[]): RunSource {
  let index = 0;
  return {
    next: async () => (index < todo.length ? { run: todo[index++]! } : null),
    mayHaveMore: () => index < todo.length,
    peek: () => todo[index],
  };
}

/**
 * Runs what `source` hands out, one at a time, with what happens between runs:
 * - `experiment_gap_seconds` before every run but the first; `cycle_gap_seconds` where a new
 *   block starts (a new cycle; a new config in sequential order);
 * - the wall-clock deadline (`deadlineAt`, default now + wall_clock_timeout_hours): no run starts
 *   after it (the rest stay pending);
 * - the circuit breaker: after `max_consecutive_failures` failures in a row, a cooldown, then one
 *   probe run — success closes the breaker, failure stops the schedule (the rest stay pending).
 * Returns why it ended: nothing left (`done`), stopped (`interrupted`), the deadline or the
 * breaker. Completed runs' results go into `results` (by `hash:cycle`) for the summary.
 *
 * A worker runs one schedule of its own: its gaps, its breaker (it stops that worker only, and
 * says so) and the study's deadline.
 */
export async function runSchedule(
  session: RunSession,
  source: RunSource,
  results: Map<string, ExperimentResult>,
  deadlineAt?: number,
): Promise<WorkerStopReason> {
  const { loaded, store, signal, emit } = session;
  const execution = loaded.study.study_execution;
  const sequential = execution.experiment_order === "sequential";
  const deadline =
    deadlineAt ??
    (execution.wall_clock_timeout_hours === null
      ? Number.POSITIVE_INFINITY
      : Date.now() + execution.wall_clock_timeout_hours * 3600_000);
  const threshold = execution.max_consecutive_failures;
  let consecutiveFailures = 0;
  let probing = false;
  let previous: PlannedRun | undefined;
  const doneBefore = store.counts.completed;
  let attempted = 0;

  for (;;) {
    if (signal.aborted) return "interrupted";
    if (!source.mayHaveMore()) return "done";
    if (previous !== undefined) {
      if (!(await gap(execution.experiment_gap_seconds, signal))) return "interrupted";
      if (execution.experiment_gap_seconds > 0)
        emit({ type: "gap", seconds: execution.experiment_gap_seconds, reason: "experiment" });
    }
    if (Date.now() >= deadline) {
      emit({ type: "deadline_reached" });
      return "deadline";
    }
    const next = await source.next();
    if (next === null) return signal.aborted ? "interrupted" : "done";
    const { run, attempt } = next;
    if (previous !== undefined) {
      const newBlock = sequential
        ? run.configIndex !== previous.configIndex
        : run.cycle !== previous.cycle;
      if (newBlock && execution.cycle_gap_seconds > 0) {
        emit({ type: "gap", seconds: execution.cycle_gap_seconds, reason: "cycle" });
        if (!(await gap(execution.cycle_gap_seconds, signal))) {
          // A claimed run that will not start now goes back for another worker (or a resume).
          if (attempt !== undefined) await store.requeue(run.configHash, run.cycle);
          return "interrupted";
        }
        if (Date.now() >= deadline) {
          if (attempt !== undefined) await store.requeue(run.configHash, run.cycle);
          emit({ type: "deadline_reached" });
          return "deadline";
        }
      }
    }
    previous = run;
    attempted++;
    const report = await runOne(
      session,
      run,
      { position: doneBefore + attempted, total: totalRuns(store.counts), next: source.peek?.() },
      attempt,
    );
    if (report === "interrupted") return "interrupted";
    if (report === "lost") continue; // not this worker's any more; nothing to count
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
      return "circuit_breaker";
    }
    if (consecutiveFailures >= threshold) {
      const cooldown = execution.circuit_breaker_cooldown_seconds;
      emit({ type: "circuit_open", consecutiveFailures, cooldownSeconds: cooldown });
      if (cooldown > 0) emit({ type: "gap", seconds: cooldown, reason: "circuit_breaker" });
      if (!(await gap(cooldown, signal))) return "interrupted";
      probing = true; // the next run decides: success closes the breaker, failure stops the study
    }
  }
}

/** Runs in the manifest, from its counts (copying every entry would cost a large study dearly). */
export function totalRuns(counts: {
  pending: number;
  running: number;
  completed: number;
  failed: number;
}): number {
  return counts.pending + counts.running + counts.completed + counts.failed;
}

/** The manifest's counts as a study reports them (with the total). */
export function countsOf(store: RunSession["store"]): RunCountsView {
  const counts = store.counts;
  return {
    total: totalRuns(counts),
    completed: counts.completed,
    failed: counts.failed,
    pending: counts.pending,
    running: counts.running,
  };
}

/** Sleeps, or returns false at once when `signal` aborts (any length: see timers.ts). */
export async function gap(seconds: number, signal: AbortSignal): Promise<boolean> {
  if (seconds <= 0) return !signal.aborted;
  return waitSeconds(seconds, signal);
}
