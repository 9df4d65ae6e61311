import { type ExperimentConfig, TensorrtConfig } from "@llem/schema";
import { serverEngineDefinition } from "../../servers/definition.js";
import type { ServerEngineSpec } from "../../servers/spec.js";
import { launchParts, launchShows, typicalGpuRate } from "../../servers/spec-helpers.js";
import type { EngineDefinition } from "../types.js";

export function tensorrtSection(config: ExperimentConfig) {
  return config.tensorrt ?? TensorrtConfig.parse({});
}

/**
 * TensorRT-LLM: `trtllm-serve MODEL --host H --port P [--backend B] [--max_batch_size N]
 * --tp_size N [--max_seq_len L] [--kv_cache_free_gpu_memory_fraction F]`, ready when `/health`
 * answers 200. Its dtype and quantization come from the checkpoint or engine (or
 * `--extra_llm_api_options`, through extra_args), so the section has neither.
 */
export const tensorrtSpec: ServerEngineSpec = {
  name: "tensorrt",
  description: "TensorRT-LLM (trtllm-serve), started by llem",
  command: { binary: "trtllm-serve", args: [] },
  binaryEnv: "LLEM_TENSORRT_BIN",
  section: tensorrtSection,
  serverArgs(config, { host, port, model }) {
    const section = tensorrtSection(config);
    const args = [model, "--host", host, "--port", String(port)];
    if (section.backend !== null) args.push("--backend", section.backend);
    if (section.max_num_seqs !== null) args.push("--max_batch_size", String(section.max_num_seqs));
    args.push("--tp_size", String(section.tensor_parallel_size));
    if (section.max_model_len !== null) args.push("--max_seq_len", String(section.max_model_len));
    if (section.kv_cache_free_gpu_memory_fraction !== null) {
      args.push(
        "--kv_cache_free_gpu_memory_fraction",
        String(section.kv_cache_free_gpu_memory_fraction),
      );
    }
    return args;
  },
  healthPath: "/health",
  requestExtras: () => ({ ignore_eos: true }),
  streamUsage: true,
  versionRoute: {
    path: "/version",
    read: (body) => {
      const version = (body as { version?: unknown } | null)?.version;
      return typeof version === "string" ? version : null;
    },
  },
  ipcHost: true,
  slots: (config) => tensorrtSection(config).max_num_seqs,
  model: "as-given",
  summaryParts(config) {
    const section = tensorrtSection(config);
    const parts: string[] = [];
    if (section.backend) parts.push(section.backend);
    if (section.max_num_seqs !== null) parts.push(`max_batch=${section.max_num_seqs}`);
    if (section.tensor_parallel_size > 1) parts.push(`tp=${section.tensor_parallel_size}`);
    return [...parts, ...launchParts(section)];
  },
  summaryShows: [
    "tensorrt.backend",
    "tensorrt.max_num_seqs",
    "tensorrt.tensor_parallel_size",
    ...launchShows("tensorrt"),
  ],
  estimate: (config) => typicalGpuRate("tensorrt", config),
};

export const tensorrt: EngineDefinition = serverEngineDefinition(tensorrtSpec);
