import { type ExperimentConfig, SglangConfig } from "@llem/schema";
import { serverEngineDefinition } from "../../servers/definition.js";
import type { ServerEngineSpec } from "../../servers/spec.js";
import { launchParts, launchShows, typicalGpuRate } from "../../servers/spec-helpers.js";
import type { EngineDefinition } from "../types.js";

export function sglangSection(config: ExperimentConfig) {
  return config.sglang ?? SglangConfig.parse({});
}

/**
 * SGLang: `python3 -m sglang.launch_server --model-path MODEL --host H --port P --dtype …
 * [--quantization …] [--max-running-requests N] --tp-size N [--mem-fraction-static F]
 * [--context-length L] --random-seed S`, ready when `/health` answers 200. `binary` (or
 * $LLEM_SGLANG_BIN) names the Python that has SGLang installed.
 */
export const sglangSpec: ServerEngineSpec = {
  name: "sglang",
  description: "SGLang (python3 -m sglang.launch_server), started by llem",
  command: { binary: "python3", args: ["-m", "sglang.launch_server"] },
  binaryEnv: "LLEM_SGLANG_BIN",
  probeCheck: {
    args: [
      "-c",
      "import importlib.util, sys; sys.exit(importlib.util.find_spec('sglang') is None)",
    ],
    failure:
      "has no sglang module (pip install sglang, or set LLEM_SGLANG_BIN to a Python that has it)",
  },
  section: sglangSection,
  serverArgs(config, { host, port, model }) {
    const section = sglangSection(config);
    const args = ["--model-path", model, "--host", host, "--port", String(port)];
    args.push("--dtype", section.dtype);
    if (section.quantization !== null) args.push("--quantization", section.quantization);
    if (section.max_num_seqs !== null)
      args.push("--max-running-requests", String(section.max_num_seqs));
    args.push("--tp-size", String(section.tensor_parallel_size));
    if (section.gpu_memory_utilization !== null)
      args.push("--mem-fraction-static", String(section.gpu_memory_utilization));
    if (section.max_model_len !== null)
      args.push("--context-length", String(section.max_model_len));
    args.push("--random-seed", String(config.task.random_seed));
    return args;
  },
  healthPath: "/health",
  requestExtras: () => ({ ignore_eos: true }),
  streamUsage: true,
  versionRoute: {
    path: "/get_server_info",
    read: (body) => {
      const version = (body as { version?: unknown } | null)?.version;
      return typeof version === "string" ? version : null;
    },
  },
  resetPrefixCache: { method: "POST", path: "/flush_cache" },
  ipcHost: true,
  slots: (config) => sglangSection(config).max_num_seqs,
  model: "as-given",
  summaryParts(config) {
    const section = sglangSection(config);
    const parts: string[] = [];
    if (section.dtype !== "auto") parts.push(section.dtype);
    if (section.quantization) parts.push(section.quantization);
    if (section.max_num_seqs !== null) parts.push(`max_running=${section.max_num_seqs}`);
    if (section.tensor_parallel_size > 1) parts.push(`tp=${section.tensor_parallel_size}`);
    return [...parts, ...launchParts(section)];
  },
  summaryShows: [
    "sglang.dtype",
    "sglang.quantization",
    "sglang.max_num_seqs",
    "sglang.tensor_parallel_size",
    ...launchShows("sglang"),
  ],
  estimate: (config) => typicalGpuRate("sglang", config),
};

export const sglang: EngineDefinition = serverEngineDefinition(sglangSpec);
