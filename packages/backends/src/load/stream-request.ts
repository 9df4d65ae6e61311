import type { IncomingMessage } from "node:http";
import { createParser } from "eventsource-parser";
import { noteClosedKeptAlive, type OpenedStream, openStream } from "./http-stream.js";

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
 * Sends one streaming request (`stream: true` in `body`) over a kept-alive HTTP connection and reads its
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
  // One controller per request, fired by the timeout or by the run's signal (cheaper per request
  // than AbortSignal.timeout + AbortSignal.any, which the open loop pays hundreds of times a second).
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const stop = () => controller.abort();
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();
  const signal = controller.signal;
  try {
    return await send(target, body, options, signal, () => timedOut);
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", stop);
  }
}

async function send(
  target: StreamTarget,
  body: string,
  options: StreamOptions,
  signal: AbortSignal,
  timedOut: () => boolean,
): Promise<StreamedResponse> {
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
    const url = new URL(target.url);
    const headers = {
      "content-type": "application/json",
      accept: "text/event-stream",
      ...target.headers,
    };
    let opened: OpenedStream;
    try {
      opened = await openStream(url, headers, body, signal);
    } catch (error) {
      // A kept-alive connection the server closed as this request went out: the request never
      // reached it. Once, on a fresh connection (the time lost stays inside this request's figures).
      if (!isStaleConnection(error) || signal.aborted) throw error;
      outcome.attempts = 2;
      noteClosedKeptAlive(url);
      // On a new connection: another kept-alive one may have been closed in the same moment.
      opened = await openStream(url, headers, body, signal, { fresh: true });
    }
    const { response } = opened;
    outcome.httpStatus = response.statusCode ?? null;
    response.setEncoding("utf8");
    if (outcome.httpStatus === null || outcome.httpStatus < 200 || outcome.httpStatus >= 300) {
      let text = "";
      for await (const part of response) if (text.length < ERROR_BODY_CHARS) text += part;
      return finish(
        outcome,
        "error",
        `HTTP ${outcome.httpStatus}${text ? `: ${quote(text, ERROR_BODY_CHARS)}` : ""}`,
      );
    }
    await new Promise<void>((resolve, reject) => {
      response.on("data", (text: string) => {
        now = performance.now();
        parser.feed(text);
        // After [DONE] the stream ends at once: read to its end, so the connection stays alive
        // for the next request (destroying a response closes its connection).
        if (failure !== null) {
          response.destroy();
          resolve();
        }
      });
      response.once("end", () => {
        now = performance.now();
        resolve();
      });
      response.once("error", reject);
      // Closed before its end: the server went away mid-stream.
      response.once("close", () => {
        if (!response.complete && failure === null) reject(cutError(response));
      });
    });
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
    if (timedOut()) {
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

function cutError(response: IncomingMessage): Error {
  return Object.assign(new Error("the connection closed before the response ended"), {
    code: response.socket?.destroyed ? "ECONNRESET" : "ERR_STREAM_PREMATURE_CLOSE",
  });
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

/**
 * A kept-alive connection that the server closed just as a request went out on it (the
 * keep-alive race): the request never reached the server, so it is sent once more. A fresh
 * connection that fails is a real failure.
 */
function isStaleConnection(error: unknown): boolean {
  const { code, reusedSocket } = error as { code?: string; reusedSocket?: boolean };
  return reusedSocket === true && (code === "ECONNRESET" || code === "EPIPE");
}

/** A socket error as one phrase: its message and, where Node gives one, its code. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  const cause = error.cause as { code?: string; message?: string } | undefined;
  const detail = code ?? cause?.code ?? cause?.message;
  return detail && !error.message.includes(detail) ? `${error.message} (${detail})` : error.message;
}
