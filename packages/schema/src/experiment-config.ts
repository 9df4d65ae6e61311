import { z } from "zod";
import { GpuSelection, gpuCountIssues } from "./gpus.js";

/**
 * One experiment: a model, a workload and one engine configuration, measured once per cycle.
 * Human-written, so every object is strict (a typo is an error with a suggestion, never ignored).
 * Every field has a default except `task.model`, so a config hashes the same whether a default was
 * written out or omitted.
 */

export const ENGINES = [
  "llamacpp",
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
export const SERVER_ENGINES = ["vllm", "transformers", "tensorrt", "sglang", "openai"] as const;
export type ServerEngine = (typeof SERVER_ENGINES)[number];

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
      .describe("GGUF path or `synthetic:<preset>` (llamacpp); model id for server engines"),
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
      .describe("context window in tokens; null sizes it to batch_size × (input + output)"),
    gpu_layers: z.int().min(0).default(0).describe("layers offloaded to the GPU; 0 runs on CPU"),
    flash_attention: z.boolean().default(false),
    kv_cache_type: z.enum(KV_CACHE_TYPES).default("f16").describe("KV cache element type"),
  })
  .describe("llama.cpp, embedded through node-llama-cpp");
export type LlamaCppConfig = z.infer<typeof LlamaCppConfig>;

export const ServerEngineConfig = z
  .strictObject({
    dtype: z.enum(["auto", "float16", "bfloat16", "float32"]).default("auto"),
    quantization: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("engine's quantization method (awq, gptq, fp8, …); null for none"),
    max_num_seqs: z
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe("server's maximum concurrent sequences; null keeps the engine's default"),
    tensor_parallel_size: z.int().min(1).default(1),
    gpu_memory_utilization: z.number().gt(0).lte(1).nullable().default(null),
    extra_args: z
      .array(z.string())
      .default([])
      .describe("extra server arguments, passed as an argument vector (never a shell string)"),
    runner: z.enum(["local", "docker"]).default("local"),
    image: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe("container image when runner is docker"),
    endpoint: z
      .url()
      .nullable()
      .default(null)
      .describe("base URL of an already running OpenAI-compatible server (engine openai)"),
  })
  .describe("a server engine driven over OpenAI-compatible streaming HTTP");
export type ServerEngineConfig = z.infer<typeof ServerEngineConfig>;

export const WorkloadConfig = z
  .strictObject({
    mode: z
      .enum(["batch", "concurrent"])
      .default("batch")
      .describe(
        "batch: prompts in groups of the engine's batch size; concurrent: a fixed number of requests in flight",
      ),
    concurrency: z.int().min(1).default(1).describe("requests in flight in concurrent mode"),
  })
  .describe("how prompts are offered to the engine");

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
  })
  .describe("how the measurement window is framed and how energy is obtained");

/** Each engine's config section (`llamacpp:`, `vllm:` …): the one table of engine formats. */
export const ENGINE_SECTIONS = {
  llamacpp: LlamaCppConfig,
  vllm: ServerEngineConfig,
  transformers: ServerEngineConfig,
  tensorrt: ServerEngineConfig,
  sglang: ServerEngineConfig,
  openai: ServerEngineConfig,
} as const satisfies Record<Engine, z.ZodType>;

const engineSections = {
  llamacpp: ENGINE_SECTIONS.llamacpp.optional(),
  vllm: ENGINE_SECTIONS.vllm.optional(),
  transformers: ENGINE_SECTIONS.transformers.optional(),
  tensorrt: ENGINE_SECTIONS.tensorrt.optional(),
  sglang: ENGINE_SECTIONS.sglang.optional(),
  openai: ENGINE_SECTIONS.openai.optional(),
} satisfies Record<Engine, z.ZodType>;

export const ExperimentConfig = z
  .strictObject({
    task: TaskConfig,
    engine: Engine.default(DEFAULT_ENGINE),
    gpus: GpuSelection.optional(),
    ...engineSections,
    workload: WorkloadConfig.default(() => WorkloadConfig.parse({})),
    measurement: MeasurementConfig.default(() => MeasurementConfig.parse({})),
  })
  .superRefine((config, ctx) => {
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
    const server = config.engine === "llamacpp" ? undefined : config[config.engine];
    if (config.engine === "openai" && !server?.endpoint) {
      ctx.addIssue({
        code: "custom",
        path: ["openai", "endpoint"],
        message: "engine openai needs openai.endpoint (the base URL of a running server)",
      });
    }
    if (server?.runner === "docker" && !server.image) {
      ctx.addIssue({
        code: "custom",
        path: [config.engine, "image"],
        message: `runner docker needs ${config.engine}.image`,
      });
    }
    if (config.engine === "llamacpp" && config.workload.mode === "concurrent") {
      const batchSize = config.llamacpp?.batch_size ?? 1;
      if (config.workload.concurrency > batchSize) {
        ctx.addIssue({
          code: "custom",
          path: ["workload", "concurrency"],
          message: `concurrency ${config.workload.concurrency} exceeds llamacpp.batch_size ${batchSize} (the sequences that can be in flight)`,
        });
      }
    }
  })
  .describe("one llem experiment");

/** A validated experiment config; its engine's section is always present after `parseExperimentConfig`. */
export type ExperimentConfig = z.infer<typeof ExperimentConfig>;
export type ExperimentConfigInput = z.input<typeof ExperimentConfig>;

/**
 * Fills the chosen engine's section with its defaults, so that omitting a section and writing it
 * out with default values give the same config (and the same hash).
 */
export function withEngineSection(config: ExperimentConfig): ExperimentConfig {
  if (config[config.engine] !== undefined) return config;
  return { ...config, [config.engine]: ENGINE_SECTIONS[config.engine].parse({}) };
}

/** The chosen engine's section of a normalised config. */
export function llamaCppSection(config: ExperimentConfig): LlamaCppConfig {
  return config.llamacpp ?? LlamaCppConfig.parse({});
}
