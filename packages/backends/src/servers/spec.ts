import type { Engine, ExperimentConfig, ServerLaunch } from "@llem/schema";
import type { EngineRateEstimate } from "../engines/types.js";
import type { ListenAddress } from "./runners/index.js";

/** The server engines llem starts (all but `openai`, which is a running endpoint). */
export type LaunchedEngine = Exclude<Engine, "llamacpp" | "openai">;

/**
 * What one server engine is, as the shared server machinery (servers/) needs it: how its server
 * is started and probed, and what its requests carry. An engine's folder (engines/<name>/) holds
 * its spec; `serverEngineDefinition` turns a spec into the engine's registry entry.
 */
export interface ServerEngineSpec {
  name: LaunchedEngine;
  description: string;
  /** The executable looked up on PATH, and any fixed arguments before the engine's own. */
  command: { binary: string; args: readonly string[] };
  /** The environment variable naming the executable instead (`LLEM_VLLM_BIN`). */
  binaryEnv: string;
  /**
   * A quick check `llem doctor` runs with the found executable, where finding it is not enough
   * (SGLang: the `python3` found must have the sglang module): its arguments and what a failure means.
   */
  probeCheck?: { args: readonly string[]; failure: string };
  /** Where else to look for the executable after PATH (llama-server: llem's build cache). */
  binaryFallbacks?: () => { path: string; source: string }[];
  /** The config's section of this engine (defaults filled). */
  section(config: ExperimentConfig): ServerLaunch;
  /**
   * The server's arguments after the command: the model, where to listen, and the section's
   * knobs mapped to the engine's flags (`extra_args` are appended after these by the caller).
   */
  serverArgs(config: ExperimentConfig, context: ServerArgsContext): string[];
  /** GET route that answers 200 once the server can serve (`/health`). */
  healthPath: string;
  /** Fields added to every request body (`ignore_eos`, `cache_prompt: false` …). */
  requestExtras(config: ExperimentConfig): Record<string, unknown>;
  /** Whether the server reports usage in streams when asked (`stream_options.include_usage`). */
  streamUsage: boolean;
  /** A route that reports the server's version, and how to read it from the JSON. */
  versionRoute?: { path: string; read(body: unknown): string | null };
  /** How to empty the prefix cache of a reused server between runs. */
  resetPrefixCache?: { method: "POST" | "GET"; path: string };
  /** Shares memory with the host in a container (`--ipc host`): multi-process GPU servers. */
  ipcHost: boolean;
  /** The server's sequence slots as configured, where it says (for an open loop's steady state). */
  slots(config: ExperimentConfig): number | null;
  /** `task.model` as the server takes it: `gguf` resolves synthetic: specs and GGUF paths. */
  model: "gguf" | "as-given";
  summaryParts(config: ExperimentConfig): string[];
  summaryShows: readonly string[];
  estimate(config: ExperimentConfig, context: { baseDir: string }): EngineRateEstimate;
}

export interface ServerArgsContext extends ListenAddress {
  /** The model as the server is given it: a resolved GGUF path, or task.model. */
  model: string;
}
