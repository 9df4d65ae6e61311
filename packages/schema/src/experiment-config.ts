import { z } from "zod";
import { GpuSelection, gpuCountIssues } from "./gpus.js";
import {
  LlamaServerConfig,
  OpenAiConfig,
  SERVER_APIS,
  type ServerApi,
  SglangConfig,
  TensorrtConfig,
  TransformersConfig,
  VllmConfig,
} from "./server-engine-config.js";

/**
 * One experiment: a model, a workload and one engine configuration, measured once per cycle.
 * Human-written, so every object is strict (a typo is an error with a suggestion, never ignored).
 * Every field has a default except `task.model`, so a config hashes the same whether a default was
 * written out or omitted.
 */

export const ENGINES = [
  "llamacpp",
  "llama-server",
  "vllm",
  "transformers",
  "tensorrt",
  "sglang",
  "openai",
] as const;
/** The engine a config without `engine:` runs on: the embedded one, which runs on any machine. */
export const DEFAULT_ENGINE = "llamacpp" satisfies (typeof ENGINES)[number];
export const Engine = z
  .enum(ENGINES)
  .describe(`inference engine; ${DEFAULT_ENGINE} is embedded and the default`);
export type Engine = z.infer<typeof Engine>;

/** Engines that llem drives as an OpenAI-compatible server over streaming HTTP. */
export const SERVER_ENGINES = [
  "llama-server",
  "vllm",
  "transformers",
  "tensorrt",
  "sglang",
  "openai",
] as const;
export type ServerEngine = (typeof SERVER_ENGINES)[number];

export function isServerEngine(engine: Engine): engine is ServerEngine {
  return engine !== "llamacpp";
}

/** The OpenAI routes each server engine serves, its default first (`workload.api`). */
export const SERVER_ENGINE_APIS = {
  "llama-server": ["completions", "chat"],
  vllm: ["completions", "chat"],
  transformers: ["chat"],
  tensorrt: ["completions", "chat"],
  sglang: ["completions", "chat"],
  openai: ["completions", "chat"],
} as const satisfies Record<ServerEngine, readonly [ServerApi, ...ServerApi[]]>;

export const DatasetConfig = z
  .strictObject({
    source: z
      .string()
      .min(1)
      .default("builtin:short")
      .describe('`builtin:<set>` (short, long, mixed) or a path to a JSONL file of {"prompt": …}'),
    n_prompts: z.int().min(1).default(16).describe("prompts in the measurement window"),
    order: z
      .enum(["as_listed", "shuffled"])
      .default("as_listed")
      .describe("shuffled uses task.random_seed"),
  })
  .describe("the prompts of the workload");

export const TaskConfig = z
  .strictObject({
    model: z
      .string()
      .min(1)
      .describe(
        "GGUF path or `synthetic:<preset>` (llamacpp, llama-server); the served model's id or path for the other server engines",
      ),
    dataset: DatasetConfig.default(() => DatasetConfig.parse({})),
    max_input_tokens: z
      .int()
      .min(1)
      .nullable()
      .default(256)
      .describe("prompts longer than this are truncated; null keeps them whole"),
    max_output_tokens: z.int().min(1).default(64).describe("tokens generated per prompt"),
    random_seed: z.int().default(42).describe("seeds sampling and prompt shuffling"),
  })
  .describe("what is measured: model and prompts, held fixed across a sweep");

export const KV_CACHE_TYPES = ["f32", "f16", "q8_0", "q4_0"] as const;

export const LlamaCppConfig = z
  .strictObject({
    threads: z
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe("CPU threads; null picks the fastest count measured for this machine"),
    batch_size: z
      .int()
      .min(1)
      .max(256)
      .default(1)
      .describe("prompts evaluated in parallel (context sequences)"),
    context_size: z
      .int()
      .min(16)
      .nullable()
      .default(null)
      .describe(
        "context window per sequence in tokens; null sizes it to max_input_tokens + max_output_tokens + 8, capped at the model's training context (max_input_tokens unset: the training context)",
      ),
    gpu_layers: z.int().min(0).default(0).describe("layers offloaded to the GPU; 0 runs on CPU"),
    flash_attention: z.boolean().default(false),
    kv_cache_type: z.enum(KV_CACHE_TYPES).default("f16").describe("KV cache element type"),
  })
  .describe("llama.cpp, embedded through node-llama-cpp");
export type LlamaCppConfig = z.infer<typeof LlamaCppConfig>;

export const WORKLOAD_MODES = ["batch", "concurrent", "rate"] as const;
export const ARRIVALS = ["constant", "poisson", "gamma"] as const;

/**
 * How prompts are offered to the engine. `mode` and `concurrency` are all the embedded engine
 * reads; the other fields drive server engines and are absent from a llamacpp config (so its
 * config hash is what it always was). `withEngineSection` fills their defaults for the modes and
 * engines they apply to, so a default written out or omitted hashes the same.
 */
export const WorkloadConfig = z
  .strictObject({
    mode: z
      .enum(WORKLOAD_MODES)
      .default("batch")
      .describe(
        "batch: prompts in groups (the engine's batch size; a server: `concurrency` requests sent together, the next group when all are done); concurrent: closed loop, `concurrency` requests in flight; rate: open loop, requests sent at `request_rate` (server engines)",
      ),
    concurrency: z
      .int()
      .min(1)
      .default(1)
      .describe("requests in flight (concurrent), or per group (batch on a server)"),
    api: z
      .enum(SERVER_APIS)
      .optional()
      .describe(
        "server engines: /v1/completions or /v1/chat/completions (default: the engine's first)",
      ),
    request_rate: z
      .number()
      .gt(0)
      .max(1_000_000)
      .optional()
      .describe("rate mode: mean requests per second (required there)"),
    arrival: z
      .enum(ARRIVALS)
      .optional()
      .describe(
        "rate mode: gaps between sends — constant 1/rate, poisson (exponential, the default), gamma (shape burstiness); seeded by task.random_seed",
      ),
    burstiness: z
      .number()
      .gt(0)
      .max(1000)
      .optional()
      .describe("gamma arrivals: shape of the gaps (1 = poisson, < 1 burstier, > 1 more even)"),
    max_concurrency: z
      .int()
      .min(1)
      .nullable()
      .optional()
      .describe(
        "rate mode: most requests in flight; a request due while it is reached waits (its wait is recorded)",
      ),
    request_timeout_s: z
      .number()
      .gt(0)
      .max(86_400)
      .optional()
      .describe("server engines: a request taking longer counts as an error (default 600)"),
    max_error_rate: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        "server engines: share of requests that may fail before the run fails (default 0: any error fails it; errors are always counted)",
      ),
  })
  .describe("how prompts are offered to the engine");
export type WorkloadConfig = z.infer<typeof WorkloadConfig>;

/** Server-engine workload defaults (see WorkloadConfig). */
export const SERVER_WORKLOAD_DEFAULTS = { request_timeout_s: 600, max_error_rate: 0 } as const;

/** Service-level objectives a request must meet to count towards goodput. */
export const SloConfig = z
  .strictObject({
    ttft_ms: z.number().gt(0).optional().describe("time to first token at most this"),
    tpot_ms: z
      .number()
      .gt(0)
      .optional()
      .describe("time per output token after the first, (e2e − TTFT) / (n − 1), at most this"),
    e2e_ms: z.number().gt(0).optional().describe("end-to-end latency at most this"),
  })
  .refine((slo) => Object.keys(slo).length > 0, "give at least one of ttft_ms, tpot_ms, e2e_ms")
  .describe(
    "goodput counts the requests meeting every objective given, errors counting against it",
  );

export const ENERGY_SAMPLERS = ["auto", "nvml", "rapl", "estimate", "none"] as const;
/** Samplers that can be listed together, each measuring its components (nvml: GPUs; rapl: CPU package, DRAM). */
export const COMPONENT_SAMPLERS = ["nvml", "rapl", "estimate"] as const;

export const EnergyConfig = z.strictObject({
  sampler: z
    .union([
      z.enum(ENERGY_SAMPLERS),
      z
        .array(z.enum(COMPONENT_SAMPLERS))
        .min(1)
        .refine((kinds) => new Set(kinds).size === kinds.length, "lists a sampler twice"),
    ])
    .default("auto")
    .describe(
      "auto measures every component measurable here (GPUs via nvml, CPU package and DRAM via rapl), else estimates the CPU, and records why; a list chooses the samplers",
    ),
  sample_interval_ms: z.int().min(10).max(10_000).default(100),
  cpu_watts_per_core: z
    .number()
    .gt(0)
    .max(1000)
    .default(10)
    .describe("power of one fully busy core, used only by the estimate sampler"),
});

export const BaselineConfig = z.strictObject({
  enabled: z.boolean().default(true),
  duration_seconds: z.number().min(1).max(600).default(30),
  strategy: z
    .enum(["cached", "fresh"])
    .default("cached")
    .describe(
      "cached: measured once and reused until cache_ttl_seconds; fresh: before every experiment",
    ),
  cache_ttl_seconds: z.number().min(0).default(3600),
});

export const WarmupConfig = z.strictObject({
  enabled: z.boolean().default(true),
  mode: z
    .enum(["fixed", "cv"])
    .default("fixed")
    .describe(
      "fixed: n_warmup prompts; cv: until the latency coefficient of variation < cv_threshold",
    ),
  n_warmup: z.int().min(1).default(3),
  cv_threshold: z.number().min(0.001).max(1).default(0.05),
  window_size: z.int().min(2).default(3).describe("latencies the CV is computed over"),
  max_prompts: z.int().min(1).default(20).describe("cap on warmup prompts in cv mode"),
});

export const MeasurementConfig = z
  .strictObject({
    energy: EnergyConfig.default(() => EnergyConfig.parse({})),
    baseline: BaselineConfig.default(() => BaselineConfig.parse({})),
    warmup: WarmupConfig.default(() => WarmupConfig.parse({})),
    thermal_floor_seconds: z
      .number()
      .min(0)
      .max(3600)
      .default(0)
      .describe("pause after warmup so the device settles before the window"),
    slo: SloConfig.optional(),
  })
  .describe("how the measurement window is framed and how energy is obtained");

/** Each engine's config section (`llamacpp:`, `vllm:` …): the one table of engine formats. */
export const ENGINE_SECTIONS = {
  llamacpp: LlamaCppConfig,
  "llama-server": LlamaServerConfig,
  vllm: VllmConfig,
  transformers: TransformersConfig,
  tensorrt: TensorrtConfig,
  sglang: SglangConfig,
  openai: OpenAiConfig,
} as const satisfies Record<Engine, z.ZodType>;

const engineSections = {
  llamacpp: ENGINE_SECTIONS.llamacpp.optional(),
  "llama-server": ENGINE_SECTIONS["llama-server"].optional(),
  vllm: ENGINE_SECTIONS.vllm.optional(),
  transformers: ENGINE_SECTIONS.transformers.optional(),
  tensorrt: ENGINE_SECTIONS.tensorrt.optional(),
  sglang: ENGINE_SECTIONS.sglang.optional(),
  openai: ENGINE_SECTIONS.openai.optional(),
} satisfies Record<Engine, z.ZodType>;

const ExperimentObject = z.strictObject({
  task: TaskConfig,
  engine: Engine.default(DEFAULT_ENGINE),
  gpus: GpuSelection.optional(),
  ...engineSections,
  workload: WorkloadConfig.default(() => WorkloadConfig.parse({})),
  measurement: MeasurementConfig.default(() => MeasurementConfig.parse({})),
});

export const ExperimentConfig = ExperimentObject.superRefine((config, ctx) => {
  for (const issue of gpuCountIssues(config)) ctx.addIssue({ code: "custom", ...issue });
  for (const engine of ENGINES) {
    if (engine !== config.engine && config[engine] !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: [engine],
        message: `section "${engine}" does not apply to engine "${config.engine}"; remove it or set engine: ${engine}`,
      });
    }
  }
  for (const issue of [...serverIssues(config), ...workloadIssues(config)]) {
    ctx.addIssue({ code: "custom", ...issue });
  }
}).describe("one llem experiment");

/** A validated experiment config; its engine's section is always present after `parseExperimentConfig`. */
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfig>;

type Issue = { path: (string | number)[]; message: string };

/** A server section's own cross-field rules: what its runner needs. */
function serverIssues(config: z.infer<typeof ExperimentObject>): Issue[] {
  const issues: Issue[] = [];
  if (config.engine === "openai") {
    if (!config.openai?.endpoint) {
      issues.push({
        path: ["openai", "endpoint"],
        message: "engine openai needs openai.endpoint (the base URL of a running server)",
      });
    }
    return issues;
  }
  if (config.engine === "llamacpp") return issues;
  const section = config[config.engine];
  if (section && section.runner !== "local" && !section.image) {
    issues.push({
      path: [config.engine, "image"],
      message: `runner ${section.runner} needs ${config.engine}.image (a ${section.runner === "apptainer" ? "SIF file or image URI" : "container image"})`,
    });
  }
  return issues;
}

/** Which workload fields apply to which mode and engine (each applies to some, none to all). */
function workloadIssues(config: z.infer<typeof ExperimentObject>): Issue[] {
  const { workload, engine } = config;
  const issues: Issue[] = [];
  const at = (field: string, message: string) =>
    issues.push({ path: ["workload", field], message });
  if (!isServerEngine(engine)) {
    if (workload.mode === "rate")
      at("mode", "mode rate (open loop) needs a server engine; llamacpp runs batch or concurrent");
    for (const field of ["api", "request_timeout_s", "max_error_rate"] as const) {
      if (workload[field] !== undefined) at(field, `applies to server engines, not ${engine}`);
    }
    if (workload.mode === "concurrent") {
      const batchSize = config.llamacpp?.batch_size ?? 1;
      if (workload.concurrency > batchSize) {
        at(
          "concurrency",
          `concurrency ${workload.concurrency} exceeds llamacpp.batch_size ${batchSize} (the sequences that can be in flight)`,
        );
      }
    }
  } else if (workload.api !== undefined) {
    const apis: readonly string[] = SERVER_ENGINE_APIS[engine];
    if (!apis.includes(workload.api))
      at("api", `${engine} serves ${apis.map((api) => `"${api}"`).join(", ")} only`);
  }
  if (workload.mode === "rate") {
    if (workload.request_rate === undefined)
      at("request_rate", "mode rate needs request_rate (requests per second)");
    if (workload.burstiness !== undefined && (workload.arrival ?? "poisson") !== "gamma")
      at("burstiness", "applies to arrival gamma only (poisson is gamma with burstiness 1)");
  } else {
    for (const field of ["request_rate", "arrival", "burstiness", "max_concurrency"] as const) {
      if (workload[field] !== undefined) at(field, `applies to mode rate, not ${workload.mode}`);
    }
  }
  return issues;
}

/**
 * Fills what a config's engine implies: its section with the section's defaults, and the
 * workload fields that apply to its engine and mode (server engines: api, request timeout, error
 * budget; rate mode: arrival, burstiness, max_concurrency). Omitting a default and writing it out
 * give the same config (and the same hash); a llamacpp config's workload is left as it was.
 */
export function withEngineSection(config: ExperimentConfig): ExperimentConfig {
  const section = config[config.engine] ?? ENGINE_SECTIONS[config.engine].parse({});
  const workload = workloadWithDefaults(config.engine, config.workload);
  if (section === config[config.engine] && workload === config.workload) return config;
  return { ...config, [config.engine]: section, workload };
}

function workloadWithDefaults(engine: Engine, workload: WorkloadConfig): WorkloadConfig {
  if (!isServerEngine(engine)) return workload;
  const filled: WorkloadConfig = {
    ...workload,
    api: workload.api ?? SERVER_ENGINE_APIS[engine][0],
    request_timeout_s: workload.request_timeout_s ?? SERVER_WORKLOAD_DEFAULTS.request_timeout_s,
    max_error_rate: workload.max_error_rate ?? SERVER_WORKLOAD_DEFAULTS.max_error_rate,
  };
  if (workload.mode === "rate") {
    filled.arrival = workload.arrival ?? "poisson";
    if (filled.arrival === "gamma") filled.burstiness = workload.burstiness ?? 1;
    filled.max_concurrency = workload.max_concurrency ?? null;
  }
  const unchanged = (Object.keys(filled) as (keyof WorkloadConfig)[]).every(
    (key) => filled[key] === workload[key],
  );
  return unchanged ? workload : filled;
}

/** The chosen engine's section of a normalised config. */
export function llamaCppSection(config: ExperimentConfig): LlamaCppConfig {
  return config.llamacpp ?? LlamaCppConfig.parse({});
}
