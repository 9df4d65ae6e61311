import { closeSync, openSync, readSync, statSync } from "node:fs";

const TAIL_BYTES = 16 * 1024;

/**
 * The last `lines` lines a server wrote to its log since byte `from` (where its output began in
 * engine.log, which the experiment process writes to as well). Empty lines are dropped; null
 * when it wrote nothing.
 */
export function logTail(path: string, from: number, lines = 20): string | null {
  let fd: number | undefined;
  try {
    const size = statSync(path).size;
    const start = Math.max(from, size - TAIL_BYTES);
    if (size <= start) return null;
    const buffer = Buffer.alloc(size - start);
    fd = openSync(path, "r");
    readSync(fd, buffer, 0, buffer.length, start);
    const text = buffer
      .toString("utf8")
      .split(/\r?\n/)
      .filter((line) => line.trim() !== "");
    // A cut first line (the window started mid-line) is dropped unless it is all there is.
    if (start > from && text.length > 1) text.shift();
    return text.length === 0 ? null : text.slice(-lines).join("\n");
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
