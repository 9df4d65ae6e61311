import { setTimeout as sleep } from "node:timers/promises";
import type { ExperimentResult } from "@llem/schema";
import type { PlannedRun } from "../types.js";
import { type RunSession, runOne } from "./run-one.js";

/**
 * Runs `todo` in order, one at a time, with what happens between runs:
 * - `experiment_gap_seconds` before every run but the first; `cycle_gap_seconds` where a new
 *   block starts (a new cycle; a new config in sequential order);
 * - the wall-clock deadline: no run starts after it (the rest stay pending);
 * - the circuit breaker: after `max_consecutive_failures` failures in a row, a cooldown, then one
 *   probe run — success closes the breaker, failure stops the study (the rest stay pending).
 * Returns when `todo` is done, the study is stopped, or the deadline or the breaker ends it.
 * Completed runs' results go into `results` (by `hash:cycle`) for the summary.
 */
export async function runSchedule(
  session: RunSession,
  todo: readonly PlannedRun[],
  results: Map<string, ExperimentResult>,
): Promise<void> {
  const { loaded, store, signal, emit } = session;
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

  for (const [index, run] of todo.entries()) {
    if (signal.aborted) return;
    if (previous !== undefined) {
      if (!(await gap(execution.experiment_gap_seconds, signal))) return;
      if (execution.experiment_gap_seconds > 0)
        emit({ type: "gap", seconds: execution.experiment_gap_seconds, reason: "experiment" });
      const newBlock = sequential
        ? run.configIndex !== previous.configIndex
        : run.cycle !== previous.cycle;
      if (newBlock && execution.cycle_gap_seconds > 0) {
        emit({ type: "gap", seconds: execution.cycle_gap_seconds, reason: "cycle" });
        if (!(await gap(execution.cycle_gap_seconds, signal))) return;
      }
    }
    if (Date.now() >= deadline) {
      emit({ type: "deadline_reached" });
      return;
    }
    previous = run;
    attempted++;
    const report = await runOne(session, run, {
      position: doneBefore + attempted,
      total: totalRuns(store.counts),
      next: todo[index + 1],
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
      if (!(await gap(cooldown, signal))) return;
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
