import { z } from "zod";
import { ExperimentConfig } from "./experiment-config.js";
import { ExperimentResult } from "./experiment-result.js";
import { RequestRecord } from "./request-record.js";
import { StudyConfig } from "./study-config.js";
import { StudyManifest } from "./study-manifest.js";
import { StudyResult } from "./study-result.js";

/**
 * Every public file format, by the name of its shipped schema file (`schemas/<name>.json`).
 * Files people write are described as input (defaults optional); files llem writes as output.
 */
export const PUBLIC_FORMATS = {
  "experiment-config": { model: ExperimentConfig, io: "input", title: "llem experiment config" },
  "study-config": { model: StudyConfig, io: "input", title: "llem study file" },
  "experiment-result": { model: ExperimentResult, io: "output", title: "llem result.json" },
  "study-manifest": { model: StudyManifest, io: "output", title: "llem study_manifest.json" },
  "study-summary": { model: StudyResult, io: "output", title: "llem study_summary.json" },
  "request-record": {
    model: RequestRecord,
    io: "output",
    title: "llem requests.jsonl line",
  },
} as const satisfies Record<string, { model: z.ZodType; io: "input" | "output"; title: string }>;

export type PublicFormat = keyof typeof PUBLIC_FORMATS;

/** The JSON Schema (draft 2020-12) of one public format, deterministic key order. */
export function jsonSchemaFor(name: PublicFormat): Record<string, unknown> {
  const { model, io, title } = PUBLIC_FORMATS[name];
  const generated = z.toJSONSchema(model, {
    io,
    target: "draft-2020-12",
    unrepresentable: "throw",
    cycles: "throw",
    // The study format repeats the experiment's sections (shared, swept, in groups): once each.
    reused: name === "study-config" ? "ref" : "inline",
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return { $schema, $id: `https://llem.dev/schemas/${name}.json`, title, ...rest };
}
