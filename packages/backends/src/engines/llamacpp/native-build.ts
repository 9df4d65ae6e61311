import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { arch, cpus, hostname, platform } from "node:os";
import { join, relative } from "node:path";

/**
 * The native llama.cpp build: node-llama-cpp's addon (with llem's patch, so with the native
 * generation loop) compiled on this machine from the llama.cpp source node-llama-cpp ships, with
 * llama.cpp's defaults (OpenMP, `-march=native`) and this machine's compiler. It runs 2× faster
 * than the prebuilt binary in prompt processing and has the native loop (docs/engine-performance.md).
 *
 * Built once per machine, not per clone: the result lives in
 * `$LLEM_CACHE_DIR/llama-builds/<key>/`, keyed by everything that changes the binary (see
 * `NativeBuildInputs`), and each clone's node-llama-cpp gets a link to it in the place
 * node-llama-cpp looks for local builds (`llama/localBuilds/<folder>`, `llama/lastBuild.json`).
 * A second clone, or a reinstall, links in milliseconds; a changed patch, node-llama-cpp or
 * llama.cpp version, CPU or compiler builds anew.
 */

/** Bump when the way the build is made changes (options, steps), so old builds are not reused. */
const RECIPE = 1;

/** What decides the bytes of the binary; its hash is the cache key. */
export interface NativeBuildInputs {
  recipe: number;
  platform: string;
  arch: string;
  node_llama_cpp: string;
  /** llama.cpp release and the hash of the bundled source it is built from. */
  llama_cpp: string;
  llama_cpp_bundle_sha256: string;
  /** Hash of node-llama-cpp's addon sources and CMake files, as installed (llem's patch included). */
  addon_sources_sha256: string;
  /** `-march=native` compiles for this CPU: its model and instruction-set flags. */
  cpu: string;
  cpu_flags_sha256: string;
  /** First line of `c++ --version` and `cmake --version`. */
  compiler: string;
  cmake: string;
}

/** What `llama-builds/<key>/llem-build.json` records next to the binary. */
export interface NativeBuildRecord {
  key: string;
  inputs: NativeBuildInputs;
  /** node-llama-cpp's folder name for this build (e.g. linux-x64). */
  folder: string;
  built_at: string;
  build_seconds: number;
  size_bytes: number;
}

export interface Toolchain {
  ok: boolean;
  /** What is missing, when not ok. */
  reason: string;
  compiler: string;
  cmake: string;
}

function firstLine(command: string, args: string[]): string | null {
  const outcome = spawnSync(command, args, { encoding: "utf8", timeout: 10_000 });
  if (outcome.status !== 0 || typeof outcome.stdout !== "string") return null;
  return outcome.stdout.split("\n")[0]?.trim() || null;
}

/** cmake, a build tool and a C++ compiler: what node-llama-cpp's build needs (it never downloads one here). */
export function findToolchain(env: NodeJS.ProcessEnv = process.env): Toolchain {
  const cmake = firstLine("cmake", ["--version"]);
  const compiler = firstLine(env.CXX || "c++", ["--version"]);
  const buildTool = firstLine("ninja", ["--version"]) ?? firstLine("make", ["--version"]);
  const missing = [
    cmake ? null : "cmake",
    compiler ? null : `C++ compiler (${env.CXX || "c++"})`,
    buildTool ? null : "make or ninja",
  ].filter((item): item is string => item !== null);
  return {
    ok: missing.length === 0,
    reason: missing.length === 0 ? "" : `no ${missing.join(", no ")} on PATH`,
    compiler: compiler ?? "",
    cmake: cmake ?? "",
  };
}

function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Hash of every file under `dirs` (relative path + content), in a stable order. */
function hashTree(root: string, entries: string[]): string {
  const hash = createHash("sha256");
  const visit = (path: string): void => {
    const stat = statSync(path);
    if (stat.isDirectory()) {
      for (const name of readdirSync(path).sort()) visit(join(path, name));
      return;
    }
    hash.update(`${relative(root, path)}\0`);
    hash.update(readFileSync(path));
    hash.update("\0");
  };
  for (const entry of entries) if (existsSync(join(root, entry))) visit(join(root, entry));
  return hash.digest("hex");
}

function cpuIdentity(): { model: string; flags: string } {
  const model = cpus()[0]?.model.trim() ?? "unknown";
  if (platform() !== "linux") return { model, flags: "" };
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    // x86 says "flags", arm64 "Features".
    const flags = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(info)?.[1] ?? "";
    return { model, flags };
  } catch {
    return { model, flags: "" };
  }
}

export function nativeBuildInputs(
  nodeLlamaCppDir: string,
  toolchain: Toolchain,
): NativeBuildInputs {
  const llamaDir = join(nodeLlamaCppDir, "llama");
  const info = JSON.parse(readFileSync(join(llamaDir, "llama.cpp.info.json"), "utf8")) as {
    tag?: string;
    llamaCppGithubRepo?: string;
  };
  const version = (
    JSON.parse(readFileSync(join(nodeLlamaCppDir, "package.json"), "utf8")) as { version: string }
  ).version;
  const bundle = join(llamaDir, "gitRelease.bundle");
  const cpu = cpuIdentity();
  return {
    recipe: RECIPE,
    platform: platform(),
    arch: arch(),
    node_llama_cpp: version,
    llama_cpp: `${info.llamaCppGithubRepo ?? "?"}@${info.tag ?? "?"}`,
    llama_cpp_bundle_sha256: existsSync(bundle) ? sha256(readFileSync(bundle)) : "none",
    addon_sources_sha256: hashTree(llamaDir, ["addon", "CMakeLists.txt", "cmake"]),
    cpu: cpu.model,
    cpu_flags_sha256: sha256(cpu.flags),
    compiler: toolchain.compiler,
    cmake: toolchain.cmake,
  };
}

/** The cache key: 16 hex digits of SHA-256 over the inputs' JSON (keys in declaration order). */
export function nativeBuildKey(inputs: NativeBuildInputs): string {
  return sha256(JSON.stringify(inputs)).slice(0, 16);
}

export function nativeBuildsDir(cacheDir: string): string {
  return join(cacheDir, "llama-builds");
}

/** The cached build for `key`, when it is complete. */
export function readNativeBuildRecord(cacheDir: string, key: string): NativeBuildRecord | null {
  const entry = join(nativeBuildsDir(cacheDir), key);
  try {
    const record = JSON.parse(
      readFileSync(join(entry, "llem-build.json"), "utf8"),
    ) as NativeBuildRecord;
    if (record.key !== key) return null;
    if (!existsSync(join(entry, "Release", "llama-addon.node"))) return null;
    return record;
  } catch {
    return null;
  }
}

/**
 * Where node-llama-cpp looks for a local build: `llama/localBuilds/<folder>` (chosen by its
 * `getLlama` from the build options; `<platform>-<arch>` for a CPU build without custom options)
 * and `llama/lastBuild.json`.
 */
function localBuildPaths(nodeLlamaCppDir: string, folder: string) {
  const llamaDir = join(nodeLlamaCppDir, "llama");
  return {
    localBuilds: join(llamaDir, "localBuilds"),
    folder: join(llamaDir, "localBuilds", folder),
    lastBuild: join(llamaDir, "lastBuild.json"),
    source: join(llamaDir, "llama.cpp"),
  };
}

/** Makes this node-llama-cpp load the cached build: a link in its local-build folder. */
export function linkNativeBuild(
  nodeLlamaCppDir: string,
  cacheDir: string,
  record: NativeBuildRecord,
): void {
  const paths = localBuildPaths(nodeLlamaCppDir, record.folder);
  const target = join(nativeBuildsDir(cacheDir), record.key);
  mkdirSync(paths.localBuilds, { recursive: true });
  if (linkTarget(paths.folder) !== target) {
    rmSync(paths.folder, { recursive: true, force: true });
    symlinkSync(target, paths.folder, "dir");
  }
  writeFileSync(paths.lastBuild, `${JSON.stringify({ folderName: record.folder })}\n`);
}

/**
 * Removes llem's links, so node-llama-cpp loads its prebuilt binary (LLEM_NATIVE_BUILD=0, no
 * toolchain, a failed build). A local build that is not one of llem's links (a user's own
 * node-llama-cpp build, say with CUDA) is left alone.
 */
export function unlinkNativeBuild(nodeLlamaCppDir: string): boolean {
  const paths = localBuildPaths(nodeLlamaCppDir, "");
  let removed = false;
  for (const name of existsSync(paths.localBuilds) ? readdirSync(paths.localBuilds) : []) {
    const target = linkTarget(join(paths.localBuilds, name));
    if (!target || !existsSync(join(target, "llem-build.json"))) continue;
    rmSync(join(paths.localBuilds, name), { force: true });
    removed = true;
    if (lastBuildFolder(paths.lastBuild) === name) rmSync(paths.lastBuild, { force: true });
  }
  return removed;
}

function lastBuildFolder(lastBuild: string): string | null {
  try {
    return (
      (JSON.parse(readFileSync(lastBuild, "utf8")) as { folderName?: string }).folderName ?? null
    );
  } catch {
    return null;
  }
}

function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}

/** The cache key of the build this node-llama-cpp is linked to, if any. */
export function linkedNativeBuild(
  nodeLlamaCppDir: string,
): { key: string; record: NativeBuildRecord | null } | null {
  const paths = localBuildPaths(nodeLlamaCppDir, "");
  try {
    const folderName = lastBuildFolder(paths.lastBuild);
    if (!folderName) return null;
    const target = linkTarget(join(paths.localBuilds, folderName));
    if (!target) return null;
    const key = target.split(/[\\/]/).at(-1) ?? "";
    const recordPath = join(target, "llem-build.json");
    const record = existsSync(recordPath)
      ? (JSON.parse(readFileSync(recordPath, "utf8")) as NativeBuildRecord)
      : null;
    return { key, record };
  } catch {
    return null;
  }
}

/**
 * Why the linked native build must not run on this machine, or null when it may (or there is
 * none): a build made with `-march=native` on another CPU (a home directory shared by a
 * cluster's nodes) can stop with an illegal instruction.
 */
export function nativeBuildMismatch(nodeLlamaCppDir: string): string | null {
  const record = linkedNativeBuild(nodeLlamaCppDir)?.record;
  if (!record) return null;
  const cpu = cpuIdentity();
  if (record.inputs.platform !== platform() || record.inputs.arch !== arch())
    return `the native build is for ${record.inputs.platform}-${record.inputs.arch}`;
  if (record.inputs.cpu_flags_sha256 !== sha256(cpu.flags))
    return `the native build was compiled for another CPU (${record.inputs.cpu}) than this one (${cpu.model})`;
  return null;
}

/** One line for the person waiting (start, a heartbeat every minute, the end). */
export type BuildProgress = (line: string) => void;

/**
 * A lock on one cache key across processes and clones: a directory created atomically, with the
 * owner's pid and host inside. A lock whose owner is a dead process on this host is taken over
 * (a killed install must not block the next one).
 */
async function withKeyLock<T>(
  lockDir: string,
  onWait: (owner: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const owner = JSON.stringify({ pid: process.pid, host: hostname() });
  let waitingFor: string | null = null;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(join(lockDir, "owner.json"), owner);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = readOwner(lockDir);
      if (holder && holder.host === hostname() && !isAlive(holder.pid)) {
        rmSync(lockDir, { recursive: true, force: true });
        continue;
      }
      const who = holder ? `pid ${holder.pid} on ${holder.host}` : "another process";
      if (waitingFor !== who) onWait(who);
      waitingFor = who;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

function readOwner(lockDir: string): { pid: number; host: string } | null {
  try {
    return JSON.parse(readFileSync(join(lockDir, "owner.json"), "utf8"));
  } catch {
    return null; // being written, or written by a process killed before it wrote it
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function directorySize(path: string): number {
  const stat = lstatSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + directorySize(join(path, name)), 0);
}

function formatDuration(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  return minutes > 0
    ? `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`
    : `${Math.round(seconds)}s`;
}

export interface EnsureNativeBuildOptions {
  nodeLlamaCppDir: string;
  cacheDir: string;
  toolchain: Toolchain;
  /** Rebuild even when the cache has this key (`build:native`). */
  force?: boolean;
  progress: BuildProgress;
  /**
   * Compiles the addon into node-llama-cpp's local-build folder and returns its folder name.
   * Default: node-llama-cpp's own `source download --gpu false` (clones the bundled source, no
   * network). Tests inject a stand-in.
   */
  compile?: (nodeLlamaCppDir: string, logFile: string) => Promise<string>;
}

export interface NativeBuildOutcome {
  record: NativeBuildRecord;
  /** `cached`: linked to a build made earlier (by this or another clone); `built`: compiled now. */
  source: "cached" | "built";
}

/**
 * The native build for this machine from the cache, or compiled now (once per key, however many
 * installs ask at the same time), then linked into this node-llama-cpp.
 */
export async function ensureNativeBuild(
  options: EnsureNativeBuildOptions,
): Promise<NativeBuildOutcome> {
  const { nodeLlamaCppDir, cacheDir, progress } = options;
  const inputs = nativeBuildInputs(nodeLlamaCppDir, options.toolchain);
  const key = nativeBuildKey(inputs);
  const buildsDir = nativeBuildsDir(cacheDir);
  mkdirSync(buildsDir, { recursive: true });
  const cached = options.force ? null : readNativeBuildRecord(cacheDir, key);
  if (cached) {
    linkNativeBuild(nodeLlamaCppDir, cacheDir, cached);
    return { record: cached, source: "cached" };
  }
  return withKeyLock(
    join(buildsDir, `${key}.lock`),
    (owner) => progress(`waiting for ${owner}, which is building the same llama.cpp binary`),
    async () => {
      // Another install may have finished it while this one waited.
      const done = options.force ? null : readNativeBuildRecord(cacheDir, key);
      if (done) {
        linkNativeBuild(nodeLlamaCppDir, cacheDir, done);
        return { record: done, source: "cached" as const };
      }
      const logFile = join(buildsDir, `${key}.log`);
      const started = Date.now();
      progress(
        `building llama.cpp for this machine (once per machine: about 4 min on 2 idle cores, 17 min or more on busy ones; LLEM_NATIVE_BUILD=0 skips it and uses the slower prebuilt binary; log: ${logFile})`,
      );
      const heartbeat = setInterval(
        () =>
          progress(`still building llama.cpp (${formatDuration((Date.now() - started) / 1000)})`),
        60_000,
      );
      let folder: string;
      try {
        folder = await (options.compile ?? compileWithNodeLlamaCpp)(nodeLlamaCppDir, logFile);
      } finally {
        clearInterval(heartbeat);
      }
      const record = storeBuild(nodeLlamaCppDir, cacheDir, key, inputs, folder, started);
      linkNativeBuild(nodeLlamaCppDir, cacheDir, record);
      rmSync(logFile, { force: true }); // kept only when the build fails
      return { record, source: "built" as const };
    },
  );
}

/**
 * Moves the finished build (its `Release` folder; the intermediate objects are dropped) into the
 * cache under `key`: written to a temp folder first and renamed, so the cache never holds half a
 * build under a real key.
 */
function storeBuild(
  nodeLlamaCppDir: string,
  cacheDir: string,
  key: string,
  inputs: NativeBuildInputs,
  folder: string,
  started: number,
): NativeBuildRecord {
  const paths = localBuildPaths(nodeLlamaCppDir, folder);
  const entry = join(nativeBuildsDir(cacheDir), key);
  const temp = `${entry}.partial-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  cpSync(join(paths.folder, "Release"), join(temp, "Release"), { recursive: true });
  writeFileSync(join(temp, "buildDone.status"), "");
  const record: NativeBuildRecord = {
    key,
    inputs,
    folder,
    built_at: new Date().toISOString(),
    build_seconds: Math.round((Date.now() - started) / 1000),
    size_bytes: directorySize(join(temp, "Release")),
  };
  writeFileSync(join(temp, "llem-build.json"), `${JSON.stringify(record, null, 2)}\n`);
  rmSync(entry, { recursive: true, force: true });
  renameSync(temp, entry);
  // The clone keeps only the link: the build tree and the source checkout are hundreds of MB.
  rmSync(paths.folder, { recursive: true, force: true });
  rmSync(paths.source, { recursive: true, force: true });
  return record;
}

/** node-llama-cpp's own from-source build: `source download --gpu false` (offline: it clones its bundle). */
function compileWithNodeLlamaCpp(nodeLlamaCppDir: string, logFile: string): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Custom CMake options from the environment would change the folder node-llama-cpp builds into
  // and looks in; the build is made with llama.cpp's defaults only.
  for (const name of Object.keys(env))
    if (name.startsWith("NODE_LLAMA_CPP_CMAKE_OPTION_")) delete env[name];
  const log = openSync(logFile, "w");
  return new Promise<string>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        join(nodeLlamaCppDir, "dist", "cli", "cli.js"),
        "source",
        "download",
        "--gpu",
        "false",
        "--noUsageExample",
      ],
      { cwd: nodeLlamaCppDir, env, stdio: ["ignore", log, log] },
    );
    child.on("error", reject);
    child.on("close", (code) => {
      closeSync(log);
      if (code !== 0) {
        const tail = readFileSync(logFile, "utf8").split("\n").slice(-15).join("\n");
        reject(
          new Error(
            `node-llama-cpp's build exited with ${code}; last lines of ${logFile}:\n${tail}`,
          ),
        );
        return;
      }
      try {
        const { folderName } = JSON.parse(
          readFileSync(join(nodeLlamaCppDir, "llama", "lastBuild.json"), "utf8"),
        ) as { folderName?: string };
        if (!folderName) throw new Error("llama/lastBuild.json names no folder");
        resolve(folderName);
      } catch (error) {
        reject(error);
      }
    });
  });
}
