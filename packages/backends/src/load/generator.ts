import { setTimeout as sleep } from "node:timers/promises";
import type { RequestMeasurement } from "../engines/types.js";
import { type Arrival, arrivalSchedule } from "./arrivals.js";
import { toMeasurement } from "./measurement.js";
import { type StreamedResponse, type StreamTarget, streamRequest } from "./stream-request.js";

/**
 * How requests are offered (the config's `workload`):
 * - `batch`: groups of `concurrency` requests sent together; the next group when the whole group
 *   is done (the embedded engine's batches, as a client sees them);
 * - `concurrent`: closed loop, `concurrency` requests in flight; each one that ends sends the next;
 * - `rate`: open loop, requests due on an arrival schedule whatever the server does; with
 *   `maxConcurrency`, a due request waits for a free slot (its wait is its send lag, recorded), and
 *   later ones keep their own schedule — no catching up.
 */
export type LoadPlan =
  | { mode: "batch" | "concurrent"; concurrency: number }
  | {
      mode: "rate";
      requestRate: number;
      arrival: Arrival;
      burstiness?: number;
      maxConcurrency: number | null;
      seed: number;
    };

/** One request of the workload: its body, serialised before the window opens. */
export interface LoadRequest {
  promptIndex: number;
  body: string;
}

export interface LoadOptions {
  signal?: AbortSignal;
  timeoutMs: number;
  /** `performance.now()` that request times are measured from (the window's start). */
  windowStart: number;
  onRequest?: (measurement: RequestMeasurement, completed: number) => void;
}

/**
 * Runs the workload against one server and returns one measurement per request, in workload
 * order — failed ones too, each with its status and message. Resolves when every request has
 * ended; a stopped run (`signal`) ends the requests in flight as `aborted` and sends no more.
 */
export async function runLoad(
  target: StreamTarget,
  requests: readonly LoadRequest[],
  plan: LoadPlan,
  options: LoadOptions,
): Promise<RequestMeasurement[]> {
  const results: RequestMeasurement[] = new Array(requests.length);
  let completed = 0;
  const send = async (index: number, scheduledAt: number): Promise<void> => {
    const request = requests[index] as LoadRequest;
    const response: StreamedResponse = options.signal?.aborted
      ? abortedBeforeSend(scheduledAt)
      : await streamRequest(target, request.body, options);
    const measurement = toMeasurement(response, {
      index,
      promptIndex: request.promptIndex,
      scheduledAt,
      windowStart: options.windowStart,
    });
    results[index] = measurement;
    completed++;
    options.onRequest?.(measurement, completed);
  };

  if (plan.mode === "rate") await openLoop(requests.length, plan, options, send);
  else if (plan.mode === "concurrent") await closedLoop(requests.length, plan.concurrency, send);
  else await groups(requests.length, plan.concurrency, send);
  return results;
}

type Send = (index: number, scheduledAt: number) => Promise<void>;

async function closedLoop(count: number, concurrency: number, send: Send): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      await send(index, performance.now());
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

async function groups(count: number, size: number, send: Send): Promise<void> {
  for (let start = 0; start < count; start += size) {
    const at = performance.now();
    const group: Promise<void>[] = [];
    for (let index = start; index < Math.min(start + size, count); index++)
      group.push(send(index, at));
    await Promise.all(group);
  }
}

/**
 * The open loop's dispatcher: sleeps until the next request is due and sends every request that
 * is due (a late wake-up sends the overdue ones at once: their lag is recorded, not hidden).
 */
async function openLoop(
  count: number,
  plan: Extract<LoadPlan, { mode: "rate" }>,
  options: LoadOptions,
  send: Send,
): Promise<void> {
  const offsets = arrivalSchedule(count, {
    rate: plan.requestRate,
    arrival: plan.arrival,
    ...(plan.burstiness === undefined ? {} : { burstiness: plan.burstiness }),
    seed: plan.seed,
  });
  const start = performance.now();
  const inFlight = new Set<Promise<void>>();
  const limit = plan.maxConcurrency ?? Number.POSITIVE_INFINITY;
  const waiting: number[] = [];
  let freed: (() => void) | undefined;
  const launch = (index: number) => {
    const running: Promise<void> = send(index, start + (offsets[index] as number)).finally(() => {
      inFlight.delete(running);
      const resume = freed;
      freed = undefined;
      resume?.();
    });
    inFlight.add(running);
  };
  let next = 0;
  while (next < count || waiting.length > 0) {
    // Due requests join the queue in schedule order; the queue drains into free slots.
    const now = performance.now();
    while (next < count && start + (offsets[next] as number) <= now) waiting.push(next++);
    while (waiting.length > 0 && inFlight.size < limit) launch(waiting.shift() as number);
    if (options.signal?.aborted) {
      for (const index of [...waiting, ...range(next, count)]) launch(index);
      break;
    }
    if (waiting.length > 0) {
      // Full: wait for a slot.
      await new Promise<void>((resolve) => {
        freed = resolve;
      });
      continue;
    }
    if (next < count) {
      const wait = start + (offsets[next] as number) - performance.now();
      if (wait > 0) await sleep(wait, undefined, { signal: options.signal }).catch(() => {});
    }
  }
  await Promise.all(inFlight);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, offset) => from + offset);
}

function abortedBeforeSend(at: number): StreamedResponse {
  const now = performance.now();
  return {
    status: "aborted",
    error: "the run was stopped before this request was sent",
    httpStatus: null,
    sentAt: Math.max(at, now),
    firstTokenAt: null,
    endAt: Math.max(at, now),
    gapsMs: [],
    textChunks: 0,
    usage: null,
    finishReason: null,
    timings: null,
    attempts: 0,
  };
}
