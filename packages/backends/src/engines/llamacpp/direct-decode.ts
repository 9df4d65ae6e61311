import type { RequestMeasurement } from "../types.js";

/**
 * A lean decode loop over node-llama-cpp's native context (the calls its own evaluator makes:
 * initBatch / addToBatch / decodeBatch / sampleToken), without the general-purpose JavaScript
 * pipeline around them (async generators, locks, token predictors, context-shift bookkeeping,
 * a sampler config rebuilt per token). On the 2-core project VM that pipeline cost about 0.3–0.6 ms
 * per generated token — 1.4–1.6× slower generation than this loop on small models
 * (docs/engine-performance.md). It reaches into node-llama-cpp internals, so `directDecoder()`
 * feature-detects them and returns null when they change; the engine then uses the public
 * `LlamaContextSequence.evaluate` path.
 */

interface AddonContext {
  initBatch(size: number): void;
  addToBatch(
    sequenceId: number,
    firstTokenSequenceIndex: number,
    tokens: Uint32Array,
    logitIndexes: Uint32Array,
  ): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(
    batchLogitIndex: number,
    sampler: AddonSampler,
  ): Promise<number | [number, ...unknown[]]>;
  disposeSequence(sequenceId: number): void;
  /**
   * llem's addition to node-llama-cpp's addon (patches/node-llama-cpp@*.patch, compiled by
   * `build:native`): a whole request — prefill, then decode + sample per token — in one async
   * call, with a monotonic timestamp per token. Absent from the prebuilt binaries.
   */
  llemGenerate?: NativeGenerate;
}
type NativeGenerate = (
  sequenceId: number,
  promptTokens: Uint32Array,
  maxTokens: number,
  sampler: AddonSampler,
  outTokens: Uint32Array,
  outTimesNs: Float64Array,
  abortFlag: Int32Array,
) => Promise<number>;
interface AddonSampler {
  applyConfig(config: Record<string, unknown>): void;
  dispose(): void;
}
type AddonSamplerClass = new (model: unknown) => AddonSampler;

export interface DirectDecodeInternals {
  context: AddonContext;
  Sampler: AddonSamplerClass;
  model: unknown;
  /**
   * The native whole-request loop when the loaded binary has it (a `build:native` build) and it
   * has not been turned off — by the caller, or because its clock disagreed with Node's.
   */
  nativeGenerate: boolean;
}

/**
 * The model's end-of-generation tokens, which llem's samplers ban so that every request generates
 * exactly max_output_tokens.
 */
export function endOfGenerationTokens(model: { tokens: { eos: unknown; eot: unknown } }): number[] {
  return [model.tokens.eos, model.tokens.eot].flatMap((token) =>
    token === null || token === undefined ? [] : [Number(token)],
  );
}

/** Whether the loaded binary has llem's native generation loop (a `build:native` build). */
export function hasNativeGenerate(llama: unknown): boolean {
  const AddonContext = (llama as { _bindings?: { AddonContext?: { prototype?: unknown } } })
    ?._bindings?.AddonContext;
  const prototype = AddonContext?.prototype as Partial<AddonContext> | undefined;
  return typeof prototype?.llemGenerate === "function";
}

/** node-llama-cpp internals the loop needs, or null when this version does not have them. */
export function directDecoder(
  llama: unknown,
  model: unknown,
  context: unknown,
): DirectDecodeInternals | null {
  const addon = (context as { _ctx?: Partial<AddonContext> })?._ctx;
  const Sampler = (llama as { _bindings?: { AddonSampler?: AddonSamplerClass } })?._bindings
    ?.AddonSampler;
  const nativeModel = (model as { _model?: unknown })?._model;
  const methods = [
    "initBatch",
    "addToBatch",
    "decodeBatch",
    "sampleToken",
    "disposeSequence",
  ] as const;
  if (!addon || typeof Sampler !== "function" || nativeModel === undefined) return null;
  if (!methods.every((method) => typeof addon[method] === "function")) return null;
  return {
    context: addon as AddonContext,
    Sampler,
    model: nativeModel,
    nativeGenerate: typeof addon.llemGenerate === "function",
  };
}

/**
 * One greedy native sampler per sequence, created on first use and kept for the engine's life:
 * llama.cpp builds a sampler's chain (token-bias table included) lazily on its first use, which
 * would otherwise land inside the first request's TTFT.
 */
export class SamplerPool {
  private readonly samplers = new Map<number, AddonSampler>();

  constructor(
    private readonly internals: DirectDecodeInternals,
    private readonly bannedTokens: readonly number[],
  ) {}

  get(sequenceId: number): AddonSampler {
    let sampler = this.samplers.get(sequenceId);
    if (!sampler) {
      sampler = new this.internals.Sampler(this.internals.model);
      sampler.applyConfig({
        temperature: 0,
        minP: 0,
        topK: 40,
        topP: 0.95,
        seed: 0,
        repeatPenaltyMaxTokens: 64,
        dryRepeatPenaltyBase: 1.75,
        dryRepeatPenaltyAllowedLength: 2,
        dryRepeatPenaltyLastTokens: -1,
        tokenBiasKeys: Uint32Array.from(this.bannedTokens),
        tokenBiasValues: Float32Array.from(this.bannedTokens, () => Number.NEGATIVE_INFINITY),
      });
      this.samplers.set(sequenceId, sampler);
    }
    return sampler;
  }

  dispose(): void {
    for (const sampler of this.samplers.values()) sampler.dispose();
    this.samplers.clear();
  }
}

export interface DirectRequest {
  /** Index of the prompt in the workload. */
  index: number;
  tokens: number[];
  truncated: boolean;
}

interface Slot {
  sequenceId: number;
  sampler: AddonSampler;
  request?: DirectRequest;
  pending: number[];
  position: number;
  startedAt: number;
  lastAt: number;
  ttftMs: number | null;
  itlMs: number[];
  generated: number;
  logitIndex: number;
}

export interface DirectRunOptions {
  maxOutputTokens: number;
  /** batch: a group starts only when every slot is free; concurrent: a free slot takes the next request. */
  mode: "batch" | "concurrent";
  /** Slots (sequences) used; at most the context's sequence count. */
  slots: number;
  /** The context's batch size (tokens one llama_decode may take); at least one whole prompt. */
  maxBatchTokens: number;
  signal?: AbortSignal;
  onRequest?: (index: number, measurement: RequestMeasurement) => void;
}

/**
 * Runs `requests` one at a time on sequence 0 through the native whole-request loop: one async
 * call per request instead of two per token, so the time per token is llama.cpp's own plus the
 * sampler's (docs/engine-performance.md). Token times are taken natively, the moment each token is
 * sampled, on the monotonic clock process.hrtime() reads; a token time outside the call's own
 * start and end would mean the clocks differ, and then the loop turns itself off and returns
 * how many requests it finished, so the caller can run the rest stepwise. Returns
 * `requests.length` when all ran, or fewer when `signal` aborted.
 */
async function runWholeRequests(
  internals: DirectDecodeInternals,
  samplers: SamplerPool,
  requests: readonly DirectRequest[],
  options: DirectRunOptions,
): Promise<number> {
  const { context } = internals;
  const generate = context.llemGenerate as NativeGenerate;
  const sampler = samplers.get(0);
  const maxTokens = options.maxOutputTokens;
  const tokens = new Uint32Array(maxTokens);
  const timesNs = new Float64Array(maxTokens);
  // Read by the native loop between tokens, so an abort stops a long request promptly.
  const abortFlag = new Int32Array(new SharedArrayBuffer(4));
  const onAbort = (): void => void Atomics.store(abortFlag, 0, 1);
  options.signal?.addEventListener("abort", onAbort, { once: true });
  let done = 0;
  try {
    for (const request of requests) {
      if (options.signal?.aborted) break;
      context.disposeSequence(0);
      const startNs = monotonicNs();
      const count = await generate.call(
        context,
        0,
        Uint32Array.from(request.tokens),
        maxTokens,
        sampler,
        tokens,
        timesNs,
        abortFlag,
      );
      const endNs = monotonicNs();
      if (options.signal?.aborted) break;
      const first = timesNs[0] as number;
      const last = timesNs[count - 1] as number;
      if (count > 0 && (first < startNs || last > endNs)) {
        internals.nativeGenerate = false;
        break;
      }
      const itlMs: number[] = [];
      for (let index = 1; index < count; index++)
        itlMs.push(((timesNs[index] as number) - (timesNs[index - 1] as number)) / 1e6);
      options.onRequest?.(request.index, {
        inputTokens: request.tokens.length,
        outputTokens: count,
        ttftMs: count > 0 ? (first - startNs) / 1e6 : null,
        itlMs,
        latencyMs: ((count > 0 ? last : endNs) - startNs) / 1e6,
        truncated: request.truncated,
      });
      done++;
    }
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    context.disposeSequence(0);
  }
  return done;
}

/** CLOCK_MONOTONIC in nanoseconds: the clock the native loop stamps tokens with. */
const monotonicNs = (): number => Number(process.hrtime.bigint());

/**
 * Runs `requests` greedily with one native sampler per sequence: one at a time through the native
 * whole-request loop when there is one slot and the binary has it, otherwise stepwise on
 * sequences 0…slots−1. Stops early, without error, when `signal` aborts.
 */
export async function runDirect(
  internals: DirectDecodeInternals,
  samplers: SamplerPool,
  requests: readonly DirectRequest[],
  options: DirectRunOptions,
): Promise<void> {
  let remaining = requests;
  if (options.slots === 1 && internals.nativeGenerate) {
    const done = await runWholeRequests(internals, samplers, requests, options);
    if (done === requests.length || options.signal?.aborted) return;
    remaining = requests.slice(done);
  }
  await runStepwise(internals, samplers, remaining, options);
}

/**
 * Runs `requests` on sequences 0…slots−1 with one llama_decode per step for all active sequences
 * (prompt prefill and single-token generation steps mixed), sampling greedily with one native
 * sampler per sequence. Stops early, without error, when `signal` aborts.
 */
async function runStepwise(
  internals: DirectDecodeInternals,
  samplers: SamplerPool,
  requests: readonly DirectRequest[],
  options: DirectRunOptions,
): Promise<void> {
  const { context } = internals;
  const slots: Slot[] = Array.from({ length: options.slots }, (_, sequenceId) => ({
    sequenceId,
    sampler: samplers.get(sequenceId),
    pending: [],
    position: 0,
    startedAt: 0,
    lastAt: 0,
    ttftMs: null,
    itlMs: [],
    generated: 0,
    logitIndex: 0,
  }));
  let next = 0;
  const assign = (slot: Slot, now: number): void => {
    const request = requests[next++] as DirectRequest;
    context.disposeSequence(slot.sequenceId);
    Object.assign(slot, {
      request,
      pending: request.tokens,
      position: 0,
      startedAt: now,
      lastAt: now,
      ttftMs: null,
      itlMs: [],
      generated: 0,
    });
  };
  try {
    while (!options.signal?.aborted) {
      const now = performance.now();
      const free = slots.filter((slot) => slot.request === undefined);
      if (options.mode === "concurrent" || free.length === slots.length) {
        for (const slot of free) if (next < requests.length) assign(slot, now);
      }
      const busy = slots.filter((slot) => slot.request !== undefined);
      if (busy.length === 0) break;
      // One decode holds at most maxBatchTokens: prompts that do not fit wait for the next step.
      const active: Slot[] = [];
      let batchTokens = 0;
      for (const slot of busy) {
        if (active.length > 0 && batchTokens + slot.pending.length > options.maxBatchTokens)
          continue;
        active.push(slot);
        batchTokens += slot.pending.length;
      }

      context.initBatch(batchTokens);
      for (const slot of active) {
        const logits = context.addToBatch(
          slot.sequenceId,
          slot.position,
          Uint32Array.from(slot.pending),
          Uint32Array.of(slot.pending.length - 1),
        );
        slot.logitIndex = logits[0] as number;
        slot.position += slot.pending.length;
      }
      await context.decodeBatch();
      const sampled = await Promise.all(
        active.map((slot) => context.sampleToken(slot.logitIndex, slot.sampler)),
      );
      const at = performance.now();
      active.forEach((slot, position) => {
        const result = sampled[position];
        const token = Array.isArray(result) ? result[0] : (result as number);
        if (slot.generated === 0) slot.ttftMs = at - slot.startedAt;
        else slot.itlMs.push(at - slot.lastAt);
        slot.lastAt = at;
        slot.generated++;
        slot.pending = [token];
        const request = slot.request as DirectRequest;
        if (slot.generated >= options.maxOutputTokens) {
          slot.request = undefined;
          options.onRequest?.(request.index, {
            inputTokens: request.tokens.length,
            outputTokens: slot.generated,
            ttftMs: slot.ttftMs,
            itlMs: slot.itlMs,
            latencyMs: slot.lastAt - slot.startedAt,
            truncated: request.truncated,
          });
        }
      });
    }
  } finally {
    for (const slot of slots) context.disposeSequence(slot.sequenceId);
  }
}
