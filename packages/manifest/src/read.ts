import { join } from "node:path";
import { LlemError, StudyManifest } from "@llem/schema";
import { JOURNAL_FILE_NAME, MANIFEST_BACKUP_FILE_NAME, MANIFEST_FILE_NAME } from "./constants.js";
import { fastParseManifest } from "./fast-validate.js";
import { type ManifestFs, nodeFs } from "./fs-layer.js";
import { type ParsedJournal, parseJournal } from "./journal.js";
import {
  findRepeatedRun,
  InapplicableRecordError,
  journalMismatch,
  ManifestState,
} from "./state.js";

export interface ReadOptions {
  fs?: ManifestFs;
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === "ENOENT";
}

/** What to tell the user about the backup beside a corrupt manifest. */
async function backupAdvice(studyDir: string, fs: ManifestFs): Promise<string> {
  const backupPath = join(studyDir, MANIFEST_BACKUP_FILE_NAME);
  const manifestPath = join(studyDir, MANIFEST_FILE_NAME);
  try {
    const text = (await fs.readFile(backupPath)).toString("utf8");
    const parsed = StudyManifest.safeParse(JSON.parse(text));
    if (!parsed.success) return ` The backup ${backupPath} is not valid either.`;
    return (
      ` The last good version is ${backupPath} (revision ${parsed.data.revision ?? 0}, ` +
      `updated ${parsed.data.updated_at ?? parsed.data.started_at}); to use it, inspect it and run ` +
      `\`cp ${backupPath} ${manifestPath}\` — the journal replays any later transitions it still holds.`
    );
  } catch (error) {
    return isNotFound(error)
      ? ` There is no backup (${backupPath}) to restore from.`
      : ` The backup ${backupPath} is not valid either.`;
  }
}

async function corrupt(
  studyDir: string,
  path: string,
  problem: string,
  fs: ManifestFs,
  cause?: unknown,
): Promise<LlemError> {
  const advice = await backupAdvice(studyDir, fs);
  return new LlemError(
    "MANIFEST_CORRUPT",
    `${path} is corrupt: ${problem}. It was left untouched.${advice}`,
    { cause, details: { file: path, problem, backup: join(studyDir, MANIFEST_BACKUP_FILE_NAME) } },
  );
}

/** Parses one manifest text; throws MANIFEST_CORRUPT naming the file and the first problem. */
export async function parseManifestText(
  studyDir: string,
  path: string,
  text: string,
  fs: ManifestFs,
): Promise<StudyManifest> {
  if (text.trim().length === 0) throw await corrupt(studyDir, path, "the file is empty", fs);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw await corrupt(
      studyDir,
      path,
      `not valid JSON (${reason}); the file may be truncated`,
      fs,
    );
  }
  // Exactly as strict as zod's StudyManifest, several times faster on large studies; zod runs
  // only to name the first problem when the fast check says no.
  const fast = fastParseManifest(value);
  if (fast !== undefined) return checkSchemaVersion(studyDir, path, fast, fs);
  const parsed = StudyManifest.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : "(top level)";
    throw await corrupt(
      studyDir,
      path,
      `field ${field}: ${issue?.message ?? "invalid"} (expected the study manifest schema, schema_version "2.0")`,
      fs,
      parsed.error,
    );
  }
  return checkSchemaVersion(studyDir, path, parsed.data, fs);
}

async function checkSchemaVersion(
  studyDir: string,
  path: string,
  manifest: StudyManifest,
  fs: ManifestFs,
): Promise<StudyManifest> {
  if (manifest.schema_version !== "2.0") {
    throw await corrupt(
      studyDir,
      path,
      `field schema_version: expected "2.0", found ${JSON.stringify(manifest.schema_version)}`,
      fs,
    );
  }
  return manifest;
}

/** Reads and validates study_manifest.json (without the journal). */
export async function loadSnapshot(studyDir: string, fs: ManifestFs): Promise<StudyManifest> {
  const path = join(studyDir, MANIFEST_FILE_NAME);
  let text: string;
  try {
    text = (await fs.readFile(path)).toString("utf8");
  } catch (error) {
    if (isNotFound(error)) {
      throw new LlemError(
        "MANIFEST_NOT_FOUND",
        `No study manifest at ${path}: is ${studyDir} a study directory?`,
        { cause: error, details: { file: path } },
      );
    }
    throw new LlemError("MANIFEST_CORRUPT", `Could not read ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { file: path },
    });
  }
  return parseManifestText(studyDir, path, text, fs);
}

/** Reads the journal; undefined when there is none. */
export async function loadJournal(
  studyDir: string,
  fs: ManifestFs,
): Promise<ParsedJournal | undefined> {
  const path = join(studyDir, JOURNAL_FILE_NAME);
  let text: string;
  try {
    text = (await fs.readFile(path)).toString("utf8");
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
  return parseJournal(path, text);
}

/** MANIFEST_CORRUPT for a manifest that parsed and validated but does not make sense. */
function manifestCorrupt(studyDir: string, problem: string): LlemError {
  const path = join(studyDir, MANIFEST_FILE_NAME);
  return new LlemError(
    "MANIFEST_CORRUPT",
    `${path} is corrupt: ${problem}. It was left untouched.`,
    {
      details: { file: path, problem },
    },
  );
}

/**
 * Builds the state from a manifest plus the journal records that follow it. Returns undefined
 * when the journal starts after the manifest (a reader raced a compaction: read again).
 */
export function replay(
  studyDir: string,
  manifest: StudyManifest,
  journal: ParsedJournal | undefined,
): ManifestState | undefined {
  const journalPath = join(studyDir, JOURNAL_FILE_NAME);
  let state: ManifestState;
  try {
    state = new ManifestState(manifest);
  } catch (error) {
    throw manifestCorrupt(studyDir, error instanceof Error ? error.message : String(error));
  }
  if (journal === undefined || journal.header.base_revision < 0) return state;
  if (journal.header.base_revision > state.revision) return undefined;
  try {
    for (const { record } of journal.records) {
      if (record.rev <= state.revision) continue;
      state.apply(record);
    }
  } catch (error) {
    if (error instanceof InapplicableRecordError) throw journalMismatch(journalPath, error);
    throw error;
  }
  return state;
}

/**
 * Lock-free read of the current manifest: study_manifest.json plus any journal records not yet
 * folded into it, validated. Safe while a writer is active (it never sees a torn file).
 */
export async function readManifest(
  studyDir: string,
  options: ReadOptions = {},
): Promise<StudyManifest> {
  const fs = options.fs ?? nodeFs;
  for (let attempt = 0; attempt < 5; attempt++) {
    const manifest = await loadSnapshot(studyDir, fs);
    const journal = await loadJournal(studyDir, fs);
    const revision = manifest.revision ?? 0;
    if (journal !== undefined && journal.header.base_revision > revision) continue;
    if (!hasRecordsAfter(journal, revision)) {
      // Nothing to replay (the usual case once a writer has flushed): skip building the state
      // and its index, but make the same check its constructor makes.
      const repeated = findRepeatedRun(manifest.experiments);
      if (repeated !== undefined) throw manifestCorrupt(studyDir, repeated);
      return { ...manifest, revision };
    }
    const state = replay(studyDir, manifest, journal);
    // The state was built from objects this call just parsed and is dropped here, so its
    // entries can be handed over without the copy `toManifest()` makes.
    if (state !== undefined) return { ...state.header, experiments: state.entries };
  }
  const journalPath = join(studyDir, JOURNAL_FILE_NAME);
  throw journalMismatch(
    journalPath,
    new Error("its base revision is newer than study_manifest.json's revision"),
  );
}

function hasRecordsAfter(journal: ParsedJournal | undefined, revision: number): boolean {
  if (journal === undefined || journal.header.base_revision < 0) return false;
  return journal.records.some(({ record }) => record.rev > revision);
}
