/**
 * The study's idle-baseline cache (`measurement.baseline.strategy: cached`), written like every
 * other file of the study: fenced, by the runner — never by an experiment process directly, so a
 * runner or worker that lost the study cannot replace it.
 *
 * Per attempt: before the run the runner copies the cache into the attempt's own directory, and
 * the experiment (@llem/backends' BaselineCache) reads and updates that copy; after a completed
 * run that measured a fresh baseline, the runner puts the copy back as the study's cache through
 * `store.writeFileFenced` (with the run, so only the attempt that still holds the run may). The
 * experiment's writes go only to its attempt directory, which nobody else uses.
 *
 * One runner keeps `baseline_cache.json`; each worker of a multi-worker study keeps its own,
 * `baseline_cache.<placement>.json` (scale/placement.ts): workers measure different devices, so
 * their idle power differs.
 */
import { copyFile, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { ManifestStore } from "@llem/manifest";
import type { ExperimentConfig, ExperimentResult } from "@llem/schema";

/** File name of the attempt's copy, inside its experiment directory. */
export const ATTEMPT_BASELINE_CACHE_FILE_NAME = "baseline_cache.json";

/** Whether a config uses the study's cache at all. */
export function usesBaselineCache(config: ExperimentConfig): boolean {
  const baseline = config.measurement.baseline;
  return baseline.enabled && baseline.strategy === "cached";
}

/** Copies the study's cache (if any) into the attempt directory; returns the copy's path. */
export async function baselineCacheForAttempt(
  studyDir: string,
  studyCacheFile: string,
  attemptDir: string,
): Promise<string> {
  const copy = join(attemptDir, ATTEMPT_BASELINE_CACHE_FILE_NAME);
  await copyFile(join(studyDir, studyCacheFile), copy).catch(() => {
    // no cache yet (or unreadable): the experiment starts with an empty one
  });
  return copy;
}

/**
 * After a completed run: when it measured a fresh baseline, the attempt's copy becomes the study's
 * cache (fenced, for `run`). A cache that cannot be written costs only a later re-measurement,
 * so only a lost run or lock is reported (thrown); other failures are ignored.
 */
export async function keepFreshBaseline(
  store: ManifestStore,
  result: ExperimentResult,
  attemptCopy: string,
  studyCacheFile: string,
  run: { configHash: string; cycle: number },
): Promise<void> {
  if (result.energy.baseline?.source !== "fresh") return;
  let bytes: Buffer;
  try {
    bytes = await readFile(attemptCopy);
  } catch {
    return;
  }
  await store.writeFileFenced(studyCacheFile, bytes, { run }).catch((error: unknown) => {
    if (isLostWrite(error)) throw error;
  });
}

/**
 * A write or transition refused because the run is no longer this process's: it lost the lock
 * (MANIFEST_LOCK_COMPROMISED), or the run was claimed again, finished or requeued by another
 * holder (INVALID_TRANSITION: lease_lost, attempt_changed, or a status that moved on).
 */
export function isLostWrite(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "MANIFEST_LOCK_COMPROMISED" || code === "INVALID_TRANSITION";
}
