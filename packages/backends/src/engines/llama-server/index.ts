import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { llemCacheDir } from "../../models/synthetic.js";
import { serverEngineDefinition } from "../../servers/definition.js";
import type { ServerEngineSpec } from "../../servers/spec.js";
import { launchParts, launchShows, requestsInFlight } from "../../servers/spec-helpers.js";
import type { EngineDefinition } from "../types.js";
import { estimateLlamaServerRate } from "./estimate.js";
import { llamaServerSection, llamaServerSlots } from "./section.js";

/** Prompt tokens a slot holds when task.max_input_tokens is null (prompts kept whole). */
const UNBOUNDED_PROMPT_TOKENS = 2048;

/**
 * llama.cpp's own server: `llama-server -m MODEL --host H --port P --parallel N --ctx-size C …`.
 * It runs here for real (CPU), so it is the test vehicle of all the server machinery. Models are
 * GGUF files: `synthetic:*` specs and GGUF paths resolve as for the embedded engine. The binary
 * comes from the config, $LLEM_LLAMA_SERVER_BIN, PATH, or llem's own build
 * (`pnpm build:llama-server`, cached under LLEM_CACHE_DIR/build/llama.cpp/).
 */
export const llamaServerSpec: ServerEngineSpec = {
  name: "llama-server",
  description: "llama.cpp's llama-server, started by llem",
  command: { binary: "llama-server", args: [] },
  binaryEnv: "LLEM_LLAMA_SERVER_BIN",
  binaryFallbacks: builtLlamaServers,
  section: llamaServerSection,
  serverArgs(config, { host, port, model }) {
    const section = llamaServerSection(config);
    const slots = llamaServerSlots(config);
    const perSlot =
      (config.task.max_input_tokens ?? UNBOUNDED_PROMPT_TOKENS) + config.task.max_output_tokens + 8;
    const args = [
      "--model",
      model,
      "--host",
      host,
      "--port",
      String(port),
      "--parallel",
      String(slots),
      "--ctx-size",
      String(section.ctx_size ?? slots * perSlot),
      "--n-gpu-layers",
      String(section.gpu_layers),
      "--flash-attn",
      section.flash_attention ? "on" : "off",
      "--cache-type-k",
      section.kv_cache_type,
      "--cache-type-v",
      section.kv_cache_type,
      "--seed",
      String(config.task.random_seed),
      // HTTP threads for every connection the load generator holds, plus health and monitoring:
      // past its thread count llama-server leaves new connections waiting or hangs up on them.
      "--threads-http",
      String(Math.max(slots, requestsInFlight(config)) + 4),
    ];
    if (section.threads !== null) args.push("--threads", String(section.threads));
    if (section.batch_size !== null) args.push("--batch-size", String(section.batch_size));
    return args;
  },
  healthPath: "/health",
  // Every prompt evaluated afresh, and exactly max_output_tokens generated, as the embedded engine does.
  requestExtras: () => ({ cache_prompt: false, ignore_eos: true }),
  streamUsage: true,
  versionRoute: {
    path: "/props",
    read: (body) => {
      const info = (body as { build_info?: unknown } | null)?.build_info;
      return typeof info === "string" ? info : null;
    },
  },
  ipcHost: false,
  slots: llamaServerSlots,
  model: "gguf",
  summaryParts(config) {
    const section = llamaServerSection(config);
    const parts = [`parallel=${llamaServerSlots(config)}`];
    if (section.threads !== null) parts.push(`threads=${section.threads}`);
    if (section.gpu_layers) parts.push(`gpu_layers=${section.gpu_layers}`);
    if (section.kv_cache_type !== "f16") parts.push(`kv=${section.kv_cache_type}`);
    if (section.flash_attention) parts.push("flash_attn");
    return [...parts, ...launchParts(section)];
  },
  summaryShows: [
    "llama-server.n_parallel",
    "llama-server.threads",
    "llama-server.gpu_layers",
    "llama-server.kv_cache_type",
    "llama-server.flash_attention",
    ...launchShows("llama-server"),
  ],
  estimate: estimateLlamaServerRate,
};

export const llamaServer: EngineDefinition = serverEngineDefinition(llamaServerSpec);

/** llama-server builds in llem's cache (scripts/build-llama-server.sh), newest first. */
export function builtLlamaServers(): { path: string; source: string }[] {
  const root = join(llemCacheDir(), "build", "llama.cpp");
  if (!existsSync(root)) return [];
  const found: { path: string; mtime: number }[] = [];
  for (const tree of readdirSync(root)) {
    const path = join(root, tree, "build", "bin", "llama-server");
    if (existsSync(join(root, tree, ".built-llama-server")) && existsSync(path))
      found.push({ path, mtime: statSync(path).mtimeMs });
  }
  return found
    .sort((a, b) => b.mtime - a.mtime)
    .map(({ path }) => ({ path, source: "llem's build (pnpm build:llama-server)" }));
}
