import type { ServerApi } from "./stream-request.js";

export interface BodyOptions {
  api: ServerApi;
  /** The model name the server serves (what it was started with, or the endpoint's id). */
  model: string;
  prompt: string;
  maxTokens: number;
  seed: number;
  /** Ask for the usage chunk at the end of the stream (`stream_options.include_usage`). */
  includeUsage: boolean;
  /** The engine's own fields (ignore_eos, cache_prompt …); they win over the defaults. */
  extras: Record<string, unknown>;
}

/**
 * The JSON body of one streaming request, greedy (temperature 0) and seeded like the embedded
 * engine's, serialised once before the window opens:
 *
 *   completions  {model, prompt, max_tokens, temperature: 0, seed, stream: true, stream_options?}
 *   chat         {model, messages: [{role: "user", content: prompt}], max_tokens, …}
 */
export function requestBody(options: BodyOptions): string {
  const input =
    options.api === "chat"
      ? { messages: [{ role: "user", content: options.prompt }] }
      : { prompt: options.prompt };
  return JSON.stringify({
    model: options.model,
    ...input,
    max_tokens: options.maxTokens,
    temperature: 0,
    seed: options.seed,
    stream: true,
    ...(options.includeUsage ? { stream_options: { include_usage: true } } : {}),
    ...options.extras,
  });
}

/** The route of an API under a server's base URL. */
export function apiUrl(baseUrl: string, api: ServerApi): string {
  return `${baseUrl.replace(/\/+$/, "")}/v1/${api === "chat" ? "chat/completions" : "completions"}`;
}
