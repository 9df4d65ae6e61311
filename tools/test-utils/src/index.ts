/**
 * Shared test helpers (private workspace package, imported as TypeScript source by vitest).
 * Append new helpers; do not change the behaviour of existing ones.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { onTestFinished } from "vitest";
// The generator itself lives in @llem/schema (zod-free file); imported by path, since @llem/schema
// depends on this package for its tests.
import { seededRandom as seededGenerator } from "../../../packages/schema/src/random.js";

export { findChromium, launchChromium, openOffline, type PageWatch } from "./browser.js";

/** A fresh temp dir removed when the current test finishes (kept when LLEM_KEEP_TMP=1). */
export async function tempDir(prefix = "llem-test-"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(async () => {
    if (process.env.LLEM_KEEP_TMP === "1") return;
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  });
  return dir;
}

export interface ProcessOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and collects its output (never rejects on a non-zero exit). */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const timer = options.timeoutMs
      ? setTimeout(() => child.kill("SIGKILL"), options.timeoutMs)
      : undefined;
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Resolves when `child` exits, with its code and signal. */
export function exited(
  child: ChildProcess,
): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 20, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** A deterministic PRNG for randomised tests that must be reproducible: floats in [0, 1) from
 * the one seeded generator of @llem/schema (xoshiro128**). */
export function seededRandom(seed: number): () => number {
  const random = seededGenerator(seed);
  return () => random.nextFloat();
}

/**
 * Whether `pid` is a live process. A zombie counts as dead: a killed orphan may wait a while to be
 * reaped (by a container's init), but it runs nothing.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const state = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0];
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * The study's test- and bench-only experiment process (fault injection, fake results):
 * tools/fault-study, built by `pnpm build`. A runner uses it when `LLEM_STUDY_WORKER` names it.
 */
export const FAULT_WORKER = fileURLToPath(
  new URL("../../fault-study/dist/worker.js", import.meta.url),
);

/**
 * `node` arguments that make loading any of `packages` fail in that process, with an error naming
 * the package and its importer (resolve hooks registered before the program starts). Put them
 * before the script, or in NODE_OPTIONS for a child that runs a bin.
 */
export function forbidImportsArgs(packages: string[]): string[] {
  const hooks = new URL("./forbid-imports-hooks.mjs", import.meta.url).href;
  const register = `import { register } from "node:module"; register(${JSON.stringify(hooks)}, { data: { packages: ${JSON.stringify(packages)} } });`;
  return ["--import", `data:text/javascript,${encodeURIComponent(register)}`];
}

/**
 * The stand-ins for vllm, sglang (python3), trtllm-serve and transformers: put this directory first
 * on PATH and each checks its argv as its engine would, then execs a real llama-server
 * (stand-ins/stand-in.mjs). They need LLEM_STANDIN_LLAMA_SERVER in their environment.
 */
export const STAND_INS_BIN = fileURLToPath(new URL("../stand-ins/bin", import.meta.url));

/**
 * The llama-server that tests run: $LLEM_LLAMA_SERVER_BIN, else llem's own build in the cache
 * (`pnpm build:llama-server`), else one on PATH; null when there is none. Tests that need it skip
 * with that reason outside CI and fail in CI (.ci/run builds it first).
 */
export function llamaServerBinary(): string | null {
  const fromEnv = process.env.LLEM_LLAMA_SERVER_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  const cache =
    process.env.LLEM_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "llem");
  const root = join(cache, "build", "llama.cpp");
  if (existsSync(root)) {
    for (const tree of readdirSync(root).sort().reverse()) {
      const path = join(root, tree, "build", "bin", "llama-server");
      if (existsSync(join(root, tree, ".built-llama-server")) && existsSync(path)) return path;
    }
  }
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, "llama-server"))) return join(dir, "llama-server");
  }
  return null;
}

/** Why server tests skip here (no llama-server built), or null when they run. Never skips in CI. */
export function llamaServerSkipReason(): string | null {
  if (llamaServerBinary() !== null) return null;
  if (process.env.CI) throw new Error("CI must build llama-server first (pnpm build:llama-server)");
  return "skipped: no llama-server (run `pnpm build:llama-server`)";
}

/** A llama-server that misbehaves on purpose (stand-ins/fault-server.mjs): for `llama-server.binary`. */
export const FAULT_SERVER = fileURLToPath(
  new URL("../stand-ins/fault-server.mjs", import.meta.url),
);

/**
 * What `podman run` needs on this project's machines (reference/serving.md): runc, since crun
 * refuses the hybrid cgroups, and explicit ulimits, since the process lacks CAP_SYS_RESOURCE.
 */
export const PODMAN_RUNTIME_ARGS = [
  "--runtime",
  "runc",
  "--ulimit",
  "nofile=1024:1024",
  "--ulimit",
  "nproc=4096:4096",
];

/**
 * The local llama-server image (scripts/build-llama-server-image.sh: a rootfs tarball imported
 * with podman, no registry), or why podman tests skip here. In CI podman must work.
 */
export function llamaServerImage(): { image: string } | { skip: string } {
  const repo = fileURLToPath(new URL("../../..", import.meta.url));
  const built = spawnSync("bash", [join(repo, "scripts/build-llama-server-image.sh")], {
    encoding: "utf8",
    timeout: 30 * 60_000,
  });
  const image = built.stdout.trim().split("\n").at(-1) ?? "";
  if (built.status === 0 && image.startsWith("localhost/")) return { image };
  const why = `skipped: no podman image (${(built.stderr || built.error?.message || "").trim().split("\n").at(-1)})`;
  if (process.env.CI) throw new Error(`CI must run podman: ${why}`);
  return { skip: why };
}

/** The libnvidia-ml stand-in's source (packages/backends/src/energy/__fixtures__/fake-nvml.c). */
export const FAKE_NVML_SOURCE = fileURLToPath(
  new URL("../../../packages/backends/src/energy/__fixtures__/fake-nvml.c", import.meta.url),
);

/** Whether a C compiler is on PATH (the project machine and CI have gcc). */
export function hasCCompiler(): boolean {
  try {
    execFileSync("gcc", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/**
 * Compiles the libnvidia-ml stand-in into a fresh temp dir and returns the library's path
 * (each build is its own library, with its own counters). `FAKE_NVML_DEVICES=4` in the
 * environment of the process that opens it gives four GPUs (see the source).
 */
export async function buildFakeNvml(): Promise<string> {
  const dir = await tempDir("llem-fake-nvml-");
  const library = join(dir, "libnvidia-ml-fake.so");
  execFileSync("gcc", ["-shared", "-fPIC", "-O1", "-o", library, FAKE_NVML_SOURCE]);
  return library;
}

/**
 * A YAML "billion laughs": 7 levels of 9 aliases each (9^7 ≈ 4.8 million nodes once expanded)
 * in a few hundred bytes, for tests that llem refuses it as bad input before expanding it.
 */
export function aliasBombYaml(): string {
  const levels = ["a", "b", "c", "d", "e", "f", "g"];
  return levels
    .map((name, index) =>
      index === 0
        ? `${name}: &${name} [x, x, x, x, x, x, x, x, x]`
        : `${name}: &${name} [${Array(9)
            .fill(`*${levels[index - 1]}`)
            .join(", ")}]`,
    )
    .join("\n");
}
