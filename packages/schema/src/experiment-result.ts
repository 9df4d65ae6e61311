import { z } from "zod";
import { ComponentSum, EnergyComponent, EnergyTotal, SteadyStateEnergy } from "./energy-result.js";
import { ExperimentConfig } from "./experiment-config.js";
import { Timestamp } from "./timestamps.js";

/**
 * `result.json`: one measured experiment. Every derived figure has an explicit name
 * (`energy_per_output_token_j`, `output_tokens_per_s`), and every energy figure says how it was
 * obtained (`energy.method`: measured or estimated).
 */

const Seconds = z.number().min(0);

export const LatencyStats = z
  .looseObject({
    count: z.int().min(0),
    mean: z.number(),
    p50: z.number(),
    p95: z.number(),
    p99: z.number(),
    min: z.number(),
    max: z.number(),
  })
  .describe("milliseconds; percentiles by linear interpolation between order statistics");
export type LatencyStats = z.infer<typeof LatencyStats>;

export const ENERGY_METHODS = ["measured", "estimated", "none"] as const;
export const EnergyMethod = z.enum(ENERGY_METHODS);
export type EnergyMethod = z.infer<typeof EnergyMethod>;

export const SAMPLER_KINDS = ["nvml", "rapl", "estimate", "none"] as const;
export const SamplerKind = z.enum(SAMPLER_KINDS);
/** `energy.sampler`: one sampler's kind, or `combined` when several measured (see `samplers`). */
export const ResultSampler = z.enum([...SAMPLER_KINDS, "combined"]);

export const Baseline = z.looseObject({
  power_w: z.number().min(0).describe("mean power with nothing running"),
  duration_s: Seconds,
  method: EnergyMethod,
  sampler: ResultSampler,
  sample_count: z.int().min(0),
  measured_at: Timestamp,
  source: z.enum(["fresh", "cached"]).describe("cached: measured earlier in the study and reused"),
  key: z
    .string()
    .optional()
    .describe("what the baseline is of: samplers and devices (a baseline is per GPU set)"),
  components: z
    .array(z.looseObject({ device: z.string(), power_w: z.number().min(0) }))
    .optional()
    .describe("idle power per device"),
});
export type Baseline = z.infer<typeof Baseline>;

export const EnergySection = z
  .looseObject({
    sampler: ResultSampler.describe("what produced the figures"),
    samplers: z.array(SamplerKind).optional().describe("every sampler that measured"),
    method: EnergyMethod.describe("measured by counters, or estimated by a model"),
    selection_reason: z.string().describe("why this sampler (auto records what else was tried)"),
    raw_j: z
      .number()
      .min(0)
      .nullable()
      .describe("energy over the measurement window: the total of `total.components`"),
    adjusted_j: z
      .number()
      .min(0)
      .nullable()
      .describe("max(0, raw − baseline power × window); null without a baseline"),
    energy_per_output_token_j: z
      .number()
      .min(0)
      .nullable()
      .describe(
        "the headline: the total's adjusted energy if available, else raw, ÷ output tokens",
      ),
    headline: z
      .string()
      .optional()
      .describe('which total the headline is, e.g. "gpu + cpu_package + dram, idle-adjusted"'),
    energy_per_output_token_raw_j: z
      .number()
      .min(0)
      .nullable()
      .optional()
      .describe("raw window energy ÷ output tokens"),
    energy_per_output_token_adjusted_j: z
      .number()
      .min(0)
      .nullable()
      .optional()
      .describe("idle-adjusted window energy ÷ output tokens; null without a baseline"),
    energy_per_request_j: z.number().min(0).nullable(),
    mean_power_w: z.number().min(0).nullable().describe("raw energy ÷ window"),
    baseline: Baseline.nullable(),
    sample_interval_ms: z.number().min(0),
    sample_count: z.int().min(0),
    components: z.array(EnergyComponent).optional().describe("one block per measured device"),
    total: EnergyTotal.optional(),
    by_component: z.array(ComponentSum).optional(),
    steady_state: SteadyStateEnergy.nullable().optional(),
    per_device: z
      .array(
        z.looseObject({
          device: z.string(),
          kind: z.enum(["gpu", "cpu_package", "dram", "cpu_estimate"]),
          energy_j: z.number().min(0),
          integrated_j: z
            .number()
            .min(0)
            .nullable()
            .optional()
            .describe("counter energy's cross-check: the window's power samples integrated"),
        }),
      )
      .describe("the devices' raw energy (the shape before `components`; kept for readers of it)"),
    estimate_inputs: z
      .looseObject({
        formula: z.string(),
        cpu_time_s: Seconds,
        watts_per_core: z.number().min(0),
      })
      .nullable()
      .describe("inputs of the estimate model; null for measured energy"),
  })
  .describe("energy of the measurement window");

export const ResultWarning = z.looseObject({
  code: z.string().describe("stable identifier, e.g. short_window, estimated_energy"),
  message: z.string(),
});
export type ResultWarning = z.infer<typeof ResultWarning>;

export const Environment = z
  .looseObject({
    llem_version: z.string(),
    node_version: z.string(),
    os: z.string(),
    arch: z.string(),
    cpu_model: z.string(),
    cpu_cores: z.int().min(0),
    total_memory_bytes: z.number().min(0),
    engine_versions: z.record(z.string(), z.string()).describe("e.g. node-llama-cpp, llama.cpp"),
    gpus: z.array(
      z.looseObject({ index: z.int(), name: z.string(), driver_version: z.string().nullable() }),
    ),
    hostname: z.string().optional(),
    cuda_visible_devices: z
      .string()
      .nullable()
      .optional()
      .describe("CUDA_VISIBLE_DEVICES of the experiment's process (its placed GPUs)"),
  })
  .describe("the machine and software the experiment ran on");

export const WarmupOutcome = z.looseObject({
  enabled: z.boolean(),
  mode: z.enum(["fixed", "cv"]),
  prompts: z.int().min(0).describe("warmup prompts run"),
  converged: z.boolean().nullable().describe("cv mode: whether the CV fell under the threshold"),
  final_cv: z.number().nullable(),
  latencies_ms: z.array(z.number()),
  thermal_floor_s: Seconds,
});

export const RequestErrors = z
  .looseObject({
    count: z.int().min(0).describe("requests that did not end normally (errors and timeouts)"),
    rate: z.number().min(0).max(1).describe("count ÷ requests sent"),
    by_status: z.record(z.string(), z.int().min(0)).describe("error, timeout, aborted"),
    first: z.string().nullable().describe("the first failure's message"),
  })
  .describe("failed requests of the window: counted, never dropped");

export const Goodput = z
  .looseObject({
    slo: z.looseObject({
      ttft_ms: z.number().optional(),
      tpot_ms: z.number().optional(),
      e2e_ms: z.number().optional(),
    }),
    requests_meeting_slo: z.int().min(0),
    fraction: z
      .number()
      .min(0)
      .max(1)
      .describe("requests meeting every objective ÷ all requests sent (failures count against)"),
    requests_per_s: z.number().min(0).describe("requests meeting every objective ÷ window"),
  })
  .describe("goodput against measurement.slo");

export const SteadyState = z
  .looseObject({
    definition: z.string().describe("how the span was found, in words"),
    offered_concurrency: z.int().min(1),
    started_at: Timestamp,
    ended_at: Timestamp,
    start_s: Seconds.describe("offset from the window's start"),
    end_s: Seconds.describe("offset from the window's start"),
    duration_s: Seconds,
    requests: z.int().min(0).describe("requests that ended inside the span"),
    output_tokens: z.number().min(0).describe("tokens generated inside the span"),
    output_tokens_per_s: z.number().min(0),
  })
  .describe(
    "the steady state (ML.ENERGY): from when the offered concurrency is first generating at once until the drain begins",
  );

export const ExperimentResult = z
  .looseObject({
    schema_version: z.literal("1.0"),
    config_hash: z.string().length(16),
    config: ExperimentConfig,
    engine: z.string(),
    engine_version: z.string().nullable(),
    model: z.looseObject({
      name: z.string().describe("task.model as given"),
      path: z.string().nullable().describe("file that was loaded, for GGUF models"),
      parameters: z.number().min(0).nullable(),
      file_size_bytes: z.number().min(0).nullable(),
      weight_type: z.string().nullable().describe("e.g. f16, q8_0"),
    }),
    started_at: Timestamp.describe("start of the experiment (before model load)"),
    ended_at: Timestamp,
    window: z
      .looseObject({ started_at: Timestamp, ended_at: Timestamp, duration_s: Seconds })
      .describe("the measurement window: only the measured workload ran inside it"),
    tokens: z.looseObject({
      input: z.int().min(0),
      output: z.int().min(0),
      total: z.int().min(0),
      requests: z.int().min(0),
    }),
    throughput: z.looseObject({
      output_tokens_per_s: z.number().min(0),
      total_tokens_per_s: z.number().min(0).describe("input + output tokens per second"),
      requests_per_s: z.number().min(0),
    }),
    latency: z.looseObject({
      ttft_ms: LatencyStats.nullable().describe("time to first token per request"),
      itl_ms: LatencyStats.nullable().describe("inter-token latency over all gaps of all requests"),
      request_latency_ms: LatencyStats.nullable().describe("end-to-end latency per request"),
      tpot_ms: LatencyStats.nullable()
        .optional()
        .describe("per request (e2e − TTFT) / (output tokens − 1), where the engine streams"),
      send_lag_ms: LatencyStats.nullable()
        .optional()
        .describe("per request: time between its scheduled send and its send (client queueing)"),
    }),
    errors: RequestErrors.optional(),
    goodput: Goodput.nullable().optional().describe("null without measurement.slo"),
    steady_state: SteadyState.nullable()
      .optional()
      .describe(
        "null when the engine reports no request timeline or the span is empty (a warning says why)",
      ),
    requests_file: z
      .string()
      .nullable()
      .optional()
      .describe("requests.jsonl (one line per request), relative to the result file's directory"),
    gpus: z
      .looseObject({
        description: z
          .string()
          .describe("how `gpus:` was resolved, and what the process was given"),
        devices: z.array(z.string()).describe("what the engine was given: UUIDs (MIG-… for MIG)"),
        cuda_visible_devices: z.string(),
        measured: z.array(z.string()).describe("the GPUs NVML measured (each physical GPU once)"),
      })
      .nullable()
      .optional()
      .describe("the GPUs the experiment was placed on; null for none (a CPU run)"),
    energy: EnergySection,
    warmup: WarmupOutcome,
    flops: z.looseObject({
      total: z.number().min(0).nullable(),
      per_output_token: z.number().min(0).nullable(),
      method: z.string().describe('e.g. "2 × parameters × tokens"'),
    }),
    memory: z.looseObject({
      peak_rss_bytes: z.number().min(0).nullable(),
      model_bytes: z.number().min(0).nullable(),
    }),
    environment: Environment,
    warnings: z.array(ResultWarning),
    timeseries_file: z.string().nullable().describe("relative to the result file's directory"),
  })
  .describe("result.json: one measured experiment");
export type ExperimentResult = z.infer<typeof ExperimentResult>;
