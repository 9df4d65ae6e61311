import { LlemError, RunLease, STUDY_STATUSES, Timestamp } from "@llem/schema";
import { z } from "zod";

/**
 * The journal: `study_manifest.journal.ndjson`, one JSON object a line. The first line is a
 * header naming the revision of the manifest the records continue from; every later line is one
 * transition, numbered by `rev` (contiguous: base_revision + 1, + 2, …). Appending one short line
 * and fsyncing it is what makes a transition durable in large studies; the manifest is folded
 * from the journal in the background and whenever the store closes.
 */

export const JOURNAL_FORMAT = "llem-manifest-journal";

export const JournalHeader = z.looseObject({
  format: z.literal(JOURNAL_FORMAT),
  version: z.literal(1),
  base_revision: z.int().min(0),
});
export type JournalHeader = z.infer<typeof JournalHeader>;

const runKey = { config_hash: z.string().min(1), cycle: z.int().min(1) };
const common = { rev: z.int().min(1), at: Timestamp };

export const JournalRecord = z.discriminatedUnion("op", [
  z.object({
    ...common,
    ...runKey,
    op: z.literal("running"),
    lease: RunLease.nullable(),
    /** A claim of a run whose lease expired: running → running. */
    takeover: z.boolean().optional(),
  }),
  z.object({ ...common, ...runKey, op: z.literal("completed"), result_file: z.string() }),
  z.object({
    ...common,
    ...runKey,
    op: z.literal("failed"),
    error_type: z.string(),
    error_message: z.string(),
  }),
  z.object({ ...common, ...runKey, op: z.literal("requeue") }),
  /** New pending runs appended to the study (e.g. a study topped up with more cycles). */
  z.object({
    ...common,
    op: z.literal("add"),
    runs: z.array(
      z.object({
        config_hash: z.string().min(1),
        config_summary: z.string(),
        cycle: z.int().min(1),
      }),
    ),
  }),
  /** Resume: every running and failed run goes back to pending; the study is running again. */
  z.object({ ...common, op: z.literal("resume") }),
  z.object({ ...common, op: z.literal("heartbeat"), worker: z.string().min(1) }),
  z.object({
    ...common,
    op: z.literal("study"),
    status: z.enum(STUDY_STATUSES),
    completed_at: Timestamp.nullable(),
  }),
]);
export type JournalRecord = z.infer<typeof JournalRecord>;
/** A record before the store numbers and stamps it. */
export type PendingRecord = JournalRecord extends infer R
  ? R extends JournalRecord
    ? Omit<R, "rev" | "at">
    : never
  : never;

export interface ParsedLine {
  record: JournalRecord;
  line: string;
}

export interface ParsedJournal {
  header: JournalHeader;
  records: ParsedLine[];
  /** Bytes up to the end of the last complete line; anything after is a torn append. */
  validBytes: number;
  /** True when the file ends in a partial line (a writer was killed mid-append). */
  tornTail: boolean;
}

export function formatHeader(baseRevision: number): string {
  const header: JournalHeader = { format: JOURNAL_FORMAT, version: 1, base_revision: baseRevision };
  return `${JSON.stringify(header)}\n`;
}

export function formatRecord(record: JournalRecord): string {
  return `${JSON.stringify(record)}\n`;
}

function corruptJournal(path: string, problem: string): LlemError {
  return new LlemError(
    "MANIFEST_CORRUPT",
    `${path} is corrupt: ${problem}. It was left untouched. If study_manifest.json is intact, ` +
      "move the journal aside to continue from the manifest (transitions after its revision are lost and those runs will be re-run).",
    { details: { file: path, problem } },
  );
}

/**
 * Parses complete lines of `text`, which starts at byte `startOffset` of the file (0 means the
 * header comes first). A final line without a newline is a torn append, not corruption.
 */
export function parseJournalLines(
  path: string,
  text: string,
  startOffset: number,
  expectHeader: boolean,
): { header?: JournalHeader; records: ParsedLine[]; consumedBytes: number; tornTail: boolean } {
  const records: ParsedLine[] = [];
  let header: JournalHeader | undefined;
  let position = 0;
  let lineNumberHint = startOffset === 0 ? 1 : 0;
  while (position < text.length) {
    const newline = text.indexOf("\n", position);
    if (newline === -1) break;
    const line = text.slice(position, newline);
    position = newline + 1;
    const where =
      lineNumberHint > 0 ? `line ${lineNumberHint}` : `a line after byte ${startOffset}`;
    if (lineNumberHint > 0) lineNumberHint++;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw corruptJournal(path, `${where} is not JSON`);
    }
    if (expectHeader && header === undefined) {
      const parsed = JournalHeader.safeParse(value);
      if (!parsed.success) throw corruptJournal(path, `${where} is not a journal header`);
      header = parsed.data;
      continue;
    }
    const parsed = JournalRecord.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join(".") || "(record)";
      throw corruptJournal(path, `${where}: field ${field}: ${issue?.message ?? "invalid"}`);
    }
    records.push({ record: parsed.data, line: `${line}\n` });
  }
  const consumedBytes = Buffer.byteLength(text.slice(0, position));
  return { header, records, consumedBytes, tornTail: position < text.length };
}

/** Parses a whole journal file's text (header first). */
export function parseJournal(path: string, text: string): ParsedJournal {
  const { header, records, consumedBytes, tornTail } = parseJournalLines(path, text, 0, true);
  if (header === undefined) {
    if (text.length === 0 || tornTail) {
      // Killed while creating the journal: no record can have been acknowledged yet.
      return {
        header: { format: JOURNAL_FORMAT, version: 1, base_revision: -1 },
        records: [],
        validBytes: 0,
        tornTail: text.length > 0,
      };
    }
    throw corruptJournal(path, "the header line is missing");
  }
  let expected = header.base_revision + 1;
  for (const { record } of records) {
    if (record.rev !== expected) {
      throw corruptJournal(
        path,
        `record rev ${record.rev} found where rev ${expected} was expected`,
      );
    }
    expected++;
  }
  return { header, records, validBytes: consumedBytes, tornTail };
}
