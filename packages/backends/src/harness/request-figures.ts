import type { ExperimentConfig } from "@llem/schema";
import type { RequestMeasurement } from "../engines/types.js";

/** True for a request that ended normally (engines without request statuses fail whole runs). */
export function succeeded(request: RequestMeasurement): boolean {
  return request.status === undefined || request.status === "ok";
}

/** Per-request time per output token after the first: (e2e − TTFT) / (n − 1); null below 2 tokens. */
export function tpotMs(request: RequestMeasurement): number | null {
  if (request.ttftMs === null || request.outputTokens < 2) return null;
  return (request.latencyMs - request.ttftMs) / (request.outputTokens - 1);
}

/** Failed requests of the window, by status, with the first message; null for engines without statuses. */
export function requestErrors(requests: readonly RequestMeasurement[]) {
  if (!requests.some((request) => request.status !== undefined)) return null;
  const failed = requests.filter((request) => !succeeded(request));
  const byStatus: Record<string, number> = {};
  for (const request of failed) {
    const status = request.status as string;
    byStatus[status] = (byStatus[status] ?? 0) + 1;
  }
  return {
    count: failed.length,
    rate: requests.length === 0 ? 0 : failed.length / requests.length,
    by_status: byStatus,
    first: failed[0]?.error ?? null,
  };
}

/**
 * Goodput against `measurement.slo`: the requests that succeeded and met every objective given,
 * as a share of all requests sent (failures count against it, as AIPerf counts them) and per
 * second of window. An objective a request cannot be judged on (TPOT of a one-token answer) does
 * not count against it.
 */
export function goodput(
  config: ExperimentConfig,
  requests: readonly RequestMeasurement[],
  windowS: number,
) {
  const slo = config.measurement.slo;
  if (!slo) return null;
  const meets = (request: RequestMeasurement): boolean => {
    if (!succeeded(request)) return false;
    if (slo.ttft_ms !== undefined && (request.ttftMs === null || request.ttftMs > slo.ttft_ms))
      return false;
    const tpot = tpotMs(request);
    if (slo.tpot_ms !== undefined && tpot !== null && tpot > slo.tpot_ms) return false;
    return slo.e2e_ms === undefined || request.latencyMs <= slo.e2e_ms;
  };
  const meeting = requests.filter(meets).length;
  return {
    slo,
    requests_meeting_slo: meeting,
    fraction: requests.length === 0 ? 0 : meeting / requests.length,
    requests_per_s: windowS > 0 ? meeting / windowS : 0,
  };
}

/**
 * The concurrency the workload offers, for the steady state: `concurrency` in the closed loop and
 * in groups, `max_concurrency` in the open loop, else the slot count the engine reports
 * (`server_slots` in its settings), else none.
 */
export function offeredConcurrency(
  config: ExperimentConfig,
  settings: Record<string, unknown>,
  requestCount: number,
): number | null {
  const { workload } = config;
  let offered: number | null;
  if (workload.mode !== "rate") offered = workload.concurrency;
  else if (typeof workload.max_concurrency === "number") offered = workload.max_concurrency;
  else offered = typeof settings.server_slots === "number" ? settings.server_slots : null;
  return offered === null ? null : Math.min(offered, Math.max(1, requestCount));
}
