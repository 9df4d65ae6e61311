import { DEFAULT_LEASE_TTL_MS, DEFAULT_LOCK_STALE_MS } from "@llem/manifest";
import { LlemError } from "@llem/schema";

/**
 * The manifest's timing settings a study runs with: the lock's stale period, the lease TTL and
 * the heartbeat interval of workers. Defaults suit real studies (a lock is taken over after 30 s
 * without heartbeat, a lease after 5 min); tests and trials shorten them through the environment,
 * read here and nowhere else:
 *
 * - `LLEM_LOCK_STALE_MS`  — a lock not refreshed for this long is taken over (at least 2000)
 * - `LLEM_LEASE_TTL_MS`   — a worker's lease not renewed for this long is claimable by another
 * - `LLEM_HEARTBEAT_MS`   — how often a worker renews its lease (default TTL ÷ 10)
 *
 * A lease must survive a late heartbeat and clock skew between hosts: the TTL has to exceed the
 * heartbeat interval plus twice `MAX_CLOCK_SKEW_MS` (a heartbeat stamped by a clock 5 s slow,
 * judged by one 5 s fast, looks 10 s older than it is), which `studyTiming` enforces.
 */
export interface StudyTiming {
  lockStaleMs: number;
  leaseTtlMs: number;
  heartbeatMs: number;
}

/** The clock skew between hosts a lease is safe against (±5 s). */
export const MAX_CLOCK_SKEW_MS = 5000;

export function studyTiming(
  overrides: Partial<StudyTiming> = {},
  env: NodeJS.ProcessEnv = process.env,
): StudyTiming {
  const lockStaleMs =
    overrides.lockStaleMs ?? envMs(env, "LLEM_LOCK_STALE_MS") ?? DEFAULT_LOCK_STALE_MS;
  const leaseTtlMs =
    overrides.leaseTtlMs ?? envMs(env, "LLEM_LEASE_TTL_MS") ?? DEFAULT_LEASE_TTL_MS;
  const heartbeatMs =
    overrides.heartbeatMs ??
    envMs(env, "LLEM_HEARTBEAT_MS") ??
    Math.max(200, Math.floor(leaseTtlMs / 10));
  if (lockStaleMs < 2000) {
    throw new LlemError(
      "USAGE",
      `LLEM_LOCK_STALE_MS must be at least 2000 (ms), got ${lockStaleMs}`,
      { details: { field: "LLEM_LOCK_STALE_MS" } },
    );
  }
  if (leaseTtlMs <= heartbeatMs + 2 * MAX_CLOCK_SKEW_MS) {
    throw new LlemError(
      "USAGE",
      `the lease TTL (${leaseTtlMs} ms) must exceed the heartbeat interval (${heartbeatMs} ms) plus twice the clock skew a lease tolerates (2 × ${MAX_CLOCK_SKEW_MS} ms): a live worker's lease would otherwise look expired to a host whose clock runs ahead`,
      { details: { field: "LLEM_LEASE_TTL_MS" } },
    );
  }
  return { lockStaleMs, leaseTtlMs, heartbeatMs };
}

function envMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new LlemError("USAGE", `${name} must be a positive whole number of ms, got "${raw}"`, {
      details: { field: name },
    });
  }
  return value;
}
