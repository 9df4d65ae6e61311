import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureSyntheticModel } from "../../models/synthetic.js";
import type { RequestMeasurement } from "../types.js";
import {
  type DirectDecodeInternals,
  type DirectRequest,
  directDecoder,
  endOfGenerationTokens,
  hasNativeGenerate,
  runDirect,
  SamplerPool,
} from "./direct-decode.js";

// The native whole-request loop (llemGenerate) exists only in a node-llama-cpp binary compiled
// from the patched source by `pnpm --filter @llem/backends build:native`; on the prebuilt binaries
// these tests skip, saying so. Everything here is real llama.cpp inference on the tiny model.
type Llama = Awaited<ReturnType<typeof import("./node-llama-cpp.js")["getLlamaFor"]>>;
type Model = Awaited<ReturnType<Llama["loadModel"]>>;
type Context = Awaited<ReturnType<Model["createContext"]>>;

const MAX_CONTEXT = 4096;
let model: Model;
let context: Context;
let internals: DirectDecodeInternals;
let samplers: SamplerPool;
let prompt: Uint32Array;
let ownCacheDir: string | undefined;
let binaryHasNativeLoop = false;

beforeAll(async () => {
  const { getLlamaFor } = await import("./node-llama-cpp.js");
  ownCacheDir = process.env.LLEM_TEST_CACHE_DIR
    ? undefined
    : await mkdtemp(join(tmpdir(), "llem-native-generate-"));
  const cacheDir = process.env.LLEM_TEST_CACHE_DIR ?? (ownCacheDir as string);
  const { path } = ensureSyntheticModel("synthetic:tiny", cacheDir);
  const llama = await getLlamaFor("cpu");
  model = await llama.loadModel({ modelPath: path });
  context = await model.createContext({
    sequences: 1,
    contextSize: MAX_CONTEXT,
    batchSize: 512,
    threads: 1,
  });
  binaryHasNativeLoop = hasNativeGenerate(llama);
  const found = directDecoder(llama, model, context);
  if (!found) throw new Error("node-llama-cpp internals changed: the direct loops are unusable");
  internals = found;
  const banned = endOfGenerationTokens(model);
  samplers = new SamplerPool(internals, banned);
  prompt = Uint32Array.from(model.tokenize("The quick brown fox jumps over", true).map(Number));
}, 120_000);

afterAll(async () => {
  samplers?.dispose();
  await context?.dispose();
  await model?.dispose();
  if (ownCacheDir) await rm(ownCacheDir, { recursive: true, force: true });
});

const NO_NATIVE = "this node-llama-cpp binary has no llemGenerate (run build:native)";
const nowNs = (): number => Number(process.hrtime.bigint());

async function nativeGenerate(
  maxTokens: number,
  abortFlag = new Int32Array(new SharedArrayBuffer(4)),
): Promise<{ tokens: number[]; timesNs: number[]; startNs: number; endNs: number }> {
  const generate = internals.context.llemGenerate;
  if (!generate) throw new Error(NO_NATIVE);
  const tokens = new Uint32Array(maxTokens);
  const timesNs = new Float64Array(maxTokens);
  internals.context.disposeSequence(0);
  const startNs = nowNs();
  const count = await generate.call(
    internals.context,
    0,
    prompt,
    maxTokens,
    samplers.get(0),
    tokens,
    timesNs,
    abortFlag,
  );
  const endNs = nowNs();
  return {
    tokens: [...tokens.subarray(0, count)],
    timesNs: [...timesNs.subarray(0, count)],
    startNs,
    endNs,
  };
}

type Generate = NonNullable<DirectDecodeInternals["context"]["llemGenerate"]>;

/**
 * The same internals with llemGenerate wrapped (the addon's own methods are read-only); every
 * other native method is called on the real context.
 */
function wrapGenerate(wrap: (generate: Generate) => Generate): DirectDecodeInternals {
  const native = internals.context;
  const generate = (native.llemGenerate as Generate).bind(native);
  const wrapped = wrap(generate);
  const context = new Proxy(native, {
    get(target, key) {
      if (key === "llemGenerate") return wrapped;
      const value = Reflect.get(target, key);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { ...internals, context };
}

/** The same request through node-llama-cpp's own decodeBatch + sampleToken calls, token by token. */
async function stepwiseGenerate(maxTokens: number): Promise<number[]> {
  const native = internals.context;
  native.disposeSequence(0);
  const tokens: number[] = [];
  let pending = prompt;
  let position = 0;
  while (tokens.length < maxTokens) {
    native.initBatch(pending.length);
    const [logitIndex] = native.addToBatch(
      0,
      position,
      pending,
      Uint32Array.of(pending.length - 1),
    );
    position += pending.length;
    await native.decodeBatch();
    const sampled = await native.sampleToken(logitIndex as number, samplers.get(0));
    const token = Array.isArray(sampled) ? (sampled[0] as number) : sampled;
    tokens.push(token);
    pending = Uint32Array.of(token);
  }
  native.disposeSequence(0);
  return tokens;
}

describe("llemGenerate: the native whole-request loop (real llama.cpp on the tiny model; skips on binaries without it — run build:native)", {
  timeout: 120_000,
}, () => {
  it("is seen the same way on the binding (for the calibration key) and on a context", () => {
    expect(binaryHasNativeLoop).toBe(internals.nativeGenerate);
  });

  it("generates exactly the tokens node-llama-cpp's own decode and sample calls generate", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const native = await nativeGenerate(40);
    const stepwise = await stepwiseGenerate(40);
    expect(native.tokens).toHaveLength(40);
    expect(native.tokens).toEqual(stepwise);
    // The end-of-generation ban applies here too: the sampler is the one the engine uses.
    const eos = model.tokens.eos === null ? -1 : Number(model.tokens.eos);
    expect(native.tokens).not.toContain(eos);
  });

  it("stamps every token on process.hrtime's clock, in order, inside the call", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const { timesNs, startNs, endNs } = await nativeGenerate(32);
    expect(timesNs).toHaveLength(32);
    expect(timesNs[0]).toBeGreaterThan(startNs);
    expect(timesNs.at(-1)).toBeLessThan(endNs);
    for (let index = 1; index < timesNs.length; index++)
      expect(timesNs[index]).toBeGreaterThan(timesNs[index - 1] as number);
  });

  it("stops between tokens when the abort flag is raised, and does not start when it is set", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const preset = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(preset, 0, 1);
    expect((await nativeGenerate(100, preset)).tokens).toHaveLength(0);

    // A request far longer than the timer: the JavaScript thread stays free while it runs.
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const maxTokens = MAX_CONTEXT - prompt.length - 8;
    setTimeout(() => Atomics.store(flag, 0, 1), 30);
    const { tokens } = await nativeGenerate(maxTokens, flag);
    expect(tokens.length).toBeLessThan(maxTokens);
  });

  it("rejects arguments of the wrong type or size with an error, not a crash", (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const generate = internals.context.llemGenerate as NonNullable<
      typeof internals.context.llemGenerate
    >;
    const flag = new Int32Array(1);
    const call = (...args: unknown[]) =>
      (generate as (...values: unknown[]) => unknown).apply(internals.context, args);
    expect(() =>
      call(0, [...prompt], 4, samplers.get(0), new Uint32Array(4), new Float64Array(4), flag),
    ).toThrow(TypeError);
    expect(() =>
      call(0, prompt, 4, samplers.get(0), new Uint32Array(4), new Float32Array(4), flag),
    ).toThrow(TypeError);
    expect(() =>
      call(0, prompt, 8, samplers.get(0), new Uint32Array(4), new Float64Array(8), flag),
    ).toThrow(RangeError);
  });

  it("is what runDirect uses for one slot, with TTFT, ITLs and latency that add up", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const requests: DirectRequest[] = [0, 1, 2].map((index) => ({
      index,
      tokens: [...prompt],
      truncated: false,
    }));
    const measured: RequestMeasurement[] = [];
    let calls = 0;
    const counting = wrapGenerate((generate) => (...args) => {
      calls++;
      return generate(...args);
    });
    await runDirect(counting, samplers, requests, {
      maxOutputTokens: 16,
      mode: "batch",
      slots: 1,
      maxBatchTokens: 512,
      onRequest: (index, measurement) => {
        measured[index] = measurement;
      },
    });
    expect(calls).toBe(3);
    for (const measurement of measured) {
      expect(measurement.outputTokens).toBe(16);
      expect(measurement.inputTokens).toBe(prompt.length);
      expect(measurement.itlMs).toHaveLength(15);
      const ttft = measurement.ttftMs as number;
      expect(ttft).toBeGreaterThan(0);
      const itlSum = measurement.itlMs.reduce((sum, gap) => sum + gap, 0);
      expect(ttft + itlSum).toBeCloseTo(measurement.latencyMs, 6);
    }
  });

  it("stops a long request within a token when runDirect's signal aborts, reporting nothing for it", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    const controller = new AbortController();
    const reported: number[] = [];
    const counts: number[] = [];
    const counting = wrapGenerate((generate) => async (...args) => {
      const count = await generate(...args);
      counts.push(count);
      return count;
    });
    const maxTokens = MAX_CONTEXT - prompt.length - 8;
    setTimeout(() => controller.abort(new Error("test abort")), 30);
    await runDirect(
      counting,
      samplers,
      [0, 1, 2].map((index) => ({ index, tokens: [...prompt], truncated: false })),
      {
        maxOutputTokens: maxTokens,
        mode: "batch",
        slots: 1,
        maxBatchTokens: 512,
        signal: controller.signal,
        onRequest: (index) => reported.push(index),
      },
    );
    // The first request stopped part way, and no other started.
    expect(counts).toHaveLength(1);
    expect(counts[0]).toBeLessThan(maxTokens);
    expect(reported).toEqual([]);
  });

  it("turns itself off and finishes the workload stepwise when its clock disagrees with Node's", async (ctx) => {
    if (!internals.nativeGenerate) return ctx.skip(NO_NATIVE);
    // A binary whose clock is not CLOCK_MONOTONIC: the same loop, its stamps an hour off.
    const offClock = wrapGenerate((generate) => async (...args) => {
      const count = await generate(...args);
      const times = args[5];
      for (let index = 0; index < count; index++) times[index] = (times[index] as number) + 3.6e12;
      return count;
    });
    const measured: RequestMeasurement[] = [];
    await runDirect(
      offClock,
      samplers,
      [0, 1].map((index) => ({ index, tokens: [...prompt], truncated: false })),
      {
        maxOutputTokens: 8,
        mode: "batch",
        slots: 1,
        maxBatchTokens: 512,
        onRequest: (index, measurement) => {
          measured[index] = measurement;
        },
      },
    );
    expect(offClock.nativeGenerate).toBe(false);
    expect(internals.nativeGenerate).toBe(true);
    expect(measured).toHaveLength(2);
    for (const measurement of measured) {
      expect(measurement.outputTokens).toBe(8);
      expect(measurement.itlMs).toHaveLength(7);
      expect(measurement.ttftMs as number).toBeLessThan(measurement.latencyMs);
      expect(measurement.latencyMs).toBeLessThan(60_000);
    }
  });
});
