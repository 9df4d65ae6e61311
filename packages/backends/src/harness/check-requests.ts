import { type ExperimentConfig, LlemError } from "@llem/schema";
import type { Engine, RequestMeasurement } from "../engines/types.js";
import { requestErrors } from "./request-figures.js";

/**
 * What fails a run over its window's requests, after `requests.jsonl` is written:
 * - the engine's own verdict (a server that exited during the window: SERVER_EXITED);
 * - more failed requests than `workload.max_error_rate` allows (REQUESTS_FAILED), with the first
 *   failure and the end of the engine's log.
 * Within the budget, failures are counted in the result, never dropped.
 */
export function checkWindowRequests(
  config: ExperimentConfig,
  engine: Engine,
  requests: readonly RequestMeasurement[],
  requestsFile: string | null,
): void {
  const problem = engine.windowProblem?.() ?? null;
  if (problem) throw problem;
  const errors = requestErrors(requests);
  if (!errors || errors.count === 0) return;
  const budget = config.workload.max_error_rate ?? 0;
  if (errors.rate <= budget) return;
  const tail = engine.logTail?.() ?? null;
  const kept = requestsFile ? `; every request is in ${requestsFile}` : "";
  throw new LlemError(
    "REQUESTS_FAILED",
    `${errors.count} of ${requests.length} requests failed (${Object.entries(errors.by_status)
      .map(([status, count]) => `${count} ${status}`)
      .join(
        ", ",
      )}; workload.max_error_rate ${budget}); first: ${errors.first}${kept}${tail ? `\n--- last lines of the server log ---\n${tail}` : ""}`,
    { details: { errors } },
  );
}
