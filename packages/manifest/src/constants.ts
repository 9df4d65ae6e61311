/** The complete, current manifest other tools read (seed format, `schema_version` "2.0"). */
export const MANIFEST_FILE_NAME = "study_manifest.json";
/** The previous version of the manifest, kept as a hard link each time the manifest is replaced. */
export const MANIFEST_BACKUP_FILE_NAME = "study_manifest.json.bak";
/** Append-only log of transitions not yet folded into the manifest (NDJSON, one record a line). */
export const JOURNAL_FILE_NAME = "study_manifest.journal.ndjson";
/** proper-lockfile's lock directory: one writer per study directory. */
export const LOCK_DIR_NAME = "study_manifest.json.lock";
/** Who holds the lock (host, pid, since), for error messages and `llem status`. */
export const LOCK_OWNER_FILE_NAME = "study_manifest.lock-owner.json";
/**
 * A process about to take the lock first writes `<prefix><pid>.json` (host, pid) and removes it
 * once its owner file is written, so a lock left by a process killed between the two is known
 * to have a dead holder (lock.ts, `takeOverIfOrphaned`).
 */
export const LOCK_INTENT_FILE_PREFIX = "study_manifest.lock-intent.";

/**
 * Manifests of up to this many runs are written pretty-printed (people read them); larger ones
 * are written compactly (no indentation), which makes them a third smaller and faster to read.
 * Readers accept both.
 */
export const PRETTY_MANIFEST_MAX_RUNS = 1000;
/** Studies up to this size rewrite the manifest on every transition (as the seed says). */
export const DEFAULT_SNAPSHOT_EVERY_TRANSITION_UP_TO = 1000;
/** Larger studies rewrite the manifest at most this long after a change (plus the write itself). */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 1000;
/** Rewrite the journal (dropping records the manifest already holds) once it exceeds this size. */
export const DEFAULT_JOURNAL_COMPACT_BYTES = 4 * 1024 * 1024;
/** A lock whose heartbeat is older than this is taken over (holder on another host, or unknown). */
export const DEFAULT_LOCK_STALE_MS = 30_000;
/** A lease whose heartbeat is older than this is claimable by another worker. */
export const DEFAULT_LEASE_TTL_MS = 5 * 60_000;
