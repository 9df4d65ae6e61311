import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { FAULT_WORKER, type ProcessOutcome, runProcess } from "@llem/test-utils";
import { expect } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));
export const CLI = resolve(here, "../dist/cli.js");
export const REPO = resolve(here, "../../..");

if (!existsSync(CLI)) {
  throw new Error(
    `${CLI} is missing: build the CLI first (pnpm --filter llem build, or pnpm test)`,
  );
}

/** Environment of a CLI child: no colour decisions left to chance, no debug traces. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.LLEM_DEBUG;
  delete env.FORCE_COLOR;
  Object.assign(env, extra);
  for (const [key, value] of Object.entries(extra)) if (value === undefined) delete env[key];
  return env;
}

export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<ProcessOutcome> {
  return runProcess(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: cliEnv(options.env),
    timeoutMs: options.timeoutMs ?? 120_000,
    ...(options.input === undefined ? {} : { input: options.input }),
  });
}

/** An expected failure: the given exit code, one clear message, no stack trace, no escapes. */
export function expectCleanFailure(outcome: ProcessOutcome, code: number, message: RegExp): void {
  expect(outcome.signal).toBeNull();
  expect(outcome.code, `stderr: ${outcome.stderr}`).toBe(code);
  expect(outcome.stderr).toMatch(message);
  expect(outcome.stderr).toMatch(/^llem: /);
  expectNoStackTrace(outcome.stderr);
  expectNoEscapes(outcome.stdout + outcome.stderr);
}

export function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/^\s+at .+[(:]\d+/m);
  expect(text).not.toMatch(/internal error/);
}

export function expectNoEscapes(text: string): void {
  expect(text).not.toContain("\u001b");
}

export async function writeText(dir: string, name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

export async function readJson<T = unknown>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, "utf8")) as T;
}

/**
 * A tiny study: synthetic tiny model, few short prompts, no warmup and a 1 s baseline, so each
 * experiment is a second or two of real llama.cpp work.
 */
export function tinyStudyYaml(
  options: {
    name?: string;
    batchSizes?: number[];
    cycles?: number;
    order?: string;
    extra?: string;
    timeoutSeconds?: number;
  } = {},
): string {
  const batchSizes = options.batchSizes ?? [1, 2];
  return `study_name: ${options.name ?? "tiny"}
task:
  model: synthetic:tiny
  dataset:
    n_prompts: 2
  max_output_tokens: 4
engine: llamacpp
llamacpp:
  threads: 1
measurement:
  baseline:
    duration_seconds: 1
  warmup:
    enabled: false
sweep:
  llamacpp.batch_size: [${batchSizes.join(", ")}]
study_execution:
  n_cycles: ${options.cycles ?? 1}
  experiment_order: ${options.order ?? "sequential"}
  experiment_timeout_seconds: ${options.timeoutSeconds ?? 120}
${options.extra ?? ""}`;
}

/** A CLI process left running: its output so far, and a way to wait for it. */
export interface LiveCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** JSON events printed so far (with --json). */
  events(): Array<{ type: string } & Record<string, unknown>>;
  exited: Promise<ProcessOutcome>;
}

export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? REPO,
    env: cliEnv(options.env),
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    stderr += chunk;
  });
  child.stdin?.end();
  const exited = new Promise<ProcessOutcome>((resolveExit) => {
    child.on("close", (code, signal) => resolveExit({ code, signal, stdout, stderr }));
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    events: () =>
      stdout
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as { type: string } & Record<string, unknown>),
    exited,
  };
}

/** The one study dir under a results dir. */
export async function onlyStudyDir(resultsDir: string): Promise<string> {
  const entries = (await readdir(resultsDir)).filter((name) => !name.startsWith("."));
  expect(entries).toHaveLength(1);
  return join(resultsDir, entries[0] as string);
}

/** Config hashes of a study in run order, from `llem run --dry-run --json`. */
export async function plannedRuns(
  file: string,
): Promise<Array<{ config_hash: string; cycle: number; config_summary: string }>> {
  const outcome = await runCli(["run", file, "--dry-run", "--json"]);
  expect(outcome.code, outcome.stderr).toBe(0);
  return (
    JSON.parse(outcome.stdout) as {
      runs: Array<{ config_hash: string; cycle: number; config_summary: string }>;
    }
  ).runs;
}

export interface ManifestView {
  experiments: Array<{
    config_hash: string;
    cycle: number;
    status: string;
    result_file: string | null;
    error_type: string | null;
    error_message: string | null;
    started_at: string | null;
    completed_at: string | null;
    attempts?: number;
    lease?: { worker: string; host: string; pid: number; heartbeat_at: string } | null;
  }>;
}

/** The manifest as any reader sees it (snapshot plus journal), via @llem/manifest. */
export async function readStudyManifest(studyDir: string): Promise<ManifestView> {
  const { readManifest } = await import("@llem/manifest");
  return (await readManifest(studyDir)) as unknown as ManifestView;
}

/**
 * Env that points the runner at the study's test-only fault worker (tools/fault-study, whose
 * src/worker.ts lists the switches) with `fault` set.
 */
export function workerFault(fault: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { LLEM_STUDY_WORKER: FAULT_WORKER, LLEM_TEST_WORKER_FAULT: fault, ...extra };
}
