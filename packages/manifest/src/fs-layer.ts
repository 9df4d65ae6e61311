import * as fsp from "node:fs/promises";

/**
 * The file-system calls this package makes. Injectable so that tests can simulate ENOSPC, EIO or
 * a read-only directory (root ignores permission bits, so chmod alone cannot).
 */
export type ManifestFs = Pick<
  typeof fsp,
  | "open"
  | "rename"
  | "link"
  | "unlink"
  | "rm"
  | "readFile"
  | "readdir"
  | "stat"
  | "mkdir"
  | "copyFile"
>;

export const nodeFs: ManifestFs = fsp;
