/**
 * From expanded candidates to a study's configs and runs: each candidate validated as an
 * experiment config (invalid ones skipped with their reasons, identical ones kept once), named by
 * its summary, and the unique configs ordered over the cycles.
 */
import { createHash } from "node:crypto";
import {
  canonicalConfigJson,
  configHashOfCanonical,
  type ExperimentConfig,
  isPlainObject,
  type StudyConfig,
  safeParseExperimentConfig,
} from "@llem/schema";
import type { Assignment, Candidate } from "../expand.js";
import { orderRuns, shuffleSeed } from "../order.js";
import { summarizeConfig, sweepLabel } from "../summary.js";
import type { PlannedRun, SkippedConfig, StudyConfigEntry } from "../types.js";

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
