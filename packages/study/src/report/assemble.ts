/**
 * Step 2 of a report: turn what read-study.ts read into the compact StudyReport — per-config
 * spreads across cycles, the axes, energy sources, warnings, protocol, environment, failures.
 * Pure apart from nothing: the per-sample files (latency, power) are step 3 (samples.ts).
 */
import { printable } from "@llem/schema";
import { combinedMethod } from "../aggregate.js";
import { declaredAxes, detectAxes } from "./axes.js";
import type { RunFacts } from "./facts.js";
import { num } from "./format.js";
import type { ConfigRow, EnergyMethodName, EnergySource, MetricKey, StudyReport } from "./model.js";
import type { StudyFiles } from "./read-study.js";
import { spread } from "./stats.js";

/** At most this many failures are listed (the count says how many there are). */
export const FAILURES_LISTED = 200;

const PICK: Record<MetricKey, (facts: RunFacts) => number | null> = {
  energy_per_output_token_j: (facts) => facts.energyPerOutputTokenJ,
  output_tokens_per_s: (facts) => facts.outputTokensPerS,
  ttft_p50_ms: (facts) => facts.ttftP50Ms,
  itl_p50_ms: (facts) => facts.itlP50Ms,
  mean_power_w: (facts) => facts.meanPowerW,
  energy_j: (facts) => facts.energyJ,
};

function object(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function show(value: unknown): string {
  if (value === null || value === undefined) return "–";
  return printable(typeof value === "object" ? JSON.stringify(value) : String(value));
}

function configRows(files: StudyFiles): ConfigRow[] {
  const rows = new Map<string, ConfigRow>();
  for (const entry of files.manifest.experiments) {
    let row = rows.get(entry.config_hash);
    if (!row) {
      row = {
        hash: printable(entry.config_hash),
        summary: printable(entry.config_summary),
        cyclesCompleted: 0,
        cyclesFailed: 0,
        method: null,
        axisValues: [],
        metrics: {},
      };
      rows.set(entry.config_hash, row);
    }
    if (entry.status === "completed") row.cyclesCompleted++;
    if (entry.status === "failed") row.cyclesFailed++;
  }
  for (const [hash, runs] of files.runs) {
    const row = rows.get(hash);
    if (!row || runs.length === 0) continue;
    const methods = runs.flatMap((run) => (run.facts.method ? [run.facts.method] : []));
    row.method = methods.length > 0 ? combinedMethod(methods) : null;
    for (const key of Object.keys(PICK) as MetricKey[]) {
      const values = runs.flatMap((run) => {
        const value = PICK[key](run.facts);
        return value === null ? [] : [value];
      });
      const figure = spread(values);
      if (figure) row.metrics[key] = figure;
    }
  }
  return [...rows.values()];
}

function energyOf(files: StudyFiles): StudyReport["energy"] {
  const sources = new Map<string, EnergySource>();
  const components = new Map<string, { component: string; method: string; runs: number }>();
  const methods = new Set<EnergyMethodName>();
  let total = 0;
  let totalSeen = false;
  for (const runs of files.runs.values()) {
    for (const { facts } of runs) {
      const method = facts.method ?? "none";
      methods.add(method);
      const key = `${facts.sampler}\u0000${method}`;
      const source = sources.get(key);
      if (source) source.runs++;
      else {
        sources.set(key, {
          sampler: facts.sampler ?? "unknown",
          method,
          runs: 1,
          reason: facts.selectionReason ?? "",
          formula: facts.formula,
        });
      }
      for (const part of facts.components) {
        const partKey = `${part.component}\u0000${part.method}`;
        const known = components.get(partKey);
        if (known) known.runs++;
        else components.set(partKey, { ...part, runs: 1 });
      }
      if (facts.energyJ !== null) {
        total += facts.energyJ;
        totalSeen = true;
      }
    }
  }
  const summaryMethods = files.summary?.energy_methods;
  if (Array.isArray(summaryMethods)) {
    for (const method of summaryMethods) {
      if (method === "measured" || method === "estimated" || method === "none") methods.add(method);
    }
  }
  const summaryTotal = files.summary?.total_energy_j;
  return {
    methods: (["measured", "estimated", "none"] as const).filter((method) => methods.has(method)),
    sources: [...sources.values()],
    components: [...components.values()],
    totalJ: typeof summaryTotal === "number" ? summaryTotal : totalSeen ? total : null,
  };
}

function warningsOf(files: StudyFiles): StudyReport["warnings"] {
  const byCode = new Map<string, { code: string; runs: number; message: string }>();
  for (const runs of files.runs.values()) {
    for (const { facts } of runs) {
      for (const code of new Set(facts.warnings.map((warning) => warning.code))) {
        const known = byCode.get(code);
        if (known) known.runs++;
        else {
          const message = facts.warnings.find((warning) => warning.code === code)?.message ?? "";
          byCode.set(code, { code, runs: 1, message });
        }
      }
    }
  }
  return [...byCode.values()];
}

function firstRun(files: StudyFiles) {
  for (const runs of files.runs.values()) if (runs[0]) return runs[0];
  return undefined;
}

function protocolOf(files: StudyFiles): Array<[string, string]> {
  const fromSummary = object(files.summary?.measurement_protocol);
  const fromYaml = object(object(files.studyYaml).study_execution);
  const pick = (key: string) => fromSummary[key] ?? fromYaml[key];
  const rows: Array<[string, string]> = [
    ["cycles", show(pick("n_cycles") ?? 1)],
    ["order", show(pick("experiment_order") ?? "sequential")],
  ];
  const seed = pick("shuffle_seed");
  if (seed !== null && seed !== undefined) rows.push(["shuffle seed", show(seed)]);
  rows.push(
    [
      "gaps",
      `${show(pick("experiment_gap_seconds") ?? 0)} s between experiments, ${show(pick("cycle_gap_seconds") ?? 0)} s between cycles`,
    ],
    ["timeout", `${show(pick("experiment_timeout_seconds"))} s per experiment`],
  );
  const config = firstRun(files)?.facts.config;
  const measurement = object(object(config).measurement);
  const warmup = object(measurement.warmup);
  const baseline = object(measurement.baseline);
  if (Object.keys(warmup).length > 0) {
    rows.push([
      "warmup",
      warmup.enabled === false
        ? "off"
        : warmup.mode === "cv"
          ? `until latency CV < ${show(warmup.cv_threshold)} (window ${show(warmup.window_size)}, at most ${show(warmup.max_prompts)} prompts)`
          : `${show(warmup.n_warmup)} prompts`,
    ]);
  }
  if (Object.keys(baseline).length > 0) {
    rows.push([
      "idle baseline",
      baseline.enabled === false
        ? "off (energy is not idle-adjusted)"
        : `${show(baseline.duration_seconds)} s, ${show(baseline.strategy)}`,
    ]);
  }
  const energy = object(measurement.energy);
  if (Object.keys(energy).length > 0) {
    rows.push(["sampler", `${show(energy.sampler)}, every ${show(energy.sample_interval_ms)} ms`]);
  }
  return rows;
}

function environmentOf(files: StudyFiles): Array<[string, string]> {
  const environment = firstRun(files)?.facts.environment;
  if (!environment) return [];
  const rows: Array<[string, string]> = [];
  if (environment.hostname) rows.push(["host", show(environment.hostname)]);
  rows.push(
    ["cpu", `${show(environment.cpu_model)} (${show(environment.cpu_cores)} cores)`],
    [
      "memory",
      typeof environment.total_memory_bytes === "number"
        ? `${num(environment.total_memory_bytes / 2 ** 30)} GiB`
        : "–",
    ],
    ["os", `${show(environment.os)} ${show(environment.arch)}`],
    ["node", show(environment.node_version)],
    ["llem", show(environment.llem_version)],
  );
  const gpus = Array.isArray(environment.gpus) ? environment.gpus.map(object) : [];
  rows.push([
    "gpus",
    gpus.length === 0
      ? "none"
      : gpus.map((gpu) => `${show(gpu.index)}: ${show(gpu.name)}`).join(", "),
  ]);
  for (const [engine, version] of Object.entries(object(environment.engine_versions))) {
    rows.push([printable(engine), show(version)]);
  }
  return rows;
}

/** The StudyReport of `files`, without latency distributions and power traces (samples.ts). */
export function assembleStudy(files: StudyFiles): StudyReport {
  const { manifest, summary } = files;
  const configs = configRows(files);
  const configsByHash = [...files.runs.keys()];
  const firstConfig = configsByHash.map((hash) => files.runs.get(hash)?.[0]?.facts.config);
  const { axes, valueIndex } = detectAxes(
    firstConfig.filter((config) => config !== undefined),
    declaredAxes(files.studyYaml),
  );
  let withConfig = 0;
  configsByHash.forEach((_, index) => {
    const row = configs[index];
    if (!row) return;
    row.axisValues =
      firstConfig[index] === undefined ? axes.map(() => -1) : (valueIndex[withConfig++] ?? []);
  });
  const counts = {
    runs: manifest.experiments.length,
    completed: 0,
    failed: 0,
    pending: 0,
    running: 0,
  };
  for (const entry of manifest.experiments) counts[entry.status]++;
  const failed = manifest.experiments.filter((entry) => entry.status === "failed");
  return {
    dir: files.dir,
    name: printable(manifest.study_name),
    status: printable(String(manifest.status ?? summary?.status ?? "running")),
    lockHolder: files.lockHolder,
    startedAt: manifest.started_at,
    endedAt:
      manifest.completed_at ?? (typeof summary?.ended_at === "string" ? summary.ended_at : null),
    counts: { ...counts, configs: configs.length, skipped: files.skipped.length },
    protocol: protocolOf(files),
    environment: environmentOf(files),
    energy: energyOf(files),
    warnings: warningsOf(files),
    axes,
    configs,
    latency: [],
    power: [],
    failures: failed.slice(0, FAILURES_LISTED).map((entry) => ({
      summary: printable(entry.config_summary),
      hash: printable(entry.config_hash),
      cycle: entry.cycle,
      type: printable(entry.error_type ?? "error"),
      message: printable(entry.error_message ?? "no message"),
    })),
    failuresTotal: failed.length,
    skipped: files.skipped,
    notes: files.notes,
  };
}
