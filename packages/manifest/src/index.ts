export {
  fsyncDirectory,
  makeDirectory,
  sweepTempFiles,
  type WriteAtomicOptions,
  writeFileAtomic,
  writeJsonAtomic,
} from "./atomic.js";
export {
  DEFAULT_LEASE_TTL_MS,
  DEFAULT_LOCK_STALE_MS,
  DEFAULT_SNAPSHOT_EVERY_TRANSITION_UP_TO,
  DEFAULT_SNAPSHOT_INTERVAL_MS,
  JOURNAL_FILE_NAME,
  LOCK_DIR_NAME,
  LOCK_INTENT_FILE_PREFIX,
  LOCK_OWNER_FILE_NAME,
  MANIFEST_BACKUP_FILE_NAME,
  MANIFEST_FILE_NAME,
  PRETTY_MANIFEST_MAX_RUNS,
} from "./constants.js";
export type { ManifestFs } from "./fs-layer.js";
export type { ClaimOptions } from "./leases.js";
export { isProcessDead, type LockOwner, readLockOwner } from "./lock.js";
export type {
  CreateOptions,
  DriftReport,
  FailureInfo,
  RunSpec,
  StoreOptions,
  WriteFencedOptions,
} from "./options.js";
export { type ReadOptions, readManifest } from "./read.js";
export type { RunCounts } from "./state.js";
export { ManifestStore } from "./store.js";
