/**
 * What a store is given: the options of `ManifestStore.create`/`open`, their defaults, and the
 * first manifest of a new study (every run pending).
 */
import { hostname } from "node:os";
import { LLEM_VERSION, LlemError, type ManifestEntry, StudyManifest } from "@llem/schema";
import {
  DEFAULT_JOURNAL_COMPACT_BYTES,
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_LOCK_STALE_MS,
  DEFAULT_SNAPSHOT_EVERY_TRANSITION_UP_TO,
  DEFAULT_SNAPSHOT_INTERVAL_MS,
} from "./constants.js";
import { type ManifestFs, nodeFs } from "./fs-layer.js";
import { pendingEntry, runKey } from "./state.js";

/** One run of a study, as the caller knows it when creating the manifest. */
export interface RunSpec {
  configHash: string;
  configSummary: string;
  /** 1-indexed. */
  cycle: number;
}

export interface StoreOptions {
  /**
   * `exclusive` (default): this store holds the study lock from open to close; a second opener
   * gets MANIFEST_LOCKED. `shared`: several processes work on one study; each call takes the lock
   * only for its own read-modify-write (use `claimNext` to hand out runs).
   */
  mode?: "exclusive" | "shared";
  /** Names this worker in leases; default `<host>:<pid>`. */
  workerId?: string;
  /** A lease not renewed by `heartbeat()` for this long can be claimed by another worker. */
  leaseTtlMs?: number;
  /** A lock whose holder cannot be proven dead is taken over after this long without heartbeat. */
  lockStaleMs?: number;
  /** How long to wait for the lock (default: 0.5 s exclusive, 60 s shared). */
  lockWaitMs?: number;
  /** Studies with at most this many runs rewrite study_manifest.json on every transition. */
  snapshotEveryTransitionUpTo?: number;
  /** Larger studies rewrite it at most this long after a change. */
  snapshotIntervalMs?: number;
  /** The journal is compacted once it grows past this many bytes. */
  journalCompactBytes?: number;
  /** File-system layer; tests inject failures here. */
  fs?: ManifestFs;
}

export interface CreateOptions extends StoreOptions {
  studyName: string;
  studyYamlPath: string;
  studyYamlHash: string;
  studyDesignHash?: string | null;
  runs: readonly RunSpec[];
  /** Recorded as `llenergymeasure_version`; default: this package's version. */
  llemVersion?: string;
}

export interface WriteFencedOptions {
  /** Also require that this run is still this store's to write for (running, lease and attempt). */
  run?: { configHash: string; cycle: number };
}

export interface FailureInfo {
  errorType: string;
  errorMessage: string;
}

export interface DriftReport {
  drifted: boolean;
  recorded: string;
  current: string;
}

export type ResolvedOptions = Required<Omit<StoreOptions, "lockWaitMs">> & { lockWaitMs: number };

export function resolveOptions(options: StoreOptions): ResolvedOptions {
  const mode = options.mode ?? "exclusive";
  return {
    mode,
    workerId: options.workerId ?? `${hostname()}:${process.pid}`,
    leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    lockStaleMs: options.lockStaleMs ?? DEFAULT_LOCK_STALE_MS,
    lockWaitMs: options.lockWaitMs ?? (mode === "exclusive" ? 500 : 60_000),
    snapshotEveryTransitionUpTo:
      options.snapshotEveryTransitionUpTo ?? DEFAULT_SNAPSHOT_EVERY_TRANSITION_UP_TO,
    snapshotIntervalMs: options.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS,
    journalCompactBytes: options.journalCompactBytes ?? DEFAULT_JOURNAL_COMPACT_BYTES,
    fs: options.fs ?? nodeFs,
  };
}

export function buildInitialManifest(options: CreateOptions): StudyManifest {
  const now = new Date().toISOString();
  const seen = new Set<string>();
  const experiments: ManifestEntry[] = options.runs.map((run, index) => {
    const key = runKey(run.configHash, run.cycle);
    if (seen.has(key)) {
      throw new LlemError(
        "CONFIG_INVALID",
        `runs[${index}] repeats config_hash ${run.configHash} cycle ${run.cycle}: each (configHash, cycle) must be unique.`,
        { details: { field: `runs[${index}]`, config_hash: run.configHash, cycle: run.cycle } },
      );
    }
    seen.add(key);
    return pendingEntry(run.configHash, run.configSummary, run.cycle);
  });
  const manifest = {
    schema_version: "2.0",
    study_name: options.studyName,
    study_yaml_hash: options.studyYamlHash,
    study_yaml_path: options.studyYamlPath,
    llenergymeasure_version: options.llemVersion ?? LLEM_VERSION,
    started_at: now,
    completed_at: null,
    status: "running",
    study_design_hash: options.studyDesignHash ?? null,
    revision: 0,
    updated_at: now,
    experiments,
  };
  const parsed = StudyManifest.safeParse(manifest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join(".") || "(top level)";
    throw new LlemError(
      "CONFIG_INVALID",
      `Cannot create a study manifest: field ${field}: ${issue?.message ?? "invalid"}.`,
      { cause: parsed.error, details: { field } },
    );
  }
  return parsed.data;
}
