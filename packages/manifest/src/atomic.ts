import { randomUUID } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { LlemError } from "@llem/schema";
import { type ManifestFs, nodeFs } from "./fs-layer.js";

export interface WriteAtomicOptions {
  /** Flush data and directory to disk (default true). Off only for advisory files. */
  fsync?: boolean;
  /** Keep the version being replaced under this path (a hard link: no copy of the data). */
  keepPreviousAs?: string;
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
 * rename over `path` → fsync the directory. A reader sees the old file or the new one, never a
 * torn one; a crash at any point leaves the previous version intact. The temp file is removed on
 * error. Throws `MANIFEST_WRITE_FAILED` naming the file and the system error.
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
    if (options.keepPreviousAs !== undefined) await keepPrevious(fs, path, options.keepPreviousAs);
    await fs.rename(tempPath, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await fs.rm(tempPath, { force: true }).catch(() => {});
    throw writeFailed(path, error);
  }
  if (fsync) await fsyncDirectory(dirname(path), fs);
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
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EISDIR") {
      throw writeFailed(directory, error);
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
    await fs.rm(join(directory, name), { force: true }).catch(() => {});
    removed.push(name);
  }
  return removed;
}

export function writeFailed(path: string, error: unknown): LlemError {
  if (LlemError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reason = error instanceof Error ? error.message : String(error);
  return new LlemError(
    "MANIFEST_WRITE_FAILED",
    `Could not write ${path}: ${reason}. The previous version of the file is intact.`,
    { cause: error, details: { file: path, errno_code: code } },
  );
}
