import { basename, dirname, extname, resolve } from "node:path";
import {
  ConfigValidationError,
  formatIssues,
  isPlainObject,
  LlemError,
  parseExperimentConfig,
  parseStudyConfig,
  type StudyConfig,
  studyYamlHash,
} from "@llem/schema";
import { countCandidates, expandStudy } from "./expand.js";
import { planRuns, validateCandidates } from "./load/candidates.js";
import { estimateDuration, formatDuration } from "./load/estimate.js";
import { readStudyDocument, STUDY_ONLY_KEYS, withBase } from "./load/study-file.js";
import type { LoadedStudy } from "./types.js";

/** Studies above these run counts get a warning with their count and minimum duration. */
export const LARGE_STUDY_RUNS = 500;
export const VERY_LARGE_STUDY_RUNS = 2000;
/** At most this many skipped configs are quoted when every config is invalid. */
const FAILURES_QUOTED = 5;

function slug(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || "study").slice(0, 100);
}

/** A count for a message: 1,000,000 up to 10^15, then 1.0e+18. */
function formatCount(count: number): string {
  return count < 1e15 ? count.toLocaleString("en-US") : count.toExponential(1);
}

/**
 * Refuses a study whose sweep expands to more runs than `study_execution.max_runs`, counted from
 * the document before anything is expanded (countCandidates), naming the product that gives it.
 */
function refuseOversizedStudy(study: StudyConfig, file: string): void {
  const { configs, products } = countCandidates(study);
  const { n_cycles: cycles, max_runs: limit } = study.study_execution;
  const runs = configs * cycles;
  if (runs <= limit) return;
  const message =
    `the study expands to ${formatCount(configs)} configs × ${cycles} cycle${cycles === 1 ? "" : "s"} = ${formatCount(runs)} runs, over the limit of ${formatCount(limit)}` +
    ` (${products.join("; ")}). Shrink the sweep, or raise study_execution.max_runs if you mean it` +
    ` (expanding costs about 30 µs and 1 KB of memory per config, before any run)`;
  throw new ConfigValidationError("study", [{ path: "study_execution.max_runs", message }], file);
}

export interface LoadStudyOptions {
  /** Override study_execution.n_cycles (e.g. a CLI flag). */
  nCycles?: number;
}

/**
 * Parses, validates, expands and orders a study file, or a single-experiment file (one with
 * `task:` and no study key: study_name, base, sweep, experiments, study_execution, output), which
 * becomes a 1-config study named after the file.
 */
export async function loadStudy(
  path: string,
  options: LoadStudyOptions = {},
): Promise<LoadedStudy> {
  const file = resolve(path);
  const { text, bytes, document } = await readStudyDocument(file);
  const isExperiment = "task" in document && !STUDY_ONLY_KEYS.some((key) => key in document);
  // An experiment file's errors, phrased for an experiment config.
  if (isExperiment) parseExperimentConfig(document, file);
  const merged = await withBase(document, file);
  if (options.nCycles !== undefined) {
    const execution = isPlainObject(merged.study_execution) ? merged.study_execution : {};
    merged.study_execution = { ...execution, n_cycles: options.nCycles };
  }

  let study: StudyConfig;
  if (isExperiment) {
    study = parseStudyConfig({ ...merged, study_name: slug(basename(file, extname(file))) }, file);
  } else {
    study = parseStudyConfig(merged, file);
  }

  refuseOversizedStudy(study, file);
  const { configs, designHash, skipped, duplicates, generated } = validateCandidates(
    expandStudy(study, file),
  );
  if (generated === 0) {
    throw new LlemError(
      "NOTHING_TO_RUN",
      `${file}: the study produced no experiments; give task.model with a sweep:, or experiments:`,
      { details: { file } },
    );
  }
  if (configs.length === 0) {
    const first = skipped.slice(0, FAILURES_QUOTED);
    const more =
      skipped.length > first.length ? `\n  … and ${skipped.length - first.length} more` : "";
    if (isExperiment && first[0])
      throw new ConfigValidationError("experiment config", first[0].issues, file);
    throw new LlemError(
      "NOTHING_TO_RUN",
      `${file}: nothing to run — all ${generated} generated config(s) are invalid. First failures:\n` +
        first
          .map(
            (item) =>
              `  - ${item.summary}:\n${formatIssues(item.issues).replaceAll("  - ", "      ")}`,
          )
          .join("\n") +
        more,
      { details: { file, skipped: skipped.length, first } },
    );
  }

  const { runs, seed } = planRuns(study, configs, designHash);
  const estimate = estimateDuration(study, configs, runs, dirname(file));
  const warnings: string[] = [];
  const nCycles = study.study_execution.n_cycles;
  if (runs.length > LARGE_STUDY_RUNS) {
    const size = runs.length > VERY_LARGE_STUDY_RUNS ? "very large study" : "large study";
    warnings.push(
      `${size}: ${runs.length} runs (${configs.length} configs × ${nCycles} cycles); at least ${formatDuration(estimate.minSeconds)}, typically ~${formatDuration(estimate.typicalSeconds)}`,
    );
  }
  if (skipped.length > 0 && skipped.length * 2 > generated) {
    warnings.push(`${skipped.length} of ${generated} generated configs are invalid and skipped`);
  }
  if (duplicates > 0) {
    warnings.push(`${duplicates} generated config(s) repeat an earlier one and run once`);
  }
  return {
    file,
    kind: isExperiment ? "experiment" : "study",
    yamlText: text,
    yamlBytes: bytes,
    yamlHash: studyYamlHash(bytes),
    study,
    designHash,
    configs,
    skipped,
    runs,
    duplicates,
    shuffleSeed: seed,
    warnings,
    estimate,
  };
}

export { planRuns, validateCandidates } from "./load/candidates.js";
export { estimateDuration } from "./load/estimate.js";
export { preflightStudy } from "./load/preflight.js";
