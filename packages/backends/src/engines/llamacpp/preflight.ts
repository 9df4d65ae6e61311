import { statSync } from "node:fs";
import { resolve } from "node:path";
import { type ExperimentConfig, LlemError, type ValidationIssue } from "@llem/schema";
import { isSyntheticModel, parseSyntheticSpec } from "../../models/synthetic.js";

/** Problems of one model name under one base dir; a study repeats few models over many configs. */
const modelIssuesCache = new Map<string, string | null>();

/**
 * What would make a llamacpp run fail before it measures anything, found without loading the
 * model: a synthetic spec that does not parse (unknown preset, unknown key), a GGUF path that
 * does not exist or is not a regular file (a directory, a FIFO, a device).
 */
export function llamaCppPreflight(
  config: ExperimentConfig,
  { baseDir }: { baseDir: string },
): ValidationIssue[] {
  const model = config.task.model;
  const key = `${baseDir}\0${model}`;
  let problem = modelIssuesCache.get(key);
  if (problem === undefined) {
    problem = modelProblem(model, baseDir);
    modelIssuesCache.set(key, problem);
  }
  return problem === null ? [] : [{ path: "task.model", message: problem }];
}

function modelProblem(model: string, baseDir: string): string | null {
  if (isSyntheticModel(model)) {
    try {
      parseSyntheticSpec(model);
      return null;
    } catch (error) {
      if (LlemError.isInstance(error)) return error.message.replace(/^task\.model /, "");
      throw error;
    }
  }
  const path = resolve(baseDir, model);
  try {
    const stats = statSync(path);
    if (!stats.isFile()) {
      return `${JSON.stringify(model)} (${path}) is not a regular file; expected a GGUF file or synthetic:<preset>`;
    }
    return null;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" || code === "ENOTDIR" ? "does not exist" : `cannot be read (${code})`;
    return `GGUF file ${JSON.stringify(model)} ${why} (resolved to ${path}, relative to the study file); expected a GGUF file or synthetic:<preset>`;
  }
}
