import { llamaCppSection } from "@llem/schema";
import type { EngineDefinition } from "../types.js";
import { estimateLlamaCppRate } from "./estimate.js";
import { llamaCppPreflight } from "./preflight.js";
import { probeLlamaCpp } from "./probe.js";
import { llamaCppProcessEnv } from "./process-env.js";
import { llamaCppResultWarnings } from "./warnings.js";

/**
 * llama.cpp in the experiment's own process, through node-llama-cpp: the embedded engine, which
 * runs on any machine (CPU prebuilt binaries; CUDA/Vulkan ones where a GPU exists).
 */
export const llamacpp: EngineDefinition = {
  name: "llamacpp",
  description: "llama.cpp, embedded through node-llama-cpp",
  async create(config, context) {
    const { LlamaCppEngine } = await import("./engine.js");
    return new LlamaCppEngine(config, context);
  },
  processEnv: llamaCppProcessEnv,
  preflight: llamaCppPreflight,
  estimate: estimateLlamaCppRate,
  probe: probeLlamaCpp,
  resultWarnings: llamaCppResultWarnings,
  // The engine's own version: llama.cpp's (node-llama-cpp is the binding, recorded beside it).
  version: (versions) =>
    versions["llama.cpp"] ? `llama.cpp ${versions["llama.cpp"].split("@").at(-1)}` : null,
  summary: {
    parts(config) {
      const section = llamaCppSection(config);
      const parts = [`batch=${section.batch_size}`];
      if (section.threads !== null) parts.push(`threads=${section.threads}`);
      if (section.gpu_layers) parts.push(`gpu_layers=${section.gpu_layers}`);
      if (section.kv_cache_type !== "f16") parts.push(`kv=${section.kv_cache_type}`);
      if (section.flash_attention) parts.push("flash_attn");
      return parts;
    },
    shows: [
      "llamacpp.batch_size",
      "llamacpp.threads",
      "llamacpp.gpu_layers",
      "llamacpp.kv_cache_type",
      "llamacpp.flash_attention",
    ],
  },
};
