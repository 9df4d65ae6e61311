import { resolve } from "node:path";
import { ManifestStore } from "@llem/manifest";
import { loadStudy } from "../load.js";
import { countsOf } from "../runner/schedule.js";
import { studyTiming } from "../runner/timing.js";
import { readStudyManifest } from "../status.js";
import type { RunCountsView, StudyResult } from "../types.js";
import { writeStudySummary } from "./summary-file.js";
import { studyFileOf } from "./worker-loop.js";

export interface FinalizeOutcome {
  studyDir: string;
  summaryFile: string;
  summary: StudyResult;
  counts: RunCountsView;
}

/**
 * `llem finalize DIR`: writes study_summary.json of a multi-worker study from its manifest as it
 * stands — when its workers were all killed, or to see where a study is. Safe while workers run
 * (it joins as a shared reader and writes only the summary, fenced); the last worker rewrites the
 * summary when it finishes the study.
 */
export async function finalizeStudy(studyDir: string): Promise<FinalizeOutcome> {
  const dir = resolve(studyDir);
  const recorded = await readStudyManifest(dir);
  const loaded = await loadStudy(studyFileOf(dir, recorded));
  const { lockStaleMs } = studyTiming();
  const store = await ManifestStore.open(dir, { mode: "shared", lockStaleMs });
  try {
    const { file, summary } = await writeStudySummary(loaded, store, dir, false);
    return { studyDir: dir, summaryFile: file, summary, counts: countsOf(store) };
  } finally {
    await store.close();
  }
}
