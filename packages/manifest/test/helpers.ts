import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlemError } from "@llem/schema";
import { expect, onTestFinished } from "vitest";
import type { RunSpec } from "../src/index.js";

const here = dirname(fileURLToPath(import.meta.url));
export const fixturesDir = join(here, "fixtures");
export const distEntry = join(here, "..", "dist", "index.js");

/** A fresh temp directory, removed when the test ends. */
export async function testDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "llem-manifest-"));
  onTestFinished(async () => {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return dir;
}

/** `count` runs over `configs` distinct configs and as many cycles as needed. */
export function makeRuns(count: number, configs = Math.min(count, 50)): RunSpec[] {
  return Array.from({ length: count }, (_, index) => ({
    configHash: `cfg${(index % configs).toString(16).padStart(13, "0")}`,
    configSummary: `llamacpp / synthetic:tiny / batch=${index % configs}`,
    cycle: Math.floor(index / configs) + 1,
  }));
}

export const studyFields = {
  studyName: "unit-study",
  studyYamlPath: "study.yaml",
  studyYamlHash: "a".repeat(64),
};

export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a fixture script against the built package (child processes run dist/, not TS). */
export function spawnFixture(
  script: string,
  args: string[],
): { child: ChildProcess; done: Promise<ChildResult> } {
  if (!existsSync(distEntry)) {
    throw new Error(`${distEntry} is missing: build first (pnpm --filter @llem/manifest build)`);
  }
  const child = spawn(process.execPath, [join(fixturesDir, script), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<ChildResult>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return { child, done };
}

/** The LlemError `promise` rejects with (the test fails if it resolves or rejects otherwise). */
export async function llemErrorOf(promise: Promise<unknown>): Promise<LlemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(LlemError.isInstance(error), `expected an LlemError, got ${String(error)}`).toBe(true);
  return error as LlemError;
}
