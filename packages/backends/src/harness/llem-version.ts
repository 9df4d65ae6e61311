import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { LLEM_VERSION } from "@llem/schema";

/**
 * The llem version every file records (`llem_version`, the manifest's
 * `llenergymeasure_version`): the packages' version, and — when llem runs from a git checkout of
 * its own repository rather than from an install — the commit, and whether the tree had
 * uncommitted changes, as semver build metadata (tools that parse semver still can):
 *
 *   0.1.0                          installed from npm
 *   0.1.0+git.5e75beb4a1c2         a clean checkout at that commit
 *   0.1.0+git.5e75beb4a1c2.dirty   a checkout with changes to tracked files
 */
export function llemVersion(): string {
  cached ??= LLEM_VERSION + buildSuffix(checkoutRoot(fileURLToPath(import.meta.url)));
  return cached;
}

let cached: string | undefined;

/** The llem repository checkout `file` lies in, or null (an install under node_modules). */
export function checkoutRoot(file: string): string | null {
  if (file.split(sep).includes("node_modules")) return null;
  let dir = dirname(file);
  for (let depth = 0; depth < 8; depth++) {
    if (existsSync(join(dir, ".git")) && isLlemRepository(dir)) return dir;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return null;
}

function isLlemRepository(dir: string): boolean {
  try {
    return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name === "llem-monorepo";
  } catch {
    return false;
  }
}

function buildSuffix(root: string | null): string {
  if (root === null) return "";
  const git = (args: string[]) =>
    execFileSync("git", ["-C", root, ...args], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  try {
    const commit = git(["rev-parse", "HEAD"]).slice(0, 12);
    if (!/^[0-9a-f]{12}$/.test(commit)) return "";
    const dirty = git(["status", "--porcelain", "--untracked-files=no"]) !== "";
    return `+git.${commit}${dirty ? ".dirty" : ""}`;
  } catch {
    return ""; // no git binary, or not a repository after all: the version alone
  }
}
