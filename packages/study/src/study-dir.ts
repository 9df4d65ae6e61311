import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type ExperimentConfig, LlemError } from "@llem/schema";

export const SUMMARY_FILE_NAME = "study_summary.json";
export const STUDY_YAML_FILE_NAME = "study.yaml";
export const SKIPPED_FILE_NAME = "skipped_configs.json";
export const BASELINE_CACHE_FILE_NAME = "baseline_cache.json";
export const EXPERIMENTS_DIR_NAME = "experiments";
/** Servers shared between consecutive runs (reuse_servers): one folder per server key, its server.json. */
export const SHARED_SERVERS_DIR_NAME = "servers";

/** `2026-11-24T05-03-56` (UTC; colons are not portable in file names). */
export function dirTimestamp(date: Date): string {
  return date.toISOString().slice(0, 19).replaceAll(":", "-");
}

/** A short file-name-safe form of a model: `synthetic:tiny` → `synthetic-tiny`, paths → stem. */
export function modelSlug(model: string): string {
  const last = model.split(/[\\/]/).filter(Boolean).at(-1) ?? model;
  const stem = last.replace(/\.gguf$/i, "");
  return (
    stem
      .replace(/[^A-Za-z0-9._-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "model"
  );
}

/** `experiments/{index:04d}_c{cycle}_{model-slug}-{engine}_{hash8}` (index 1-based, declared order). */
export function experimentDirName(
  configIndex: number,
  cycle: number,
  config: ExperimentConfig,
  configHash: string,
): string {
  const index = String(configIndex + 1).padStart(4, "0");
  return `${index}_c${cycle}_${modelSlug(config.task.model)}-${config.engine}_${configHash.slice(0, 8)}`;
}

/**
 * The directory of one attempt of a run: the first attempt keeps the run's name, a re-run
 * (attempt N > 1, after a crash, a failure or a lost lease) gets a sibling of its own,
 * `{name}_a{N}`, so that no attempt ever writes over another's files. The manifest's
 * `result_file` names the attempt that completed.
 */
export function attemptDirName(runDirName: string, attempt: number): string {
  return attempt <= 1 ? runDirName : `${runDirName}_a${attempt}`;
}

export function experimentDirPath(studyDir: string, name: string): string {
  return join(studyDir, EXPERIMENTS_DIR_NAME, name);
}

/**
 * Creates `{resultsDir}/{studyName}_{UTC timestamp}`, with `_2`, `_3` … when that name is taken
 * (two studies started in the same second never share a directory).
 */
export async function createStudyDir(resultsDir: string, studyName: string, now = new Date()) {
  try {
    await mkdir(resultsDir, { recursive: true });
  } catch (error) {
    throw unwritable(resultsDir, error);
  }
  const base = `${studyName}_${dirTimestamp(now)}`;
  for (let attempt = 1; attempt < 10_000; attempt++) {
    const dir = join(resultsDir, attempt === 1 ? base : `${base}_${attempt}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw unwritable(resultsDir, error);
    }
  }
  throw unwritable(resultsDir, new Error(`too many studies named ${base}`));
}

function unwritable(resultsDir: string, error: unknown): LlemError {
  return new LlemError(
    "RESULTS_DIR_UNWRITABLE",
    `cannot create a study directory in ${resultsDir}: ${(error as Error).message}`,
    { cause: error, details: { resultsDir } },
  );
}
