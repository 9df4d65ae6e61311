import { type ExperimentConfig, TransformersConfig } from "@llem/schema";
import { serverEngineDefinition } from "../../servers/definition.js";
import type { ServerEngineSpec } from "../../servers/spec.js";
import { launchParts, launchShows, typicalGpuRate } from "../../servers/spec-helpers.js";
import type { EngineDefinition } from "../types.js";

export function transformersSection(config: ExperimentConfig) {
  return config.transformers ?? TransformersConfig.parse({});
}

/**
 * Hugging Face transformers: `transformers serve --force-model MODEL --host H --port P --dtype …
 * --device D [--quantization bnb-4bit|bnb-8bit] [--continuous-batching] --default-seed S`, ready
 * when `/health` answers 200. It serves /v1/chat/completions (not /v1/completions) and sends no
 * usage; it has no ignore_eos, so `min_new_tokens` rides in the request's `generation_config`.
 */
export const transformersSpec: ServerEngineSpec = {
  name: "transformers",
  description: "Hugging Face transformers (transformers serve), started by llem",
  command: { binary: "transformers", args: ["serve"] },
  binaryEnv: "LLEM_TRANSFORMERS_BIN",
  section: transformersSection,
  serverArgs(config, { host, port, model }) {
    const section = transformersSection(config);
    const args = ["--force-model", model, "--host", host, "--port", String(port)];
    args.push("--dtype", section.dtype, "--device", section.device);
    if (section.quantization !== null) args.push("--quantization", section.quantization);
    if (section.continuous_batching) args.push("--continuous-batching");
    args.push("--default-seed", String(config.task.random_seed));
    return args;
  },
  healthPath: "/health",
  requestExtras: (config) => ({
    generation_config: JSON.stringify({
      max_new_tokens: config.task.max_output_tokens,
      min_new_tokens: config.task.max_output_tokens,
      do_sample: false,
    }),
  }),
  streamUsage: false,
  ipcHost: true,
  slots: () => null,
  model: "as-given",
  summaryParts(config) {
    const section = transformersSection(config);
    const parts: string[] = [];
    if (section.dtype !== "auto") parts.push(section.dtype);
    if (section.quantization) parts.push(section.quantization);
    if (section.continuous_batching) parts.push("continuous_batching");
    return [...parts, ...launchParts(section)];
  },
  summaryShows: [
    "transformers.dtype",
    "transformers.quantization",
    "transformers.continuous_batching",
    ...launchShows("transformers"),
  ],
  estimate: (config) => typicalGpuRate("transformers", config),
};

export const transformers: EngineDefinition = serverEngineDefinition(transformersSpec);
