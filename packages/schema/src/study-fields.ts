import { z } from "zod";
import { ExperimentConfig } from "./experiment-config.js";

/**
 * The study file's views of the experiment model, derived from it (never written twice), so the
 * study's JSON Schema is as strict as the experiment's and editors complete the same keys:
 *
 * - `partialDeep(model)`: the model with every field optional and no defaults, unknown keys still
 *   refused — what a shared section (`task:`, `llamacpp:` …) or an explicit experiment may hold:
 *     partialDeep(TaskConfig) accepts {max_output_tokens: 8}, refuses {max_output_tokns: 8};
 * - `SweepModel`: `sweep:` — a key naming an experiment field (`llamacpp.batch_size`) takes an
 *   axis of that field's values; any key may take a group (a list of mappings whose keys are
 *   experiment fields):
 *     llamacpp.batch_size: [1, 2, 4]         an axis (a single value is an axis of one)
 *     task.dataset: {n_prompts: 4}           an object-valued field: one mapping is one value
 *     vllm.extra_args: [["--a"], ["--b"]]    a list-valued field: always a list of lists
 *     variants: [{}, {llamacpp.threads: 2}]  a group; a list inside a variant is its mini-grid
 */

type AnyDef = {
  type: string;
  innerType?: z.ZodType;
  shape?: Record<string, z.ZodType>;
};

function defOf(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

const WRAPPERS = ["optional", "default", "prefault", "nullable", "readonly", "nonoptional"];

/** The schema under optional/default/nullable wrappers, whether null was allowed, and its text. */
function unwrap(schema: z.ZodType): {
  inner: z.ZodType;
  nullable: boolean;
  description: string | undefined;
} {
  let inner = schema;
  let nullable = false;
  let description = schema.description;
  for (;;) {
    const def = defOf(inner);
    if (!def.innerType || !WRAPPERS.includes(def.type)) break;
    if (def.type === "nullable") nullable = true;
    inner = def.innerType;
    description ??= inner.description;
  }
  return { inner, nullable, description };
}

function isObjectSchema(schema: z.ZodType): boolean {
  return defOf(schema).type === "object";
}

function isArraySchema(schema: z.ZodType): boolean {
  return defOf(schema).type === "array";
}

/**
 * `model` with every field optional and without defaults, recursively; objects stay strict.
 * Cross-field checks (superRefine) are dropped: they apply to a whole config, after merging.
 */
export function partialDeep(model: z.ZodType): z.ZodType {
  let partial = partials.get(model);
  if (!partial) {
    partial = makePartial(model);
    partials.set(model, partial);
  }
  return partial;
}

/** One partial per model, so a section used in several places is one schema ($defs once). */
const partials = new WeakMap<z.ZodType, z.ZodType>();

function makePartial(model: z.ZodType): z.ZodType {
  const { inner, nullable, description } = unwrap(model);
  let result: z.ZodType = inner;
  const shape = defOf(inner).shape;
  if (isObjectSchema(inner) && shape) {
    const fields: Record<string, z.ZodType> = {};
    for (const [key, field] of Object.entries(shape)) fields[key] = partialDeep(field).optional();
    result = z.strictObject(fields);
  }
  if (nullable) result = result.nullable();
  return description ? result.describe(description) : result;
}

/**
 * `partialDeep(model)` under a name: the study's JSON Schema lists it once in `$defs` by that name
 * (a shared section, a swept section and a group's section are one schema).
 */
export function namedPartial(model: z.ZodType, id: string): z.ZodType<Record<string, unknown>> {
  const partial = partialDeep(model);
  const meta = z.globalRegistry.get(partial);
  if (meta?.id !== id) z.globalRegistry.add(partial, { ...meta, id });
  return partial as z.ZodType<Record<string, unknown>>;
}

/** Every field of the experiment model as a dotted path, parents before children. */
function experimentPaths(): { path: string; field: z.ZodType }[] {
  const out: { path: string; field: z.ZodType }[] = [];
  const walk = (schema: z.ZodType, prefix: string) => {
    const shape = defOf(unwrap(schema).inner).shape;
    if (!shape) return;
    for (const [key, field] of Object.entries(shape)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push({ path, field });
      if (isObjectSchema(unwrap(field).inner)) walk(field, path);
    }
  };
  walk(ExperimentConfig, "");
  return out;
}

const PATHS = experimentPaths();

/** Values of one field in a group's variant: a value, or a list of values (a mini-grid). */
function variantValue(field: z.ZodType): z.ZodType {
  const value = partialDeep(field);
  // A list-valued field takes a list of lists (each inner list one value), as in an axis.
  const list = z.array(value).min(1);
  return isArraySchema(unwrap(field).inner) ? list : z.union([value, list]);
}

/** One variant of a group: experiment fields by dotted path. */
export const SweepVariant = z
  .strictObject(
    Object.fromEntries(PATHS.map(({ path, field }) => [path, variantValue(field).optional()])),
  )
  .describe("one variant of a group: experiment fields by dotted key; {} is the baseline")
  .meta({ id: "SweepVariant" });

/** A group: alternative variants, crossed with the axes and the other groups. */
export const SweepGroup = z
  .array(SweepVariant)
  .min(1)
  .describe("a group: a list of mappings, each an alternative variant ({} is the baseline)")
  .meta({ id: "SweepGroup" });

/** An axis over one field: its values (a list; a single value is an axis of one). */
function axis(field: z.ZodType): z.ZodType {
  const value = partialDeep(field);
  const inner = unwrap(field).inner;
  // A list of mappings is always a group; an object-valued field's axis is one mapping.
  if (isObjectSchema(inner)) return value;
  const list = z.array(value).min(1);
  return isArraySchema(inner) ? list : z.union([value, list]);
}

/** `sweep:` keyed by experiment field (an axis or a group) or by group name (a group). */
export const SweepModel = z
  .strictObject(
    Object.fromEntries(
      PATHS.map(({ path, field }) => [
        path,
        z
          .union([axis(field), SweepGroup])
          .optional()
          .describe(
            `an axis: a list of ${path} values (Cartesian product with the other axes), or a group`,
          ),
      ]),
    ),
  )
  .catchall(SweepGroup);
