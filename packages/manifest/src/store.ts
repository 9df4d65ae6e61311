/**
 * The store: the public face of a study's manifest. It checks each call against the state,
 * then hands the change to persistence.ts (durability), shared-sync.ts (other workers, shared
 * mode) and leases.ts (who may finish a run, shared mode).
 *
 * Invariants:
 * 1. Calls run one at a time, in the order they were made (call-queue.ts).
 * 2. Only transitions of `pending → running → completed | failed` (plus `requeue`, `addRuns`,
 *    and `resume` on an exclusive open) are recorded; anything else rejects and changes nothing.
 * 3. A state-changing call is durable when it resolves; one that rejects changed nothing.
 * 4. An exclusive store holds the study lock from create/open to close; a shared store holds it
 *    for each call only.
 * 5. A store that failed (lock lost, a rollback that failed) or closed writes nothing more; a
 *    lost lock also aborts `signal`.
 * 6. Fenced: just before each write into the study directory — each journal append, each file
 *    replaced, each `writeFileFenced` — the store checks that it still holds the lock it writes
 *    under (lock-fence.ts): an exclusive store its own, a shared store the lock of the call.
 *    A store that lost it rejects with MANIFEST_LOCK_COMPROMISED and writes nothing.
 */
import { dirname } from "node:path";
import { LlemError, type ManifestEntry, type RunStatus, type StudyManifest } from "@llem/schema";
import { makeDirectory, sweepTempFiles, writeFileAtomic } from "./atomic.js";
import { CallQueue } from "./call-queue.js";
import type { ManifestFs } from "./fs-layer.js";
import type { PendingRecord } from "./journal.js";
import {
  assertLeaseHeld,
  type ClaimOptions,
  leasesHeldBy,
  newLease,
  nextClaimable,
} from "./leases.js";
import { acquireStudyLock, type HeldLock, sweepAbandonedIntents } from "./lock.js";
import {
  buildInitialManifest,
  type CreateOptions,
  type DriftReport,
  type FailureInfo,
  type ResolvedOptions,
  type RunSpec,
  resolveOptions,
  type StoreOptions,
  type WriteFencedOptions,
} from "./options.js";
import { ATOMIC_FILES, Persistence } from "./persistence.js";
import { SharedSync } from "./shared-sync.js";
import { type ManifestState, type RunCounts, runKey } from "./state.js";
import { assertRealDirectoryInside, resolveStudyFile } from "./study-files.js";
import { checkTransition, checkWritingFor, closingStatus, recordedPath } from "./transitions.js";

/**
 * The crash-safe record of which runs of a study are done. Every `mark*`/`claimNext` call is
 * durable before it resolves: one fsynced journal line, plus (for studies up to 1,000 runs) an
 * atomic rewrite of study_manifest.json. Larger studies rewrite the manifest in the background
 * (at most ~1 s behind) and exactly on `close()`; `readManifest` replays the journal, so readers
 * always see the current state.
 */
export class ManifestStore {
  readonly studyDir: string;
  readonly manifestPath: string;
  readonly journalPath: string;
  readonly workerId: string;
  readonly mode: "exclusive" | "shared";
  /** Aborted (with MANIFEST_LOCK_COMPROMISED) if an exclusive store loses its lock. */
  readonly signal: AbortSignal;

  private readonly options: ResolvedOptions;
  private readonly fs: ManifestFs;
  private readonly abortController = new AbortController();
  /** The files on disk and the state in memory (persistence.ts). */
  private readonly files: Persistence;
  private readonly queue = new CallQueue();
  private lock: HeldLock | undefined;
  private closed = false;
  private failure: LlemError | undefined;
  /** Shared mode only: keeps the state in step with other workers (shared-sync.ts). */
  private readonly sync: SharedSync | undefined;
  /** The attempt of each run this store marked running (claimNext, markRunning). */
  private readonly claims = new Map<string, number>();
  /** `manifest`'s last copy, and the state and revision it was made from. */
  private manifestCache:
    | { state: ManifestState; revision: number; manifest: StudyManifest }
    | undefined;

  private constructor(studyDir: string, options: ResolvedOptions) {
    this.studyDir = studyDir;
    this.options = options;
    this.fs = options.fs;
    this.workerId = options.workerId;
    this.mode = options.mode;
    this.signal = this.abortController.signal;
    this.files = new Persistence(
      studyDir,
      options.fs,
      {
        snapshotEveryTransitionUpTo: options.snapshotEveryTransitionUpTo,
        snapshotIntervalMs: options.snapshotIntervalMs,
        journalCompactBytes: options.journalCompactBytes,
        shared: options.mode === "shared",
      },
      {
        queue: this.queue,
        isStopped: () => this.closed || this.failure !== undefined,
        fence: () => this.fence(),
      },
    );
    this.sync =
      options.mode === "shared" ? new SharedSync(this.files, () => this.acquireLock()) : undefined;
    this.manifestPath = this.files.manifestPath;
    this.journalPath = this.files.journalPath;
  }

  /** The last background manifest rewrite that failed (the journal still holds every change). */
  get lastSnapshotError(): LlemError | undefined {
    return this.files.lastSnapshotError;
  }

  private get state(): ManifestState {
    return this.files.state;
  }

  /**
   * Creates `studyDir` (if needed) and a new manifest with every run pending, and takes the
   * lock. Refuses a directory that already holds a manifest (use {@link ManifestStore.open}).
   */
  static async create(studyDir: string, options: CreateOptions): Promise<ManifestStore> {
    const store = new ManifestStore(studyDir, resolveOptions(options));
    const manifest = buildInitialManifest(options);
    await makeDirectory(studyDir, store.fs);
    const lock = await store.acquireLock();
    store.hold(lock);
    try {
      await sweepTempFiles(studyDir, ATOMIC_FILES, store.fs);
      await sweepAbandonedIntents(studyDir, store.options.lockStaleMs);
      if (await exists(store.fs, store.manifestPath)) {
        throw new LlemError(
          "MANIFEST_WRITE_FAILED",
          `${store.manifestPath} already exists; use ManifestStore.open() to resume that study, or choose a new directory.`,
          { details: { file: store.manifestPath, reason: "exists" } },
        );
      }
      await store.files.createFiles(manifest);
    } catch (error) {
      await store.files.closeJournalHandle();
      store.hold(undefined);
      await lock.release();
      throw error;
    }
    await store.afterOpen(lock);
    return store;
  }

  /**
   * Opens an existing study to resume it and takes the lock. In exclusive mode, runs left
   * `running` (interrupted) or `failed` go back to `pending`; `attempts` keeps counting.
   */
  static async open(studyDir: string, options: StoreOptions = {}): Promise<ManifestStore> {
    const store = new ManifestStore(studyDir, resolveOptions(options));
    const lock = await store.acquireLock();
    store.hold(lock);
    try {
      await sweepAbandonedIntents(studyDir, store.options.lockStaleMs);
      await store.files.loadFromDisk();
      // A finished study opened again (e.g. to inspect it) keeps its status and completed_at.
      const finished = store.isComplete && store.state.header.status === "completed";
      if (store.mode === "exclusive" && !finished) await store.commit({ op: "resume" });
    } catch (error) {
      await store.files.closeJournalHandle();
      store.hold(undefined);
      await lock.release();
      throw error;
    }
    await store.afterOpen(lock);
    return store;
  }

  /** An exclusive store keeps the lock until close; a shared one takes it again for each call. */
  private async afterOpen(lock: HeldLock): Promise<void> {
    if (this.mode === "exclusive") return;
    this.hold(undefined);
    await lock.release();
  }

  /** Records the lock this store writes under now (what `fence` checks). */
  private hold(lock: HeldLock | undefined): void {
    if (this.mode === "exclusive") this.lock = lock;
    else this.sync!.held = lock;
  }

  // ---------------------------------------------------------------- views

  /** The current manifest (a validated, detached copy; refreshed after each change). */
  get manifest(): StudyManifest {
    const { state } = this;
    const cache = this.manifestCache;
    if (cache?.state === state && cache.revision === state.revision) return cache.manifest;
    const manifest = state.toManifest();
    this.manifestCache = { state, revision: state.revision, manifest };
    return manifest;
  }

  get entries(): readonly ManifestEntry[] {
    return this.manifest.experiments;
  }

  get revision(): number {
    return this.state.revision;
  }

  get counts(): RunCounts {
    return { ...this.state.counts };
  }

  /** Completed runs ÷ all runs (1 for an empty study). */
  get progressFraction(): number {
    const total = this.state.entries.length;
    return total === 0 ? 1 : this.state.counts.completed / total;
  }

  /** True when every run is completed. */
  get isComplete(): boolean {
    return this.state.counts.completed === this.state.entries.length;
  }

  /** One run, or undefined. */
  entry(configHash: string, cycle: number): ManifestEntry | undefined {
    const index = this.state.indexOf(configHash, cycle);
    return index === -1 ? undefined : copyEntry(this.state.entryAt(index));
  }

  /** Runs still to do, in manifest order: pending, running (interrupted) and failed. */
  remaining(): ManifestEntry[] {
    return this.manifest.experiments.filter((entry) => entry.status !== "completed");
  }

  /** Whether the study file changed since the manifest was written. */
  checkDrift(currentStudyYamlHash: string): DriftReport {
    const recorded = this.state.header.study_yaml_hash;
    return { drifted: recorded !== currentStudyYamlHash, recorded, current: currentStudyYamlHash };
  }

  // ---------------------------------------------------------------- transitions

  /**
   * pending → running. Resolves with the attempt now recorded (1 for a first run, and one more for
   * each re-run), so that the run's files can go to paths of their own per attempt.
   */
  markRunning(configHash: string, cycle: number): Promise<number> {
    return this.run(async () => {
      this.findForTransition(configHash, cycle, "running", ["pending"]);
      const lease = this.mode === "shared" ? newLease(this.workerId) : null;
      await this.commit({ op: "running", config_hash: configHash, cycle, lease });
      return this.recordClaim(configHash, cycle);
    });
  }

  /** running → completed. `resultFile` is relative to the study directory. */
  markCompleted(configHash: string, cycle: number, resultFile: string): Promise<void> {
    return this.run(async () => {
      this.findForTransition(configHash, cycle, "completed", ["running"]);
      const relativeFile = recordedPath(this.studyDir, resultFile);
      await this.commit({
        op: "completed",
        config_hash: configHash,
        cycle,
        result_file: relativeFile,
      });
    });
  }

  /** running → failed, with the error's type and message. */
  markFailed(configHash: string, cycle: number, failure: FailureInfo): Promise<void> {
    return this.run(async () => {
      this.findForTransition(configHash, cycle, "failed", ["running"]);
      await this.commit({
        op: "failed",
        config_hash: configHash,
        cycle,
        error_type: failure.errorType,
        error_message: failure.errorMessage,
      });
    });
  }

  /**
   * Appends new pending runs (e.g. a study topped up with more cycles); the study is running
   * again. Each (configHash, cycle) must be new: INVALID_TRANSITION otherwise, and nothing is added.
   */
  addRuns(runs: readonly RunSpec[]): Promise<void> {
    return this.run(async () => {
      if (runs.length === 0) return;
      await this.commit({
        op: "add",
        runs: runs.map((run) => ({
          config_hash: run.configHash,
          config_summary: run.configSummary,
          cycle: run.cycle,
        })),
      });
    });
  }

  /** running | failed → pending, to retry a run within this session. */
  requeue(configHash: string, cycle: number): Promise<void> {
    return this.run(async () => {
      this.findForTransition(configHash, cycle, "pending", ["running", "failed"]);
      await this.commit({ op: "requeue", config_hash: configHash, cycle });
    });
  }

  /**
   * Claims the next run for `workerId` and marks it running with a lease: the first pending run
   * in manifest order, else a running run whose lease expired. Null when nothing is claimable.
   * `options` narrows what is claimed, or also reclaims leases of dead processes on this host.
   */
  claimNext(
    workerId: string = this.workerId,
    options: ClaimOptions = {},
  ): Promise<ManifestEntry | null> {
    return this.run(async () => {
      const index = nextClaimable(this.state, this.options.leaseTtlMs, Date.now(), options);
      if (index === undefined) return null;
      const entry = this.state.entryAt(index.index);
      await this.commit({
        op: "running",
        config_hash: entry.config_hash,
        cycle: entry.cycle,
        lease: newLease(workerId),
        ...(index.takeover ? { takeover: true } : {}),
      });
      this.recordClaim(entry.config_hash, entry.cycle);
      return copyEntry(this.state.entryAt(index.index));
    });
  }

  /** Renews the leases of this worker's running runs; returns how many were renewed. */
  heartbeat(workerId: string = this.workerId): Promise<number> {
    return this.run(async () => {
      const renewed = leasesHeldBy(this.state, workerId);
      if (renewed > 0) await this.commit({ op: "heartbeat", worker: workerId });
      return renewed;
    });
  }

  /**
   * Writes a file into the study directory — atomically and durably (writeFileAtomic), creating
   * its directories — but only while this store may still write there: the lock is verified once
   * the content is flushed to its temp file, just before the rename (exclusive mode: the store's
   * lock; shared mode: the call's lock, held for the whole write). A store that lost the lock
   * rejects with MANIFEST_LOCK_COMPROMISED and leaves the existing file as it is. This is how
   * files that any holder may replace (a study summary, a baseline cache) are written.
   *
   * With `run`, the write is also refused (INVALID_TRANSITION) unless that run is `running` for
   * this store: in shared mode, under its lease and on the attempt it claimed.
   *
   * `path` is relative to the study directory (or absolute inside it); paths outside it (`..`, a
   * symbolic link) and the store's own files are refused. Resolves with the path relative to the
   * study directory, `/`-separated, as `markCompleted` records it.
   */
  writeFileFenced(
    path: string,
    data: string | Uint8Array,
    options: WriteFencedOptions = {},
  ): Promise<string> {
    return this.run(async () => {
      const file = resolveStudyFile(this.studyDir, path);
      if (options.run !== undefined) {
        const { configHash, cycle } = options.run;
        this.assertStillOurs(checkWritingFor(this.state, configHash, cycle, this.manifestPath));
      }
      const directory = dirname(file.absolute);
      await makeDirectory(directory, this.fs);
      await assertRealDirectoryInside(this.studyDir, directory, path);
      await writeFileAtomic(file.absolute, data, {
        fs: this.fs,
        beforeRename: () => this.fence(),
      });
      return file.relative;
    });
  }

  /** Shared mode: picks up other workers' changes now (each call does this anyway). */
  refresh(): Promise<void> {
    return this.run(async () => {});
  }

  /** Rewrites study_manifest.json now if it is behind the journal (and compacts a large journal). */
  flush(): Promise<void> {
    return this.run(() => this.files.writeSnapshotAndCompact());
  }

  /**
   * Records the study's final status (exclusive mode: completed, failed or interrupted; shared
   * mode: only once no run is left), rewrites study_manifest.json exactly, compacts the journal
   * and releases the lock. Safe to call twice.
   */
  close(): Promise<void> {
    if (this.closed) return this.queue.idle();
    return this.queue.push(async () => {
      if (this.closed) return;
      this.files.clearFlushTimer();
      try {
        if (this.failure === undefined) {
          if (this.mode === "shared") {
            await this.withCallLock(async () => {
              await this.finishStudyIfDone(false);
              await this.files.writeSnapshotAndCompact();
            });
          } else {
            await this.finishStudyIfDone(true);
            await this.files.writeSnapshotAndCompact();
          }
        }
      } finally {
        this.closed = true;
        await this.files.closeJournalHandle();
        await this.lock?.release();
        this.lock = undefined;
      }
    });
  }

  // ---------------------------------------------------------------- internals: calls

  /** Serialises calls in this process; in shared mode, wraps each in the study lock. */
  private run<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.push(async () => {
      this.ensureUsable();
      if (this.mode === "exclusive") return work();
      return this.withCallLock(work);
    });
  }

  private withCallLock<T>(work: () => Promise<T>): Promise<T> {
    return this.sync!.withCallLock(work, () => this.flush());
  }

  private ensureUsable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) {
      throw new LlemError(
        "MANIFEST_WRITE_FAILED",
        `The manifest store for ${this.studyDir} is closed; open it again to make changes.`,
        { details: { file: this.manifestPath, reason: "closed" } },
      );
    }
  }

  private acquireLock(): Promise<HeldLock> {
    return acquireStudyLock(this.studyDir, {
      waitMs: this.options.lockWaitMs,
      staleMs: this.options.lockStaleMs,
      worker: this.workerId,
      onCompromised: (error) => this.lockLost(error),
    });
  }

  /** The lock was lost: an exclusive store stops for good, a shared one fails the current call. */
  private lockLost(error: LlemError): void {
    if (this.mode === "shared") {
      this.sync!.callLockLost = error;
      return;
    }
    if (this.failure !== undefined) return;
    this.failure = error;
    this.files.clearFlushTimer();
    this.abortController.abort(error);
  }

  /**
   * Invariant 6: resolves only while this store may write — not failed, and still holding the
   * lock it writes under. Runs just before every write (persistence.ts and `writeFileFenced`).
   */
  private async fence(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    const lock = this.mode === "exclusive" ? this.lock : this.sync!.held;
    if (lock === undefined) {
      throw new LlemError(
        "MANIFEST_LOCK_COMPROMISED",
        `The manifest store for ${this.studyDir} holds no lock, so it may not write.`,
        { details: { file: this.manifestPath, reason: "not_held" } },
      );
    }
    try {
      await lock.verify();
    } catch (error) {
      if (LlemError.hasCode(error, "MANIFEST_LOCK_COMPROMISED")) this.lockLost(error);
      throw error;
    }
  }

  /** The entry, if it may move to `target` (transitions.ts) and, shared, is still ours. */
  private findForTransition(
    configHash: string,
    cycle: number,
    target: RunStatus,
    allowed: readonly RunStatus[],
  ): ManifestEntry {
    const entry = checkTransition(
      this.state,
      configHash,
      cycle,
      target,
      allowed,
      this.manifestPath,
    );
    if (target !== "running") this.assertStillOurs(entry);
    return entry;
  }

  /** Shared mode: a running run is finished or written for only under this store's claim. */
  private assertStillOurs(entry: ManifestEntry): void {
    if (this.mode !== "shared" || entry.status !== "running") return;
    const claimed = this.claims.get(runKey(entry.config_hash, entry.cycle));
    assertLeaseHeld(entry, this.workerId, claimed, this.manifestPath);
  }

  /** Remembers the attempt this store started (leases.ts, invariant 2); returns it. */
  private recordClaim(configHash: string, cycle: number): number {
    const attempt = this.state.entryAt(this.state.indexOf(configHash, cycle)).attempts ?? 0;
    this.claims.set(runKey(configHash, cycle), attempt);
    return attempt;
  }

  private async finishStudyIfDone(exclusive: boolean): Promise<void> {
    const status = closingStatus(this.state, exclusive);
    if (status === undefined || this.state.header.status === status) return;
    const completedAt = status === "interrupted" ? null : new Date().toISOString();
    await this.commit({ op: "study", status, completed_at: completedAt });
  }

  /** Makes one transition durable (persistence.ts), unless this store may no longer write. */
  private async commit(pending: PendingRecord): Promise<void> {
    const lockLost = this.failure ?? this.sync?.callLockLost;
    if (lockLost !== undefined) throw lockLost;
    await this.files.commit(pending, (error) => {
      this.failure = error;
    });
  }
}

async function exists(fs: ManifestFs, path: string): Promise<boolean> {
  try {
    await fs.stat(path);
    return true;
  } catch {
    return false;
  }
}

function copyEntry(entry: ManifestEntry): ManifestEntry {
  return { ...entry, lease: entry.lease ? { ...entry.lease } : entry.lease };
}
