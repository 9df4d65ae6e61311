import { LlemError, type LlemErrorCode } from "@llem/schema/errors";

/**
 * The one place where outcomes become exit codes. It imports only `@llem/schema/errors` (no zod),
 * so the error path of `llem --help` or a usage error stays as light as the rest of it.
 */
export const EXIT = {
  /** Every run of the study completed (or the command did what was asked). */
  ok: 0,
  /** A runtime failure, or a study where some runs failed or were left pending. */
  failure: 1,
  /** Bad config or usage, a study dir that is not one, or a refused study.yaml change. */
  usage: 2,
  /** Interrupted by SIGINT/SIGTERM. */
  interrupted: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Every LlemError code mapped; typecheck fails when a code is added and not mapped here. */
const EXIT_BY_CODE: Record<LlemErrorCode, ExitCode> = {
  CONFIG_INVALID: EXIT.usage,
  CONFIG_PARSE: EXIT.usage,
  CONFIG_NOT_FOUND: EXIT.usage,
  CANONICAL_JSON_INVALID: EXIT.usage,
  MANIFEST_LOCKED: EXIT.failure,
  MANIFEST_CORRUPT: EXIT.usage,
  MANIFEST_NOT_FOUND: EXIT.usage,
  MANIFEST_WRITE_FAILED: EXIT.failure,
  MANIFEST_LOCK_COMPROMISED: EXIT.failure,
  INVALID_TRANSITION: EXIT.failure,
  UNKNOWN_RUN: EXIT.failure,
  MODEL_NOT_FOUND: EXIT.usage,
  MODEL_INVALID: EXIT.usage,
  DATASET_INVALID: EXIT.usage,
  ENGINE_UNAVAILABLE: EXIT.failure,
  GPU_UNAVAILABLE: EXIT.failure,
  SAMPLER_UNAVAILABLE: EXIT.failure,
  EXPERIMENT_ABORTED: EXIT.interrupted,
  EXPERIMENT_FAILED: EXIT.failure,
  SERVER_START_FAILED: EXIT.failure,
  SERVER_NOT_READY: EXIT.failure,
  SERVER_EXITED: EXIT.failure,
  REQUESTS_FAILED: EXIT.failure,
  STUDY_NOT_FOUND: EXIT.usage,
  STUDY_DRIFT: EXIT.usage,
  STUDY_INTERRUPTED: EXIT.interrupted,
  EXPERIMENT_TIMEOUT: EXIT.failure,
  PROCESS_CRASH: EXIT.failure,
  RESULTS_DIR_UNWRITABLE: EXIT.failure,
  NOTHING_TO_RUN: EXIT.usage,
  REPORT_WRITE_FAILED: EXIT.failure,
  SLURM_UNAVAILABLE: EXIT.failure,
  SLURM_SUBMIT_FAILED: EXIT.failure,
  USAGE: EXIT.usage,
  INTERNAL: EXIT.failure,
};

/** Exit code for an error thrown by a command: expected errors by code, anything else is 1. */
export function exitCodeForError(error: unknown): ExitCode {
  if (!LlemError.isInstance(error)) return EXIT.failure;
  return EXIT_BY_CODE[error.code] ?? EXIT.failure;
}

/** Exit code for how a study ended. */
export function exitCodeForStudyStatus(
  status: "completed" | "partial" | "interrupted" | "failed",
): ExitCode {
  switch (status) {
    case "completed":
      return EXIT.ok;
    case "interrupted":
      return EXIT.interrupted;
    default:
      return EXIT.failure;
  }
}
