import { engineDefinition, registeredEngines } from "@llem/backends";
import type { ExperimentConfig } from "@llem/schema";

/**
 * Short human-readable labels for configs, as the manifest's `config_summary` and every table
 * show them: "engine / model / <the engine's own parts> / concurrency=N", then the swept values
 * those parts do not already show. The engine's parts come from its registry entry.
 *
 *   llamacpp / synthetic:tiny / batch=4
 *   llamacpp / synthetic:tiny / batch=1 / concurrency=1 / max_output_tokens=32   (swept)
 */
export function summarizeConfig(config: ExperimentConfig): string {
  const parts: string[] = [config.engine, config.task.model];
  parts.push(...(engineDefinition(config.engine)?.summary.parts(config) ?? []));
  if (config.workload.mode === "concurrent")
    parts.push(`concurrency=${config.workload.concurrency}`);
  return parts.join(" / ");
}

/** Keys `summarizeConfig` shows whatever the engine: a sweep over them needs no extra label. */
const ALWAYS_SHOWN = ["engine", "task.model", "workload.concurrency", "workload.mode"];

/** Per dotted key: the label a swept value gets, or null when summaries show it already. */
const extraLabels = new Map<string, string | null>();

/** The label of a swept key in a summary (`max_output_tokens`), or null when it is shown anyway. */
export function sweepLabel(key: string): string | null {
  let label = extraLabels.get(key);
  if (label === undefined) {
    const shown =
      ALWAYS_SHOWN.includes(key) ||
      registeredEngines().some((definition) => definition.summary.shows.includes(key));
    label = shown ? null : (key.split(".").at(-1) ?? key);
    extraLabels.set(key, label);
  }
  return label;
}
