import type { RequestMeasurement } from "../engines/types.js";

export const STEADY_STATE_DEFINITION =
  "from the first moment `offered_concurrency` requests were generating at once (first token received, not yet ended) until the drain began (the first request to end after the last one was sent); tokens counted by chunk arrival times";

/** The steady-state span of a window, in ms from its start, and what happened inside it. */
export interface SteadySpan {
  offeredConcurrency: number;
  startMs: number;
  endMs: number;
  /** Requests that ended inside the span. */
  requests: number;
  /** Tokens generated inside the span (chunks inside it × the request's tokens per chunk). */
  outputTokens: number;
}

/**
 * The steady state of a measurement window as ML.ENERGY defines it: it opens when the offered
 * concurrency is first reached by requests that are all generating, and closes when the drain
 * begins. With C the offered concurrency:
 *
 *   start = the first time C requests have their first token and have not ended
 *   end   = the first end of a request after the last request was sent (from then on fewer than
 *           C are in flight, for good)
 *
 *   C = 2, four requests:  A ▕▔▔▔▔▔▔▏ B  ▕▔▔▔▔▔▔▔▔▔▏ C        ▕▔▔▔▔▔▔▔▏ D    ▕▔▔▔▔▔▔▔▔▏
 *   start = B's first token (A and B generating); end = C's end (the first end after D's send)
 *
 * Null, with the reason, when the engine reports no request timeline, when C requests never
 * generated at once, or when the drain began before they did.
 */
export function steadyStateSpan(
  requests: readonly RequestMeasurement[],
  offeredConcurrency: number | null,
): SteadySpan | { reason: string } {
  if (offeredConcurrency === null) {
    return {
      reason:
        "an open loop without workload.max_concurrency has no offered concurrency, and the engine reports no slot count",
    };
  }
  const timed = requests.filter((request) => request.timeline !== undefined);
  if (timed.length === 0 || timed.length < requests.length)
    return { reason: "the engine reports no request timeline" };

  // Sweep over first tokens (+1) and ends (−1); at one instant an end counts first.
  const events: [number, number][] = [];
  for (const { timeline } of timed) {
    if (timeline?.firstTokenMs === null || timeline === undefined) continue;
    events.push([timeline.firstTokenMs, 1], [timeline.endMs, -1]);
  }
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let generating = 0;
  let startMs: number | null = null;
  for (const [at, step] of events) {
    generating += step;
    if (generating >= offeredConcurrency) {
      startMs = at;
      break;
    }
  }
  if (startMs === null) {
    return {
      reason: `${offeredConcurrency} requests were never generating at once (${timed.length} requests in the window)`,
    };
  }
  const lastSent = Math.max(...timed.map((request) => request.timeline?.sentMs ?? 0));
  const endsAfter = timed
    .map((request) => request.timeline?.endMs ?? 0)
    .filter((end) => end > lastSent);
  const endMs = Math.min(...endsAfter);
  if (!(endMs > startMs)) {
    return {
      reason: `the drain began (${endMs.toFixed(1)} ms) before ${offeredConcurrency} requests were generating at once (${startMs.toFixed(1)} ms)`,
    };
  }
  let outputTokens = 0;
  let ended = 0;
  for (const request of timed) {
    const timeline = request.timeline;
    if (!timeline) continue;
    if (timeline.endMs >= startMs && timeline.endMs <= endMs) ended++;
    if (timeline.firstTokenMs === null) continue;
    const chunks = 1 + request.itlMs.length;
    const tokensPerChunk = request.outputTokens / chunks;
    let at = timeline.firstTokenMs;
    let inside = at >= startMs && at <= endMs ? 1 : 0;
    for (const gap of request.itlMs) {
      at += gap;
      if (at >= startMs && at <= endMs) inside++;
    }
    outputTokens += inside * tokensPerChunk;
  }
  return { offeredConcurrency, startMs, endMs, requests: ended, outputTokens };
}
