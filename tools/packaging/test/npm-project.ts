/**
 * The two halves of a release, as a user meets it: the workspace's published packages packed
 * the way `changeset publish` ships them (`pnpm pack`, which rewrites `workspace:` ranges to
 * versions), and empty projects that install those tarballs with plain npm.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type ProcessOutcome, runProcess } from "@llem/test-utils";

export const REPO = fileURLToPath(new URL("../../..", import.meta.url));

export interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

export interface PackedPackage {
  name: string;
  version: string;
  /** The package's folder in the workspace. */
  dir: string;
  /** The `.tgz` that `pnpm pack` wrote. */
  tarball: string;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** Workspace packages under packages/ and apps/ without `"private": true`: what is published. */
export function publishedPackages(): { name: string; version: string; dir: string }[] {
  return ["packages", "apps"].flatMap((folder) =>
    readdirSync(join(REPO, folder))
      .map((name) => join(REPO, folder, name))
      .filter((dir) => existsSync(join(dir, "package.json")))
      .map((dir) => ({ dir, manifest: readJson<PackageJson>(join(dir, "package.json")) }))
      .filter(({ manifest }) => manifest.private !== true)
      .map(({ dir, manifest }) => ({ name: manifest.name, version: manifest.version, dir })),
  );
}

/** pnpm as it runs here: `pnpm` on PATH (as under `npx -y pnpm@10 …`), else through npx. */
function pnpm(): { command: string; args: string[] } {
  const onPath = spawnSync("pnpm", ["--version"], { stdio: "ignore" });
  return onPath.status === 0
    ? { command: "pnpm", args: [] }
    : { command: "npx", args: ["-y", "pnpm@10"] };
}

/** `pnpm pack` of every published package into `destination`, in one recursive call. */
export function packAll(destination: string): Map<string, PackedPackage> {
  const packages = publishedPackages();
  const { command, args } = pnpm();
  const filters = packages.flatMap(({ name }) => ["--filter", name]);
  execFileSync(command, [...args, "-r", ...filters, "pack", "--pack-destination", destination], {
    cwd: REPO,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const packed = new Map<string, PackedPackage>();
  for (const { name, version, dir } of packages) {
    // pnpm's file name: "@scope/name" → "scope-name-<version>.tgz".
    const tarball = join(destination, `${name.replace(/^@/, "").replace("/", "-")}-${version}.tgz`);
    if (!existsSync(tarball)) throw new Error(`pnpm pack wrote no ${tarball} for ${name}`);
    packed.set(name, { name, version, dir, tarball });
  }
  return packed;
}

/** The package.json inside a tarball, as npm will read it. */
export function packedManifest(tarball: string): PackageJson {
  return JSON.parse(
    execFileSync("tar", ["-xzOf", tarball, "package/package.json"], { encoding: "utf8" }),
  );
}

/**
 * The environment without what pnpm and npx set for their children (`npm_config_*` from the
 * workspace's settings, `npm_package_*`, `npm_lifecycle_*` …): npm would read those as its own
 * settings, and a user's shell has none of them.
 */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|NODE_OPTIONS$|LLEM_|VITEST|FORCE_COLOR$)/i.test(key)) continue;
    env[key] = value;
  }
  return { ...env, NO_COLOR: "1", ...extra };
}

const NPM_TIMEOUT_MS = 300_000;

/** Runs npm with the user's environment; throws with npm's output when it fails. */
export async function npm(cwd: string, args: string[]): Promise<ProcessOutcome> {
  const outcome = await runProcess(
    "npm",
    [...args, "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"],
    { cwd, env: userEnv({ npm_config_update_notifier: "false" }), timeoutMs: NPM_TIMEOUT_MS },
  );
  if (outcome.code !== 0) {
    throw new Error(
      `npm ${args.join(" ")} in ${cwd} failed (${outcome.code ?? outcome.signal}):\n${outcome.stdout}${outcome.stderr}`,
    );
  }
  return outcome;
}

/**
 * An empty npm project in `dir` (a package.json and nothing else), with `tarballs` installed by
 * `npm install` and the given flags (e.g. `--omit=optional`, or `--package-lock-only`).
 */
export async function npmProject(dir: string, tarballs: string[], flags: string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, "package.json"),
    `${JSON.stringify({ name: "empty-project", private: true, type: "module" }, null, 2)}\n`,
  );
  await npm(dir, ["install", ...flags, ...tarballs]);
}

/** The `packages` section of an npm project's package-lock.json. */
export function lockedPackages(
  dir: string,
): Record<string, { version?: string; resolved?: string; optional?: boolean }> {
  return readJson<{ packages: Record<string, { version?: string }> }>(
    join(dir, "package-lock.json"),
  ).packages;
}
