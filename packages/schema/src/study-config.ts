import { z } from "zod";
import { closestMatch } from "./closest-match.js";
import { ENGINES, Engine, ExperimentConfig } from "./experiment-config.js";
import { type SafeParseOutcome, safeParseWith } from "./parse.js";
import {
  ConfigValidationError,
  checkPartial,
  formatPath,
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

export const StudyExecution = z
  .strictObject({
    n_cycles: z.int().min(1).max(1000).default(1).describe("times every config is measured"),
    experiment_order: z
      .enum(EXPERIMENT_ORDERS)
      .default("interleave")
      .describe(
        "sequential: A A B B; interleave: A B A B; shuffle: seeded per cycle; reverse: A B B A; latin_square: Williams rows",
      ),
    experiment_gap_seconds: z.number().min(0).default(0).describe("cooldown between experiments"),
    cycle_gap_seconds: z.number().min(0).default(0).describe("cooldown between cycles"),
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
    circuit_breaker_cooldown_seconds: z.number().min(0).default(30),
    experiment_timeout_seconds: z
      .number()
      .gt(0)
      .default(1800)
      .describe("an experiment running longer is killed (its whole process group)"),
    reuse_servers: z
      .boolean()
      .default(false)
      .describe(
        "consecutive runs whose server configuration is identical (they differ only in workload or measurement) share one server; results say whether theirs was fresh",
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

const Scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const SweepEntry = z
  .union([Scalar, z.array(Scalar), z.array(z.record(z.string(), z.unknown()))])
  .describe(
    "a list of values (an axis: Cartesian product) or a list of mappings (a group: alternative variants; {} is the baseline)",
  );

const PartialSection = z.record(z.string(), z.unknown());

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
    task: PartialSection.optional().describe("shared experiment task fields"),
    engine: z
      .union([Engine, z.array(Engine).min(1)])
      .optional()
      .describe("an engine, or a list of engines each getting its own grid"),
    llamacpp: PartialSection.optional(),
    "llama-server": PartialSection.optional(),
    vllm: PartialSection.optional(),
    transformers: PartialSection.optional(),
    tensorrt: PartialSection.optional(),
    sglang: PartialSection.optional(),
    openai: PartialSection.optional(),
    workload: PartialSection.optional(),
    measurement: PartialSection.optional(),
    sweep: z
      .record(z.string(), SweepEntry)
      .default({})
      .describe("keys are experiment fields, dotted (`llamacpp.batch_size`), or group names"),
    experiments: z
      .array(z.record(z.string(), z.unknown()))
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
  // Where both speak of one path, the field check says more (it knows the experiment model).
  const specific = new Set(fields.map((issue) => issue.path));
  const issues = [...grammarIssues.filter((issue) => !specific.has(issue.path)), ...fields];
  if (grammar.success && issues.length === 0) return grammar;
  return { success: false, issues };
}

/**
 * Checks what can be checked before expansion: shared fields, sweep keys and every sweep value
 * against the experiment model, and explicit experiments. Missing required fields are left to
 * expansion, since they may come from `base:` or from each other.
 */
export function studyFieldIssues(study: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const [key, value] of Object.entries(study)) {
    if (STUDY_ONLY_KEYS.includes(key) || (key === "engine" && Array.isArray(value))) continue;
    const field = schemaAtPath(ExperimentConfig, [key]);
    if (field) issues.push(...checkPartial(field, value, [key]));
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
          issues.push(...sweepValueIssues(variantKey, variantValue, [...at, index, variantKey]));
        }
      });
      continue;
    }
    issues.push(...sweepValueIssues(key, entry, at));
  }
  const experiments = Array.isArray(study.experiments) ? study.experiments : [];
  experiments.forEach((experiment, index) => {
    if (isPlainObject(experiment)) {
      issues.push(...checkPartial(ExperimentConfig, experiment, ["experiments", index]));
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
  const values = Array.isArray(value) ? value : [value];
  const issues: ValidationIssue[] = [];
  values.forEach((item, index) => {
    const itemPath = Array.isArray(value) ? [...at, index] : at;
    issues.push(...checkPartial(field, item, itemPath));
  });
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
