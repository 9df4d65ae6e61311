import { randomBytes } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { ensureSyntheticModel } from "../models/synthetic.js";
import { type Llama, nodeLlamaCppVersion } from "./node-llama-cpp.js";

/**
 * The default thread count (`llamacpp.threads: null`) is the count that generated fastest on this
 * machine with this llama.cpp binary, measured once and cached. A fixed rule is wrong in both
 * directions: node-llama-cpp's prebuilt CPU binaries (no OpenMP; a thread pool created and torn
 * down for every graph) are fastest with 1 thread on a 2-core VM, while a build with OpenMP from
 * the bundled source scales with every core. See README "Thread default".
 */

const CALIBRATION_MODEL = "synthetic:small";
const PROMPT_TOKENS = 32;
const GENERATED_TOKENS = 24;
const ROUNDS = 3;

interface CalibrationFile {
  schema_version: 1;
  entries: Record<
    string,
    { threads: number; tokens_per_s: Record<string, number>; measured_at: string }
  >;
}

function machineKey(llama: Llama): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown";
  return [
    cpu,
    cpus().length,
    llama.buildType,
    llama.llamaCppRelease.release,
    nodeLlamaCppVersion() ?? "?",
  ].join("|");
}

function readCalibration(path: string): CalibrationFile {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as CalibrationFile;
    if (parsed.schema_version === 1 && typeof parsed.entries === "object") return parsed;
  } catch {
    // absent or unreadable: measure again
  }
  return { schema_version: 1, entries: {} };
}

function writeAtomically(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temp, text);
  const fd = openSync(temp, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** Generation tok/s of one context at `threads`, best of the rounds it is given. */
async function generationRate(
  llama: Llama,
  modelPath: string,
  threadCounts: number[],
): Promise<Map<number, number>> {
  const model = await llama.loadModel({ modelPath, gpuLayers: 0 });
  const rates = new Map<number, number>();
  try {
    const contexts = await Promise.all(
      threadCounts.map(async (threads) => ({
        threads,
        context: await model.createContext({
          contextSize: 128,
          sequences: 1,
          threads,
          flashAttention: true,
        }),
      })),
    );
    const prompt = model.tokenize("x".repeat(PROMPT_TOKENS));
    // Rounds interleave the thread counts so a passing burst of load hurts all of them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const { threads, context } of contexts) {
        const sequence = context.getSequence();
        let generated = 0;
        let firstAt = 0;
        for await (const _token of sequence.evaluate(prompt, { temperature: 0 })) {
          if (generated === 0) firstAt = performance.now();
          generated++;
          if (generated > GENERATED_TOKENS) break;
        }
        const rate = GENERATED_TOKENS / ((performance.now() - firstAt) / 1000);
        rates.set(threads, Math.max(rates.get(threads) ?? 0, rate));
        sequence.dispose();
      }
    }
    for (const { context } of contexts) await context.dispose();
  } finally {
    await model.dispose();
  }
  return rates;
}

const inFlight = new Map<string, Promise<number>>();

/** The fastest thread count for this machine and binary, from the cache or measured now (~2 s). */
export function defaultThreadCount(llama: Llama, cacheDir: string): Promise<number> {
  const key = machineKey(llama);
  let pending = inFlight.get(key);
  if (!pending) {
    pending = calibrate(llama, cacheDir, key);
    inFlight.set(key, pending);
    pending.catch(() => inFlight.delete(key));
  }
  return pending;
}

async function calibrate(llama: Llama, cacheDir: string, key: string): Promise<number> {
  const path = join(cacheDir, "thread-calibration.json");
  const cached = readCalibration(path).entries[key];
  if (cached) return cached.threads;
  const maxThreads = Math.max(1, Math.min(llama.cpuMathCores, cpus().length, 16));
  const candidates = Array.from({ length: maxThreads }, (_, index) => index + 1);
  if (candidates.length === 1) return 1;
  const { path: modelPath } = ensureSyntheticModel(CALIBRATION_MODEL, cacheDir);
  const rates = await generationRate(llama, modelPath, candidates);
  let fastest = 1;
  for (const [threads, rate] of rates) if (rate > (rates.get(fastest) ?? 0)) fastest = threads;
  mkdirSync(cacheDir, { recursive: true });
  const file = readCalibration(path);
  file.entries[key] = {
    threads: fastest,
    tokens_per_s: Object.fromEntries(
      [...rates].map(([threads, rate]) => [String(threads), Math.round(rate)]),
    ),
    measured_at: new Date().toISOString(),
  };
  writeAtomically(path, `${JSON.stringify(file, null, 2)}\n`);
  return fastest;
}

/** What the cache says for this machine, for reports (`llem doctor`, results). */
export function cachedThreadCalibration(
  llama: Llama,
  cacheDir: string,
): CalibrationFile["entries"][string] | null {
  return (
    readCalibration(join(cacheDir, "thread-calibration.json")).entries[machineKey(llama)] ?? null
  );
}
