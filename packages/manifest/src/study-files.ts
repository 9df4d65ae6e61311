/**
 * Where a caller may write inside a study directory (`ManifestStore.writeFileFenced`): a path
 * relative to the study directory (or absolute, inside it), never outside it — not through `..`,
 * not through a symbolic link — and never over this package's own files (the manifest, its
 * backup, the journal, the lock and its owner and intent files), which only the store writes.
 */
import { realpath } from "node:fs/promises";
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { LlemError } from "@llem/schema";
import { isTempFileOf } from "./atomic.js";
import {
  JOURNAL_FILE_NAME,
  LOCK_DIR_NAME,
  LOCK_INTENT_FILE_PREFIX,
  LOCK_OWNER_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  MANIFEST_FILE_NAME,
} from "./constants.js";

const RESERVED = [
  MANIFEST_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  JOURNAL_FILE_NAME,
  LOCK_DIR_NAME,
  LOCK_OWNER_FILE_NAME,
];

export interface StudyFile {
  absolute: string;
  /** Relative to the study directory, with `/` separators (what the manifest records). */
  relative: string;
}

/** Resolves `path` inside `studyDir`, or throws MANIFEST_WRITE_FAILED saying why not. */
export function resolveStudyFile(studyDir: string, path: string): StudyFile {
  const absolute = isAbsolute(path) ? resolve(path) : resolve(studyDir, path);
  const inside = relative(resolve(studyDir), absolute);
  if (inside === "" || inside === ".." || inside.startsWith(`..${sep}`) || isAbsolute(inside)) {
    throw refused(
      studyDir,
      path,
      "outside_study_dir",
      "it is not a file inside the study directory",
    );
  }
  const first = inside.split(sep)[0]!;
  if (
    RESERVED.includes(first) ||
    first.startsWith(LOCK_INTENT_FILE_PREFIX) ||
    RESERVED.some((name) => isTempFileOf(first, name))
  ) {
    throw refused(studyDir, path, "reserved", `${first} is the manifest store's own file`);
  }
  return { absolute, relative: inside.split(sep).join("/") };
}

/** Throws unless `directory` (which exists) is inside `studyDir` once symbolic links are resolved. */
export async function assertRealDirectoryInside(
  studyDir: string,
  directory: string,
  path: string,
): Promise<void> {
  const [realStudyDir, realDirectory] = await Promise.all([
    realpath(studyDir),
    realpath(directory),
  ]);
  if (realDirectory === realStudyDir || realDirectory.startsWith(join(realStudyDir, sep))) return;
  throw refused(
    studyDir,
    path,
    "outside_study_dir",
    `its directory resolves to ${realDirectory}, outside the study directory (a symbolic link)`,
  );
}

function refused(studyDir: string, path: string, reason: string, why: string): LlemError {
  return new LlemError(
    "MANIFEST_WRITE_FAILED",
    `Refused to write ${path} into the study ${studyDir}: ${why}. Nothing was written.`,
    { details: { file: path, study_dir: studyDir, reason } },
  );
}
