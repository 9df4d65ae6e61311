import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";

/**
 * Reading a file someone else named (a study file, a dataset, a model, a file a manifest points
 * at) without trusting it: only a regular file is read — never a FIFO, a device or a socket,
 * which would block or never end (`/dev/zero`) — and never more than a limit, so one input cannot
 * take unbounded memory. Files are opened non-blocking (opening a FIFO for reading would otherwise
 * wait for a writer) and checked on the open descriptor, so what is read is what was checked.
 *
 *   await readRegularFile("study.yaml", { maxBytes: 1 << 20 })   → its bytes
 *   await readRegularFile("/dev/zero", …)     → RegularFileError kind "not-regular" ("a character device")
 *   await readRegularFile("big.yaml", …)      → RegularFileError kind "too-large"
 */

export type RegularFileProblem = "missing" | "not-regular" | "too-large" | "unreadable";

/** Why a file was not read; `reason` completes "<path> …" (callers add what the file was for). */
export class RegularFileError extends Error {
  constructor(
    readonly path: string,
    readonly problem: RegularFileProblem,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path} ${reason}`, options);
    this.name = "RegularFileError";
  }
}

/** What a non-regular file is, in words ("a FIFO"). */
export function fileKind(stats: Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isCharacterDevice()) return "a character device";
  if (stats.isBlockDevice()) return "a block device";
  if (stats.isSocket()) return "a socket";
  return "not a regular file";
}

/** "1.5 MiB", for limits and sizes in messages. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toPrecision(3))} ${units[unit]}`;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK;

function openFailure(path: string, error: unknown): RegularFileError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "ENOENT" || code === "ENOTDIR") {
    return new RegularFileError(path, "missing", "does not exist", { cause: error });
  }
  if (code === "EISDIR") {
    return new RegularFileError(path, "not-regular", "is a directory", { cause: error });
  }
  const why = code === "EACCES" || code === "EPERM" ? "permission denied" : (code ?? "error");
  return new RegularFileError(path, "unreadable", `cannot be read (${why})`, { cause: error });
}

function checked(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) {
    throw new RegularFileError(path, "not-regular", `is ${fileKind(stats)}, not a regular file`);
  }
  if (stats.size > maxBytes) {
    throw new RegularFileError(
      path,
      "too-large",
      `is ${formatBytes(stats.size)}, over the ${formatBytes(maxBytes)} limit`,
    );
  }
}

/** The bytes of a regular file of at most `maxBytes` (a file that grows past it is refused too). */
export async function readRegularFile(
  path: string,
  { maxBytes }: { maxBytes: number },
): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw openFailure(path, error);
  }
  try {
    checked(path, await handle.stat(), maxBytes);
    // Read to the end, but never past the limit: the size said at open time is not a promise.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(1 << 20, maxBytes + 1 - total));
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      chunks.push(buffer.subarray(0, bytesRead));
      total += bytesRead;
      if (total > maxBytes) {
        throw new RegularFileError(
          path,
          "too-large",
          `grew past the ${formatBytes(maxBytes)} limit while being read`,
        );
      }
    }
    return Buffer.concat(chunks, total);
  } catch (error) {
    if (error instanceof RegularFileError) throw error;
    throw openFailure(path, error);
  } finally {
    await handle.close();
  }
}

/**
 * A descriptor of a regular file, opened without blocking and checked (synchronously, for the
 * GGUF reader); the caller closes it. `maxBytes` defaults to no limit.
 */
export function openRegularFileSync(
  path: string,
  { maxBytes = Number.POSITIVE_INFINITY }: { maxBytes?: number } = {},
): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw openFailure(path, error);
  }
  try {
    const stats = fstatSync(fd);
    checked(path, stats, maxBytes);
    return { fd, size: stats.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** `readRegularFile`, synchronously (preflight checks run inside synchronous validation). */
export function readRegularFileSync(path: string, { maxBytes }: { maxBytes: number }): Buffer {
  const { fd, size } = openRegularFileSync(path, { maxBytes });
  try {
    const buffer = Buffer.allocUnsafe(Math.min(size, maxBytes) + 1);
    let total = 0;
    for (;;) {
      const bytesRead = readSync(fd, buffer, total, buffer.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) {
        throw new RegularFileError(
          path,
          "too-large",
          `grew past the ${formatBytes(maxBytes)} limit while being read`,
        );
      }
      if (total === buffer.length) break; // it grew: the next open sees the rest
    }
    return buffer.subarray(0, total);
  } catch (error) {
    if (error instanceof RegularFileError) throw error;
    throw openFailure(path, error);
  } finally {
    closeSync(fd);
  }
}
