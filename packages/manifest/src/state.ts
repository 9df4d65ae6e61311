import { LlemError, type ManifestEntry, type RunStatus, type StudyManifest } from "@llem/schema";
import { PRETTY_MANIFEST_MAX_RUNS } from "./constants.js";
import type { JournalRecord } from "./journal.js";

export type RunCounts = Record<RunStatus, number>;

/** The study-level fields of the manifest: everything but `experiments`. */
export type ManifestHeader = {
  [K in keyof StudyManifest as K extends "experiments" ? never : K]: StudyManifest[K];
};

export function runKey(configHash: string, cycle: number): string {
  return `${configHash}\u0000${cycle}`;
}

/** A run not yet started: every optional field written out, so the file shows the full seed shape. */
export function pendingEntry(
  configHash: string,
  configSummary: string,
  cycle: number,
): ManifestEntry {
  return {
    config_hash: configHash,
    config_summary: configSummary,
    cycle,
    status: "pending",
    result_file: null,
    error_type: null,
    error_message: null,
    started_at: null,
    completed_at: null,
    attempts: 0,
    lease: null,
  };
}

/**
 * The first entry that repeats an earlier entry's (config_hash, cycle), as "experiments[i] repeats
 * …"; undefined when every run is distinct. The check {@link ManifestState}'s constructor makes,
 * without building its index (sets of the parsed config_hash strings per cycle allocate little).
 */
export function findRepeatedRun(entries: readonly ManifestEntry[]): string | undefined {
  const hashesByCycle = new Map<number, Set<string>>();
  for (let index = 0; index < entries.length; index++) {
    const entry = entries[index]!;
    let hashes = hashesByCycle.get(entry.cycle);
    if (hashes === undefined) {
      hashes = new Set();
      hashesByCycle.set(entry.cycle, hashes);
    }
    if (hashes.has(entry.config_hash)) {
      return `experiments[${index}] repeats config_hash ${entry.config_hash} cycle ${entry.cycle}`;
    }
    hashes.add(entry.config_hash);
  }
  return undefined;
}

/** Raised while applying a record that does not fit the state (replay of a damaged journal). */
export class InapplicableRecordError extends Error {}

const ENTRY_INDENT = "    ";
const OPEN_BRACE = "{".charCodeAt(0);

/**
 * The manifest in memory, kept so that a transition costs O(1): entries are found by key, counts
 * are maintained incrementally, and each entry's JSON text is cached so that writing the whole
 * manifest is a string join rather than a fresh `JSON.stringify` of every entry.
 */
export class ManifestState {
  header: ManifestHeader;
  readonly entries: ManifestEntry[];
  readonly counts: RunCounts = { pending: 0, running: 0, completed: 0, failed: 0 };
  private readonly indexByKey = new Map<string, number>();
  private readonly entryJson: (string | undefined)[];
  /** Indexes of running entries (few: one per worker). */
  readonly runningIndexes = new Set<number>();
  /** No pending entry sits before this index (a hint that makes claimNext O(1) amortised). */
  firstPendingHint = 0;

  constructor(manifest: StudyManifest) {
    const { experiments, ...header } = manifest;
    this.header = { ...header, revision: header.revision ?? 0 };
    this.entries = experiments;
    this.entryJson = new Array(experiments.length);
    experiments.forEach((entry, index) => {
      const key = runKey(entry.config_hash, entry.cycle);
      if (this.indexByKey.has(key)) {
        throw new InapplicableRecordError(
          `experiments[${index}] repeats config_hash ${entry.config_hash} cycle ${entry.cycle}`,
        );
      }
      this.indexByKey.set(key, index);
      this.counts[entry.status]++;
      if (entry.status === "running") this.runningIndexes.add(index);
    });
  }

  get revision(): number {
    return this.header.revision ?? 0;
  }

  indexOf(configHash: string, cycle: number): number {
    return this.indexByKey.get(runKey(configHash, cycle)) ?? -1;
  }

  entryAt(index: number): ManifestEntry {
    return this.entries[index]!;
  }

  /** Replaces one entry; returns a function that puts the old one back. */
  replaceEntry(index: number, next: ManifestEntry): () => void {
    const previous = this.entries[index]!;
    const previousJson = this.entryJson[index];
    this.setEntry(index, next);
    this.entryJson[index] = undefined;
    return () => {
      this.setEntry(index, previous);
      this.entryJson[index] = previousJson;
    };
  }

  private setEntry(index: number, next: ManifestEntry): void {
    const previous = this.entries[index]!;
    this.counts[previous.status]--;
    this.counts[next.status]++;
    if (next.status === "running") this.runningIndexes.add(index);
    else this.runningIndexes.delete(index);
    if (next.status === "pending" && index < this.firstPendingHint) this.firstPendingHint = index;
    this.entries[index] = next;
  }

  /**
   * Applies one journal record (already checked by the writer). Returns an undo function.
   * Throws {@link InapplicableRecordError} when the record does not fit, which on replay means
   * the journal does not belong to this manifest.
   */
  apply(record: JournalRecord): () => void {
    if (record.rev !== this.revision + 1) {
      throw new InapplicableRecordError(
        `rev ${record.rev} does not follow revision ${this.revision}`,
      );
    }
    const undos: (() => void)[] = [];
    const previousHeader = this.header;
    const at = record.at;
    const transition = (index: number, next: Partial<ManifestEntry>) => {
      undos.push(this.replaceEntry(index, { ...this.entries[index]!, ...next }));
    };
    const find = (configHash: string, cycle: number, allowed: readonly RunStatus[]) => {
      const index = this.indexOf(configHash, cycle);
      if (index === -1) {
        throw new InapplicableRecordError(`no run config_hash ${configHash} cycle ${cycle}`);
      }
      const status = this.entries[index]!.status;
      if (!allowed.includes(status)) {
        throw new InapplicableRecordError(
          `run config_hash ${configHash} cycle ${cycle} is ${status}, cannot go ${record.op}`,
        );
      }
      return index;
    };
    const cleared = {
      status: "pending" as const,
      result_file: null,
      error_type: null,
      error_message: null,
      started_at: null,
      completed_at: null,
      lease: null,
    };
    switch (record.op) {
      case "running": {
        const allowed: RunStatus[] = record.takeover ? ["running"] : ["pending"];
        const index = find(record.config_hash, record.cycle, allowed);
        const entry = this.entries[index]!;
        transition(index, {
          ...cleared,
          status: "running",
          started_at: at,
          attempts: (entry.attempts ?? 0) + 1,
          lease: record.lease,
        });
        break;
      }
      case "completed": {
        const index = find(record.config_hash, record.cycle, ["running"]);
        transition(index, {
          status: "completed",
          result_file: record.result_file,
          completed_at: at,
          lease: null,
        });
        break;
      }
      case "failed": {
        const index = find(record.config_hash, record.cycle, ["running"]);
        transition(index, {
          status: "failed",
          error_type: record.error_type,
          error_message: record.error_message,
          completed_at: at,
          lease: null,
        });
        break;
      }
      case "requeue": {
        const index = find(record.config_hash, record.cycle, ["running", "failed"]);
        transition(index, cleared);
        break;
      }
      case "add": {
        const added: string[] = [];
        for (const run of record.runs) {
          const key = runKey(run.config_hash, run.cycle);
          if (this.indexByKey.has(key)) {
            for (const undoKey of added) this.indexByKey.delete(undoKey);
            this.entries.length -= added.length;
            this.entryJson.length -= added.length;
            for (let i = 0; i < added.length; i++) this.counts.pending--;
            throw new InapplicableRecordError(
              `run config_hash ${run.config_hash} cycle ${run.cycle} already exists`,
            );
          }
          this.indexByKey.set(key, this.entries.length);
          this.entries.push(pendingEntry(run.config_hash, run.config_summary, run.cycle));
          this.entryJson.push(undefined);
          this.counts.pending++;
          added.push(key);
        }
        undos.push(() => {
          for (const key of added) this.indexByKey.delete(key);
          this.entries.length -= added.length;
          this.entryJson.length -= added.length;
          this.counts.pending -= added.length;
        });
        this.header = { ...this.header, status: "running", completed_at: null };
        break;
      }
      case "resume": {
        for (let index = 0; index < this.entries.length; index++) {
          const status = this.entries[index]!.status;
          if (status === "running" || status === "failed") transition(index, cleared);
        }
        this.header = { ...this.header, status: "running", completed_at: null };
        break;
      }
      case "heartbeat": {
        for (const index of [...this.runningIndexes]) {
          const lease = this.entries[index]!.lease;
          if (lease && lease.worker === record.worker) {
            transition(index, { lease: { ...lease, heartbeat_at: at } });
          }
        }
        break;
      }
      case "study": {
        this.header = { ...this.header, status: record.status, completed_at: record.completed_at };
        break;
      }
    }
    const headerBeforeStamp = this.header;
    this.header = { ...headerBeforeStamp, revision: record.rev, updated_at: at };
    return () => {
      for (const undo of undos.reverse()) undo();
      this.header = previousHeader;
    };
  }

  /** A detached copy in the public shape (safe to hand to callers). */
  toManifest(): StudyManifest {
    return {
      ...this.header,
      experiments: this.entries.map((entry) => ({
        ...entry,
        lease: entry.lease ? { ...entry.lease } : entry.lease,
      })),
    } as StudyManifest;
  }

  /**
   * The manifest file's text, built from cached entry texts so that it stays cheap for studies of
   * tens of thousands of runs: `JSON.stringify(manifest, null, 2)` plus a newline, byte for byte,
   * for studies of up to {@link PRETTY_MANIFEST_MAX_RUNS} runs (people read those), and
   * `JSON.stringify(manifest)` plus a newline above that (a third smaller, and faster to read
   * back: `llem status` of a 56,832-run study reads the whole file).
   */
  serialize(): string {
    const pretty = this.entries.length <= PRETTY_MANIFEST_MAX_RUNS;
    const { schema_version, ...rest } = this.header;
    const header = { schema_version, ...rest };
    const parts: string[] = new Array(this.entries.length);
    for (let index = 0; index < this.entries.length; index++) {
      let text = this.entryJson[index];
      // A cached text of the other layout (the study crossed the threshold) starts differently.
      if (text === undefined || (text.charCodeAt(0) === OPEN_BRACE) === pretty) {
        text = pretty
          ? ENTRY_INDENT +
            JSON.stringify(this.entries[index], null, 2).replaceAll("\n", `\n${ENTRY_INDENT}`)
          : JSON.stringify(this.entries[index]);
        this.entryJson[index] = text;
      }
      parts[index] = text;
    }
    if (!pretty) {
      const headerText = JSON.stringify(header);
      const opening = headerText.length > 2 ? `${headerText.slice(0, -1)},` : "{";
      return `${opening}"experiments":[${parts.join(",")}]}\n`;
    }
    const headerText = JSON.stringify(header, null, 2);
    const opening = headerText.length > 2 ? `${headerText.slice(0, -2)},\n` : "{\n";
    if (this.entries.length === 0) return `${opening}  "experiments": []\n}\n`;
    return `${opening}  "experiments": [\n${parts.join(",\n")}\n  ]\n}\n`;
  }
}

/** Converts an {@link InapplicableRecordError} met on replay into MANIFEST_CORRUPT. */
export function journalMismatch(journalPath: string, error: unknown): LlemError {
  const problem = error instanceof Error ? error.message : String(error);
  return new LlemError(
    "MANIFEST_CORRUPT",
    `${journalPath} does not continue study_manifest.json: ${problem}. Both files were left untouched. ` +
      "If the manifest is intact, move the journal aside to continue from the manifest (runs recorded only in the journal will be re-run).",
    { details: { file: journalPath, problem } },
  );
}
