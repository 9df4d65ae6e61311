import { type ExperimentConfig, VllmConfig } from "@llem/schema";
import { serverEngineDefinition } from "../../servers/definition.js";
import type { ServerEngineSpec } from "../../servers/spec.js";
import { launchParts, launchShows, typicalGpuRate } from "../../servers/spec-helpers.js";
import type { EngineDefinition } from "../types.js";

export function vllmSection(config: ExperimentConfig) {
  return config.vllm ?? VllmConfig.parse({});
}

/** vLLM's spelling of the config's dtypes. */
const DTYPES = { auto: "auto", float16: "float16", bfloat16: "bfloat16", float32: "float32" };

/**
 * vLLM: `vllm serve MODEL --host H --port P --dtype … [--quantization …] [--max-num-seqs N]
 * --tensor-parallel-size N [--gpu-memory-utilization F] [--max-model-len L] --seed S`, ready
 * when `/health` answers 200 (as ML.ENERGY starts it). Requests carry `ignore_eos` so every one
 * generates max_output_tokens.
 */
export const vllmSpec: ServerEngineSpec = {
  name: "vllm",
  description: "vLLM (vllm serve), started by llem",
  command: { binary: "vllm", args: ["serve"] },
  binaryEnv: "LLEM_VLLM_BIN",
  section: vllmSection,
  serverArgs(config, { host, port, model }) {
    const section = vllmSection(config);
    const args = [model, "--host", host, "--port", String(port), "--dtype", DTYPES[section.dtype]];
    if (section.quantization !== null) args.push("--quantization", section.quantization);
    if (section.max_num_seqs !== null) args.push("--max-num-seqs", String(section.max_num_seqs));
    args.push("--tensor-parallel-size", String(section.tensor_parallel_size));
    if (section.gpu_memory_utilization !== null)
      args.push("--gpu-memory-utilization", String(section.gpu_memory_utilization));
    if (section.max_model_len !== null) args.push("--max-model-len", String(section.max_model_len));
    args.push("--seed", String(config.task.random_seed));
    return args;
  },
  healthPath: "/health",
  requestExtras: (config) => ({ ignore_eos: true, min_tokens: config.task.max_output_tokens }),
  streamUsage: true,
  versionRoute: {
    path: "/version",
    read: (body) => {
      const version = (body as { version?: unknown } | null)?.version;
      return typeof version === "string" ? version : null;
    },
  },
  resetPrefixCache: { method: "POST", path: "/reset_prefix_cache" },
  ipcHost: true,
  slots: (config) => vllmSection(config).max_num_seqs,
  model: "as-given",
  summaryParts(config) {
    const section = vllmSection(config);
    const parts: string[] = [];
    if (section.dtype !== "auto") parts.push(section.dtype);
    if (section.quantization) parts.push(section.quantization);
    if (section.max_num_seqs !== null) parts.push(`max_num_seqs=${section.max_num_seqs}`);
    if (section.tensor_parallel_size > 1) parts.push(`tp=${section.tensor_parallel_size}`);
    return [...parts, ...launchParts(section)];
  },
  summaryShows: [
    "vllm.dtype",
    "vllm.quantization",
    "vllm.max_num_seqs",
    "vllm.tensor_parallel_size",
    ...launchShows("vllm"),
  ],
  estimate: (config) => typicalGpuRate("vllm", config),
};

export const vllm: EngineDefinition = serverEngineDefinition(vllmSpec);
