import { describe, expect, it } from "vitest";
import type { RequestMeasurement } from "../engines/types.js";
import { steadyStateSpan } from "./steady-state.js";

/** A request sent at `sent`, first token at `first`, then one token every `gap` ms, `tokens` in all. */
function request(sent: number, first: number, tokens: number, gap: number): RequestMeasurement {
  const itlMs = Array.from({ length: tokens - 1 }, () => gap);
  const end = first + gap * (tokens - 1);
  return {
    inputTokens: 4,
    outputTokens: tokens,
    ttftMs: first - sent,
    itlMs,
    latencyMs: end - sent,
    truncated: false,
    timeline: { scheduledMs: sent, sentMs: sent, firstTokenMs: first, endMs: end },
    status: "ok",
  };
}

describe("steadyStateSpan", () => {
  it("opens when C requests generate at once and closes at the first end after the last send", () => {
    // Closed loop, C = 2: A and B start at 0; C is sent when A ends, D when B ends.
    const a = request(0, 10, 11, 10); // ends 110
    const b = request(0, 20, 11, 10); // ends 120
    const c = request(110, 130, 11, 10); // ends 230
    const d = request(120, 140, 11, 10); // ends 240; the last send is at 120
    const span = steadyStateSpan([a, b, c, d], 2);
    if ("reason" in span) throw new Error(span.reason);
    expect(span.startMs).toBe(20); // B's first token: A and B generating
    expect(span.endMs).toBe(230); // C's end, the first end after D was sent
    expect(span.requests).toBe(3); // A, B and C ended inside [20, 230]
    // Tokens inside [20, 230]: A 10 (20…110), B 11, C 11 (130…230), D 10 (140…230).
    expect(span.outputTokens).toBe(42);
  });

  it("says why when C requests never generate at once", () => {
    const sequential = [request(0, 5, 3, 5), request(20, 25, 3, 5)];
    expect(steadyStateSpan(sequential, 2)).toEqual({
      reason: "2 requests were never generating at once (2 requests in the window)",
    });
  });

  it("needs a timeline from the engine and an offered concurrency", () => {
    const { timeline: _, ...untimed } = request(0, 5, 3, 5);
    expect(steadyStateSpan([untimed], 1)).toEqual({
      reason: "the engine reports no request timeline",
    });
    expect("reason" in steadyStateSpan([request(0, 5, 3, 5)], null)).toBe(true);
  });

  it("at concurrency 1 spans the first first-token to the last end", () => {
    const span = steadyStateSpan([request(0, 5, 3, 5), request(15, 20, 3, 5)], 1);
    if ("reason" in span) throw new Error(span.reason);
    expect([span.startMs, span.endMs, span.requests, span.outputTokens]).toEqual([5, 30, 2, 6]);
  });
});
