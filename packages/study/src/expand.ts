import {
  ENGINES,
  type Engine,
  isPlainObject,
  isSweepGroup,
  LlemError,
  type StudyConfig,
  sharedExperimentFields,
  sweepKeyPath,
} from "@llem/schema";

/**
 * Sweep expansion: a validated study document → raw experiment configs in declared order. Pure
 * (no I/O, no validation of the configs themselves — see load.ts). The grammar:
 *
 * - a sweep key with a list of values (or one value) is an **axis**; axes form a Cartesian
 *   product in YAML key order, the last key varying fastest;
 * - a sweep key with a list of mappings is a **group** of alternative variants, `{}` being the
 *   baseline; a list value inside a variant is a mini-grid within that variant (a list of lists
 *   gives literal list values); groups are crossed with each other and with the axes, groups
 *   outermost; group overlays are applied after the axis values;
 * - a key whose first part names an engine (`llamacpp.batch_size`) is **engine-scoped**, and so is
 *   a group whose name starts with an engine or whose variants only set one engine's fields; each
 *   engine gets its own grid from the universal keys plus its own scoped keys;
 * - engines: `engine` given as a list, else the scalar `engine`, else the engines named by scoped
 *   keys (first-seen order), else the schema default;
 * - explicit `experiments` are appended after the sweep, each a shallow merge over the shared
 *   fields (an entry's `task:` replaces the shared `task:` whole); shared engine sections of other
 *   engines are dropped. With explicit experiments and no sweep, the shared fields alone are not
 *   an experiment of their own.
 */

/** A sweep assignment: the dotted key as written and the value it sets. */
export type Assignment = readonly [key: string, value: unknown];

export interface Candidate {
  raw: Record<string, unknown>;
  /** What the sweep set, in order (for summaries of configs that do not validate). */
  assignments: Assignment[];
  /** "sweep" or "experiments[3]". */
  origin: string;
  /** Set when the candidate is known to be unrunnable before validation. */
  skipReason?: string;
}

interface Axis {
  key: string;
  path: string[];
  values: unknown[];
}

interface Group {
  name: string;
  /** Each variant as a list of (path, value) assignments; the baseline `{}` is []. */
  variants: { key: string; path: string[]; value: unknown }[][];
}

const ENGINE_NAMES: readonly string[] = ENGINES;

function scopedEngine(key: string): Engine | undefined {
  const dot = key.indexOf(".");
  if (dot <= 0) return undefined;
  const head = key.slice(0, dot);
  return ENGINE_NAMES.includes(head) ? (head as Engine) : undefined;
}

/**
 * Sets `path` in `target` without mutating it: objects along the path are copied, everything else
 * is shared. Shared subtrees are never mutated afterwards (validation builds new objects).
 */
export function withPath(
  target: Record<string, unknown>,
  path: readonly string[],
  value: unknown,
): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) return target;
  const copy = { ...target };
  if (rest.length === 0) {
    copy[head] = value;
  } else {
    const child = copy[head];
    copy[head] = withPath(isPlainObject(child) ? child : {}, rest, value);
  }
  return copy;
}

/** Cartesian product of value lists, last list varying fastest; [] of lists gives [[]]. */
function product<T>(lists: readonly (readonly T[])[]): T[][] {
  let combos: T[][] = [[]];
  for (const list of lists) {
    const next: T[][] = [];
    for (const combo of combos) for (const item of list) next.push([...combo, item]);
    combos = next;
  }
  return combos;
}

/** A variant with list values becomes several variants (its mini-grid). */
function expandVariant(variant: Record<string, unknown>): Group["variants"] {
  const entries = Object.entries(variant);
  const choices = entries.map(([key, value]) => {
    const values = Array.isArray(value) ? value : [value];
    return values.map((item) => ({ key, path: sweepKeyPath(key), value: item }));
  });
  return product(choices);
}

/** The engine a group applies to: by its name, or the one engine all its variants' keys name. */
function groupEngine(
  name: string,
  variants: readonly Record<string, unknown>[],
): Engine | undefined {
  const byName = ENGINE_NAMES.includes(name.split(".")[0] ?? "")
    ? (name.split(".")[0] as Engine)
    : undefined;
  if (byName) return byName;
  const engines = new Set<Engine | undefined>();
  for (const variant of variants)
    for (const key of Object.keys(variant)) engines.add(scopedEngine(key));
  if (engines.size !== 1) return undefined;
  return [...engines][0];
}

/** How many configs a study generates, and the product that gives it, counted without expanding. */
export interface ExpansionCount {
  /** Candidate configs (before validation and dedup); may exceed 2^53 only approximately. */
  configs: number;
  /** The product per engine, for messages: "llamacpp: 10 × 10 × 3 (group kv) = 300". */
  products: string[];
}

/**
 * Counts the configs `expandStudy` would generate, from the lengths of the axes and of the groups'
 * variants (a variant's mini-grid counts the product of its lists) — arithmetic on the document,
 * so a study that would expand to 10^12 configs is counted in microseconds.
 */
export function countCandidates(study: StudyConfig): ExpansionCount {
  const axes: { key: string; engine: Engine | undefined; size: number }[] = [];
  const groups: { key: string; engine: Engine | undefined; size: number }[] = [];
  for (const [key, entry] of Object.entries(study.sweep)) {
    if (isSweepGroup(entry)) {
      let size = 0;
      for (const variant of entry) {
        let grid = 1;
        for (const value of Object.values(variant)) grid *= Array.isArray(value) ? value.length : 1;
        size += grid;
      }
      groups.push({ key, engine: groupEngine(key, entry), size });
    } else {
      axes.push({ key, engine: scopedEngine(key), size: Array.isArray(entry) ? entry.length : 1 });
    }
  }
  const products: string[] = [];
  let configs = 0;
  const hasSweep = axes.length > 0 || groups.length > 0;
  if (hasSweep || study.experiments.length === 0) {
    for (const engine of resolveEngines(study, [...axes, ...groups])) {
      const factors = [...groups, ...axes].filter(
        (item) => item.engine === undefined || item.engine === engine,
      );
      const count = factors.reduce((total, item) => total * item.size, 1);
      configs += count;
      const label = factors
        .map((item) =>
          groups.includes(item) ? `${item.size} (group ${item.key})` : `${item.size} (${item.key})`,
        )
        .join(" × ");
      products.push(
        `${engine ?? "default engine"}: ${label || "1"} = ${count.toLocaleString("en-US")}`,
      );
    }
  }
  if (study.experiments.length > 0) {
    configs += study.experiments.length;
    products.push(`explicit experiments: ${study.experiments.length.toLocaleString("en-US")}`);
  }
  return { configs, products };
}

/** Engines of a study: `engine` as a list, else the scalar, else those scoped keys name. */
function resolveEngines(
  study: StudyConfig,
  scoped: readonly { engine: Engine | undefined }[],
): (Engine | undefined)[] {
  if (Array.isArray(study.engine)) return [...new Set(study.engine)];
  if (study.engine !== undefined) return [study.engine];
  const named: Engine[] = [];
  for (const item of scoped)
    if (item.engine && !named.includes(item.engine)) named.push(item.engine);
  return named.length > 0 ? named : [undefined];
}

function invalid(path: string, message: string, file?: string): LlemError {
  const where = file ? `${file}: ` : "";
  return new LlemError("CONFIG_INVALID", `${where}${path}: ${message}`, {
    details: { file, issues: [{ path, message }] },
  });
}

/** Shared fields for one engine: other engines' sections dropped, `engine` set when known. */
function sharedFor(shared: Record<string, unknown>, engine: Engine | undefined) {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(shared)) {
    if (key === "engine") continue;
    if (engine !== undefined && ENGINE_NAMES.includes(key) && key !== engine) continue;
    fields[key] = value;
  }
  if (engine !== undefined) fields.engine = engine;
  return fields;
}

/**
 * Expands a study into candidate configs, lazily: a consumer that validates each candidate as it
 * comes lets the raw objects die young (a 56,832-run study allocates far less this way).
 * Grammar errors (a scoped key for an engine the study does not run) throw before the first item.
 */
export function expandStudy(study: StudyConfig, file?: string): Iterable<Candidate> {
  const plan = planExpansion(study, file);
  return { [Symbol.iterator]: () => generateCandidates(study, plan) };
}

interface ExpansionPlan {
  shared: Record<string, unknown>;
  axes: { axis: Axis; engine: Engine | undefined }[];
  groups: { group: Group; engine: Engine | undefined }[];
  engines: (Engine | undefined)[];
}

function planExpansion(study: StudyConfig, file?: string): ExpansionPlan {
  const shared = sharedExperimentFields(study);
  const axes: { axis: Axis; engine: Engine | undefined }[] = [];
  const groups: { group: Group; engine: Engine | undefined }[] = [];
  for (const [key, entry] of Object.entries(study.sweep)) {
    if (isSweepGroup(entry)) {
      const variants = entry.flatMap((variant) => expandVariant(variant));
      groups.push({ group: { name: key, variants }, engine: groupEngine(key, entry) });
    } else {
      const values = Array.isArray(entry) ? entry : [entry];
      axes.push({ axis: { key, path: sweepKeyPath(key), values }, engine: scopedEngine(key) });
    }
  }
  const engines = resolveEngines(study, [...axes, ...groups]);
  for (const item of [...axes, ...groups]) {
    if (item.engine && !engines.includes(item.engine)) {
      const key = "axis" in item ? item.axis.key : item.group.name;
      throw invalid(
        `sweep.${key}`,
        `applies to engine "${item.engine}", which this study does not run (engine: ${JSON.stringify(study.engine)}); add it to engine: [...] or remove the key`,
        file,
      );
    }
  }

  return { shared, axes, groups, engines };
}

function* generateCandidates(study: StudyConfig, plan: ExpansionPlan): Generator<Candidate> {
  const { shared, axes, groups, engines } = plan;
  const hasSweep = axes.length > 0 || groups.length > 0;
  if (hasSweep || study.experiments.length === 0) {
    for (const engine of engines) {
      const base = sharedFor(shared, engine);
      const engineAxes = axes.filter((item) => item.engine === undefined || item.engine === engine);
      const engineGroups = groups.filter(
        (item) => item.engine === undefined || item.engine === engine,
      );
      const groupCombos = product(engineGroups.map(({ group }) => group.variants));
      // Axis combinations as an odometer (last axis fastest). The config after the first k axes
      // is cached, so each step re-applies only the axes that changed (usually just the last).
      const axisList = engineAxes.map(({ axis }) => axis);
      const count = axisList.reduce((total, axis) => total * axis.values.length, 1);
      for (const groupCombo of groupCombos) {
        if (count === 0) break;
        const digits = new Array<number>(axisList.length).fill(0);
        const prefix: Record<string, unknown>[] = [base];
        for (let k = 0; k < axisList.length; k++) {
          const axis = axisList[k]!;
          prefix.push(withPath(prefix[k]!, axis.path, axis.values[0]));
        }
        for (let step = 0; step < count; step++) {
          if (step > 0) {
            let k = axisList.length - 1;
            while (digits[k]! + 1 === axisList[k]!.values.length) {
              digits[k] = 0;
              k--;
            }
            digits[k]!++;
            for (let j = k; j < axisList.length; j++) {
              const axis = axisList[j]!;
              prefix[j + 1] = withPath(prefix[j]!, axis.path, axis.values[digits[j]!]);
            }
          }
          let raw = prefix[axisList.length]!;
          const assignments: Assignment[] = axisList.map(
            (axis, k) => [axis.key, axis.values[digits[k]!]] as const,
          );
          for (const variant of groupCombo) {
            for (const { key, path, value } of variant) {
              raw = withPath(raw, path, value);
              assignments.push([key, value]);
            }
          }
          yield { raw, assignments, origin: "sweep" };
        }
      }
    }
  }

  for (const [index, entry] of study.experiments.entries()) {
    const origin = `experiments[${index}]`;
    const sharedEngine = Array.isArray(study.engine) ? undefined : study.engine;
    const engine = (typeof entry.engine === "string" ? entry.engine : sharedEngine) as
      | Engine
      | undefined;
    const raw = { ...sharedFor(shared, engine), ...entry };
    if (engine === undefined && Array.isArray(study.engine)) {
      yield {
        raw,
        assignments: [],
        origin,
        skipReason: `${origin}: no engine; the study's engine is a list (${study.engine.join(", ")}), so each explicit experiment names its own engine`,
      };
      continue;
    }
    yield { raw, assignments: [], origin };
  }
}
