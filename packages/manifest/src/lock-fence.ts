/**
 * Fencing: "does this process still hold the study lock?", asked just before every write into
 * the study directory, so that a holder that lost the lock without noticing (SIGSTOPped past
 * the stale period, a laptop that slept, an event loop that stalled) never replaces what the
 * process that took the study over wrote.
 *
 * Invariants:
 * 1. A lock is ours while its directory is the one our mkdir created — same inode and birth
 *    time, so a new directory that reuses the inode number is not mistaken for ours — and the
 *    owner file beside it is the one we wrote (same inode, mtime and size; if those changed, its
 *    token must still be ours).
 * 2. Once a check fails, the lock stays lost for this process: every later check fails too.
 * 3. Releasing, or exiting, never removes a lock directory that is not ours: the rmdir that
 *    proper-lockfile makes on release and at process exit goes through a guard that leaves any
 *    other directory in place.
 *
 * A check and the write it guards are two steps, so a holder stopped between them can still
 * write once; the check makes that window a few system calls wide instead of the whole stop.
 */
import * as nodeFs from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { LlemError } from "@llem/schema";

/** Tells one lock directory from another that took its place. */
export interface DirIdentity {
  ino: number;
  /** 0 where the file system does not record birth times (then the inode alone decides). */
  birthtimeMs: number;
}

/** Tells the owner file we wrote from one written after it. */
interface FileIdentity {
  ino: number;
  mtimeMs: number;
  size: number;
}

function sameDir(stats: nodeFs.Stats, identity: DirIdentity): boolean {
  return stats.ino === identity.ino && stats.birthtimeMs === identity.birthtimeMs;
}

function fileIdentity(stats: nodeFs.Stats): FileIdentity {
  return { ino: stats.ino, mtimeMs: stats.mtimeMs, size: stats.size };
}

export async function dirIdentity(path: string): Promise<DirIdentity> {
  const stats = await stat(path);
  return { ino: stats.ino, birthtimeMs: stats.birthtimeMs };
}

/**
 * The fs that proper-lockfile is given for one acquisition: node's own, except that once `own()`
 * has named our lock directory, `rmdir`/`rmdirSync` (release, and proper-lockfile's exit handler)
 * remove a directory at that path only if it is still ours. Before that, rmdir is plain: taking
 * over a stale lock removes someone else's directory on purpose.
 */
export function guardedLockFs(): { fs: typeof nodeFs; own(identity: DirIdentity): void } {
  let owned: DirIdentity | undefined;
  const fs = {
    ...nodeFs,
    rmdir(path: nodeFs.PathLike, callback: nodeFs.NoParamCallback) {
      if (owned === undefined) return nodeFs.rmdir(path, callback);
      const ours = owned;
      nodeFs.stat(path, (error, stats) => {
        if (error) return callback(error);
        if (!sameDir(stats, ours)) return callback(null); // another holder's: leave it
        nodeFs.rmdir(path, callback);
      });
    },
    rmdirSync(path: nodeFs.PathLike) {
      if (owned !== undefined) {
        try {
          if (!sameDir(nodeFs.statSync(path), owned)) return;
        } catch {
          return;
        }
      }
      nodeFs.rmdirSync(path);
    },
  } as typeof nodeFs;
  return {
    fs,
    own(identity) {
      owned = identity;
    },
  };
}

export interface FenceTarget {
  studyDir: string;
  lockDir: string;
  ownerFile: string;
  /** The token of the owner file we wrote. */
  token: string;
  lockDirIdentity: DirIdentity;
}

/**
 * Checks, with two `stat`s in the usual case, that this process still holds the lock described
 * by `target` (invariant 1). `noteLost` marks it lost for good (invariant 2), e.g. when
 * proper-lockfile reports that the lock was compromised.
 */
export class LockFence {
  private readonly target: FenceTarget;
  private ownerIdentity: FileIdentity | undefined;
  private lost: LlemError | undefined;

  constructor(target: FenceTarget, ownerStats: nodeFs.Stats | undefined) {
    this.target = target;
    this.ownerIdentity = ownerStats && fileIdentity(ownerStats);
  }

  get isLost(): boolean {
    return this.lost !== undefined;
  }

  noteLost(reason: string, cause?: unknown): LlemError {
    this.lost ??= lockLost(this.target, reason, cause);
    return this.lost;
  }

  /**
   * Resolves while the lock is ours; throws MANIFEST_LOCK_COMPROMISED otherwise. The two `stat`s
   * are synchronous on purpose: a few microseconds each on a local disk, where two trips through
   * libuv's thread pool cost ~0.1 ms per transition on a loaded machine (bench/manifest.mjs).
   */
  async verify(): Promise<void> {
    if (this.lost !== undefined) throw this.lost;
    const { lockDir, ownerFile, token, lockDirIdentity } = this.target;
    const dir = statOrUndefined(lockDir);
    const owner = statOrUndefined(ownerFile);
    if (dir === undefined) throw this.noteLost(`its lock directory ${lockDir} was removed`);
    if (!sameDir(dir, lockDirIdentity)) {
      throw this.noteLost(`its lock directory ${lockDir} was replaced by another process's`);
    }
    const known = this.ownerIdentity;
    if (
      owner !== undefined &&
      known !== undefined &&
      owner.ino === known.ino &&
      owner.mtimeMs === known.mtimeMs &&
      owner.size === known.size
    ) {
      return;
    }
    // The owner file changed (or could not be read): ours only if it still carries our token.
    const current = await readFile(ownerFile, "utf8").then(
      (text) => JSON.parse(text) as { token?: unknown },
      () => undefined,
    );
    if (this.lost !== undefined) throw this.lost;
    if (current?.token !== token) {
      throw this.noteLost(`the owner file ${ownerFile} names another holder`);
    }
    this.ownerIdentity = owner && fileIdentity(owner);
  }
}

function statOrUndefined(path: string): nodeFs.Stats | undefined {
  return nodeFs.statSync(path, { throwIfNoEntry: false });
}

/** MANIFEST_LOCK_COMPROMISED: this process must not write to the study any more. */
function lockLost(target: FenceTarget, reason: string, cause?: unknown): LlemError {
  return new LlemError(
    "MANIFEST_LOCK_COMPROMISED",
    `This process no longer holds the lock on ${target.studyDir}: ${reason}. Another process may ` +
      "have taken the study over (a holder stopped or stalled past the lock's stale period loses " +
      "it). Nothing was written after the loss; open the study again to continue.",
    { cause, details: { file: target.lockDir, reason } },
  );
}
