import { createParser } from "eventsource-parser";

/** Which OpenAI route a request goes to; each puts the generated text in its own place. */
export type ServerApi = "completions" | "chat";

/** Where and how requests are sent (one per experiment). */
export interface StreamTarget {
  /** Full URL of the route: `http://127.0.0.1:PORT/v1/completions`. */
  url: string;
  api: ServerApi;
  /** Extra headers (the bearer token of an endpoint that needs one). Never logged. */
  headers?: Record<string, string>;
}

export type StreamStatus = "ok" | "error" | "timeout" | "aborted";

/** What one streamed request did, in `performance.now()` milliseconds. */
export interface StreamedResponse {
  status: StreamStatus;
  error: string | null;
  httpStatus: number | null;
  sentAt: number;
  /** First chunk that carried generated text. */
  firstTokenAt: number | null;
  /** Last byte of the stream, or the failure. */
  endAt: number;
  /** Gaps between consecutive chunks that carried text. */
  gapsMs: number[];
  textChunks: number;
  usage: { promptTokens: number | null; completionTokens: number | null } | null;
  finishReason: string | null;
  /** The server's own timings where it sends them (llama-server's `timings`). */
  timings: Record<string, number> | null;
  /** 2 when the first attempt met a connection the server had just closed (sent again at once). */
  attempts: number;
}

export interface StreamOptions {
  /** Stops the request (the run is being stopped): status `aborted`. */
  signal?: AbortSignal;
  /** A request still running after this long is abandoned: status `timeout`. */
  timeoutMs: number;
}

const ERROR_BODY_CHARS = 300;
const QUOTED_EVENT_CHARS = 120;

/**
 * Sends one streaming request (`stream: true` in `body`) with Node's fetch and reads its
 * server-sent events as they arrive: the time of the first chunk carrying generated text (TTFT),
 * every gap between such chunks (ITL, pooled as vLLM does), the usage and timings the last
 * chunks carry. Never throws: an HTTP error, a connection that fails or is cut, a malformed
 * event, an error event or a timeout each come back as a status with a message, so the caller
 * counts them instead of losing them.
 *
 * Times are taken when a network read returns; events that arrive in one read share its time.
 */
export async function streamRequest(
  target: StreamTarget,
  body: string,
  options: StreamOptions,
): Promise<StreamedResponse> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const outcome: StreamedResponse = {
    status: "ok",
    error: null,
    httpStatus: null,
    sentAt: performance.now(),
    firstTokenAt: null,
    endAt: 0,
    gapsMs: [],
    textChunks: 0,
    usage: null,
    finishReason: null,
    timings: null,
    attempts: 1,
  };
  let lastTextAt = 0;
  let now = outcome.sentAt;
  let done = false;
  let failure: string | null = null;
  const textOf = target.api === "chat" ? chatText : completionText;
  const parser = createParser({
    onEvent(event) {
      if (failure !== null || done) return;
      if (event.data === "[DONE]") {
        done = true;
        return;
      }
      let chunk: Chunk;
      try {
        chunk = JSON.parse(event.data) as Chunk;
      } catch {
        failure = `malformed SSE event (not JSON): ${quote(event.data)}`;
        return;
      }
      if (chunk === null || typeof chunk !== "object") {
        failure = `malformed SSE event (not an object): ${quote(event.data)}`;
        return;
      }
      if (chunk.error !== undefined) {
        failure = `error event from the server: ${errorText(chunk.error)}`;
        return;
      }
      const choice = chunk.choices?.[0];
      const text = choice ? textOf(choice) : "";
      if (text) {
        if (outcome.firstTokenAt === null) outcome.firstTokenAt = now;
        else outcome.gapsMs.push(now - lastTextAt);
        lastTextAt = now;
        outcome.textChunks++;
      }
      if (choice?.finish_reason) outcome.finishReason = choice.finish_reason;
      if (chunk.usage) {
        outcome.usage = {
          promptTokens: numberOrNull(chunk.usage.prompt_tokens),
          completionTokens: numberOrNull(chunk.usage.completion_tokens),
        };
      }
      if (chunk.timings && typeof chunk.timings === "object")
        outcome.timings = numbers(chunk.timings);
    },
  });

  try {
    const init: RequestInit = {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...target.headers,
      },
      body,
      signal,
    };
    let response: Response;
    try {
      response = await fetch(target.url, init);
    } catch (error) {
      // A kept-alive connection the server closed as this request went out: the request never
      // reached it. Once, on a fresh connection (the time lost stays inside this request's figures).
      if (!isStaleConnection(error) || signal.aborted) throw error;
      outcome.attempts = 2;
      response = await fetch(target.url, init);
    }
    outcome.httpStatus = response.status;
    if (!response.ok) {
      const text = await response.text().catch(() => "");
      return finish(
        outcome,
        "error",
        `HTTP ${response.status}${text ? `: ${quote(text, ERROR_BODY_CHARS)}` : ""}`,
      );
    }
    if (!response.body) return finish(outcome, "error", "the response has no body");
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done: ended, value } = await reader.read();
      now = performance.now();
      if (ended) break;
      parser.feed(decoder.decode(value, { stream: true }));
      if (failure !== null || done) {
        await reader.cancel().catch(() => {});
        break;
      }
    }
    if (failure !== null) return finish(outcome, "error", failure);
    if (!done && outcome.finishReason === null) {
      return finish(
        outcome,
        "error",
        `stream cut: it ended without [DONE] or a finish_reason after ${outcome.textChunks} text chunk(s)`,
      );
    }
    return finish(outcome, "ok", null);
  } catch (error) {
    if (timeout.aborted) {
      return finish(
        outcome,
        "timeout",
        `no complete response within ${options.timeoutMs / 1000} s`,
      );
    }
    if (options.signal?.aborted) return finish(outcome, "aborted", "the run was stopped");
    const stage = outcome.httpStatus === null ? "request failed" : "stream cut";
    return finish(
      outcome,
      "error",
      `${stage} after ${outcome.textChunks} text chunk(s): ${describeFetchError(error)}`,
    );
  }
}

function finish(
  outcome: StreamedResponse,
  status: StreamStatus,
  error: string | null,
): StreamedResponse {
  outcome.endAt = performance.now();
  outcome.status = status;
  outcome.error = error;
  return outcome;
}

interface Choice {
  text?: unknown;
  delta?: { content?: unknown; reasoning_content?: unknown };
  finish_reason?: string | null;
}
interface Chunk {
  choices?: Choice[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  timings?: Record<string, unknown>;
  error?: unknown;
}

function completionText(choice: Choice): string {
  return typeof choice.text === "string" ? choice.text : "";
}

/** Chat deltas carry text in `content`, or in `reasoning_content` on reasoning models. */
function chatText(choice: Choice): string {
  const delta = choice.delta;
  if (!delta) return "";
  if (typeof delta.content === "string" && delta.content !== "") return delta.content;
  return typeof delta.reasoning_content === "string" ? delta.reasoning_content : "";
}

function numberOrNull(value: unknown): number | null {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

function numbers(record: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(record)) {
    if (typeof value === "number" && Number.isFinite(value)) out[key] = value;
  }
  return out;
}

function errorText(error: unknown): string {
  if (typeof error === "string") return quote(error);
  if (error && typeof error === "object" && "message" in error)
    return quote(String((error as { message: unknown }).message));
  return quote(JSON.stringify(error));
}

function quote(text: string, max = QUOTED_EVENT_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return JSON.stringify(flat.length > max ? `${flat.slice(0, max)}…` : flat);
}

/** A socket closed under a request before any response: the keep-alive race, not a server error. */
function isStaleConnection(error: unknown): boolean {
  const code = (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === "UND_ERR_SOCKET" || code === "ECONNRESET" || code === "EPIPE";
}

/** undici's errors hide the useful part in `cause` (ECONNREFUSED, "other side closed"). */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = cause?.code ?? cause?.message;
  return detail && detail !== error.message ? `${error.message} (${detail})` : error.message;
}
