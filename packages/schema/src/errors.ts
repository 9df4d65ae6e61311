/**
 * One error base class for every llem package. The `code` is stable and public: the CLI maps
 * codes to exit codes in one place, and library users branch on codes, never on messages.
 */

/** Every code any llem package throws. Add new codes here, never ad hoc strings. */
export type LlemErrorCode =
  // configuration and input
  | "CONFIG_INVALID"
  | "CONFIG_PARSE"
  | "CONFIG_NOT_FOUND"
  | "CANONICAL_JSON_INVALID"
  // manifest
  | "MANIFEST_LOCKED"
  | "MANIFEST_CORRUPT"
  | "MANIFEST_NOT_FOUND"
  | "MANIFEST_WRITE_FAILED"
  | "MANIFEST_LOCK_COMPROMISED"
  | "INVALID_TRANSITION"
  | "UNKNOWN_RUN"
  // backends
  | "MODEL_NOT_FOUND"
  | "MODEL_INVALID"
  | "DATASET_INVALID"
  | "ENGINE_UNAVAILABLE"
  | "GPU_UNAVAILABLE"
  | "SAMPLER_UNAVAILABLE"
  | "EXPERIMENT_ABORTED"
  | "EXPERIMENT_FAILED"
  | "SERVER_START_FAILED"
  | "SERVER_NOT_READY"
  | "SERVER_EXITED"
  | "REQUESTS_FAILED"
  // study
  | "STUDY_NOT_FOUND"
  | "STUDY_DRIFT"
  | "STUDY_INTERRUPTED"
  | "EXPERIMENT_TIMEOUT"
  | "PROCESS_CRASH"
  | "RESULTS_DIR_UNWRITABLE"
  | "NOTHING_TO_RUN"
  // report
  | "REPORT_WRITE_FAILED"
  // scale-out: `llem slurm --submit` without sbatch on PATH; sbatch refused the array
  | "SLURM_UNAVAILABLE"
  | "SLURM_SUBMIT_FAILED"
  // cli
  | "USAGE"
  | "INTERNAL";

const LLEM_ERROR_MARK = Symbol.for("@llem/error");

export interface LlemErrorOptions {
  cause?: unknown;
  /** Structured context for tools (file, field, holder …); never needed to read the message. */
  details?: Record<string, unknown>;
}

export class LlemError extends Error {
  readonly [LLEM_ERROR_MARK] = true;
  readonly code: LlemErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: LlemErrorCode, message: string, options: LlemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // The class's own name (the build keeps class names: tsup's keepNames), and the code in the
    // stack's first line as Node's own errors show theirs — `LlemError [CONFIG_INVALID]: …` — so
    // an uncaught one says what it is. V8 formats the stack on first access, under this name.
    this.name = `${new.target.name} [${code}]`;
    void this.stack;
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /**
   * True for any LlemError, also one thrown by another copy of this package (a second
   * node_modules tree), where `instanceof` would say no.
   */
  static isInstance(error: unknown): error is LlemError {
    return (
      typeof error === "object" &&
      error !== null &&
      (error as Record<symbol, unknown>)[LLEM_ERROR_MARK] === true
    );
  }

  /** True for an LlemError with one of the given codes. */
  static hasCode(error: unknown, ...codes: LlemErrorCode[]): error is LlemError {
    return LlemError.isInstance(error) && codes.includes(error.code);
  }
}
