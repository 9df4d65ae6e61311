import { z } from "zod";
import { Timestamp } from "./timestamps.js";

/**
 * `study_manifest.json`: which runs of a study are done. The seed schema (schema_version "2.0")
 * exactly, plus optional additive extensions — a reader of the seed schema keeps working, and a
 * document that follows the seed schema exactly parses here.
 *
 * Machine-written and read by other tools, so objects are loose: a newer writer's extra fields are
 * kept, not rejected.
 */

export const RUN_STATUSES = ["pending", "running", "completed", "failed"] as const;
export const RunStatus = z.enum(RUN_STATUSES);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunLease = z
  .looseObject({
    worker: z.string().min(1),
    host: z.string().min(1),
    pid: z.int().min(1),
    heartbeat_at: Timestamp,
  })
  .describe("who is running this run, for studies shared by several workers");
export type RunLease = z.infer<typeof RunLease>;

export const ManifestEntry = z.looseObject({
  config_hash: z.string().min(1).describe("identifies the experiment config"),
  config_summary: z.string().describe('human-readable, e.g. "llamacpp / synthetic:tiny / batch=4"'),
  cycle: z.int().min(1).describe("which study cycle (1-indexed)"),
  status: RunStatus,
  result_file: z.string().nullable().optional().describe("result.json, relative to the study dir"),
  error_type: z.string().nullable().optional(),
  error_message: z.string().nullable().optional(),
  started_at: Timestamp.nullable().optional(),
  completed_at: Timestamp.nullable().optional(),
  // Extensions (optional; not in the seed).
  attempts: z.int().min(0).optional().describe("times this run was started"),
  lease: RunLease.nullable().optional(),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

/**
 * running: a writer is at work (or was killed); interrupted: stopped with runs left to do;
 * completed: every run completed; partial: every run finished, some failed; failed: none completed.
 */
export const STUDY_STATUSES = ["running", "interrupted", "completed", "partial", "failed"] as const;

export const StudyManifest = z
  .looseObject({
    schema_version: z.string().default("2.0"),
    study_name: z.string(),
    study_yaml_hash: z.string().describe("SHA-256 of the study file's bytes"),
    study_yaml_path: z.string(),
    llenergymeasure_version: z.string().describe("version of the tool that wrote the file"),
    started_at: Timestamp,
    completed_at: Timestamp.nullable().optional(),
    experiments: z.array(ManifestEntry),
    // Extensions (optional; not in the seed).
    status: z.enum(STUDY_STATUSES).optional(),
    study_design_hash: z.string().nullable().optional(),
    revision: z.int().min(0).optional().describe("grows by one with every change"),
    updated_at: Timestamp.optional(),
  })
  .describe("study_manifest.json: the record of which runs of a study are done");
export type StudyManifest = z.infer<typeof StudyManifest>;
