/**
 * Persistence: how the manifest in memory reaches the disk. Three files in the study directory:
 * `study_manifest.json` (the whole manifest), its backup `study_manifest.json.bak`, and the
 * journal `study_manifest.journal.ndjson` (one line per transition since a base revision).
 *
 * Invariants (each method below keeps all of them):
 * 1. Durable before resolved: `commit` returns only once its record is on disk — an fsynced journal
 *    line, or (studies up to `snapshotEveryTransitionUpTo` runs) the fsynced manifest rewrite that
 *    follows the line. A commit that rejects changed nothing, in memory or on disk.
 * 2. Complete from the backup: the journal holds every record after
 *    min(`backupRev`, `snapshotRev`), so either manifest on disk plus the journal is the current state.
 *    Compaction keeps exactly those records.
 * 3. One manifest write at a time (`snapshotInFlight`); the journal file is replaced (compaction)
 *    only between appends, in the call queue.
 * 4. Nothing is written once the store is stopped (closed or failed): background flushes check it.
 * 5. Fenced: `host.fence()` runs just before every journal append and before every file is
 *    replaced (writeFileAtomic's `beforeRename`); when it throws, that write does not happen.
 *    A fence that fails after the journal line was appended leaves the line (a process that
 *    took the study over may already have read it) and rethrows; the store is stopped.
 */
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { LlemError, type StudyManifest } from "@llem/schema";
import { sweepTempFiles, writeFailed, writeFileAtomic } from "./atomic.js";
import type { CallQueue } from "./call-queue.js";
import {
  JOURNAL_FILE_NAME,
  LOCK_OWNER_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  MANIFEST_FILE_NAME,
} from "./constants.js";
import type { ManifestFs } from "./fs-layer.js";
import { formatHeader, formatRecord, type JournalRecord, type PendingRecord } from "./journal.js";
import { loadJournal, loadSnapshot, replay } from "./read.js";
import { InapplicableRecordError, journalMismatch, ManifestState } from "./state.js";

/** Files this package writes through temp files (swept after a killed writer). */
export const ATOMIC_FILES = [
  MANIFEST_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  JOURNAL_FILE_NAME,
  LOCK_OWNER_FILE_NAME,
];

export interface PersistenceOptions {
  /** Studies with at most this many runs rewrite study_manifest.json on every transition. */
  snapshotEveryTransitionUpTo: number;
  /** Larger studies rewrite it at most this long after a change. */
  snapshotIntervalMs: number;
  /** The journal is compacted once it grows past this many bytes. */
  journalCompactBytes: number;
  /** Several processes share the files (each call under the lock); see shared-sync.ts. */
  shared: boolean;
}

/** What persistence needs from the store that owns it. */
export interface PersistenceHost {
  /** The store's call queue: background flushes and compactions run in it, between calls. */
  readonly queue: CallQueue;
  /** True once the store is closed or failed: background work stops. */
  isStopped(): boolean;
  /** Throws (MANIFEST_LOCK_COMPROMISED) unless this process may still write to the study. */
  fence(): Promise<void>;
}

export interface JournalFile {
  handle: FileHandle;
  ino: number;
  /** Bytes of complete lines; the next append goes here. */
  size: number;
}

export class Persistence {
  readonly studyDir: string;
  readonly manifestPath: string;
  readonly journalPath: string;
  readonly fs: ManifestFs;
  /** The manifest in memory; replaced as a whole by `loadFromDisk`. */
  state!: ManifestState;
  journal: JournalFile | undefined;
  /** The journal's records, as written, for compaction. */
  journalLines: { rev: number; line: string }[] = [];
  /** Revision held by study_manifest.json on disk, and by its backup. */
  snapshotRev = 0;
  backupRev = 0;
  /** When study_manifest.json was last written or read (Date.now()). */
  snapshotAt = 0;
  /** Shared mode: `ino:mtime:size` of study_manifest.json as this process last saw it. */
  snapshotStamp = "";
  /** The last background manifest rewrite that failed (the journal still holds every change). */
  lastSnapshotError: LlemError | undefined;
  /**
   * Set when a fence failed after an append: what is on disk is no longer known to match the
   * state in memory, so a shared store reloads before its next call.
   */
  needsReload = false;

  private readonly options: PersistenceOptions;
  private readonly host: PersistenceHost;
  private flushTimer: NodeJS.Timeout | undefined;
  /** A background manifest rewrite in progress (large studies, exclusive mode). */
  private snapshotInFlight: Promise<void> | undefined;

  constructor(
    studyDir: string,
    fs: ManifestFs,
    options: PersistenceOptions,
    host: PersistenceHost,
  ) {
    this.studyDir = studyDir;
    this.manifestPath = join(studyDir, MANIFEST_FILE_NAME);
    this.journalPath = join(studyDir, JOURNAL_FILE_NAME);
    this.fs = fs;
    this.options = options;
    this.host = host;
  }

  // ---------------------------------------------------------------- creating and loading

  /** A new study: the manifest, then an empty journal continuing from it (under the lock). */
  async createFiles(manifest: StudyManifest): Promise<void> {
    // A journal without a manifest is an orphan (no record can apply to a manifest not yet written).
    await this.fs.rm(this.journalPath, { force: true });
    this.state = new ManifestState(manifest);
    await this.writeSnapshot();
    await writeFileAtomic(this.journalPath, formatHeader(0), this.atomicOptions());
    this.backupRev = 0;
    await this.openJournalHandle();
    this.journalLines = [];
  }

  /**
   * Full load under the lock: manifest + journal replay, then repairs after a killed writer —
   * temp files removed, a torn journal tail cut off, a missing journal recreated, and a manifest
   * that is behind the journal rewritten.
   */
  async loadFromDisk(): Promise<void> {
    this.needsReload = false;
    await this.closeJournalHandle();
    await sweepTempFiles(this.studyDir, ATOMIC_FILES, this.fs);
    const manifest = await loadSnapshot(this.studyDir, this.fs);
    const journal = await loadJournal(this.studyDir, this.fs);
    const state = replay(this.studyDir, manifest, journal);
    if (state === undefined) {
      throw journalMismatch(
        this.journalPath,
        new Error(
          `the journal starts after revision ${journal?.header.base_revision}, but study_manifest.json holds revision ${manifest.revision ?? 0}`,
        ),
      );
    }
    this.state = state;
    this.snapshotRev = manifest.revision ?? 0;
    this.snapshotAt = Date.now();
    this.snapshotStamp = await this.statStamp(this.manifestPath);
    const journalEnd = journal?.records.at(-1)?.record.rev ?? journal?.header.base_revision ?? -1;
    // No journal, a journal killed while being created, or one that ends before the manifest
    // (edited by hand): start a fresh one that continues from the manifest.
    if (
      journal === undefined ||
      journal.header.base_revision < 0 ||
      journalEnd < this.snapshotRev
    ) {
      await writeFileAtomic(this.journalPath, formatHeader(this.snapshotRev), this.atomicOptions());
      this.journalLines = [];
      this.backupRev = this.snapshotRev;
      await this.openJournalHandle();
    } else {
      this.journalLines = journal.records.map(({ record, line }) => ({ rev: record.rev, line }));
      this.backupRev = Math.min(journal.header.base_revision, this.snapshotRev);
      await this.openJournalHandle(journal.validBytes);
      if (journal.tornTail) {
        await this.journal!.handle.truncate(journal.validBytes);
        await this.journal!.handle.datasync();
      }
    }
    if (this.state.revision > this.snapshotRev) await this.writeSnapshot();
  }

  // ---------------------------------------------------------------- committing

  /**
   * Applies one transition and makes it durable: an fsynced journal line, then (small studies)
   * the manifest rewrite. On failure everything is rolled back and MANIFEST_WRITE_FAILED thrown;
   * `onRollbackFailed` receives the error when even the rollback failed (the store must stop).
   */
  async commit(
    pending: PendingRecord,
    onRollbackFailed: (error: LlemError) => void,
  ): Promise<void> {
    const record = {
      ...pending,
      rev: this.state.revision + 1,
      at: new Date().toISOString(),
    } as JournalRecord;
    let undo: () => void;
    try {
      undo = this.state.apply(record);
    } catch (error) {
      if (error instanceof InapplicableRecordError) {
        throw new LlemError("INVALID_TRANSITION", error.message, {
          details: { file: this.manifestPath },
        });
      }
      throw error;
    }
    const line = formatRecord(record);
    const journal = this.journal!;
    const sizeBefore = journal.size;
    const rewriteManifest = this.state.entries.length <= this.options.snapshotEveryTransitionUpTo;
    try {
      await this.host.fence();
      // When the manifest is rewritten right after, that fsynced rewrite is the durable commit,
      // and fsyncing the journal line too would only double the cost. A line lost to a power
      // failure is then harmless: the next open starts a fresh journal from the manifest.
      await this.appendJournal(line, !rewriteManifest);
    } catch (error) {
      undo();
      throw writeFailed(this.journalPath, error);
    }
    this.journalLines.push({ rev: record.rev, line });
    if (rewriteManifest) {
      try {
        await this.writeSnapshot();
      } catch (error) {
        if (LlemError.hasCode(error, "MANIFEST_LOCK_COMPROMISED")) {
          this.needsReload = true; // invariant 5: the line stays
          throw error;
        }
        // Take the transition back out of the journal too, so that a rejected call changed nothing.
        try {
          await journal.handle.truncate(sizeBefore);
          await journal.handle.datasync();
          journal.size = sizeBefore;
          this.journalLines.pop();
          undo();
        } catch (rollbackError) {
          onRollbackFailed(writeFailed(this.journalPath, rollbackError));
        }
        throw error;
      }
      if (journal.size > this.options.journalCompactBytes) await this.compactJournalQuietly();
    } else if (!this.options.shared) {
      this.scheduleFlush();
    }
  }

  private async appendJournal(line: string, sync: boolean): Promise<void> {
    const journal = this.journal!;
    const bytes = Buffer.from(line, "utf8");
    let written = 0;
    try {
      while (written < bytes.length) {
        const { bytesWritten } = await journal.handle.write(
          bytes,
          written,
          bytes.length - written,
          journal.size + written,
        );
        written += bytesWritten;
      }
      if (sync) await journal.handle.datasync();
    } catch (error) {
      // Best effort: do not leave a partial line behind (a later append would overwrite it anyway).
      await journal.handle.truncate(journal.size).catch(() => {});
      throw error;
    }
    journal.size += bytes.length;
  }

  // ---------------------------------------------------------------- snapshots and compaction

  async writeSnapshot(): Promise<void> {
    await this.snapshotInFlight;
    await this.writeSnapshotText(this.state.serialize(), this.state.revision);
  }

  /** Writes one serialised state; callers make sure only one such write runs at a time. */
  private async writeSnapshotText(text: string, revision: number): Promise<void> {
    await writeFileAtomic(this.manifestPath, text, {
      ...this.atomicOptions(),
      keepPreviousAs: join(this.studyDir, MANIFEST_BACKUP_FILE_NAME),
    });
    this.backupRev = this.snapshotRev;
    this.snapshotRev = revision;
    this.snapshotAt = Date.now();
    this.lastSnapshotError = undefined;
    if (this.options.shared) this.snapshotStamp = await this.statStamp(this.manifestPath);
  }

  /** Rewrites the manifest if it is behind the journal, then compacts a large journal. */
  async writeSnapshotAndCompact(): Promise<void> {
    await this.snapshotInFlight;
    if (this.state.revision > this.snapshotRev) await this.writeSnapshot();
    if (this.journal && this.journal.size > this.options.journalCompactBytes) {
      await this.compactJournalQuietly();
    }
  }

  /**
   * Replaces the journal by one holding only the records the backup manifest lacks (so that a
   * restored backup plus the journal is still complete). A failure leaves the old journal, which
   * is still correct, and is reported through `lastSnapshotError`.
   */
  private async compactJournalQuietly(): Promise<void> {
    const base = Math.min(this.backupRev, this.snapshotRev);
    const kept = this.journalLines.filter(({ rev }) => rev > base);
    try {
      await writeFileAtomic(
        this.journalPath,
        formatHeader(base) + kept.map((l) => l.line).join(""),
        this.atomicOptions(),
      );
    } catch (error) {
      this.lastSnapshotError = writeFailed(this.journalPath, error);
      return;
    }
    this.journalLines = kept;
    await this.closeJournalHandle();
    await this.openJournalHandle();
  }

  // ---------------------------------------------------------------- flush scheduling

  /**
   * Large studies, exclusive mode: fold the journal into the manifest shortly after a change. The
   * state is serialised in the call queue (a consistent revision), but the write itself runs
   * beside it, so transitions keep appending to the journal while tens of MB go to disk.
   */
  private scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.host.queue.background(() => {
        if (this.host.isStopped()) return;
        if (this.state.revision <= this.snapshotRev) return;
        if (this.snapshotInFlight !== undefined) return this.scheduleFlush();
        const write = this.writeSnapshotText(this.state.serialize(), this.state.revision).then(
          () => this.compactSoon(),
          (error: unknown) => {
            this.lastSnapshotError = writeFailed(this.manifestPath, error);
            this.scheduleFlush();
          },
        );
        this.snapshotInFlight = write.finally(() => {
          this.snapshotInFlight = undefined;
        });
      });
    }, this.options.snapshotIntervalMs);
    this.flushTimer.unref();
  }

  /** Compaction replaces the journal file, so it runs in the call queue, between appends. */
  private compactSoon(): void {
    const journal = this.journal;
    if (journal === undefined || journal.size <= this.options.journalCompactBytes) return;
    this.host.queue.background(async () => {
      if (this.host.isStopped() || this.snapshotInFlight !== undefined) return;
      if (this.journal && this.journal.size > this.options.journalCompactBytes) {
        await this.compactJournalQuietly();
      }
    });
  }

  /**
   * Shared mode, at the end of a call under the lock: fold the journal into the manifest now if
   * the last rewrite is older than the interval, else let a timer do it through `flushUnderLock`
   * (which takes the lock) unless a later call comes first.
   */
  async afterSharedCall(flushUnderLock: () => Promise<void>): Promise<void> {
    if (this.state.revision <= this.snapshotRev) return;
    if (Date.now() - this.snapshotAt >= this.options.snapshotIntervalMs) {
      await this.writeSnapshotAndCompact();
      return;
    }
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      if (this.host.isStopped()) return;
      flushUnderLock().catch((error: unknown) => {
        this.lastSnapshotError = writeFailed(this.manifestPath, error);
      });
    }, this.options.snapshotIntervalMs);
    this.flushTimer.unref();
  }

  clearFlushTimer(): void {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** How this package's own files are written: through the fs layer, fenced (invariant 5). */
  private atomicOptions(): { fs: ManifestFs; beforeRename: () => Promise<void> } {
    return { fs: this.fs, beforeRename: () => this.host.fence() };
  }

  // ---------------------------------------------------------------- the journal handle

  async openJournalHandle(expectedSize?: number): Promise<void> {
    const handle = await this.fs.open(this.journalPath, "r+");
    const stats = await handle.stat();
    this.journal = { handle, ino: stats.ino, size: expectedSize ?? stats.size };
  }

  async closeJournalHandle(): Promise<void> {
    const journal = this.journal;
    this.journal = undefined;
    await journal?.handle.close().catch(() => {});
  }

  /** `ino:mtime:size` of a file ("" when it is missing): cheap evidence that it changed. */
  async statStamp(path: string): Promise<string> {
    try {
      const stats = await this.fs.stat(path);
      return `${stats.ino}:${stats.mtimeMs}:${stats.size}`;
    } catch {
      return "";
    }
  }
}
