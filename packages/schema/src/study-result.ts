import { z } from "zod";
import { EnergyMethod } from "./experiment-result.js";
import { EXPERIMENT_ORDERS } from "./study-config.js";
import { Timestamp } from "./timestamps.js";

/** `study_summary.json`: written once when a study ends, however it ends. */

export const EnergyBasis = z.enum(["adjusted", "raw", "mixed"]);
export type EnergyBasis = z.infer<typeof EnergyBasis>;

export const Aggregate = z
  .looseObject({
    n: z.int().min(0),
    mean: z.number(),
    stddev: z.number().min(0).describe("sample standard deviation (n − 1); 0 when n = 1"),
    min: z.number(),
    max: z.number(),
  })
  .describe("a metric across the completed cycles of one config");
export type Aggregate = z.infer<typeof Aggregate>;

export const ConfigAggregate = z.looseObject({
  config_hash: z.string(),
  config_summary: z.string(),
  cycles_completed: z.int().min(0),
  cycles_failed: z.int().min(0),
  energy_method: EnergyMethod.nullable().describe("how this config's energy was obtained"),
  energy_basis: EnergyBasis.nullable().describe(
    "what energy_per_output_token_j is: idle-adjusted in every cycle, raw in every cycle, or mixed",
  ),
  metrics: z.looseObject({
    energy_per_output_token_j: Aggregate.nullable().describe(
      "as each result reports it: adjusted where a baseline exists, else raw (see energy_basis)",
    ),
    energy_per_output_token_raw_j: Aggregate.nullable().describe(
      "raw window energy ÷ output tokens",
    ),
    energy_per_output_token_adjusted_j: Aggregate.nullable().describe(
      "idle-adjusted window energy ÷ output tokens; null without a baseline",
    ),
    output_tokens_per_s: Aggregate.nullable(),
    ttft_p50_ms: Aggregate.nullable(),
    itl_p50_ms: Aggregate.nullable(),
    mean_power_w: Aggregate.nullable(),
    energy_j: Aggregate.nullable().describe("raw window energy"),
    energy_adjusted_j: Aggregate.nullable().describe("idle-adjusted window energy"),
  }),
});
export type ConfigAggregate = z.infer<typeof ConfigAggregate>;

export const StudyResult = z
  .looseObject({
    schema_version: z.literal("1.0"),
    study_name: z.string(),
    study_design_hash: z.string(),
    study_yaml_hash: z.string(),
    llem_version: z.string(),
    status: z
      .enum(["completed", "partial", "interrupted", "failed"])
      .describe("completed: every run completed; partial: some failed or were left pending"),
    started_at: Timestamp,
    ended_at: Timestamp,
    total_wall_time_s: z.number().min(0),
    counts: z.looseObject({
      unique_configs: z.int().min(0),
      total_runs: z.int().min(0),
      completed: z.int().min(0),
      failed: z.int().min(0),
      pending: z.int().min(0),
      skipped_configs: z.int().min(0),
    }),
    total_energy_j: z
      .number()
      .min(0)
      .nullable()
      .describe("= total_energy_raw_j (the name of earlier summaries, kept for their readers)"),
    total_energy_raw_j: z
      .number()
      .min(0)
      .nullable()
      .describe("sum of raw window energy over completed runs"),
    total_energy_adjusted_j: z
      .number()
      .min(0)
      .nullable()
      .describe(
        "sum of idle-adjusted window energy over the completed runs that had a baseline; null if none had",
      ),
    energy_methods: z
      .array(EnergyMethod)
      .describe("methods behind the totals; contains estimated if any figure was estimated"),
    measurement_protocol: z.looseObject({
      n_cycles: z.int().min(1),
      experiment_order: z.enum(EXPERIMENT_ORDERS),
      experiment_gap_seconds: z.number().min(0),
      cycle_gap_seconds: z.number().min(0),
      shuffle_seed: z.int().nullable(),
      experiment_timeout_seconds: z.number(),
    }),
    configs: z.array(ConfigAggregate),
    failures: z.array(
      z.looseObject({
        config_hash: z.string(),
        config_summary: z.string(),
        cycle: z.int(),
        error_type: z.string().nullable(),
        error_message: z.string().nullable(),
      }),
    ),
    skipped: z.array(z.looseObject({ config_summary: z.string(), reason: z.string() })),
  })
  .describe("study_summary.json: the outcome of a whole study");
export type StudyResult = z.infer<typeof StudyResult>;
