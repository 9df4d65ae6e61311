import { z } from "zod";

/**
 * The config sections of the server engines: llem starts the server (or, for `openai`, talks to
 * one already running) and drives it over OpenAI-compatible streaming HTTP. Every section that
 * starts a server shares how it is started (`ServerLaunch`: binary, runner, container settings,
 * extra arguments, timeouts) and adds the knobs its users set, under names that say what they
 * set; llem maps them to the engine's own flags (@llem/backends `engines/<name>/`).
 */

export const RUNNERS = ["local", "podman", "docker", "apptainer"] as const;
export type Runner = (typeof RUNNERS)[number];

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** How a server is started: the fields every section that starts one shares. */
const serverLaunch = {
  extra_args: z
    .array(z.string())
    .default([])
    .describe(
      "extra server arguments, appended as an argument vector (each item one argument, never a shell string)",
    ),
  binary: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe(
      "the server executable (a path or a command name); null: $LLEM_<ENGINE>_BIN, else PATH. In a container: the command run in the image",
    ),
  runner: z
    .enum(RUNNERS)
    .default("local")
    .describe(
      "local: a process on this machine; podman, docker, apptainer: a container of `image`",
    ),
  image: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe("container image (podman, docker) or image file (apptainer .sif)"),
  runtime_args: z
    .array(z.string())
    .default([])
    .describe(
      "extra arguments to the container runtime's run command, before the image (e.g. [--runtime, runc])",
    ),
  env: z
    .array(z.string().regex(ENV_NAME, "an environment variable name"))
    .default([])
    .describe(
      "names of environment variables passed into the container (a local server inherits llem's environment)",
    ),
  mounts: z
    .array(z.string().min(1))
    .default([])
    .describe(
      "host paths mounted read-only at the same path in the container; the model path is mounted without being listed",
    ),
  startup_timeout_s: z
    .number()
    .gt(0)
    .max(86_400)
    .default(600)
    .describe("how long the server may take to become ready (health route answering 200)"),
  stop_timeout_s: z
    .number()
    .min(0)
    .max(600)
    .default(10)
    .describe("grace period between the polite stop (SIGTERM) and SIGKILL"),
};

const Dtype = z.enum(["auto", "float16", "bfloat16", "float32"]);
const Quantization = z
  .string()
  .min(1)
  .nullable()
  .default(null)
  .describe("the engine's quantization method (awq, gptq, fp8, …); null for none");
const MaxNumSeqs = z
  .int()
  .min(1)
  .nullable()
  .default(null)
  .describe("most sequences the server runs at once; null keeps the engine's default");
const MaxModelLen = z
  .int()
  .min(16)
  .nullable()
  .default(null)
  .describe("context length (prompt + output) per sequence; null keeps the model's");

export const LLAMA_SERVER_KV_CACHE_TYPES = ["f32", "f16", "q8_0", "q4_0"] as const;

export const LlamaServerConfig = z
  .strictObject({
    n_parallel: z
      .int()
      .min(1)
      .max(512)
      .nullable()
      .default(null)
      .describe("server slots (--parallel); null: the most requests the workload has in flight"),
    threads: z
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe("CPU threads (--threads); null keeps llama-server's default"),
    ctx_size: z
      .int()
      .min(16)
      .nullable()
      .default(null)
      .describe(
        "total context of all slots (--ctx-size); null: n_parallel × (max_input_tokens + max_output_tokens + 8)",
      ),
    batch_size: z
      .int()
      .min(1)
      .nullable()
      .default(null)
      .describe("logical batch in tokens (--batch-size); null keeps llama-server's default"),
    gpu_layers: z
      .int()
      .min(0)
      .default(0)
      .describe("layers offloaded to the GPU (--n-gpu-layers); 0 runs on CPU"),
    flash_attention: z.boolean().default(false).describe("--flash-attn on|off"),
    kv_cache_type: z
      .enum(LLAMA_SERVER_KV_CACHE_TYPES)
      .default("f16")
      .describe("KV cache element type (--cache-type-k and --cache-type-v)"),
    ...serverLaunch,
  })
  .describe("llama.cpp's own llama-server");
export type LlamaServerConfig = z.infer<typeof LlamaServerConfig>;

export const VllmConfig = z
  .strictObject({
    dtype: Dtype.default("auto").describe("--dtype"),
    quantization: Quantization,
    max_num_seqs: MaxNumSeqs,
    tensor_parallel_size: z.int().min(1).default(1).describe("--tensor-parallel-size"),
    gpu_memory_utilization: z
      .number()
      .gt(0)
      .lte(1)
      .nullable()
      .default(null)
      .describe("--gpu-memory-utilization; null keeps vLLM's default"),
    max_model_len: MaxModelLen,
    ...serverLaunch,
  })
  .describe("vLLM (`vllm serve`)");
export type VllmConfig = z.infer<typeof VllmConfig>;

export const SglangConfig = z
  .strictObject({
    dtype: Dtype.default("auto").describe("--dtype"),
    quantization: Quantization,
    max_num_seqs: MaxNumSeqs.describe("--max-running-requests; null keeps SGLang's default"),
    tensor_parallel_size: z.int().min(1).default(1).describe("--tp-size"),
    gpu_memory_utilization: z
      .number()
      .gt(0)
      .lte(1)
      .nullable()
      .default(null)
      .describe("--mem-fraction-static; null keeps SGLang's default"),
    max_model_len: MaxModelLen.describe("--context-length; null keeps the model's"),
    ...serverLaunch,
  })
  .describe("SGLang (`python3 -m sglang.launch_server`)");
export type SglangConfig = z.infer<typeof SglangConfig>;

export const TensorrtConfig = z
  .strictObject({
    backend: z
      .enum(["pytorch", "tensorrt"])
      .nullable()
      .default(null)
      .describe("--backend; null keeps trtllm-serve's default"),
    max_num_seqs: MaxNumSeqs.describe("--max_batch_size; null keeps trtllm-serve's default"),
    tensor_parallel_size: z.int().min(1).default(1).describe("--tp_size"),
    max_model_len: MaxModelLen.describe("--max_seq_len; null keeps the model's"),
    kv_cache_free_gpu_memory_fraction: z
      .number()
      .gt(0)
      .lte(1)
      .nullable()
      .default(null)
      .describe(
        "--kv_cache_free_gpu_memory_fraction: share of the memory left after the weights that the KV cache takes",
      ),
    ...serverLaunch,
  })
  .describe(
    "TensorRT-LLM (`trtllm-serve`); dtype and quantization come from the checkpoint or engine",
  );
export type TensorrtConfig = z.infer<typeof TensorrtConfig>;

export const TransformersConfig = z
  .strictObject({
    dtype: Dtype.default("auto").describe("--dtype"),
    quantization: z
      .enum(["bnb-4bit", "bnb-8bit"])
      .nullable()
      .default(null)
      .describe("--quantization; null for none"),
    device: z.string().min(1).default("auto").describe("--device (auto, cpu, cuda, cuda:1, …)"),
    continuous_batching: z.boolean().default(false).describe("--continuous-batching"),
    ...serverLaunch,
  })
  .describe("Hugging Face transformers (`transformers serve`)");
export type TransformersConfig = z.infer<typeof TransformersConfig>;

export const OpenAiConfig = z
  .strictObject({
    endpoint: z
      .url({ protocol: /^https?$/ })
      .nullable()
      .default(null)
      .describe("base URL of a running OpenAI-compatible server (requests go to <endpoint>/v1/…)"),
    api_key_env: z
      .string()
      .regex(ENV_NAME, "an environment variable name")
      .nullable()
      .default(null)
      .describe(
        "name of the environment variable holding the API key (sent as a bearer token; never logged or written)",
      ),
    ignore_eos: z
      .boolean()
      .default(false)
      .describe(
        "send ignore_eos: true so every request generates max_output_tokens (vLLM, SGLang and llama.cpp accept it)",
      ),
    extra_body: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("extra fields merged into every request body"),
  })
  .describe("an OpenAI-compatible endpoint that llem does not start");
export type OpenAiConfig = z.infer<typeof OpenAiConfig>;

/** Section fields that start a server: every server section but `openai`'s has them. */
export type ServerLaunch = {
  [Key in keyof typeof serverLaunch]: z.infer<(typeof serverLaunch)[Key]>;
};

export const SERVER_APIS = ["completions", "chat"] as const;
export type ServerApi = (typeof SERVER_APIS)[number];
