import { LlemError } from "@llem/schema";

/**
 * The one "aborted" error of an experiment: EXPERIMENT_ABORTED naming the stage it stopped in,
 * with the abort's reason as the cause. Engines and the harness throw it; the study runner reads
 * the code (the run goes back to pending, it did not fail).
 */
export function abortedError(signal: AbortSignal | undefined, stage: string): LlemError {
  return new LlemError("EXPERIMENT_ABORTED", `experiment aborted during ${stage}`, {
    cause: signal?.reason,
  });
}

/** Throws `abortedError` when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, stage: string): void {
  if (signal?.aborted) throw abortedError(signal, stage);
}
