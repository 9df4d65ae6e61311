/**
 * `@llem/backends/files`: reading files someone else named without trusting them — regular files
 * only (never a FIFO or a device), opened non-blocking, at most a size limit (files/regular-file.ts).
 */
export {
  fileKind,
  formatBytes,
  openRegularFileSync,
  RegularFileError,
  type RegularFileProblem,
  readRegularFile,
  readRegularFileSync,
} from "./files/regular-file.js";
