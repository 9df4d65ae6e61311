import { dirname } from "node:path";
import { datasetPreflight, engineDefinition, engineUnavailableReason } from "@llem/backends";
import { ConfigValidationError, type ValidationIssue } from "@llem/schema";
import type { LoadedStudy } from "../types.js";

/** At most this many problems are listed when configs cannot run. */
const UNRUNNABLE_QUOTED = 20;

/**
 * Refuses a loaded study with configs whose runs would fail before measuring anything: an engine
 * this build cannot run, what the engine's preflight finds (a model file that does not exist,
 * an unknown preset), or a dataset that cannot be read (an unknown built-in set, a JSONL file
 * that is missing, not a regular file, too large or has a bad line) — ConfigValidationError listing each distinct problem once, with the configs
 * it hits. `runStudy` calls it before it creates or opens a study dir, and `llem validate` and
 * `--dry-run` call it too, so all three accept and refuse the same files. (`loadStudy` itself
 * checks the file, not this machine: expanding a study for another machine works anywhere.)
 */
export function preflightStudy(loaded: LoadedStudy): void {
  const { configs, file } = loaded;
  const baseDir = dirname(file);
  const problems = new Map<string, { issue: ValidationIssue; configs: string[] }>();
  for (const entry of configs) {
    const definition = engineDefinition(entry.config.engine);
    const issues: ValidationIssue[] = definition
      ? [...definition.preflight(entry.config, { baseDir })]
      : [
          {
            path: "engine",
            message: `cannot run: ${engineUnavailableReason(entry.config.engine)}`,
          },
        ];
    // The prompts every engine reads: a built-in set that exists, a JSONL file that parses.
    const dataset = datasetPreflight(entry.config.task.dataset.source, baseDir);
    if (dataset !== null) issues.push({ path: "task.dataset.source", message: dataset });
    for (const issue of issues) {
      const key = `${issue.path}\0${issue.message}`;
      const problem = problems.get(key) ?? { issue, configs: [] };
      problem.configs.push(entry.summary);
      problems.set(key, problem);
    }
  }
  if (problems.size === 0) return;
  const issues = [...problems.values()].slice(0, UNRUNNABLE_QUOTED).map(({ issue, configs }) => ({
    ...issue,
    message:
      configs.length === 1
        ? `${issue.message} (config ${configs[0]})`
        : `${issue.message} (${configs.length} configs, e.g. ${configs[0]})`,
  }));
  throw new ConfigValidationError("study", issues, file);
}
