import { z } from "zod";
import { closestMatch } from "./closest-match.js";
import {
  ENGINE_SECTIONS,
  ENGINES,
  Engine,
  ExperimentConfig,
  MeasurementConfig,
  TaskConfig,
  WorkloadConfig,
} from "./experiment-config.js";
import { GpuSelection } from "./gpus.js";
import { type SafeParseOutcome, safeParseWith } from "./parse.js";
import { namedPartial, SweepModel } from "./study-fields.js";
import {
  append,
  ConfigValidationError,
  checkPartial,
  formatPath,
  ISSUES_LISTED,
  isPlainObject,
  objectKeysAt,
  schemaAtPath,
  type ValidationIssue,
} from "./validation.js";

/**
 * The study YAML: shared experiment fields, a sweep, explicit experiments, and how to run them.
 * This model checks the grammar and every field it can check before expansion (sweep keys and
 * values against the experiment model); turning it into configs is @llem/study's job.
 */

export const EXPERIMENT_ORDERS = [
  "sequential",
  "interleave",
  "shuffle",
  "reverse",
  "latin_square",
] as const;

/**
 * The longest wait a study may ask for (gaps, cooldown, experiment timeout): 30 days. Longer is
 * a typo (seconds for milliseconds); waits above a timer's 24.8-day limit are scheduled in steps.
 */
export const MAX_WAIT_SECONDS = 30 * 86_400;

/**
 * The most runs (configs × cycles) a study may expand to unless it says more with
 * `study_execution.max_runs`. It is counted before expanding, so a 1 KB file that would expand to
 * 10^12 configs is refused at once; expanding and validating costs about 30 µs and 1 KB per config.
 */
export const DEFAULT_MAX_RUNS = 100_000;

export const StudyExecution = z
  .strictObject({
    n_cycles: z.int().min(1).max(1000).default(1).describe("times every config is measured"),
    experiment_order: z
      .enum(EXPERIMENT_ORDERS)
      .default("interleave")
      .describe(
        "sequential: A A B B; interleave: A B A B; shuffle: seeded per cycle; reverse: A B B A; latin_square: Williams rows",
      ),
    experiment_gap_seconds: z
      .number()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .default(0)
      .describe("cooldown between experiments"),
    cycle_gap_seconds: z
      .number()
      .min(0)
      .max(MAX_WAIT_SECONDS)
      .default(0)
      .describe("cooldown between cycles"),
    shuffle_seed: z
      .int()
      .nullable()
      .default(null)
      .describe("seed of the shuffle order; null derives it from the study design hash"),
    max_consecutive_failures: z
      .int()
      .min(0)
      .default(5)
      .describe("failures in a row before the circuit breaker opens; 0 disables it"),
    circuit_breaker_cooldown_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).default(30),
    experiment_timeout_seconds: z
      .number()
      .gt(0)
      .max(MAX_WAIT_SECONDS)
      .default(1800)
      .describe("an experiment running longer is killed (its whole process group)"),
    reuse_servers: z
      .boolean()
      .default(false)
      .describe(
        "consecutive runs whose server configuration is identical (they differ only in workload or measurement) share one server; results say whether theirs was fresh",
      ),
    max_runs: z
      .int()
      .min(1)
      .default(DEFAULT_MAX_RUNS)
      .describe(
        "refuse a study that expands to more runs (configs × cycles) than this, counted before expanding; raise it for a study this large on purpose",
      ),
    wall_clock_timeout_hours: z
      .number()
      .gt(0)
      .nullable()
      .default(null)
      .describe("stop starting experiments after this long; the rest stay pending"),
  })
  .describe("how the study's runs are scheduled");
export type StudyExecution = z.infer<typeof StudyExecution>;

export const StudyOutput = z.strictObject({
  results_dir: z.string().min(1).default("results").describe("relative to the working directory"),
  save_timeseries: z.boolean().default(true).describe("write timeseries.csv per experiment"),
});

const STUDY_ONLY_KEYS = ["study_name", "base", "sweep", "experiments", "study_execution", "output"];

export const StudyConfig = z
  .strictObject({
    study_name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "letters, digits, '.', '_' and '-' only")
      .max(100)
      .default("study"),
    base: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "an experiment YAML whose fields every config inherits; relative to the study file",
      ),
    task: namedPartial(TaskConfig, "TaskFields")
      .optional()
      .describe("shared experiment task fields"),
    engine: z
      .union([Engine, z.array(Engine).min(1)])
      .optional()
      .describe("an engine, or a list of engines each getting its own grid"),
    gpus: GpuSelection.optional().describe("GPUs of every experiment (see the experiment config)"),
    llamacpp: namedPartial(ENGINE_SECTIONS.llamacpp, "LlamaCppFields").optional(),
    "llama-server": namedPartial(ENGINE_SECTIONS["llama-server"], "LlamaServerFields").optional(),
    vllm: namedPartial(ENGINE_SECTIONS.vllm, "VllmFields").optional(),
    transformers: namedPartial(ENGINE_SECTIONS.transformers, "TransformersFields").optional(),
    tensorrt: namedPartial(ENGINE_SECTIONS.tensorrt, "TensorrtFields").optional(),
    sglang: namedPartial(ENGINE_SECTIONS.sglang, "SglangFields").optional(),
    openai: namedPartial(ENGINE_SECTIONS.openai, "OpenAiFields").optional(),
    workload: namedPartial(WorkloadConfig, "WorkloadFields").optional(),
    measurement: namedPartial(MeasurementConfig, "MeasurementFields").optional(),
    sweep: (SweepModel as unknown as z.ZodType<Record<string, unknown>>)
      .default({})
      .describe("keys are experiment fields, dotted (`llamacpp.batch_size`), or group names"),
    experiments: z
      .array(namedPartial(ExperimentConfig, "ExperimentFields"))
      .default([])
      .describe("explicit experiments, appended after the sweep"),
    study_execution: StudyExecution.default(() => StudyExecution.parse({})),
    output: StudyOutput.default(() => StudyOutput.parse({})),
  })
  .describe("an llem study: a sweep of experiment configurations");
export type StudyConfig = z.infer<typeof StudyConfig>;
export type StudyConfigInput = z.input<typeof StudyConfig>;

/** Shared experiment fields of a study, in the shape of a (partial) experiment config. */
export function sharedExperimentFields(study: StudyConfig): Record<string, unknown> {
  const shared: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(study)) {
    if (!STUDY_ONLY_KEYS.includes(key) && value !== undefined) shared[key] = value;
  }
  return shared;
}

/** Whether a sweep entry is a group (a list of mappings) rather than an axis. */
export function isSweepGroup(entry: unknown): entry is Record<string, unknown>[] {
  return Array.isArray(entry) && entry.length > 0 && entry.every(isPlainObject);
}

/** Splits a sweep key into the experiment field path it sets (`llamacpp.batch_size` → 2 parts). */
export function sweepKeyPath(key: string): string[] {
  return key.split(".");
}

/**
 * Validates a study document: the grammar (StudyConfig) and, in the same pass, every field that can
 * be checked before expansion. Reports every problem at once; throws `ConfigValidationError`.
 */
export function parseStudyConfig(input: unknown, file?: string): StudyConfig {
  const outcome = safeParseStudyConfig(input);
  if (!outcome.success) throw new ConfigValidationError("study", outcome.issues, file);
  return outcome.data;
}

export function safeParseStudyConfig(input: unknown): SafeParseOutcome<StudyConfig> {
  const grammar = safeParseWith(StudyConfig, input);
  const fields = isPlainObject(input) ? studyFieldIssues(input) : [];
  const grammarIssues = grammar.success ? [] : grammar.issues;
  // Where both speak of one path (or of something inside it), the field check says more: it
  // knows the experiment model and phrases sweep problems for a sweep.
  const fieldPaths = new Set(fields.map((issue) => issue.path));
  const fieldAncestors = new Set(fields.flatMap((issue) => ancestors(issue.path)));
  const covered = (path: string) =>
    fieldPaths.has(path) ||
    fieldAncestors.has(path) ||
    ancestors(path).some((ancestor) => fieldPaths.has(ancestor));
  const issues = [...grammarIssues.filter((issue) => !covered(issue.path)), ...fields];
  if (grammar.success && issues.length === 0) {
    return {
      success: true,
      data: { ...grammar.data, sweep: inInputOrder(grammar.data.sweep, input) },
    };
  }
  return { success: false, issues };
}

/** The paths that contain `path`: `sweep.a[2]` → `sweep.a`, `sweep` (in a set: no quadratic scan). */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let index = path.length - 1; index > 0; index--) {
    if (path[index] === "." || path[index] === "[") out.push(path.slice(0, index));
  }
  return out;
}

/**
 * The sweep in the order its keys were written (the model lists field keys first; the order of
 * axes is the order of the product, so it is the author's).
 */
function inInputOrder(sweep: Record<string, unknown>, input: unknown): Record<string, unknown> {
  const written = isPlainObject(input) && isPlainObject(input.sweep) ? input.sweep : {};
  return Object.fromEntries(Object.keys(written).map((key) => [key, sweep[key]]));
}

/**
 * Checks what can be checked before expansion: shared fields, sweep keys and every sweep value
 * against the experiment model, and explicit experiments. Missing required fields are left to
 * expansion, since they may come from `base:` or from each other.
 */
export function studyFieldIssues(study: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [key, value] of Object.entries(study)) {
    if (key === "engine" && Array.isArray(value)) {
      // An engine list: each item is an engine (checked here to say "did you mean" per item).
      for (const [index, item] of value.entries()) {
        append(issues, checkPartial(Engine, item, [key, index]));
      }
      continue;
    }
    if (STUDY_ONLY_KEYS.includes(key)) continue;
    const field = schemaAtPath(ExperimentConfig, [key]);
    if (field) append(issues, checkPartial(field, value, [key]));
  }
  const sweep = isPlainObject(study.sweep) ? study.sweep : {};
  for (const [key, entry] of Object.entries(sweep)) {
    const at = ["sweep", key];
    if (Array.isArray(entry) && entry.some(isPlainObject) && !entry.every(isPlainObject)) {
      issues.push({
        path: formatPath(at),
        message:
          "mixes mappings and values; use a list of values (an axis) or of mappings (a group)",
      });
      continue;
    }
    if (isSweepGroup(entry)) {
      entry.forEach((variant, index) => {
        for (const [variantKey, variantValue] of Object.entries(variant)) {
          append(issues, sweepValueIssues(variantKey, variantValue, [...at, index, variantKey]));
        }
      });
      continue;
    }
    append(issues, sweepValueIssues(key, entry, at));
  }
  const experiments = Array.isArray(study.experiments) ? study.experiments : [];
  experiments.forEach((experiment, index) => {
    if (isPlainObject(experiment)) {
      append(issues, checkPartial(ExperimentConfig, experiment, ["experiments", index]));
    }
  });
  return issues;
}

function sweepValueIssues(
  key: string,
  value: unknown,
  at: ReadonlyArray<PropertyKey>,
): ValidationIssue[] {
  const path = sweepKeyPath(key);
  const field = schemaAtPath(ExperimentConfig, path);
  if (!field || path.some((part) => part === "")) {
    return [unknownSweepKey(key, at)];
  }
  if (Array.isArray(value) && value.length === 0) {
    return [
      {
        path: formatPath(at),
        message: "an empty list gives no configs; give values or remove the key",
      },
    ];
  }
  const values = Array.isArray(value) ? value : [value];
  const issues: ValidationIssue[] = [];
  for (const [index, item] of values.entries()) {
    if (issues.length >= ISSUES_LISTED) {
      // Enough to act on; checking 200,000 bad values one by one would take seconds.
      issues.push({
        path: formatPath(at),
        message: `values from [${index}] on were not checked: fix the problems above and validate again`,
      });
      break;
    }
    const itemPath = Array.isArray(value) ? [...at, index] : at;
    append(issues, checkPartial(field, item, itemPath));
  }
  return issues;
}

function unknownSweepKey(key: string, at: ReadonlyArray<PropertyKey>): ValidationIssue {
  const path = sweepKeyPath(key);
  // Find the deepest valid prefix and suggest a sibling of the first unknown part.
  let depth = 0;
  while (depth < path.length && schemaAtPath(ExperimentConfig, path.slice(0, depth + 1))) depth++;
  const known = objectKeysAt(ExperimentConfig, path.slice(0, depth));
  const guess = closestMatch(path[depth] ?? "", known);
  const suggestion = guess ? [...path.slice(0, depth), guess].join(".") : undefined;
  const isEngineName = (ENGINES as readonly string[]).includes(path[0] ?? "");
  const hint = suggestion
    ? `did you mean "${suggestion}"?`
    : isEngineName
      ? `expected one of ${known.map((k) => `"${path[0]}.${k}"`).join(", ")}`
      : "a sweep key names an experiment field (e.g. llamacpp.batch_size or task.model); a group is a list of mappings";
  return {
    path: formatPath(at),
    message: `unknown experiment field "${key}"; ${hint}`,
    ...(suggestion ? { suggestion } : {}),
  };
}
