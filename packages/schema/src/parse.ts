import type { z } from "zod";
import {
  DEFAULT_ENGINE,
  ENGINES,
  ExperimentConfig,
  withEngineSection,
} from "./experiment-config.js";
import { withoutDefaultGpus } from "./gpus.js";
import {
  ConfigValidationError,
  isPlainObject,
  issuesFromZod,
  type ValidationIssue,
} from "./validation.js";

export type SafeParseOutcome<T> =
  | { success: true; data: T }
  | { success: false; issues: ValidationIssue[] };

/** Validates any document against a model and phrases every problem for a person. */
export function safeParseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
): SafeParseOutcome<z.infer<S>> {
  const result = schema.safeParse(input);
  if (result.success) return { success: true, data: result.data };
  return { success: false, issues: issuesFromZod(result.error, schema, input) };
}

/** Like `safeParseWith`, but throws `ConfigValidationError` (code CONFIG_INVALID). */
export function parseWith<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  file?: string,
): z.infer<S> {
  const outcome = safeParseWith(schema, input);
  if (!outcome.success) throw new ConfigValidationError(what, outcome.issues, file);
  return outcome.data;
}

/** Validates an experiment config, fills every default and the engine's section. */
export function safeParseExperimentConfig(input: unknown): SafeParseOutcome<ExperimentConfig> {
  const outcome = safeParseWith(ExperimentConfig, input);
  if (outcome.success)
    return { success: true, data: withEngineSection(withoutDefaultGpus(outcome.data)) };
  // zod runs cross-field checks only when every field parsed; report stray engine sections anyway.
  const reported = new Set(outcome.issues.map((issue) => issue.path));
  const extra = strayEngineSections(input).filter((issue) => !reported.has(issue.path));
  return { success: false, issues: [...outcome.issues, ...extra] };
}

function strayEngineSections(input: unknown): ValidationIssue[] {
  if (!isPlainObject(input)) return [];
  const engine = typeof input.engine === "string" ? input.engine : DEFAULT_ENGINE;
  return ENGINES.filter((name) => name !== engine && input[name] !== undefined).map((name) => ({
    path: name,
    message: `section "${name}" does not apply to engine "${engine}"; remove it or set engine: ${name}`,
  }));
}

/** Validates an experiment config or throws `ConfigValidationError` listing every problem. */
export function parseExperimentConfig(input: unknown, file?: string): ExperimentConfig {
  const outcome = safeParseExperimentConfig(input);
  if (!outcome.success) throw new ConfigValidationError("experiment config", outcome.issues, file);
  return outcome.data;
}
