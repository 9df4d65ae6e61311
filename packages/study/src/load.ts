import { createHash } from "node:crypto";
import { basename, dirname, extname, resolve } from "node:path";
import { datasetPreflight, engineDefinition, engineUnavailableReason } from "@llem/backends";
import {
  ConfigValidationError,
  canonicalConfigJson,
  configHashOfCanonical,
  type ExperimentConfig,
  formatIssues,
  isPlainObject,
  LlemError,
  parseExperimentConfig,
  parseStudyConfig,
  type StudyConfig,
  safeParseExperimentConfig,
  studyYamlHash,
  type ValidationIssue,
} from "@llem/schema";
import { type Assignment, type Candidate, countCandidates, expandStudy } from "./expand.js";
import { orderRuns, shuffleSeed } from "./order.js";
import { summarizeConfig, sweepLabel } from "./summary.js";
import type {
  DurationEstimate,
  LoadedStudy,
  PlannedRun,
  SkippedConfig,
  StudyConfigEntry,
} from "./types.js";
import { readYamlFile } from "./yaml-file.js";

/**
 * Keys of a study that are not experiment fields (stripped from a `base:` file). A file with `task:`
 * and none of these is a single experiment: an experiment config, as experiment-config.json
 * describes it; any of these makes it a study (of one config, maybe), as study-config.json does.
 */
const STUDY_ONLY_KEYS = ["study_name", "base", "sweep", "experiments", "study_execution", "output"];

/** Studies above these run counts get a warning with their count and minimum duration. */
export const LARGE_STUDY_RUNS = 500;
export const VERY_LARGE_STUDY_RUNS = 2000;
/** At most this many skipped configs are quoted when every config is invalid. */
const FAILURES_QUOTED = 5;

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

function formatValue(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** Leaves of a mapping as dotted keys (for summaries of explicit experiments). */
function leaves(value: Record<string, unknown>, prefix = ""): Assignment[] {
  const out: Assignment[] = [];
  for (const [key, item] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isPlainObject(item)) out.push(...leaves(item, path));
    else out.push([path, item]);
  }
  return out;
}

function assignmentsOf(candidate: Candidate): Assignment[] {
  return candidate.origin === "sweep" ? candidate.assignments : leaves(candidate.raw);
}

function extras(assignments: Assignment[]): string[] {
  const seen = new Map<string, string>();
  for (const [key, value] of assignments) {
    const label = sweepLabel(key);
    if (label !== null) seen.set(key, `${label}=${formatValue(value)}`);
  }
  return [...seen.values()];
}

function validSummary(config: ExperimentConfig, candidate: Candidate): string {
  return [summarizeConfig(config), ...extras(assignmentsOf(candidate))].join(" / ");
}

function rawSummary(candidate: Candidate): string {
  const raw = candidate.raw;
  const engine = typeof raw.engine === "string" ? raw.engine : "llamacpp";
  const task = isPlainObject(raw.task) ? raw.task : {};
  const model = typeof task.model === "string" ? task.model : "(no model)";
  const parts = [engine, model];
  for (const [key, value] of assignmentsOf(candidate)) {
    if (key === "engine" || key === "task.model") continue;
    parts.push(`${key}=${formatValue(value)}`);
  }
  return parts.join(" / ");
}

function slug(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "");
  return (cleaned || "study").slice(0, 100);
}

function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 2 * 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 3 * 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

/** Process start, model load and result write, at least. */
const MIN_SECONDS_PER_RUN = 1;
const TYPICAL_LOAD_SECONDS = 2;

/**
 * How long a study takes: a lower bound (gaps, thermal floors, idle baselines and a per-run
 * floor) and a typical figure that adds model load and each engine's own rate estimate for the
 * workload (its registry `estimate`). Measured run times replace it once the study runs.
 */
export function estimateDuration(
  study: StudyConfig,
  configs: StudyConfigEntry[],
  runs: PlannedRun[],
  baseDir: string,
): DurationEstimate {
  const execution = study.study_execution;
  let minSeconds = 0;
  let typicalSeconds = 0;
  let cachedBaseline = 0;
  const bases = new Set<string>();
  // Every config runs once per cycle, so the per-run figures are summed per config × cycles.
  const cycles = configs.length === 0 ? 0 : runs.length / configs.length;
  for (const { config } of configs) {
    const measurement = config.measurement;
    const perRunFloor = MIN_SECONDS_PER_RUN + measurement.thermal_floor_seconds;
    let baseline = 0;
    if (measurement.baseline.enabled) {
      if (measurement.baseline.strategy === "fresh")
        baseline = measurement.baseline.duration_seconds;
      else cachedBaseline = Math.max(cachedBaseline, measurement.baseline.duration_seconds);
    }
    const warmupPrompts = measurement.warmup.enabled
      ? measurement.warmup.mode === "fixed"
        ? measurement.warmup.n_warmup
        : measurement.warmup.max_prompts
      : 0;
    const tokens = (config.task.dataset.n_prompts + warmupPrompts) * config.task.max_output_tokens;
    const rate = engineDefinition(config.engine)?.estimate(config, { baseDir });
    if (rate) bases.add(rate.basis);
    minSeconds += cycles * (perRunFloor + baseline);
    typicalSeconds +=
      cycles *
      (perRunFloor + baseline + TYPICAL_LOAD_SECONDS + (rate ? tokens / rate.outputTokensPerS : 0));
  }
  const gaps =
    Math.max(0, runs.length - 1) * execution.experiment_gap_seconds +
    Math.max(0, execution.n_cycles - 1) * execution.cycle_gap_seconds;
  minSeconds += gaps + cachedBaseline;
  typicalSeconds += gaps + cachedBaseline;
  return {
    minSeconds,
    typicalSeconds,
    basis:
      `minimum: gaps, thermal floors, idle baselines and ${MIN_SECONDS_PER_RUN} s per run; ` +
      `typical adds ${TYPICAL_LOAD_SECONDS} s model load per run and each engine's rate estimate ` +
      `(${[...bases].join("; ")}). Measured run times replace it once the study runs.`,
  };
}

interface ExpandedConfigs {
  configs: StudyConfigEntry[];
  /** Study design hash (as schema's studyDesignHash computes it, from the canonical texts). */
  designHash: string;
  skipped: SkippedConfig[];
  duplicates: number;
  generated: number;
}

/** Validates every candidate; keeps the first of identical configs. */
export function validateCandidates(candidates: Iterable<Candidate>): ExpandedConfigs {
  const configs: StudyConfigEntry[] = [];
  const skipped: SkippedConfig[] = [];
  const seen = new Set<string>();
  // The design hash is SHA-256 over `[c0,c1,…]` of the unique configs' canonical texts, fed as
  // they come (equal to schema's studyDesignHash; the texts are not kept).
  const design = createHash("sha256").update("[");
  let duplicates = 0;
  let generated = 0;
  for (const candidate of candidates) {
    generated++;
    if (candidate.skipReason) {
      skipped.push({
        summary: rawSummary(candidate),
        reason: candidate.skipReason,
        issues: [{ path: candidate.origin, message: candidate.skipReason }],
        origin: candidate.origin,
      });
      continue;
    }
    const outcome = safeParseExperimentConfig(candidate.raw);
    if (!outcome.success) {
      skipped.push({
        summary: rawSummary(candidate),
        reason: outcome.issues.map((issue) => `${issue.path}: ${issue.message}`).join("; "),
        issues: outcome.issues,
        origin: candidate.origin,
      });
      continue;
    }
    // configHash and studyDesignHash both hash canonical JSON; serialise each config once.
    const canonical = canonicalConfigJson(outcome.data);
    const hash = configHashOfCanonical(canonical);
    if (seen.has(hash)) {
      duplicates++;
      continue;
    }
    seen.add(hash);
    design.update(configs.length === 0 ? canonical : `,${canonical}`);
    configs.push({
      index: configs.length,
      config: outcome.data,
      configHash: hash,
      summary: validSummary(outcome.data, candidate),
    });
  }
  // Two configs that summarise alike are told apart by their hash.
  const bySummary = new Map<string, number>();
  for (const entry of configs)
    bySummary.set(entry.summary, (bySummary.get(entry.summary) ?? 0) + 1);
  for (const entry of configs) {
    if ((bySummary.get(entry.summary) ?? 0) > 1)
      entry.summary += ` [${entry.configHash.slice(0, 8)}]`;
  }
  // canonicalJson of an array is its items' canonical texts joined by commas in brackets.
  const designHash = design.update("]").digest("hex").slice(0, 16);
  return { configs, designHash, skipped, duplicates, generated };
}

/** The ordered runs of a study's unique configs over its cycles. */
export function planRuns(
  study: StudyConfig,
  configs: StudyConfigEntry[],
  designHash: string,
): { runs: PlannedRun[]; seed: number | null } {
  const execution = study.study_execution;
  const seed = execution.experiment_order === "shuffle" ? shuffleSeed(execution, designHash) : null;
  const slots = orderRuns(
    configs.length,
    execution.n_cycles,
    execution.experiment_order,
    seed ?? 0,
  );
  const runs = slots.map(({ configIndex, cycle }) => {
    const entry = configs[configIndex]!;
    return { configHash: entry.configHash, cycle, summary: entry.summary, configIndex };
  });
  return { runs, seed };
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

async function readStudyDocument(file: string) {
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

async function withBase(
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

/** A count for a message: 1,000,000 up to 10^15, then 1.0e+18. */
function formatCount(count: number): string {
  return count < 1e15 ? count.toLocaleString("en-US") : count.toExponential(1);
}

/**
 * Refuses a study whose sweep expands to more runs than `study_execution.max_runs`, counted from
 * the document before anything is expanded (countCandidates), naming the product that gives it.
 */
function refuseOversizedStudy(study: StudyConfig, file: string): void {
  const { configs, products } = countCandidates(study);
  const { n_cycles: cycles, max_runs: limit } = study.study_execution;
  const runs = configs * cycles;
  if (runs <= limit) return;
  const message =
    `the study expands to ${formatCount(configs)} configs × ${cycles} cycle${cycles === 1 ? "" : "s"} = ${formatCount(runs)} runs, over the limit of ${formatCount(limit)}` +
    ` (${products.join("; ")}). Shrink the sweep, or raise study_execution.max_runs if you mean it` +
    ` (expanding costs about 30 µs and 1 KB of memory per config, before any run)`;
  throw new ConfigValidationError("study", [{ path: "study_execution.max_runs", message }], file);
}

export interface LoadStudyOptions {
  /** Override study_execution.n_cycles (e.g. a CLI flag). */
  nCycles?: number;
}

/**
 * Parses, validates, expands and orders a study file, or a single-experiment file (one with
 * `task:` and no study key: study_name, base, sweep, experiments, study_execution, output), which
 * becomes a 1-config study named after the file.
 */
export async function loadStudy(
  path: string,
  options: LoadStudyOptions = {},
): Promise<LoadedStudy> {
  const file = resolve(path);
  const { text, bytes, document } = await readStudyDocument(file);
  const isExperiment = "task" in document && !STUDY_ONLY_KEYS.some((key) => key in document);
  // An experiment file's errors, phrased for an experiment config.
  if (isExperiment) parseExperimentConfig(document, file);
  const merged = await withBase(document, file);
  if (options.nCycles !== undefined) {
    const execution = isPlainObject(merged.study_execution) ? merged.study_execution : {};
    merged.study_execution = { ...execution, n_cycles: options.nCycles };
  }

  let study: StudyConfig;
  if (isExperiment) {
    study = parseStudyConfig({ ...merged, study_name: slug(basename(file, extname(file))) }, file);
  } else {
    study = parseStudyConfig(merged, file);
  }

  refuseOversizedStudy(study, file);
  const { configs, designHash, skipped, duplicates, generated } = validateCandidates(
    expandStudy(study, file),
  );
  if (generated === 0) {
    throw new LlemError(
      "NOTHING_TO_RUN",
      `${file}: the study produced no experiments; give task.model with a sweep:, or experiments:`,
      { details: { file } },
    );
  }
  if (configs.length === 0) {
    const first = skipped.slice(0, FAILURES_QUOTED);
    const more =
      skipped.length > first.length ? `\n  … and ${skipped.length - first.length} more` : "";
    if (isExperiment && first[0])
      throw new ConfigValidationError("experiment config", first[0].issues, file);
    throw new LlemError(
      "NOTHING_TO_RUN",
      `${file}: nothing to run — all ${generated} generated config(s) are invalid. First failures:\n` +
        first
          .map(
            (item) =>
              `  - ${item.summary}:\n${formatIssues(item.issues).replaceAll("  - ", "      ")}`,
          )
          .join("\n") +
        more,
      { details: { file, skipped: skipped.length, first } },
    );
  }

  const { runs, seed } = planRuns(study, configs, designHash);
  const estimate = estimateDuration(study, configs, runs, dirname(file));
  const warnings: string[] = [];
  const nCycles = study.study_execution.n_cycles;
  if (runs.length > LARGE_STUDY_RUNS) {
    const size = runs.length > VERY_LARGE_STUDY_RUNS ? "very large study" : "large study";
    warnings.push(
      `${size}: ${runs.length} runs (${configs.length} configs × ${nCycles} cycles); at least ${formatDuration(estimate.minSeconds)}, typically ~${formatDuration(estimate.typicalSeconds)}`,
    );
  }
  if (skipped.length > 0 && skipped.length * 2 > generated) {
    warnings.push(`${skipped.length} of ${generated} generated configs are invalid and skipped`);
  }
  if (duplicates > 0) {
    warnings.push(`${duplicates} generated config(s) repeat an earlier one and run once`);
  }
  return {
    file,
    kind: isExperiment ? "experiment" : "study",
    yamlText: text,
    yamlBytes: bytes,
    yamlHash: studyYamlHash(bytes),
    study,
    designHash,
    configs,
    skipped,
    runs,
    duplicates,
    shuffleSeed: seed,
    warnings,
    estimate,
  };
}
