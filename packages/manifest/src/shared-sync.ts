/**
 * Shared mode: several processes (workers) work on one study directory. Each call of a shared
 * store runs under the study lock, taken for that call only, and this file keeps the state in
 * memory in step with what the other workers wrote between two calls.
 *
 * Invariants:
 * 1. A call's work starts only after the state in memory equals the disk's: the journal records
 *    other workers appended are applied (or, when the journal was compacted, replayed from the
 *    new journal; when neither fits, the whole study is loaded again).
 * 2. Only complete journal lines are applied. A partial last line seen under the lock belongs to
 *    a writer that died mid-append, and is cut off.
 * 3. `snapshotRev` is the revision of the manifest on disk (re-read from its head whenever the
 *    file changed), so compaction never drops a record the manifest on disk lacks.
 */
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import type { LlemError } from "@llem/schema";
import { MANIFEST_FILE_NAME } from "./constants.js";
import type { ManifestFs } from "./fs-layer.js";
import { type JournalRecord, parseJournal, parseJournalLines } from "./journal.js";
import type { HeldLock } from "./lock.js";
import type { Persistence } from "./persistence.js";
import { loadSnapshot } from "./read.js";
import { InapplicableRecordError, journalMismatch } from "./state.js";

export class SharedSync {
  /** Set when the lock of the call in progress was lost (the call must not write). */
  callLockLost: LlemError | undefined;
  /** The lock this store holds right now: during a call, or while the store opens. */
  held: HeldLock | undefined;

  private readonly files: Persistence;
  private readonly acquireLock: () => Promise<HeldLock>;

  constructor(files: Persistence, acquireLock: () => Promise<HeldLock>) {
    this.files = files;
    this.acquireLock = acquireLock;
  }

  /**
   * Runs one call under the study lock: catch up with the disk, do the work, fold the journal
   * into the manifest when due (`flushUnderLock` is how a later timer does it), release.
   */
  async withCallLock<T>(work: () => Promise<T>, flushUnderLock: () => Promise<void>): Promise<T> {
    this.callLockLost = undefined;
    const lock = await this.acquireLock();
    this.held = lock;
    try {
      await this.refreshFromDisk();
      const result = await work();
      await this.files.afterSharedCall(flushUnderLock);
      return result;
    } finally {
      this.held = undefined;
      await lock.release();
    }
  }

  /** Under the lock: applies what other workers appended since our last call. */
  private async refreshFromDisk(): Promise<void> {
    const files = this.files;
    if (files.needsReload) return files.loadFromDisk();
    const stamp = await files.statStamp(files.manifestPath);
    if (stamp !== files.snapshotStamp) {
      files.snapshotStamp = stamp;
      files.snapshotRev = await readManifestRevision(files.studyDir, files.fs);
      files.snapshotAt = Date.now();
    }
    let journalStats: Awaited<ReturnType<ManifestFs["stat"]>>;
    try {
      journalStats = await files.fs.stat(files.journalPath);
    } catch {
      return files.loadFromDisk();
    }
    const journal = files.journal;
    if (journal === undefined || journalStats.ino !== journal.ino) {
      return this.catchUpFromNewJournal();
    }
    if (journalStats.size < journal.size) return files.loadFromDisk();
    if (journalStats.size === journal.size) return;
    const length = journalStats.size - journal.size;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await journal.handle.read(buffer, 0, length, journal.size);
    const text = buffer.subarray(0, bytesRead).toString("utf8");
    const { records, consumedBytes, tornTail } = parseJournalLines(
      files.journalPath,
      text,
      journal.size,
      false,
    );
    this.applyReplayed(records);
    journal.size += consumedBytes;
    if (tornTail) {
      // We hold the lock, so a partial last line belongs to a writer that died mid-append.
      await journal.handle.truncate(journal.size);
      await journal.handle.datasync();
    }
  }

  /** Another worker compacted the journal: continue from it if it still covers our revision. */
  private async catchUpFromNewJournal(): Promise<void> {
    const files = this.files;
    const text = (await files.fs.readFile(files.journalPath)).toString("utf8");
    const parsed = parseJournal(files.journalPath, text);
    if (parsed.header.base_revision < 0 || parsed.header.base_revision > files.state.revision) {
      return files.loadFromDisk();
    }
    await files.closeJournalHandle();
    await files.openJournalHandle(parsed.validBytes);
    files.journalLines = parsed.records.map(({ record, line }) => ({ rev: record.rev, line }));
    this.applyReplayed(parsed.records);
    if (parsed.tornTail) {
      await files.journal!.handle.truncate(parsed.validBytes);
      await files.journal!.handle.datasync();
    }
  }

  private applyReplayed(records: { record: JournalRecord; line: string }[]): void {
    const files = this.files;
    try {
      for (const { record, line } of records) {
        if (record.rev <= files.state.revision) continue;
        files.state.apply(record);
        if (!files.journalLines.some((l) => l.rev === record.rev)) {
          files.journalLines.push({ rev: record.rev, line });
        }
      }
    } catch (error) {
      if (error instanceof InapplicableRecordError) throw journalMismatch(files.journalPath, error);
      throw error;
    }
  }
}

/**
 * The revision of the manifest on disk. Read from its first 4 KiB (the study-level fields, and so
 * `revision`, precede `experiments`), in either layout: pretty-printed (`"revision": 7`) or compact
 * (`"revision":7`, studies above 1,000 runs). Only when the head does not hold it (a very long
 * study name, or a manifest without the field) is the whole file parsed.
 */
export async function readManifestRevision(studyDir: string, fs: ManifestFs): Promise<number> {
  const head = await readHead(join(studyDir, MANIFEST_FILE_NAME), fs);
  const match = /"revision":\s*(\d+)/.exec(head);
  if (match) return Number(match[1]);
  return (await loadSnapshot(studyDir, fs)).revision ?? 0;
}

async function readHead(path: string, fs: ManifestFs): Promise<string> {
  let handle: FileHandle | undefined;
  try {
    handle = await fs.open(path, "r");
    const buffer = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } catch {
    return ""; // loadSnapshot says what is wrong with the file
  } finally {
    await handle?.close().catch(() => {});
  }
}
