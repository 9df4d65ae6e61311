import { z } from "zod";

/**
 * One line of `requests.jsonl`: one request of a server engine's measurement window, as llem's
 * load generator saw it. Every request the window sent has a line — failed and timed-out ones
 * too — so error rates and goodput can be recomputed from the file alone.
 *
 * Times are milliseconds from the start of the measurement window (`result.json`
 * `window.started_at`), on one monotonic clock: `scheduled_ms` (when the arrival schedule wanted
 * it sent) ≤ `sent_ms` ≤ `first_token_ms` ≤ `end_ms`. The gap `sent_ms − scheduled_ms` is the
 * client's own queueing (`send_lag_ms`), which never hides inside TTFT or E2E.
 */

const Ms = z.number().min(0);

export const REQUEST_STATUSES = ["ok", "error", "timeout", "aborted"] as const;

export const RequestRecord = z
  .looseObject({
    index: z.int().min(0).describe("position in the window's workload (send order)"),
    prompt_index: z.int().min(0).describe("which prompt of the dataset selection"),
    status: z
      .enum(REQUEST_STATUSES)
      .describe(
        "ok: the stream ended normally; error: HTTP error, cut stream or bad SSE; timeout: request_timeout_s passed; aborted: the run was stopped",
      ),
    error: z.string().nullable().describe("what went wrong, for any status but ok"),
    http_status: z.int().nullable().describe("the response's status; null when none arrived"),
    scheduled_ms: Ms.describe("when the load generator meant to send it"),
    sent_ms: Ms.describe("when the request was handed to the HTTP client"),
    first_token_ms: Ms.nullable().describe("first chunk carrying generated text"),
    end_ms: Ms.describe("last byte of the stream, or the failure"),
    send_lag_ms: Ms.describe("sent_ms − scheduled_ms: time spent waiting in the client"),
    ttft_ms: Ms.nullable().describe("first_token_ms − sent_ms"),
    e2e_ms: Ms.describe("end_ms − sent_ms"),
    tpot_ms: Ms.nullable().describe("(e2e − TTFT) / (output_tokens − 1); null below 2 tokens"),
    itl_ms: z
      .array(Ms)
      .describe("gaps between consecutive chunks carrying text (pooled as vLLM does)"),
    input_tokens: z.int().min(0).nullable().describe("prompt tokens, from the server's usage"),
    output_tokens: z
      .int()
      .min(0)
      .describe("generated tokens: the server's usage, else text chunks"),
    text_chunks: z.int().min(0).describe("SSE chunks that carried generated text"),
    token_source: z
      .enum(["usage", "chunks"])
      .describe(
        "usage: counted by the server (stream_options.include_usage); chunks: counted by llem",
      ),
    finish_reason: z.string().nullable(),
    server_timings: z
      .record(z.string(), z.number())
      .nullable()
      .describe(
        "the server's own timings where it sends them (llama-server: prompt_ms, predicted_per_second …)",
      ),
    attempts: z
      .int()
      .min(0)
      .describe(
        "1; 2 when the first send met a kept-alive connection the server had just closed and was sent again at once; 0 when never sent",
      ),
  })
  .describe("requests.jsonl: one line per request of the measurement window");
export type RequestRecord = z.infer<typeof RequestRecord>;
