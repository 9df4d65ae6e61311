/**
 * Leases: how several workers share one study (shared mode). A run a worker claims becomes
 * `running` with a lease `{ worker, host, pid, heartbeat_at }`; the worker renews it with
 * heartbeats while the run lasts.
 *
 * Invariants:
 * 1. A run is handed out only when it is pending, or running under a lease whose heartbeat is
 *    older than the lease TTL (its worker is presumed dead): that takeover is a new attempt.
 * 2. A leased run is completed, failed or requeued — and its files written through the fenced
 *    write — only by the worker its lease names, and only for the attempt that worker claimed
 *    (a worker whose lease expired and whose run was claimed again, even under the same worker
 *    id, is refused).
 * 3. A heartbeat renews the leases of its own worker and no other.
 */
import { hostname } from "node:os";
import { LlemError, type ManifestEntry, type RunLease } from "@llem/schema";
import { isProcessDead } from "./lock.js";
import type { ManifestState } from "./state.js";

/** What `claimNext` may hand out, beyond the default (pending runs, then expired leases). */
export interface ClaimOptions {
  /** Only runs this returns true for are claimed (e.g. runs whose config the worker knows). */
  accept?: (entry: ManifestEntry) => boolean;
  /**
   * Also take over a run whose lease names a process on this host that is gone (killed), at once
   * rather than after the lease TTL — the rule the study lock itself follows. A lease from another
   * host still waits for its TTL.
   */
  reclaimDeadHolders?: boolean;
}

/** A fresh lease for `workerId`, held by this process. */
export function newLease(workerId: string): RunLease {
  return {
    worker: workerId,
    host: hostname(),
    pid: process.pid,
    heartbeat_at: new Date().toISOString(),
  };
}

/**
 * The next run to claim: the first pending run in manifest order, else the first running run
 * whose lease expired (`takeover`). Undefined when nothing is claimable. With `accept`, runs it
 * refuses are passed over (and the pending hint stops at the first of them).
 */
export function nextClaimable(
  state: ManifestState,
  leaseTtlMs: number,
  now = Date.now(),
  options: ClaimOptions = {},
): { index: number; takeover: boolean } | undefined {
  const entries = state.entries;
  const { accept } = options;
  let hintSettled = false;
  for (let index = state.firstPendingHint; index < entries.length; index++) {
    const entry = entries[index]!;
    if (entry.status !== "pending") continue;
    if (!hintSettled) {
      state.firstPendingHint = index;
      hintSettled = true;
    }
    if (accept === undefined || accept(entry)) return { index, takeover: false };
  }
  if (!hintSettled) state.firstPendingHint = entries.length;
  let expired: number | undefined;
  for (const index of state.runningIndexes) {
    const entry = entries[index]!;
    const lease = entry.lease;
    if (!lease) continue;
    const stale = Date.parse(lease.heartbeat_at) + leaseTtlMs < now;
    const dead =
      options.reclaimDeadHolders === true &&
      lease.host === hostname() &&
      lease.pid !== process.pid &&
      isProcessDead(lease.pid);
    if (!stale && !dead) continue;
    if (accept !== undefined && !accept(entry)) continue;
    if (expired === undefined || index < expired) expired = index;
  }
  return expired === undefined ? undefined : { index: expired, takeover: true };
}

/** How many running runs `workerId` holds a lease on (what a heartbeat would renew). */
export function leasesHeldBy(state: ManifestState, workerId: string): number {
  let held = 0;
  for (const index of state.runningIndexes) {
    if (state.entryAt(index).lease?.worker === workerId) held++;
  }
  return held;
}

/**
 * Throws INVALID_TRANSITION unless `workerId` still holds `entry`: its lease (if any) names that
 * worker, and its attempt is `claimedAttempt` (the attempt this store's claim recorded, when it
 * made one). So only one worker, and one attempt, finishes each run (invariant 2).
 */
export function assertLeaseHeld(
  entry: ManifestEntry,
  workerId: string,
  claimedAttempt: number | undefined,
  manifestPath: string,
): void {
  const run = `Run config_hash ${entry.config_hash} cycle ${entry.cycle}`;
  const details = { file: manifestPath, config_hash: entry.config_hash, cycle: entry.cycle };
  const lease = entry.lease;
  if (lease && lease.worker !== workerId) {
    throw new LlemError(
      "INVALID_TRANSITION",
      `${run} is leased to worker ${lease.worker}, not ${workerId}: ` +
        "this worker's lease expired and the run was claimed again.",
      { details: { ...details, reason: "lease_lost", worker: lease.worker } },
    );
  }
  const attempt = entry.attempts ?? 0;
  if (claimedAttempt !== undefined && attempt !== claimedAttempt) {
    throw new LlemError(
      "INVALID_TRANSITION",
      `${run} is on attempt ${attempt}, but this store claimed attempt ${claimedAttempt}: ` +
        "its lease expired and the run was claimed again.",
      {
        details: {
          ...details,
          reason: "attempt_changed",
          attempt,
          claimed_attempt: claimedAttempt,
          ...(lease ? { worker: lease.worker } : {}),
        },
      },
    );
  }
}
