import type { ManifestStore } from "@llem/manifest";
import { LlemError } from "@llem/schema";
import { gap, type RunSource } from "../runner/schedule.js";
import type { LoadedStudy, PlannedRun } from "../types.js";

export interface ClaimSourceOptions {
  signal: AbortSignal;
  /** How often an idle worker looks again while other workers' runs are in flight. */
  pollMs: number;
  /** Done as soon as nothing is claimable, without waiting for other workers' runs. */
  exitWhenIdle?: boolean;
}

/**
 * A worker's runs: claimed one at a time from the shared manifest (`claimNext`: the first pending
 * run in manifest order — the planned order — else a run whose lease expired, or whose holder on
 * this host is dead). Only runs of configs this worker's study file knows are claimed.
 *
 * With nothing to claim while other workers still run something, the worker waits and looks
 * again (a holder that dies leaves a lease that expires, and this worker re-runs its run). It is
 * done when no run is pending or running — or, with `exitWhenIdle`, as soon as nothing is
 * claimable.
 */
export function claimedRuns(
  store: ManifestStore,
  loaded: LoadedStudy,
  options: ClaimSourceOptions,
): RunSource {
  const planned = new Map<string, PlannedRun>();
  for (const run of loaded.runs) planned.set(`${run.configHash}:${run.cycle}`, run);
  const accept = (entry: { config_hash: string; cycle: number }) =>
    planned.has(`${entry.config_hash}:${entry.cycle}`);
  let finished = false;
  return {
    mayHaveMore: () => !finished,
    async next() {
      while (!options.signal.aborted) {
        const entry = await claimWithRetry(store, accept, options);
        if (entry !== undefined && entry !== null) {
          const run = planned.get(`${entry.config_hash}:${entry.cycle}`)!;
          return { run, attempt: entry.attempts ?? 1 };
        }
        if (entry === null && (options.exitWhenIdle || store.counts.running === 0)) break;
        if (!(await gap(options.pollMs / 1000, options.signal))) break;
      }
      finished = true;
      return null;
    },
  };
}

/**
 * claimNext, where a call that lost its lock mid-way (this worker stalled inside it) or waited
 * too long for it is not a reason to stop: undefined, and the caller tries again later.
 */
async function claimWithRetry(
  store: ManifestStore,
  accept: (entry: { config_hash: string; cycle: number }) => boolean,
  options: ClaimSourceOptions,
) {
  try {
    return await store.claimNext(store.workerId, { accept, reclaimDeadHolders: true });
  } catch (error) {
    if (
      LlemError.hasCode(error, "MANIFEST_LOCK_COMPROMISED") ||
      LlemError.hasCode(error, "MANIFEST_LOCKED")
    ) {
      if (options.signal.aborted) return null;
      return undefined;
    }
    throw error;
  }
}
