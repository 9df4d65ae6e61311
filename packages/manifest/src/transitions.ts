/**
 * Which changes a store accepts, decided from the state alone (no I/O):
 *
 * - a run goes `pending → running → completed | failed`; `running | failed → pending` (requeue);
 *   any other move is INVALID_TRANSITION, an unknown `(configHash, cycle)` UNKNOWN_RUN;
 * - files are written for a run (`writeFileFenced` with `run`) only while it is running;
 * - a study ends `completed` (every run completed), `partial` (some), `failed` (none), or, when
 *   an exclusive store closes with runs left, `interrupted`.
 */
import { isAbsolute, relative, sep } from "node:path";
import { LlemError, type ManifestEntry, type RunStatus, type STUDY_STATUSES } from "@llem/schema";
import type { ManifestState } from "./state.js";

type StudyStatus = (typeof STUDY_STATUSES)[number];

/** The entry for `(configHash, cycle)` if it may move to `target` from one of `allowed`. */
export function checkTransition(
  state: ManifestState,
  configHash: string,
  cycle: number,
  target: RunStatus,
  allowed: readonly RunStatus[],
  manifestPath: string,
): ManifestEntry {
  const entry = findRun(state, configHash, cycle, manifestPath);
  if (!allowed.includes(entry.status)) {
    throw new LlemError(
      "INVALID_TRANSITION",
      `Run config_hash ${configHash} cycle ${cycle} is ${entry.status}; it cannot become ${target} ` +
        `(it must be ${allowed.join(" or ")}). Valid: pending → running → completed | failed.`,
      {
        details: {
          file: manifestPath,
          config_hash: configHash,
          cycle,
          from: entry.status,
          to: target,
        },
      },
    );
  }
  return entry;
}

/** The entry for `(configHash, cycle)` if its files may be written now (it is running). */
export function checkWritingFor(
  state: ManifestState,
  configHash: string,
  cycle: number,
  manifestPath: string,
): ManifestEntry {
  const entry = findRun(state, configHash, cycle, manifestPath);
  if (entry.status !== "running") {
    throw new LlemError(
      "INVALID_TRANSITION",
      `Run config_hash ${configHash} cycle ${cycle} is ${entry.status}: files are written for a run only while it is running.`,
      { details: { file: manifestPath, config_hash: configHash, cycle, from: entry.status } },
    );
  }
  return entry;
}

function findRun(
  state: ManifestState,
  configHash: string,
  cycle: number,
  manifestPath: string,
): ManifestEntry {
  const index = state.indexOf(configHash, cycle);
  if (index === -1) {
    throw new LlemError(
      "UNKNOWN_RUN",
      `No run with config_hash ${configHash} and cycle ${cycle} in ${manifestPath}.`,
      { details: { file: manifestPath, config_hash: configHash, cycle } },
    );
  }
  return state.entryAt(index);
}

/** The status a study closes with, or undefined to leave it as it is (shared mode, runs left). */
export function closingStatus(state: ManifestState, exclusive: boolean): StudyStatus | undefined {
  const { counts, entries } = state;
  if (counts.pending === 0 && counts.running === 0) {
    if (counts.completed === entries.length) return "completed";
    return counts.completed > 0 ? "partial" : "failed";
  }
  return exclusive ? "interrupted" : undefined;
}

/** A result file as the manifest records it: relative to the study directory, `/`-separated. */
export function recordedPath(studyDir: string, file: string): string {
  const relativePath = isAbsolute(file) ? relative(studyDir, file) : file;
  return relativePath.split(sep).join("/");
}
