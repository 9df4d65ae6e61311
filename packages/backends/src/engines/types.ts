/**
 * The engine contract: what the measurement harness needs from anything that serves a model.
 * The embedded llama.cpp engine implements it; server engines (vLLM, TGI-style OpenAI servers)
 * implement the same four steps around a child process and streaming HTTP.
 */

/** Timing and token counts of one request, as the engine observed them. */
export interface RequestMeasurement {
  /** Prompt tokens actually evaluated (after truncation), counted by the model's tokenizer. */
  inputTokens: number;
  outputTokens: number;
  /** Request start to first generated token; null when nothing was generated. */
  ttftMs: number | null;
  /** Gaps between consecutive generated tokens of this request. */
  itlMs: number[];
  /** Request start to last token. */
  latencyMs: number;
  /** True when the prompt was cut to max_input_tokens. */
  truncated: boolean;
}

/** What was loaded, for the result's `model` section and the FLOPs estimate. */
export interface PreparedModel {
  name: string;
  path: string | null;
  parameters: number | null;
  fileSizeBytes: number | null;
  weightType: string | null;
  /** Memory the loaded weights occupy, where the engine knows it. */
  modelBytes: number | null;
}

export interface EngineRunOptions {
  signal?: AbortSignal;
  /** Called after each request completes (progress reporting). */
  onRequest?: (measurement: RequestMeasurement, completed: number) => void;
}

export interface Engine {
  /** Engine name as in the config's `engine` field. */
  readonly name: string;
  /** Loads the model / starts the server. Runs outside the measurement window. */
  prepare(options: { signal?: AbortSignal }): Promise<PreparedModel>;
  /** One request on its own: used by warmup, whose latencies decide convergence. */
  warmup(prompt: string, options: { signal?: AbortSignal }): Promise<RequestMeasurement>;
  /** The measured workload: all prompts at the configured batch size / concurrency. */
  run(prompts: readonly string[], options: EngineRunOptions): Promise<RequestMeasurement[]>;
  /** Versions of the engine's software, for the environment snapshot. */
  versions(): Record<string, string>;
  /** Settings resolved at prepare time (e.g. the thread count picked for threads: null). */
  resolvedSettings(): Record<string, unknown>;
  /** Releases everything prepare acquired. Safe to call more than once, and after a failed prepare. */
  dispose(): Promise<void>;
}
