import type { z } from "zod";
import { closestMatch } from "./closest-match.js";
import { LlemError } from "./errors.js";

/** One problem found in a document, phrased for the person who wrote it. */
export interface ValidationIssue {
  /** Where, as written in a YAML/JSON document: `sweep.llamacpp.batch_size[2]`. */
  path: string;
  message: string;
  /** For an unknown key: the closest valid key. */
  suggestion?: string;
}

/** A document that does not fit its schema: every problem at once, each with its path. */
export class ConfigValidationError extends LlemError {
  readonly issues: ValidationIssue[];
  readonly file: string | undefined;

  constructor(what: string, issues: ValidationIssue[], file?: string) {
    const where = file ? `${file}: ` : "";
    const count = issues.length === 1 ? "1 problem" : `${issues.length} problems`;
    super("CONFIG_INVALID", `${where}${what} has ${count}:\n${formatIssues(issues)}`, {
      details: { file, issues },
    });
    this.issues = issues;
    this.file = file;
  }
}

/** At most this many problems are listed in a message (all of them stay in `issues`). */
export const ISSUES_LISTED = 50;

export function formatIssues(issues: ValidationIssue[]): string {
  const listed = issues
    .slice(0, ISSUES_LISTED)
    .map((issue) => `  - ${issue.path || "(top level)"}: ${issue.message}`);
  if (issues.length > ISSUES_LISTED) {
    listed.push(`  … and ${(issues.length - ISSUES_LISTED).toLocaleString("en-US")} more`);
  }
  return listed.join("\n");
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else out += out ? `.${String(segment)}` : String(segment);
  }
  return out;
}

export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  // JSON has no NaN or infinities (it would print null): YAML's .nan and .inf, as JavaScript names them.
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** Turns zod's issues into ours: path, expectation, what was found, and "did you mean". */
export function issuesFromZod(
  error: z.core.$ZodError,
  schema: z.ZodType,
  input: unknown,
  prefix: ReadonlyArray<PropertyKey> = [],
): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of error.issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "unrecognized_keys") {
      const known = objectKeysAt(schema, issue.path);
      for (const key of issue.keys) out.push(unknownKeyIssue([...path, key], known));
      continue;
    }
    const found = valueAt(input, issue.path);
    // A value that is one typo away from an allowed one (`engine: llamacp`): say which.
    const suggestion =
      issue.code === "invalid_value" && typeof found === "string"
        ? closestMatch(
            found,
            issue.values.filter((value): value is string => typeof value === "string"),
          )
        : undefined;
    out.push({
      path: formatPath(path),
      message: `${phraseIssue(issue, found)}${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
      ...(suggestion ? { suggestion } : {}),
    });
  }
  return out;
}

/** An unknown key at `path` (its last segment), with the closest of `known` as a suggestion. */
function unknownKeyIssue(
  path: ReadonlyArray<PropertyKey>,
  known: readonly string[],
): ValidationIssue {
  const suggestion = closestMatch(String(path[path.length - 1]), known);
  return {
    path: formatPath(path),
    message: suggestion
      ? `unknown key; did you mean "${suggestion}"?`
      : `unknown key; expected one of ${known.map((k) => `"${k}"`).join(", ")}`,
    ...(suggestion ? { suggestion } : {}),
  };
}

function phraseIssue(issue: z.core.$ZodIssue, found: unknown): string {
  const got = `got ${describeValue(found)}`;
  switch (issue.code) {
    case "invalid_type":
      if (found === undefined) return `required: expected ${issue.expected}`;
      return `expected ${issue.expected}, ${got}`;
    case "too_small":
      return `expected ${issue.origin === "array" ? "at least" : issue.inclusive ? "≥" : ">"} ${String(issue.minimum)}${issue.origin === "array" ? " items" : ""}, ${got}`;
    case "too_big":
      return `expected ${issue.origin === "array" ? "at most" : issue.inclusive ? "≤" : "<"} ${String(issue.maximum)}${issue.origin === "array" ? " items" : ""}, ${got}`;
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, ${got}`;
    case "invalid_format":
      // A pattern's own message (`.regex(re, "a GPU UUID …")`) says more than "regex".
      return issue.format === "regex" && !issue.message.startsWith("Invalid")
        ? `expected ${issue.message}, ${got}`
        : `expected ${issue.format}, ${got}`;
    case "invalid_union":
      return `${issue.message}, ${got}`;
    default:
      return issue.message;
  }
}

function valueAt(input: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = input;
  for (const segment of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
};

function defOf(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

/** Strips optional/nullable/default wrappers, down to the schema that holds the value. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (
      def.innerType &&
      ["optional", "nullable", "default", "prefault", "readonly", "catch", "nonoptional"].includes(
        def.type,
      )
    ) {
      current = def.innerType;
    } else if (def.type === "pipe" && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

/**
 * The schema of the field at `path` inside `schema`, or undefined where the path leads nowhere.
 * Used to check sweep keys such as `llamacpp.batch_size` against the experiment model.
 */
export function schemaAtPath(
  schema: z.ZodType,
  path: ReadonlyArray<PropertyKey>,
): z.ZodType | undefined {
  let current: z.ZodType | undefined = schema;
  for (const segment of path) {
    if (!current) return undefined;
    const def = defOf(unwrapSchema(current));
    if (def.type === "object" && def.shape) current = def.shape[String(segment)];
    else if (def.type === "array" && typeof segment === "number") current = def.element;
    else if (def.type === "record") current = def.valueType;
    else return undefined;
  }
  return current;
}

/** The keys an object schema at `path` accepts (empty when it is not an object). */
export function objectKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  const target = schemaAtPath(schema, path);
  if (!target) return [];
  const def = defOf(unwrapSchema(target));
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/**
 * Checks a partial document against `schema`: unknown keys anywhere, and every value that is
 * present. Missing required fields are not reported (they may come from elsewhere, as shared study
 * fields do).
 */
export function checkPartial(
  schema: z.ZodType,
  value: unknown,
  path: ReadonlyArray<PropertyKey>,
): ValidationIssue[] {
  const target = unwrapSchema(schema);
  const def = defOf(target);
  if (def.type === "object" && def.shape && isPlainObject(value)) {
    const issues: ValidationIssue[] = [];
    const known = Object.keys(def.shape);
    for (const [key, item] of Object.entries(value)) {
      const field = def.shape[key];
      if (!field) {
        issues.push(unknownKeyIssue([...path, key], known));
        continue;
      }
      append(issues, checkPartial(field, item, [...path, key]));
    }
    return issues;
  }
  // Leaves (and objects given as something else) are checked whole, through the field's own
  // wrappers so that null and defaults behave as they will after merging.
  const result = schema.safeParse(value);
  return result.success ? [] : issuesFromZod(result.error, schema, value, path);
}

/**
 * `into.push(...items)` without spreading the items as arguments: a sweep of 200,000 bad values
 * (a 1 MB YAML file) would overflow the stack.
 */
export function append<T>(into: T[], items: readonly T[]): void {
  for (const item of items) into.push(item);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
