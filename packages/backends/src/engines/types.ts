import type {
  Engine as EngineName,
  ExperimentConfig,
  LlemError,
  RequestRecord,
  ValidationIssue,
} from "@llem/schema";
import type { ResultWarning } from "../metrics/energy.js";

/**
 * The engine contract, in two parts:
 * - `Engine`: what the measurement harness needs from anything that serves a model, for one
 *   experiment (prepare → warmup → run → dispose). The embedded llama.cpp engine implements it;
 *   server engines implement the same steps around a server process and streaming HTTP.
 * - `EngineDefinition`: an engine's entry in the registry (registry.ts), which is how the
 *   harness, @llem/study and the CLI reach an engine without naming it.
 */

/** Timing and token counts of one request, as the engine observed them. */
export interface RequestMeasurement {
  /** Prompt tokens actually evaluated (after truncation), counted by the model's tokenizer. */
  inputTokens: number;
  outputTokens: number;
  /** Request start to first generated token; null when nothing was generated. */
  ttftMs: number | null;
  /** Gaps between consecutive generated tokens of this request. */
  itlMs: number[];
  /** Request start to last token. */
  latencyMs: number;
  /** True when the prompt was cut to max_input_tokens. */
  truncated: boolean;
  /**
   * The request's timeline, in ms from the measurement window's start (`EngineRunOptions.
   * windowStart`), where the engine has one (server engines): when it was due, sent, got its
   * first token and ended. The harness finds the steady state from these.
   */
  timeline?: { scheduledMs: number; sentMs: number; firstTokenMs: number | null; endMs: number };
  /** How the request ended, where the engine can fail single requests (server engines); absent: ok. */
  status?: RequestRecord["status"];
  /** What went wrong, for a status other than ok. */
  error?: string;
  /** The request's line in `requests.jsonl`, where the engine keeps one (server engines). */
  record?: RequestRecord;
}

/** What was loaded, for the result's `model` section and the FLOPs estimate. */
export interface PreparedModel {
  name: string;
  path: string | null;
  parameters: number | null;
  fileSizeBytes: number | null;
  weightType: string | null;
  /** Memory the loaded weights occupy, where the engine knows it. */
  modelBytes: number | null;
}

export interface EngineRunOptions {
  signal?: AbortSignal;
  /**
   * `performance.now()` at the start of the measurement window: engines that report a request
   * timeline measure it from here.
   */
  windowStart?: number;
  /** Called after each request completes (progress reporting). */
  onRequest?: (measurement: RequestMeasurement, completed: number) => void;
}

export interface Engine {
  /** Engine name as in the config's `engine` field. */
  readonly name: string;
  /** Loads the model / starts the server. Runs outside the measurement window. */
  prepare(options: { signal?: AbortSignal }): Promise<PreparedModel>;
  /** One request on its own: used by warmup, whose latencies decide convergence. */
  warmup(prompt: string, options: { signal?: AbortSignal }): Promise<RequestMeasurement>;
  /** The measured workload: all prompts at the configured batch size / concurrency. */
  run(prompts: readonly string[], options: EngineRunOptions): Promise<RequestMeasurement[]>;
  /** Versions of the engine's software, for the environment snapshot. */
  versions(): Record<string, string>;
  /** Settings resolved at prepare time (e.g. the thread count picked for threads: null). */
  resolvedSettings(): Record<string, unknown>;
  /**
   * Optional, after the window (server engines): a problem that makes the window's figures
   * worthless even if requests came back — the server exited during it. The harness throws it
   * after `requests.jsonl` is written.
   */
  windowProblem?(): LlemError | null;
  /**
   * Optional, after prepare: processes on this machine that do the engine's work outside this
   * one (a local server), whose CPU time an estimate of the window's energy must include.
   */
  workProcesses?(): number[];
  /** Optional: the last lines of the engine's log, for the message of a failed run. */
  logTail?(): string | null;
  /**
   * Releases everything prepare acquired. Safe to call more than once, and after a failed prepare.
   * `measured`: the window ran and its requests passed (the harness's call on success); only then
   * may a server engine leave its server to the next run (reuse_servers).
   */
  dispose(outcome?: { measured: boolean }): Promise<void>;
}

/**
 * The GPUs one experiment runs on, resolved from its config's `gpus:`: what the engine's process
 * or container is given, and exactly what the energy samplers measure.
 */
export interface GpuAssignment {
  /** Device identifiers as container runtimes take them: UUIDs where known, else indices. */
  devices: string[];
  /** The value of CUDA_VISIBLE_DEVICES for an engine process started on this host. */
  cudaVisibleDevices: string;
}

/**
 * `study_execution.reuse_servers`: consecutive runs whose server is the same (same
 * `EngineDefinition.serverKey`) share one server, handed over through a record file.
 */
export interface ServerReuse {
  /** The server key of this run's config (`EngineDefinition.serverKey`). */
  key: string;
  /** server.json of the shared server (in the study dir): adopt the server it describes if it still serves. */
  recordFile: string;
  /** Leave this run's server running for the next run, recorded in `recordFile`. */
  keep: boolean;
}

/** What the harness hands an engine it creates, for one experiment. */
export interface EngineContext {
  /** Whether this run may take over the previous run's server, and leave its own for the next. */
  serverReuse?: ServerReuse;
  /** The experiment's GPUs; absent when it has none placed (a CPU run). */
  gpus?: GpuAssignment;
  /** Synthetic model cache (LLEM_CACHE_DIR by default). */
  cacheDir?: string;
  /** Relative model and dataset paths are resolved against this (the study file's directory). */
  baseDir?: string;
  /** The experiment's own directory inside a study, where it may keep files (logs, records). */
  outputDir?: string;
}

/** One line of `llem doctor`: whether the engine can run here, and why (or why not). */
export interface EngineProbe {
  ok: boolean;
  detail: string;
}

/** A typical output rate for a config, for the duration estimate of `--dry-run`. */
export interface EngineRateEstimate {
  outputTokensPerS: number;
  /** How the figure was obtained, in a few words (shown once per engine in the plan). */
  basis: string;
}

/** What an engine may judge once an experiment's window is over. */
export interface ResultContext {
  config: ExperimentConfig;
  /** `Engine.resolvedSettings()` of the engine that ran. */
  settings: Record<string, unknown>;
  requests: readonly RequestMeasurement[];
  /** Median gap between generated tokens over the window (ms); null without gaps. */
  itlP50Ms: number | null;
}

/**
 * An engine's registry entry. Every member is pure or cheap to call, and none loads the engine's
 * implementation (native addons, HTTP clients) except `create`: a study is planned, validated and
 * summarised through these members alone.
 */
export interface EngineDefinition {
  /** The name in `engine:` and of the config's section. */
  readonly name: EngineName;
  /** What it is, in a few words (doctor, help). */
  readonly description: string;
  /**
   * Builds the engine of one experiment. Runs in the experiment's own process, just before
   * `prepare`; this is where the implementation is imported.
   */
  create(config: ExperimentConfig, context: EngineContext): Promise<Engine>;
  /**
   * The environment the experiment's process is started with. Runs in the study runner before
   * it forks that process (some settings, such as libuv's pool size, only a parent can make).
   */
  processEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /**
   * Problems with a config that would make its runs fail before they measure anything (a model
   * file that does not exist, an unknown preset). Runs when a study is loaded, so `validate`,
   * `--dry-run` and `run` reject the same studies; must be fast and touch no native code.
   */
  preflight(config: ExperimentConfig, context: { baseDir: string }): ValidationIssue[];
  /** A typical output rate for the config, from what is known without running it. */
  estimate(config: ExperimentConfig, context: { baseDir: string }): EngineRateEstimate;
  /** Whether the engine can run on this machine, for `llem doctor`. */
  probe(): Promise<EngineProbe>;
  /** Warnings about a finished experiment that only this engine can judge. */
  resultWarnings(context: ResultContext): ResultWarning[];
  /**
   * Optional (server engines): the identity of the server a config starts — its command line but
   * the port — so consecutive runs with equal keys can share one server (`reuse_servers`).
   */
  serverKey?(config: ExperimentConfig): string | null;
  /** `result.engine_version`, from what `Engine.versions()` reported. */
  version(versions: Record<string, string>): string | null;
  /** How a config of this engine is labelled in summaries ("batch=4 / threads=2"). */
  readonly summary: {
    /** Label parts after "engine / model". */
    parts(config: ExperimentConfig): string[];
    /** Dotted keys (`llamacpp.batch_size`) whose values those parts already show. */
    shows: readonly string[];
  };
}
