/** Reading a study file: one bounded YAML document that must be a mapping, merged over its `base:`. */
import { dirname, resolve } from "node:path";
import { isPlainObject, LlemError } from "@llem/schema";
import { readYamlFile } from "../yaml-file.js";

/**
 * Keys of a study that are not experiment fields (stripped from a `base:` file). A file with `task:`
 * and none of these is a single experiment: an experiment config, as experiment-config.json
 * describes it; any of these makes it a study (of one config, maybe), as study-config.json does.
 */
export const STUDY_ONLY_KEYS = [
  "study_name",
  "base",
  "sweep",
  "experiments",
  "study_execution",
  "output",
];

/** Deep merge of mappings (`over` wins; lists and scalars replace). */
function deepMerge(
  under: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...under };
  for (const [key, value] of Object.entries(over)) {
    const below = merged[key];
    merged[key] = isPlainObject(below) && isPlainObject(value) ? deepMerge(below, value) : value;
  }
  return merged;
}

/**
 * What a file holds instead of a mapping, with at most a short excerpt: the file may not be a
 * study at all (a manifest's study_yaml_path can name any file), and is never echoed whole.
 */
function foundAtTopLevel(value: unknown): string {
  if (value === null || value === undefined) return "an empty document";
  if (Array.isArray(value)) return "a list";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const excerpt = text.length > 40 ? `${text.slice(0, 40)}…` : text;
  return `${typeof value === "string" ? `a text of ${text.length.toLocaleString("en-US")} characters` : "a value"} (${JSON.stringify(excerpt)})`;
}

export async function readStudyDocument(file: string) {
  const read = await readYamlFile(file, "study file");
  if (!isPlainObject(read.value)) {
    throw new LlemError(
      "CONFIG_INVALID",
      `${file}: expected a mapping at the top level (task:, sweep:, …), found ${foundAtTopLevel(read.value)}`,
      { details: { file } },
    );
  }
  return { ...read, document: read.value };
}

export async function withBase(
  document: Record<string, unknown>,
  file: string,
): Promise<Record<string, unknown>> {
  if (typeof document.base !== "string" || document.base.length === 0) return document;
  const basePath = resolve(dirname(file), document.base);
  let base: Record<string, unknown>;
  try {
    const read = await readYamlFile(basePath, "base: file");
    if (!isPlainObject(read.value)) {
      throw new LlemError(
        "CONFIG_INVALID",
        `${basePath}: base: file must be a mapping of experiment fields`,
        {
          details: { file: basePath },
        },
      );
    }
    base = read.value;
  } catch (error) {
    if (LlemError.hasCode(error, "CONFIG_NOT_FOUND")) {
      throw new LlemError(
        "CONFIG_NOT_FOUND",
        `${file}: base: file not found: ${basePath} (base: is relative to the study file)`,
        { cause: error, details: { file, field: "base", base: basePath } },
      );
    }
    throw error;
  }
  const inherited: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(base)) {
    if (!STUDY_ONLY_KEYS.includes(key)) inherited[key] = value;
  }
  return deepMerge(inherited, document);
}
