import { randomUUID } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { LlemError } from "@llem/schema";
import { type ManifestFs, nodeFs } from "./fs-layer.js";

export interface WriteAtomicOptions {
  /** Flush data and directory to disk (default true). Off only for advisory files. */
  fsync?: boolean;
  /** Keep the version being replaced under this path (a hard link: no copy of the data). */
  keepPreviousAs?: string;
  /**
   * Runs once the new content is complete and flushed in its temp file, just before anything that
   * exists is touched (the backup, then the rename). If it throws, the temp file is removed,
   * nothing is replaced, and its error is rethrown as it is. A fence: "am I still allowed to write?"
   */
  beforeRename?: () => Promise<void> | void;
  /** File-system layer (tests inject failures here). */
  fs?: ManifestFs;
}

const TEMP_SUFFIX = ".tmp";

/** `.name.<pid>.<random>.tmp` in the same directory: same file system, so rename is atomic. */
export function tempPathFor(path: string): string {
  const random = randomUUID().slice(0, 8);
  return join(dirname(path), `.${basename(path)}.${process.pid}.${random}${TEMP_SUFFIX}`);
}

/** True for a temp file that {@link tempPathFor} made for `fileName`. */
export function isTempFileOf(entryName: string, fileName: string): boolean {
  return entryName.startsWith(`.${fileName}.`) && entryName.endsWith(TEMP_SUFFIX);
}

/**
 * Durable atomic replace: exclusive-create a unique temp file beside `path` → write → fsync →
 * (`beforeRename`) → rename over `path` → fsync the directory. A reader sees the old file or the
 * new one, never a torn one; a crash at any point leaves the previous version intact. The temp
 * file is removed on error.
 *
 * Errors: every failure rejects (nothing is swallowed but an fsync of a directory that the file
 * system cannot fsync). A system error becomes `MANIFEST_WRITE_FAILED` naming the file, with the
 * system's message and `details.errno_code` (ENOSPC, EROFS …) and the original as `cause`; an
 * `LlemError` (e.g. from `beforeRename`) is rethrown as it is. A failure before the rename leaves
 * the previous version; one after it (flushing the directory) says that the new version is in
 * place but may not survive a power loss (`details.phase: "fsync-directory"`).
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteAtomicOptions = {},
): Promise<void> {
  const fs = options.fs ?? nodeFs;
  const fsync = options.fsync ?? true;
  const tempPath = tempPathFor(path);
  let handle: Awaited<ReturnType<ManifestFs["open"]>> | undefined;
  try {
    handle = await fs.open(tempPath, "wx", 0o644);
    await handle.writeFile(data);
    if (fsync) await handle.sync();
    await handle.close();
    handle = undefined;
    await options.beforeRename?.();
    if (options.keepPreviousAs !== undefined) await keepPrevious(fs, path, options.keepPreviousAs);
    await fs.rename(tempPath, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await fs.rm(tempPath, { force: true }).catch(() => {});
    throw writeFailed(path, error);
  }
  if (!fsync) return;
  try {
    await fsyncDirectory(dirname(path), fs);
  } catch (error) {
    const cause = LlemError.isInstance(error) && error.cause !== undefined ? error.cause : error;
    throw new LlemError(
      "MANIFEST_WRITE_FAILED",
      `${path} was replaced, but flushing its directory to disk failed: ${describeSystemError(cause)}. ` +
        "The new version is in place but may not survive a power loss.",
      {
        cause,
        details: { file: path, errno_code: errnoOf(cause), phase: "fsync-directory" },
      },
    );
  }
}

/** {@link writeFileAtomic} of `JSON.stringify(value, null, 2)` plus a final newline. */
export async function writeJsonAtomic(
  path: string,
  value: unknown,
  options: WriteAtomicOptions = {},
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/**
 * Makes renames and creations in `directory` durable. Best effort: some network file systems
 * refuse to fsync a directory (EINVAL), and there is nothing better to do there.
 */
export async function fsyncDirectory(directory: string, fs: ManifestFs = nodeFs): Promise<void> {
  let handle: Awaited<ReturnType<ManifestFs["open"]>> | undefined;
  try {
    handle = await fs.open(directory, "r");
    await handle.sync();
  } catch (error) {
    const code = errnoOf(error);
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR") {
      throw new LlemError(
        "MANIFEST_WRITE_FAILED",
        `Could not flush the directory ${directory} to disk: ${describeSystemError(error)}.`,
        { cause: error, details: { file: directory, errno_code: code } },
      );
    }
  } finally {
    await handle?.close().catch(() => {});
  }
}

/** Hard-links the current file to `backupPath` (atomically replacing it); copies where links fail. */
async function keepPrevious(fs: ManifestFs, path: string, backupPath: string): Promise<void> {
  const tempBackup = tempPathFor(backupPath);
  try {
    await fs.link(path, tempBackup);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return; // nothing to keep yet
    await fs.copyFile(path, tempBackup);
  }
  try {
    await fs.rename(tempBackup, backupPath);
  } finally {
    // rename() is a no-op when both names already link the same file (a writer killed between
    // updating the backup and replacing the manifest), which would leave the temp name behind.
    await fs.rm(tempBackup, { force: true }).catch(() => {});
  }
}

/** Removes temp files a killed writer left for `fileNames` in `directory`; returns their names. */
export async function sweepTempFiles(
  directory: string,
  fileNames: readonly string[],
  fs: ManifestFs = nodeFs,
): Promise<string[]> {
  const removed: string[] = [];
  let names: string[];
  try {
    names = await fs.readdir(directory);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!fileNames.some((fileName) => isTempFileOf(name, fileName))) continue;
    const gone = await fs.rm(join(directory, name), { force: true }).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(name);
  }
  return removed;
}

/**
 * Creates `directory` and any missing parents, like `mkdir -p`, reporting the real reason when it
 * cannot: Node's recursive mkdir says ENOENT when a parent cannot be created on a read-only file
 * system (EROFS), so on ENOENT the missing parents are created one by one, which fails with the
 * real error. Throws MANIFEST_WRITE_FAILED naming the directory and the errno (details.errno_code).
 */
export async function makeDirectory(directory: string, fs: ManifestFs = nodeFs): Promise<void> {
  try {
    await fs.mkdir(directory, { recursive: true });
    return;
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw directoryFailed(directory, error);
  }
  const missing: string[] = [];
  for (let path = resolve(directory); ; path = dirname(path)) {
    if (
      await fs.stat(path).then(
        () => true,
        () => false,
      )
    )
      break;
    missing.push(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing.reverse()) {
    try {
      await fs.mkdir(path);
    } catch (error) {
      if (errnoOf(error) !== "EEXIST") throw directoryFailed(directory, error);
    }
  }
}

function directoryFailed(directory: string, error: unknown): LlemError {
  return new LlemError(
    "MANIFEST_WRITE_FAILED",
    `Could not create the directory ${directory}: ${describeSystemError(error)}.`,
    { cause: error, details: { file: directory, errno_code: errnoOf(error) } },
  );
}

/** The errno code of a system error (`"ENOSPC"`, `"EROFS"` …), or undefined. */
export function errnoOf(error: unknown): string | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

/** What people need to act on a system error, after the system's own message. */
const ERRNO_HINTS: Record<string, string> = {
  EROFS: "the file system is mounted read-only",
  EACCES: "permission denied: this user may not write there",
  EPERM: "operation not permitted (permissions, or an immutable file)",
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  ENOTDIR: "a part of the path is a file, not a directory",
};

/** The system's message, plus a hint for the errors people hit most (`EROFS: … (read-only)`). */
export function describeSystemError(error: unknown): string {
  const reason = error instanceof Error ? error.message : String(error);
  const hint = ERRNO_HINTS[errnoOf(error) ?? ""];
  return hint === undefined ? reason : `${reason} (${hint})`;
}

export function writeFailed(path: string, error: unknown): LlemError {
  if (LlemError.isInstance(error)) return error;
  return new LlemError(
    "MANIFEST_WRITE_FAILED",
    `Could not write ${path}: ${describeSystemError(error)}. The previous version of the file is intact.`,
    { cause: error, details: { file: path, errno_code: errnoOf(error) } },
  );
}
