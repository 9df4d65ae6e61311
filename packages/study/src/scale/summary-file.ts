import { join } from "node:path";
import type { ManifestStore } from "@llem/manifest";
import type { ExperimentResult } from "@llem/schema";
import { buildSummary, finalStatus } from "../runner/study-summary.js";
import { SUMMARY_FILE_NAME } from "../study-dir.js";
import type { LoadedStudy, StudyResult } from "../types.js";

/**
 * Builds study_summary.json from the manifest as it stands and writes it through the store's
 * fenced write (a process that lost the study cannot replace it). For multi-worker studies: the
 * last worker, the `llem run --workers` parent, and `llem finalize`. Resolves with its path and
 * content.
 */
export async function writeStudySummary(
  loaded: LoadedStudy,
  store: ManifestStore,
  studyDir: string,
  interrupted: boolean,
  known: ReadonlyMap<string, ExperimentResult> = new Map(),
  startedAtMs = Date.now(),
): Promise<{ file: string; summary: StudyResult }> {
  const summary = await summaryOf(loaded, store, studyDir, interrupted, known, startedAtMs);
  await store.writeFileFenced(SUMMARY_FILE_NAME, `${JSON.stringify(summary, null, 2)}\n`);
  return { file: join(studyDir, SUMMARY_FILE_NAME), summary };
}

export function summaryOf(
  loaded: LoadedStudy,
  store: ManifestStore,
  studyDir: string,
  interrupted: boolean,
  known: ReadonlyMap<string, ExperimentResult> = new Map(),
  startedAtMs = Date.now(),
): Promise<StudyResult> {
  const status = finalStatus(store, interrupted);
  return buildSummary(loaded, store, studyDir, status, startedAtMs, known);
}
