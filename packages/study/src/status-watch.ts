import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { JOURNAL_FILE_NAME, LOCK_DIR_NAME, MANIFEST_FILE_NAME } from "@llem/manifest";
import { readStudyStatus } from "./status.js";
import type { StudyStatus } from "./types.js";

export interface WatchOptions {
  /** Stops the watch (the promise then resolves with the last status). */
  signal?: AbortSignal;
  /** How often the files are also checked by polling, ms (default 1000). */
  pollMs?: number;
  /** Quiet time after a file event before re-reading, ms (default 50): one write, one read. */
  debounceMs?: number;
}

/** Finished: the study ended (any way) and no process holds it. */
export function isStudyFinished(status: StudyStatus): boolean {
  return status.status !== "running" && status.lockHolder === null;
}

/** Size and mtime of the files a runner changes: manifest, journal, lock. */
async function signature(dir: string): Promise<string> {
  const parts = await Promise.all(
    [MANIFEST_FILE_NAME, JOURNAL_FILE_NAME, LOCK_DIR_NAME].map(async (name) => {
      const info = await stat(join(dir, name)).catch(() => undefined);
      return info ? `${info.size}:${info.mtimeMs}` : "-";
    }),
  );
  return parts.join("|");
}

/**
 * Follows a study that another process runs: calls `onStatus` with its status now and after
 * every change of its manifest, journal or lock, until the study is finished (resolves with the
 * final status) or `signal` aborts. Changes are noticed by `fs.watch` on the study dir, and by
 * polling as well — fs.watch is not reliable everywhere (network file systems, exhausted inotify
 * watches), and a poll that finds nothing new costs three stats. Lock-free, like readStudyStatus.
 */
export async function watchStudyStatus(
  studyDir: string,
  onStatus: (status: StudyStatus) => void,
  options: WatchOptions = {},
): Promise<StudyStatus> {
  const dir = resolve(studyDir);
  let last = await readStudyStatus(dir);
  onStatus(last);
  if (isStudyFinished(last) || options.signal?.aborted) return last;
  let seen = await signature(dir);
  return new Promise<StudyStatus>((resolvePromise, reject) => {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    let busy = false;
    let again = false;
    const stop = (error?: unknown) => {
      watcher?.close();
      clearInterval(poller);
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolvePromise(last);
    };
    const refresh = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      try {
        const now = await signature(dir);
        if (now !== seen) {
          seen = now;
          last = await readStudyStatus(dir);
          onStatus(last);
          if (isStudyFinished(last)) return stop();
        }
      } catch (error) {
        return stop(error);
      } finally {
        busy = false;
      }
      if (again) {
        again = false;
        void refresh();
      }
    };
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(() => void refresh(), options.debounceMs ?? 50);
    };
    const onAbort = () => stop();
    options.signal?.addEventListener("abort", onAbort);
    const poller = setInterval(() => void refresh(), options.pollMs ?? 1000);
    try {
      watcher = watch(dir, { persistent: true }, soon);
      watcher.on("error", () => {
        watcher?.close();
        watcher = undefined; // polling goes on
      });
    } catch {
      watcher = undefined; // no fs.watch here: polling alone
    }
  });
}
