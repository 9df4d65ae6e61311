/**
 * A study's sweep axes, found in its configs rather than parsed from its YAML: a setting is an axis
 * when its value differs between configs (that covers `sweep:` axes, groups, several engines and
 * explicit `experiments:` alike). The YAML only orders them: axes it declares come first.
 *
 *   configs {batch 1, model a} {batch 4, model a} {batch 1, model b} {batch 4, model b}
 *     → axes llamacpp.batch_size [1, 4] (numeric), task.model [a, b] (categorical)
 *   a setting only some configs have (vllm.dtype in a llamacpp + vllm study) is an axis when it
 *   takes two values among those that have it; the others get -1 ("not set") on it.
 */
import { printable } from "@llem/schema";
import type { Axis } from "./model.js";

type Leaf = string | number | boolean | null;

/** Calls `visit(path, leaf)` for every leaf of a config (arrays count as one leaf, as JSON). */
function forEachLeaf(value: unknown, path: string, visit: (path: string, leaf: Leaf) => void) {
  if (value === null || typeof value !== "object") {
    if (path && (value === null || ["string", "number", "boolean"].includes(typeof value))) {
      visit(path, value as Leaf);
    }
    return;
  }
  if (Array.isArray(value)) {
    visit(path, JSON.stringify(value));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    forEachLeaf(child, path ? `${path}.${key}` : key, visit);
  }
}

/** A leaf's identity as a short string: "s:a" ≠ "n:1" ≠ "s:1" (cheaper than JSON.stringify). */
function leafKey(leaf: Leaf): string {
  return leaf === null ? "z" : `${(typeof leaf)[0]}:${leaf}`;
}

/** The leaf at a dotted path, or undefined (as forEachLeaf sees it: arrays as JSON). */
function leafAt(config: unknown, parts: readonly string[]): Leaf | undefined {
  let value: unknown = config;
  for (const part of parts) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  if (Array.isArray(value)) return JSON.stringify(value);
  if (value === null || ["string", "number", "boolean"].includes(typeof value))
    return value as Leaf;
  return undefined;
}

function display(leaf: Leaf): string {
  if (leaf === null) return "default";
  return printable(String(leaf));
}

/**
 * The axes of `configs` (one experiment config per unique config, any JSON) and, per config, the
 * index of its value on each axis (-1: not set). `declared` are the dotted keys the study file
 * sweeps over, in its order.
 */
export function detectAxes(
  configs: readonly unknown[],
  declared: readonly string[] = [],
): { axes: Axis[]; valueIndex: number[][] } {
  // path → (value as JSON → the value), in order of first appearance.
  const seen = new Map<string, Map<string, Leaf>>();
  for (const config of configs) {
    forEachLeaf(config, "", (path, leaf) => {
      let values = seen.get(path);
      if (!values) {
        values = new Map();
        seen.set(path, values);
      }
      const key = leafKey(leaf);
      if (!values.has(key)) values.set(key, leaf);
    });
  }
  const paths = [...seen.entries()].filter(([, values]) => values.size > 1).map(([path]) => path);
  const rank = (path: string) => {
    const index = declared.indexOf(path);
    return index === -1 ? declared.length : index;
  };
  paths.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));

  const axes: Axis[] = [];
  const keyOrder: Array<Map<string, number>> = [];
  for (const path of paths) {
    const leaves = [...(seen.get(path) as Map<string, Leaf>).values()];
    const numeric = leaves.every((leaf) => typeof leaf === "number");
    if (numeric) (leaves as number[]).sort((a, b) => a - b);
    axes.push({
      key: printable(path),
      values: leaves.map(display),
      numbers: numeric ? (leaves as number[]) : null,
      declared: declared.includes(path),
    });
    keyOrder.push(new Map(leaves.map((leaf, index) => [leafKey(leaf), index])));
  }
  const parts = paths.map((path) => path.split("."));
  const valueIndex = configs.map((config) =>
    parts.map((path, axis) => {
      const leaf = leafAt(config, path);
      return leaf === undefined ? -1 : (keyOrder[axis]?.get(leafKey(leaf)) ?? -1);
    }),
  );
  return { axes, valueIndex };
}

/**
 * The dotted keys a parsed study file sweeps over, in its order: `sweep:` keys whose value is a
 * list of values, the keys inside group lists (lists of mappings), and `engine` when it is a list.
 */
export function declaredAxes(study: unknown): string[] {
  const keys: string[] = [];
  const add = (key: string) => {
    if (!keys.includes(key)) keys.push(key);
  };
  const root =
    typeof study === "object" && study !== null ? (study as Record<string, unknown>) : {};
  if (Array.isArray(root.engine)) add("engine");
  const sweep = root.sweep;
  if (typeof sweep !== "object" || sweep === null) return keys;
  for (const [key, value] of Object.entries(sweep)) {
    if (!Array.isArray(value)) continue;
    const groups = value.filter((item) => typeof item === "object" && item !== null);
    if (groups.length === 0) add(key);
    for (const group of groups) for (const inner of Object.keys(group)) add(inner);
  }
  return keys;
}
