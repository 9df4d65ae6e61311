import type { RequestRecord } from "@llem/schema";
import type { RequestMeasurement } from "../engines/types.js";
import type { StreamedResponse } from "./stream-request.js";

export interface RequestPlace {
  index: number;
  promptIndex: number;
  /** `performance.now()` when the request was due. */
  scheduledAt: number;
  /** `performance.now()` of the window's start. */
  windowStart: number;
}

/**
 * One streamed response as the harness's measurement and as its `requests.jsonl` line:
 * - output tokens: the server's `usage.completion_tokens`, else the text chunks counted;
 * - TTFT = first text chunk − send; e2e = end − send; TPOT = (e2e − TTFT) / (tokens − 1);
 * - ITL = the gaps between text chunks (a chunk holding several tokens is one gap, as vLLM pools);
 * - send lag = send − due: a client queue shows here and never inside TTFT or e2e.
 */
export function toMeasurement(response: StreamedResponse, place: RequestPlace): RequestMeasurement {
  const fromWindow = (at: number) => Math.max(0, at - place.windowStart);
  const usageTokens = response.usage?.completionTokens ?? null;
  const outputTokens = usageTokens ?? response.textChunks;
  const ttftMs = response.firstTokenAt === null ? null : response.firstTokenAt - response.sentAt;
  const e2eMs = response.endAt - response.sentAt;
  const tpotMs = ttftMs === null || outputTokens < 2 ? null : (e2eMs - ttftMs) / (outputTokens - 1);
  const record: RequestRecord = {
    index: place.index,
    prompt_index: place.promptIndex,
    status: response.status,
    error: response.error,
    http_status: response.httpStatus,
    scheduled_ms: fromWindow(place.scheduledAt),
    sent_ms: fromWindow(response.sentAt),
    first_token_ms: response.firstTokenAt === null ? null : fromWindow(response.firstTokenAt),
    end_ms: fromWindow(response.endAt),
    send_lag_ms: Math.max(0, response.sentAt - place.scheduledAt),
    ttft_ms: ttftMs,
    e2e_ms: e2eMs,
    tpot_ms: tpotMs,
    itl_ms: response.gapsMs,
    input_tokens: response.usage?.promptTokens ?? null,
    output_tokens: outputTokens,
    text_chunks: response.textChunks,
    token_source: usageTokens === null ? "chunks" : "usage",
    finish_reason: response.finishReason,
    server_timings: response.timings,
    attempts: response.attempts,
  };
  return {
    inputTokens: record.input_tokens ?? 0,
    outputTokens,
    ttftMs,
    itlMs: response.gapsMs,
    latencyMs: e2eMs,
    truncated: false,
    timeline: {
      scheduledMs: record.scheduled_ms,
      sentMs: record.sent_ms,
      firstTokenMs: record.first_token_ms,
      endMs: record.end_ms,
    },
    status: response.status,
    ...(response.error === null ? {} : { error: response.error }),
    record,
  };
}
