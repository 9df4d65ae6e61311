/**
 * The report model of one or more study dirs: read (read-study.ts), assemble (assemble.ts), add
 * the per-sample views (samples.ts). A library user who wants the figures without the HTML calls
 * this; `buildReport` (html.ts) renders its result.
 */
import { LLEM_VERSION } from "@llem/schema";
import { assembleStudy } from "./assemble.js";
import { REPORT_MODEL_VERSION, type ReportModel } from "./model.js";
import { readStudyFiles } from "./read-study.js";
import { loadSamples, type SampleLimits } from "./samples.js";

export interface ReportOptions extends SampleLimits {
  /** Cycle-to-cycle coefficient of variation above which a table cell is flagged (default 0.05). */
  cvThreshold?: number;
  /** The generation time shown (default now). */
  now?: Date;
}

export const DEFAULT_CV_THRESHOLD = 0.05;

/** Reads every study dir (in the order given) into one report model. */
export async function loadReportModel(
  studyDirs: readonly string[],
  options: ReportOptions = {},
): Promise<ReportModel> {
  const studies = [];
  for (const dir of studyDirs) {
    const files = await readStudyFiles(dir);
    const study = assembleStudy(files);
    await loadSamples(files, study, options);
    studies.push(study);
  }
  return {
    version: REPORT_MODEL_VERSION,
    generatedAt: (options.now ?? new Date()).toISOString(),
    llemVersion: LLEM_VERSION,
    cvThreshold: options.cvThreshold ?? DEFAULT_CV_THRESHOLD,
    studies,
  };
}
