import { randomUUID } from "node:crypto";
import { readdir, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { LlemError } from "@llem/schema";
import { describeSystemError, errnoOf, writeJsonAtomic } from "./atomic.js";
import {
  DEFAULT_LOCK_STALE_MS,
  LOCK_DIR_NAME,
  LOCK_INTENT_FILE_PREFIX,
  LOCK_OWNER_FILE_NAME,
  MANIFEST_FILE_NAME,
} from "./constants.js";
import { dirIdentity, guardedLockFs, LockFence } from "./lock-fence.js";

/** Contents of the owner file next to the lock (snake_case: it is read by other tools). */
export interface LockOwner {
  host: string;
  pid: number;
  /** When the lock was taken, ISO-8601 UTC. */
  since: string;
  /** Identifies one acquisition, so a holder never deletes someone else's owner file. */
  token: string;
  /** Inode of the lock directory this owner file describes (guards against a stale file). */
  lock_ino?: number;
  worker?: string;
}

export interface AcquireOptions {
  /** How long to keep trying while another live process holds the lock. */
  waitMs: number;
  staleMs?: number;
  worker?: string;
  /** Called (once, with MANIFEST_LOCK_COMPROMISED) if the lock is lost while held; must not throw. */
  onCompromised: (error: LlemError) => void;
}

export interface HeldLock {
  readonly owner: LockOwner;
  /**
   * Resolves while this process still holds the lock; rejects with MANIFEST_LOCK_COMPROMISED
   * once it does not (lock-fence.ts). Call it just before each write into the study directory.
   */
  verify(): Promise<void>;
  /** Removes the owner file and the lock directory — only if they are still ours. */
  release(): Promise<void>;
}

export function lockPaths(studyDir: string) {
  return {
    target: join(studyDir, MANIFEST_FILE_NAME),
    lockDir: join(studyDir, LOCK_DIR_NAME),
    ownerFile: join(studyDir, LOCK_OWNER_FILE_NAME),
  };
}

/** An owner or intent file, or undefined when it is missing or does not name a host and pid. */
async function readProcessFile<T extends { host: string; pid: number }>(
  path: string,
): Promise<T | undefined> {
  try {
    const value = JSON.parse(await readFile(path, "utf8")) as Partial<T>;
    if (typeof value.host !== "string" || typeof value.pid !== "number") return undefined;
    return value as T;
  } catch {
    return undefined;
  }
}

const readOwnerFile = (path: string) => readProcessFile<LockOwner>(path);
const readIntentFile = (path: string) => readProcessFile<LockIntent>(path);

/** True when `pid` certainly does not exist on this machine. */
export function isProcessDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/**
 * The current holder of a study's lock, or null when the study is not locked. For `llem status`
 * and error messages; advisory (the holder may release it a moment later).
 */
export async function readLockOwner(studyDir: string): Promise<LockOwner | null> {
  const { lockDir, ownerFile } = lockPaths(studyDir);
  let lockIno: number;
  try {
    lockIno = (await stat(lockDir)).ino;
  } catch {
    return null;
  }
  const owner = await readOwnerFile(ownerFile);
  if (owner === undefined || (owner.lock_ino !== undefined && owner.lock_ino !== lockIno)) {
    return { host: "unknown", pid: 0, since: "unknown", token: "" };
  }
  return owner;
}

function describeOwner(owner: LockOwner | null): string {
  if (owner === null || owner.pid === 0) return "an unknown process (no owner file)";
  return `pid ${owner.pid} on host ${owner.host} since ${owner.since}`;
}

/** MANIFEST_WRITE_FAILED for a lock that could not be taken because `file` could not be written. */
function lockFailed(studyDir: string, file: string, error: unknown): LlemError {
  const cause = LlemError.isInstance(error) && error.cause !== undefined ? error.cause : error;
  return new LlemError(
    "MANIFEST_WRITE_FAILED",
    `Could not take the study lock in ${studyDir}: writing ${file} failed: ${describeSystemError(cause)}.`,
    { cause: error, details: { file, errno_code: errnoOf(cause) } },
  );
}

/**
 * Takes the study lock (proper-lockfile: an mkdir'd directory with an mtime heartbeat), then
 * records the owner. A lock whose holder is provably dead (same host, pid gone) is taken over at
 * once; any other lock only once its heartbeat is older than `staleMs`.
 *
 * The holder's intent file exists from before the lock directory is made until after the owner
 * file is written, so at every moment a live holder is visible through one of the two. A holder
 * killed between mkdir and the owner file leaves only its intent, whose pid is dead.
 */
export async function acquireStudyLock(
  studyDir: string,
  options: AcquireOptions,
): Promise<HeldLock> {
  const intentFile = join(studyDir, `${LOCK_INTENT_FILE_PREFIX}${process.pid}.json`);
  const writeIntent = async (intent: LockIntent) => {
    try {
      // Twice at most: the lock's holder may have swept our temp file for a dead writer's
      // (a pid that is dead on its host but alive on ours), which fails the first rename.
      await writeJsonAtomic(intentFile, intent, { fsync: false }).catch(() =>
        writeJsonAtomic(intentFile, intent, { fsync: false }),
      );
    } catch (error) {
      throw lockFailed(studyDir, intentFile, error);
    }
  };
  try {
    return await acquireWithIntent(studyDir, options, writeIntent);
  } finally {
    await unlink(intentFile).catch(() => {});
  }
}

/**
 * Removes what processes that were killed while taking the lock left behind: their intent files
 * and the temp files of intents they were writing (`.<intent>.<pid>.<random>.tmp`). Called by the
 * lock's holder. A file is left only by a dead writer — one whose pid is gone on this host — or
 * one older than `staleMs` (a writer on another host replaces its intent far more often than
 * that while it is alive). Returns the names removed.
 */
export async function sweepAbandonedIntents(
  studyDir: string,
  staleMs: number = DEFAULT_LOCK_STALE_MS,
): Promise<string[]> {
  const names = await readdir(studyDir).catch(() => [] as string[]);
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    const temp = INTENT_TEMP.exec(name);
    const intent = INTENT.exec(name);
    if (temp === null && intent === null) continue;
    const path = join(studyDir, name);
    let abandoned: boolean;
    if (temp !== null) {
      abandoned = isProcessDead(Number(temp[1]));
    } else {
      const content = await readIntentFile(path);
      abandoned =
        content !== undefined && content.host === hostname() && isProcessDead(content.pid);
    }
    if (!abandoned) {
      const age = await stat(path).then(
        (stats) => now - stats.mtimeMs,
        () => 0,
      );
      abandoned = age > staleMs;
    }
    if (!abandoned) continue;
    const gone = await unlink(path).then(
      () => true,
      () => false,
    );
    if (gone) removed.push(name);
  }
  return removed;
}

const escapedPrefix = LOCK_INTENT_FILE_PREFIX.replaceAll(".", "\\.");
/** `study_manifest.lock-intent.<pid>.json`. */
const INTENT = new RegExp(`^${escapedPrefix}\\d+\\.json$`);
/** The temp file of an intent being written; group 1 is the writing process's pid. */
const INTENT_TEMP = new RegExp(`^\\.${escapedPrefix}\\d+\\.json\\.(\\d+)\\.[^.]+\\.tmp$`);

/**
 * An intent file: `acquiring` from before an mkdir attempt; `waiting` after one failed, naming the
 * lock directory (inode) it found, which this process then certainly does not hold.
 */
interface LockIntent {
  host: string;
  pid: number;
  state: "acquiring" | "waiting";
  lock_ino?: number;
}

async function acquireWithIntent(
  studyDir: string,
  options: AcquireOptions,
  writeIntent: (intent: LockIntent) => Promise<void>,
): Promise<HeldLock> {
  const { target, lockDir, ownerFile } = lockPaths(studyDir);
  const me = { host: hostname(), pid: process.pid };
  const staleMs = options.staleMs ?? DEFAULT_LOCK_STALE_MS;
  const deadline = Date.now() + options.waitMs;
  let delayMs = 5;
  // Loaded here, not at the top: readers (`llem status`, readLockOwner) never take the lock, and
  // proper-lockfile with graceful-fs costs ~15 ms to load.
  const { default: lockfile } = await import("proper-lockfile");
  for (;;) {
    let release: () => Promise<void>;
    await writeIntent({ ...me, state: "acquiring" });
    const guard = guardedLockFs();
    let fence: LockFence | undefined;
    let compromisedEarly: Error | undefined;
    try {
      release = await lockfile.lock(target, {
        realpath: false,
        lockfilePath: lockDir,
        stale: staleMs,
        update: Math.max(1000, Math.floor(staleMs / 3)),
        retries: 0,
        fs: guard.fs,
        onCompromised: (error) => {
          if (fence === undefined) {
            compromisedEarly ??= error;
            return;
          }
          if (fence.isLost) return;
          options.onCompromised(fence.noteLost(error.message, error));
        },
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ELOCKED") {
        throw lockFailed(studyDir, lockDir, error);
      }
      const seen = await stat(lockDir).then(
        (lock) => lock.ino,
        () => undefined,
      );
      await writeIntent({
        ...me,
        state: "waiting",
        ...(seen === undefined ? {} : { lock_ino: seen }),
      });
      if (await takeOverIfHolderDead(lockDir, ownerFile)) continue;
      if (await takeOverIfOrphaned(studyDir, lockDir, seen, ownerFile)) continue;
      const now = Date.now();
      if (now >= deadline) {
        const holder = await readLockOwner(studyDir);
        throw new LlemError(
          "MANIFEST_LOCKED",
          `Study ${studyDir} is in use by ${describeOwner(holder)} (lock ${lockDir}). ` +
            `Wait for it to finish or stop it. A lock left by a killed process is recovered automatically: ` +
            `at once on the same host, otherwise after ${Math.round(staleMs / 1000)} s.`,
          { details: { lock: lockDir, holder } },
        );
      }
      await sleep(Math.min(delayMs * (0.5 + Math.random()), deadline - now));
      delayMs = Math.min(delayMs * 1.6, 200);
      continue;
    }
    const owner: LockOwner = {
      host: hostname(),
      pid: process.pid,
      since: new Date().toISOString(),
      token: randomUUID(),
      ...(options.worker === undefined ? {} : { worker: options.worker }),
    };
    try {
      const lockDirIdentity = await dirIdentity(lockDir);
      guard.own(lockDirIdentity);
      owner.lock_ino = lockDirIdentity.ino;
      // Advisory: not fsynced. After a power loss a bad owner file only means "unknown holder".
      await writeJsonAtomic(ownerFile, owner, { fsync: false });
      const ownerStats = await stat(ownerFile).catch(() => undefined);
      fence = new LockFence(
        { studyDir, lockDir, ownerFile, token: owner.token, lockDirIdentity },
        ownerStats,
      );
    } catch (error) {
      await release().catch(() => {});
      throw error;
    }
    const held = fence;
    if (compromisedEarly !== undefined) {
      options.onCompromised(held.noteLost(compromisedEarly.message, compromisedEarly));
    }
    return {
      owner,
      verify: () => held.verify(),
      release: async () => {
        const current = await readOwnerFile(ownerFile);
        if (current?.token === owner.token) await unlink(ownerFile).catch(() => {});
        await release().catch(() => {}); // ERELEASED after a compromise: nothing left to release
      },
    };
  }
}

/**
 * When the owner file says the holder ran on this host and its pid is gone, ages the lock
 * directory so that proper-lockfile's own stale takeover reclaims it on the next attempt. The
 * inode check makes sure the owner file describes this lock and not an earlier one.
 */
async function takeOverIfHolderDead(lockDir: string, ownerFile: string): Promise<boolean> {
  const owner = await readOwnerFile(ownerFile);
  if (owner === undefined || owner.host !== hostname() || owner.pid === process.pid) return false;
  if (!isProcessDead(owner.pid)) return false;
  try {
    const [lockStat, ownerStat] = await Promise.all([stat(lockDir), stat(ownerFile)]);
    if (lockStat.ino !== owner.lock_ino) return false;
    // An owner file older than the lock directory describes an earlier lock whose inode was reused.
    if (lockStat.birthtimeMs === 0 || ownerStat.mtimeMs < lockStat.birthtimeMs) return false;
    await utimes(lockDir, 0, 0);
    return true;
  } catch {
    return false; // the lock went away meanwhile: just try again
  }
}

/**
 * A lock directory without an owner file describing it belongs to a process between mkdir and
 * writing that file — or to one killed there. Every such process has an intent file: when every
 * intent on record is from this host and its pid is gone, no live process can hold the lock, so
 * it is aged for proper-lockfile's stale takeover. Dead intents are removed on the way. With no
 * intent at all (a lock from another host's process, or left by a power loss) nothing is known,
 * and the stale rule applies.
 * `lockIno` is the lock directory's inode at the caller's first look (undefined: already gone).
 */
async function takeOverIfOrphaned(
  studyDir: string,
  lockDir: string,
  lockIno: number | undefined,
  ownerFile: string,
): Promise<boolean> {
  if (lockIno === undefined) return true; // the lock went away meanwhile: just try again
  const describesLock = async () => (await readOwnerFile(ownerFile))?.lock_ino === lockIno;
  if (await describesLock()) return false;
  const intents = (await readdir(studyDir).catch(() => [] as string[])).filter(
    (name) => name.startsWith(LOCK_INTENT_FILE_PREFIX) && name.endsWith(".json"),
  );
  let deadIntents = 0;
  for (const name of intents) {
    const path = join(studyDir, name);
    const intent = await readIntentFile(path);
    if (intent === undefined) continue; // gone meanwhile
    if (intent.host === hostname() && intent.pid === process.pid) continue;
    // Failed to take this very lock, so it does not hold it (alive or not).
    if (intent.state === "waiting" && intent.lock_ino === lockIno) continue;
    if (intent.host !== hostname() || !isProcessDead(intent.pid)) return false;
    await unlink(path).catch(() => {});
    deadIntents++;
  }
  if (deadIntents === 0) return false;
  try {
    // A holder that wrote its owner file (and dropped its intent) after the listing is seen
    // here; a lock replaced since the first look has another inode.
    if (await describesLock()) return false;
    if ((await stat(lockDir)).ino !== lockIno) return false;
    await utimes(lockDir, 0, 0);
    return true;
  } catch {
    return true; // the lock went away meanwhile: just try again
  }
}
