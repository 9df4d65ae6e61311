import type {
  ConfigAggregate,
  ExperimentConfig,
  ManifestEntry,
  StudyConfig,
  StudyResult,
  ValidationIssue,
} from "@llem/schema";

/** One unique experiment config of a study, in declared order. */
export interface StudyConfigEntry {
  /** 0-based position in declared order (experiment directories use index + 1). */
  index: number;
  config: ExperimentConfig;
  configHash: string;
  summary: string;
}

/** A generated config that does not validate, kept with the reason (never silently dropped). */
export interface SkippedConfig {
  summary: string;
  reason: string;
  issues: ValidationIssue[];
  /** "sweep" or "experiments[i]". */
  origin: string;
}

/** One run: a config in one cycle. Identity is (configHash, cycle). */
export interface PlannedRun {
  configHash: string;
  cycle: number;
  summary: string;
  /** Index into `LoadedStudy.configs`. */
  configIndex: number;
}

export interface DurationEstimate {
  /** Lower bound: gaps, thermal floors, the one idle baseline and a per-run floor. */
  minSeconds: number;
  /** A rough expectation from the workload size and an assumed throughput. */
  typicalSeconds: number;
  /** How the figures were obtained, for the person reading them. */
  basis: string;
}

export interface LoadedStudy {
  /** Absolute path of the study (or experiment) file. */
  file: string;
  /** "study" for a study file; "experiment" for a single-experiment file run as a 1-config study. */
  kind: "study" | "experiment";
  yamlText: string;
  /** The file's exact bytes (copied to study.yaml). */
  yamlBytes: Uint8Array;
  /** SHA-256 of `yamlBytes`. */
  yamlHash: string;
  study: StudyConfig;
  designHash: string;
  configs: StudyConfigEntry[];
  skipped: SkippedConfig[];
  runs: PlannedRun[];
  /** Generated configs identical to an earlier one (same config hash), run once. */
  duplicates: number;
  /** The shuffle seed actually used (null unless experiment_order is shuffle). */
  shuffleSeed: number | null;
  warnings: string[];
  estimate: DurationEstimate;
}

export type RunOutcomeStatus = "completed" | "failed";

interface EventBase {
  /** ISO-8601 UTC. */
  at: string;
  /** The worker that reported it (multi-worker studies: `llem run --workers`, `llem worker`). */
  worker?: string;
}

/** Why a worker stopped claiming runs. */
export type WorkerStopReason =
  | "done"
  | "deadline"
  | "circuit_breaker"
  | "interrupted"
  | "lock_lost"
  | "error";

export interface RunCountsView {
  total: number;
  completed: number;
  failed: number;
  pending: number;
  running: number;
}

export type StudyEvent =
  | (EventBase & {
      type: "study_started";
      studyDir: string;
      totalRuns: number;
      remainingRuns: number;
      resumed: boolean;
    })
  | (EventBase & {
      /** A stage of the running experiment (prepare, baseline, warmup, window, …). */
      type: "run_progress";
      configHash: string;
      cycle: number;
      stage: string;
      message: string;
    })
  | (EventBase & {
      type: "run_started";
      configHash: string;
      cycle: number;
      summary: string;
      position: number;
      total: number;
      /** 1 for a first run, one more for each re-run (its files go to a directory of its own). */
      attempt?: number;
    })
  | (EventBase & {
      /**
       * The run stopped being this worker's while it ran (its lease expired while the worker was
       * stalled, and another worker claimed it): nothing was written for it.
       */
      type: "run_lost";
      configHash: string;
      cycle: number;
      attempt: number;
    })
  | (EventBase & {
      type: "worker_started";
      worker: string;
      host: string;
      pid: number;
      /** The CPU cores its experiments are pinned to, and its GPUs (CUDA_VISIBLE_DEVICES). */
      cpus: string | null;
      gpus: string | null;
      slurm: string | null;
    })
  | (EventBase & {
      type: "worker_finished";
      worker: string;
      reason: WorkerStopReason;
      /** Runs this worker executed (completed, failed or lost). */
      runs: number;
      message: string;
    })
  | (EventBase & { type: "warning"; message: string })
  | (EventBase & {
      /** A worker process of `llem run --workers` ended without finishing (killed, crashed). */
      type: "worker_exited";
      worker: string;
      code: number | null;
      signal: string | null;
    })
  | (EventBase & {
      type: "run_finished";
      configHash: string;
      cycle: number;
      summary: string;
      status: RunOutcomeStatus;
      durationS: number;
      energyPerOutputTokenJ: number | null;
      energyMethod: string | null;
      outputTokensPerS: number | null;
      error?: { type: string; message: string };
    })
  | (EventBase & {
      type: "gap";
      seconds: number;
      reason: "experiment" | "cycle" | "circuit_breaker";
    })
  | (EventBase & { type: "circuit_open"; consecutiveFailures: number; cooldownSeconds: number })
  | (EventBase & { type: "circuit_stopped"; consecutiveFailures: number })
  | (EventBase & { type: "deadline_reached" })
  | (EventBase & {
      /** Resuming: processes that runs of a dead runner left running were stopped first. */
      type: "leftovers_stopped";
      processes: number;
      experimentDirs: string[];
    })
  | (EventBase & { type: "interrupted"; signalCount: number })
  | (EventBase & {
      type: "study_finished";
      status: StudyOutcomeStatus;
      summaryFile: string;
      counts: RunCountsView;
    });

export type StudyOutcomeStatus = StudyResult["status"];

/**
 * What an edit of study.yaml changed: `formatting` (comments, layout: the parsed study is the
 * same), `cycles` (only n_cycles: a top-up), `schedule` (order, gaps, timeouts, output: no config
 * changed) or `experiments` (the configs themselves).
 */
export type DriftChange = "formatting" | "cycles" | "schedule" | "experiments";

export interface DriftInfo {
  /** study_yaml_hash recorded in the manifest. */
  recorded: string;
  /** Hash of the study file now. */
  current: string;
  /** The configs are the same; only the number of cycles differs (a top-up). */
  onlyCyclesChanged: boolean;
}

export interface RunStudyOptions {
  /** Where new study dirs go; default `study.output.results_dir` (relative to the cwd). */
  resultsDir?: string;
  /** First abort: SIGTERM to the running experiment's group, clean stop, status "interrupted". */
  signal?: AbortSignal;
  /** Second interrupt: SIGKILL to the running experiment's group. */
  forceKill?: AbortSignal;
  onEvent?: (event: StudyEvent) => void;
  /** Resume this study dir instead of creating a new one. */
  resumeDir?: string;
  /**
   * Resume only: study.yaml changed; return true to proceed. `change` says what the edit changed
   * (comments only, cycles, scheduling, experiments). Without it, drift throws STUDY_DRIFT.
   */
  onDrift?: (info: DriftInfo, change: DriftChange) => Promise<boolean>;
  /** Environment for the experiment processes (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** The experiment process's script (default: this package's dist/worker.js; see child.ts). */
  workerPath?: string;
  /**
   * The lock's stale period (default 30 s, or LLEM_LOCK_STALE_MS): a holder that stops refreshing
   * the lock for this long (stopped, cut off) is taken over, and its later writes are refused.
   */
  lockStaleMs?: number;
}

export interface StudyOutcome {
  studyDir: string;
  status: StudyOutcomeStatus;
  summary: StudyResult;
  summaryFile: string;
  counts: RunCountsView;
}

export interface RunningRunStatus {
  configHash: string;
  cycle: number;
  summary: string;
  startedAt: string;
  elapsedS: number;
  /** Multi-worker studies: the worker holding the run's lease, and its last heartbeat. */
  worker?: string;
  heartbeatAt?: string;
  heartbeatAgeS?: number;
}

/** One worker of a multi-worker study, from its record (workers/) and the leases it holds. */
export interface WorkerStatus {
  worker: string;
  host: string;
  pid: number;
  /** `<array job>_<task>` when SLURM started it. */
  slurm: string | null;
  /**
   * running; stopped (and why); gone: recorded as running but its pid is gone on this host
   * (killed — its lease expires or is reclaimed); a worker on another host cannot be checked.
   */
  state: "running" | "stopped" | "gone";
  alive: boolean | null;
  cpus: string | null;
  gpus: string | null;
  startedAt: string | null;
  reason: string | null;
  message: string | null;
  runs: number | null;
  /** The run it holds now, with its lease's last heartbeat. */
  current: { configHash: string; cycle: number; summary: string } | null;
  heartbeatAt: string | null;
  heartbeatAgeS: number | null;
}

export interface FailedRunStatus {
  configHash: string;
  cycle: number;
  summary: string;
  errorType: string | null;
  errorMessage: string | null;
}

export interface StudyStatus {
  studyDir: string;
  studyName: string;
  /** Manifest study status (running may be stale when nobody holds the lock: see `lockHolder`). */
  status: string;
  startedAt: string;
  completedAt: string | null;
  counts: RunCountsView;
  running: RunningRunStatus[];
  failures: FailedRunStatus[];
  /** Mean duration of completed runs (started_at → completed_at), null before the first one. */
  meanRunSeconds: number | null;
  /** Remaining runs × mean duration; null when unknown. */
  etaSeconds: number | null;
  /**
   * Who holds the study's lock. `alive`: false when the holder's pid is gone on this host (it was
   * killed; its running runs are re-run on resume), null when it is on another host.
   */
  lockHolder: { host: string; pid: number; since: string; alive: boolean | null } | null;
  /** Workers of a multi-worker study (empty for a single runner). */
  workers: WorkerStatus[];
  entries: ManifestEntry[];
}

export type { ConfigAggregate, StudyResult };
