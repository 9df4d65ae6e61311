import { basename } from "node:path";
import { type ExperimentConfig, LlemError, llamaCppSection } from "@llem/schema";
import { abortedError } from "../../aborted.js";
import { type ResolvedModel, resolveModel } from "../../models/resolve-model.js";
import { llemCacheDir } from "../../models/synthetic.js";
import type {
  Engine,
  EngineRunOptions,
  GpuAssignment,
  PreparedModel,
  RequestMeasurement,
} from "../types.js";
import { binaryLabel, describeLoadedBinary, type LlamaCppBinary } from "./binary.js";
import {
  type DirectDecodeInternals,
  directDecoder,
  endOfGenerationTokens,
  runDirect,
  SamplerPool,
} from "./direct-decode.js";
import { installedGpuBinaries } from "./gpu-binaries.js";
import {
  getLlamaFor,
  type Llama,
  llamaCppSourceCommit,
  llamaCppVersion,
  loadNodeLlamaCpp,
  nodeLlamaCppPackageDir,
  nodeLlamaCppVersion,
} from "./node-llama-cpp.js";
import { libuvThreadpoolSize } from "./process-env.js";
import { cachedThreadCalibration, defaultThreadCount } from "./thread-default.js";

type LlamaModel = Awaited<ReturnType<Llama["loadModel"]>>;
type LlamaContext = Awaited<ReturnType<LlamaModel["createContext"]>>;
type LlamaContextSequence = ReturnType<LlamaContext["getSequence"]>;
type TokenBias = InstanceType<Awaited<ReturnType<typeof loadNodeLlamaCpp>>["TokenBias"]>;
type Token = Parameters<LlamaContextSequence["evaluate"]>[0][number];

export interface LlamaCppEngineOptions {
  /** Where synthetic models are cached (LLEM_CACHE_DIR by default). */
  cacheDir?: string;
  /** Directory relative model paths are resolved against (the config file's directory). */
  baseDir?: string;
  /**
   * `direct` (default): llem's own loops over node-llama-cpp's native context, when this
   * node-llama-cpp version has the internals they need — the native whole-request loop for one
   * sequence where the binary has it (`build:native`), the stepwise loop otherwise;
   * `stepwise`: the stepwise loop even where the native loop exists (for comparison);
   * `sequence`: node-llama-cpp's public `LlamaContextSequence.evaluate` (slowest per token; the
   * fallback when the internals change, and for comparison).
   */
  evaluator?: "direct" | "stepwise" | "sequence";
  /** The experiment's GPUs (gpus:), used when gpu_layers > 0. */
  gpus?: GpuAssignment;
}

/**
 * Gives this process's CUDA exactly the placed GPUs before the GPU binding loads. In a study
 * the parent already set CUDA_VISIBLE_DEVICES for this process and this changes nothing; a
 * library caller running the experiment in its own process gets the same placement, as long
 * as nothing in the process initialised CUDA before.
 */
function applyGpuPlacement(gpus: GpuAssignment | undefined, gpuLayers: number): void {
  if (!gpus) return;
  if (gpus.devices.length === 0) {
    throw new LlemError(
      "GPU_UNAVAILABLE",
      `llamacpp.gpu_layers is ${gpuLayers} but gpus places no GPU on this experiment; set llamacpp.gpu_layers: 0 or list a GPU in gpus`,
      { details: { field: "gpus" } },
    );
  }
  if (process.env.CUDA_VISIBLE_DEVICES !== gpus.cudaVisibleDevices) {
    process.env.CUDA_VISIBLE_DEVICES = gpus.cudaVisibleDevices;
    process.env.CUDA_DEVICE_ORDER ??= "PCI_BUS_ID";
  }
}

/**
 * llama.cpp in-process through node-llama-cpp. One context holds `batch_size` sequences; the
 * prompts of a batch are evaluated in parallel on those sequences, which node-llama-cpp merges
 * into one llama_decode per step. Sampling is greedy and end-of-generation tokens are banned, so
 * every request generates exactly max_output_tokens and runs are comparable.
 */
export class LlamaCppEngine implements Engine {
  readonly name = "llamacpp";
  private readonly settings: ReturnType<typeof llamaCppSection>;
  private llama: Llama | undefined;
  private binary: LlamaCppBinary | null = null;
  private model: LlamaModel | undefined;
  private context: LlamaContext | undefined;
  private sequences: LlamaContextSequence[] = [];
  private noEndOfGeneration: TokenBias | undefined;
  private resolved: ResolvedModel | undefined;
  private threads = 0;
  private threadRates: Record<string, number> | null = null;
  private batchTokens = 512;
  private direct: DirectDecodeInternals | null = null;
  private samplers: SamplerPool | undefined;
  // Kept after dispose() so `released` can ask the objects themselves.
  private loadedModel: LlamaModel | undefined;
  private loadedContext: LlamaContext | undefined;
  private contextSize = 0;

  constructor(
    private readonly config: ExperimentConfig,
    private readonly options: LlamaCppEngineOptions = {},
  ) {
    this.settings = llamaCppSection(config);
  }

  async prepare({ signal }: { signal?: AbortSignal }): Promise<PreparedModel> {
    const settings = this.settings;
    // Model problems (missing, corrupt, unknown preset) are reported before any native code loads.
    this.resolved = resolveModel(this.config.task.model, this.options);
    if (signal?.aborted) throw abortedError(signal, "prepare");

    const wantsGpu = settings.gpu_layers > 0;
    if (wantsGpu) applyGpuPlacement(this.options.gpus, settings.gpu_layers);
    const llama = await getLlamaFor(wantsGpu ? "gpu" : "cpu");
    if (wantsGpu && llama.gpu === false) {
      const directory = nodeLlamaCppPackageDir();
      const noBinaries = directory !== null && installedGpuBinaries(directory).length === 0;
      throw new LlemError(
        "GPU_UNAVAILABLE",
        `llamacpp.gpu_layers is ${settings.gpu_layers} but no usable CUDA or Vulkan GPU was found on this machine${noBinaries ? " (and node-llama-cpp's GPU binaries are not installed: the install fetches them only where it sees a GPU; `LLEM_GPU_BINARIES=cuda npx -y pnpm@10 install` fetches the CUDA ones)" : ""}; set llamacpp.gpu_layers: 0 to run on the CPU`,
        { details: { field: "llamacpp.gpu_layers", value: settings.gpu_layers } },
      );
    }
    this.llama = llama;
    this.binary = describeLoadedBinary(llama);
    if (signal?.aborted) throw abortedError(signal, "prepare");

    this.model = this.loadedModel = await llama.loadModel({
      modelPath: this.resolved.path,
      gpuLayers: settings.gpu_layers,
      useMmap: true,
    });
    if (signal?.aborted) throw abortedError(signal, "prepare");

    const maxInput = this.config.task.max_input_tokens ?? this.model.trainContextSize;
    const perSequence =
      settings.context_size ??
      Math.min(this.model.trainContextSize, maxInput + this.config.task.max_output_tokens + 8);
    const cacheDir = this.options.cacheDir ?? llemCacheDir();
    const identity = {
      fileName: basename(this.resolved.path),
      sizeBytes: this.resolved.header.fileSizeBytes,
    };
    this.threads =
      settings.threads ?? (await defaultThreadCount(llama, this.model, identity, cacheDir));
    this.threadRates =
      settings.threads === null
        ? (cachedThreadCalibration(llama, identity, cacheDir)?.tokens_per_s ?? null)
        : null;
    const { TokenBias } = await loadNodeLlamaCpp();
    const kvCacheType = settings.kv_cache_type.toUpperCase() as "F32" | "F16" | "Q8_0" | "Q4_0";
    this.batchTokens = Math.max(
      512,
      perSequence,
      Math.min(perSequence * settings.batch_size, 8192),
    );
    this.context = this.loadedContext = await this.model.createContext({
      sequences: settings.batch_size,
      contextSize: perSequence,
      // One decode holds a whole batch of prompts where it can (prompt processing in one
      // llama_decode), and always at least one whole prompt.
      batchSize: this.batchTokens,
      threads: this.threads,
      flashAttention: settings.flash_attention,
      experimentalKvCacheKeyType: kvCacheType,
      experimentalKvCacheValueType: kvCacheType,
      batching: { dispatchSchedule: "nextCycle", itemPrioritizationStrategy: "maximumParallelism" },
    });
    this.contextSize = this.context.contextSize;
    this.direct =
      this.options.evaluator === "sequence" ? null : directDecoder(llama, this.model, this.context);
    if (this.direct && this.options.evaluator === "stepwise") this.direct.nativeGenerate = false;
    for (let index = 0; index < settings.batch_size; index++)
      this.sequences.push(this.context.getSequence());

    const bias = new TokenBias(this.model.tokenizer);
    for (const token of [this.model.tokens.eos, this.model.tokens.eot])
      if (token !== null) bias.set(token, "never");
    this.noEndOfGeneration = bias;

    const header = this.resolved.header;
    return {
      name: this.resolved.name,
      path: this.resolved.path,
      parameters: header.parameterCount,
      fileSizeBytes: header.fileSizeBytes,
      weightType: header.weightType,
      modelBytes: this.model.size,
    };
  }

  private tokenize(prompt: string): { tokens: Token[]; truncated: boolean } {
    const model = this.requireModel();
    const tokens: Token[] = [];
    const bos = model.tokens.bos;
    if (bos !== null && model.tokens.shouldPrependBosToken) tokens.push(bos);
    tokens.push(...model.tokenize(prompt, false));
    const limit = this.config.task.max_input_tokens;
    if (limit !== null && tokens.length > limit)
      return { tokens: tokens.slice(0, limit), truncated: true };
    return { tokens, truncated: false };
  }

  private requireModel(): LlamaModel {
    if (!this.model) throw new LlemError("INTERNAL", "llamacpp engine used before prepare()");
    return this.model;
  }

  /** One request on one sequence, streamed token by token. */
  private async request(
    sequence: LlamaContextSequence,
    prompt: string,
    signal: AbortSignal | undefined,
  ): Promise<RequestMeasurement> {
    const { tokens, truncated } = this.tokenize(prompt);
    const maxOutput = this.config.task.max_output_tokens;
    await sequence.clearHistory();
    const itlMs: number[] = [];
    const start = performance.now();
    let previous = start;
    let ttftMs: number | null = null;
    let outputTokens = 0;
    for await (const _token of sequence.evaluate(tokens, {
      temperature: 0,
      tokenBias: this.noEndOfGeneration,
    })) {
      const now = performance.now();
      if (outputTokens === 0) ttftMs = now - start;
      else itlMs.push(now - previous);
      previous = now;
      outputTokens++;
      if (outputTokens >= maxOutput || signal?.aborted) break;
    }
    return {
      inputTokens: tokens.length,
      outputTokens,
      ttftMs,
      itlMs,
      latencyMs: previous - start,
      truncated,
    };
  }

  async warmup(prompt: string, { signal }: { signal?: AbortSignal }): Promise<RequestMeasurement> {
    const sequence = this.sequences[0];
    if (!sequence) throw new LlemError("INTERNAL", "llamacpp engine used before prepare()");
    let measurement: RequestMeasurement | undefined;
    if (this.direct) {
      await this.runDirect([prompt], "batch", 1, signal, (_index, result) => {
        measurement = result;
      });
    } else {
      measurement = await this.request(sequence, prompt, signal);
    }
    if (signal?.aborted || !measurement) throw abortedError(signal, "warmup");
    return measurement;
  }

  private runDirect(
    prompts: readonly string[],
    mode: "batch" | "concurrent",
    slots: number,
    signal: AbortSignal | undefined,
    onRequest: (index: number, measurement: RequestMeasurement) => void,
  ): Promise<void> {
    const model = this.requireModel();
    const internals = this.direct as DirectDecodeInternals;
    if (!this.samplers) {
      const banned = endOfGenerationTokens(model);
      this.samplers = new SamplerPool(internals, banned);
    }
    const requests = prompts.map((prompt, index) => {
      const { tokens, truncated } = this.tokenize(prompt);
      return { index, tokens: tokens.map(Number), truncated };
    });
    return runDirect(internals, this.samplers, requests, {
      maxOutputTokens: this.config.task.max_output_tokens,
      mode,
      slots,
      maxBatchTokens: this.batchTokens,
      signal,
      onRequest,
    });
  }

  async run(
    prompts: readonly string[],
    { signal, onRequest }: EngineRunOptions,
  ): Promise<RequestMeasurement[]> {
    if (this.sequences.length === 0)
      throw new LlemError("INTERNAL", "llamacpp engine used before prepare()");
    const results: RequestMeasurement[] = new Array(prompts.length);
    let completed = 0;
    const record = (index: number, measurement: RequestMeasurement): void => {
      results[index] = measurement;
      completed++;
      onRequest?.(measurement, completed);
    };
    if (this.direct) {
      const concurrent = this.config.workload.mode === "concurrent";
      await this.runDirect(
        prompts,
        concurrent ? "concurrent" : "batch",
        this.slots(),
        signal,
        record,
      );
    } else if (this.config.workload.mode === "concurrent") {
      // A fixed number of requests in flight: each worker owns a sequence and takes the next prompt.
      let next = 0;
      const workers = this.sequences
        .slice(0, this.config.workload.concurrency)
        .map(async (sequence) => {
          while (next < prompts.length && !signal?.aborted) {
            const index = next++;
            record(index, await this.request(sequence, prompts[index] as string, signal));
          }
        });
      await Promise.all(workers);
    } else {
      // Batches of batch_size prompts started together; the next batch waits for the slowest.
      const size = this.sequences.length;
      for (let start = 0; start < prompts.length && !signal?.aborted; start += size) {
        const batch = prompts.slice(start, start + size);
        await Promise.all(
          batch.map(async (prompt, offset) =>
            record(
              start + offset,
              await this.request(this.sequences[offset] as LlamaContextSequence, prompt, signal),
            ),
          ),
        );
      }
    }
    if (signal?.aborted) throw abortedError(signal, "measurement window");
    return results;
  }

  versions(): Record<string, string> {
    const versions: Record<string, string> = {};
    const nodeLlamaCpp = nodeLlamaCppVersion();
    if (nodeLlamaCpp) versions["node-llama-cpp"] = nodeLlamaCpp;
    if (this.llama) {
      // llama.cpp's own version (its build tag or source commit), not node-llama-cpp's tag.
      versions["llama.cpp"] = llamaCppVersion(this.llama.llamaCppRelease, llamaCppSourceCommit());
      versions["llama.cpp-binary"] = this.binary
        ? binaryLabel(this.binary)
        : `${this.llama.buildType}${this.llama.gpu === false ? " cpu" : ` ${this.llama.gpu}`}`;
    }
    return versions;
  }

  resolvedSettings(): Record<string, unknown> {
    return {
      threads: this.threads,
      threads_source: this.settings.threads === null ? "calibrated default" : "config",
      threads_calibration_tokens_per_s: this.threadRates,
      context_size_per_sequence: this.contextSize,
      sequences: this.sequences.length,
      binary: this.llama?.buildType ?? null,
      // Which binary ran and what it costs: native build or the prebuilt fallback (binary.ts).
      llama_binary: this.binary,
      // Native calls run on this pool; more than one thread costs OpenMP builds (process-env.ts).
      libuv_threadpool_size: libuvThreadpoolSize(),
      evaluator: this.evaluatorName(),
      gpu: this.llama?.gpu ?? null,
    };
  }

  /** Sequences in use at once: the concurrency, or the whole batch. */
  private slots(): number {
    return this.config.workload.mode === "concurrent"
      ? this.config.workload.concurrency
      : this.sequences.length;
  }

  /** Which loop generated the tokens: it decides how much binding overhead is in the timings. */
  private evaluatorName(): string {
    if (!this.direct) return "LlamaContextSequence.evaluate";
    return this.slots() === 1 && this.direct.nativeGenerate
      ? "native generation loop (llemGenerate, build:native)"
      : "direct decode loop";
  }

  async dispose(): Promise<void> {
    const context = this.context;
    const model = this.model;
    this.context = undefined;
    this.model = undefined;
    this.sequences = [];
    this.samplers?.dispose();
    this.samplers = undefined;
    if (context && !context.disposed) await context.dispose();
    if (model && !model.disposed) await model.dispose();
  }

  /**
   * True when no loaded model or context is held any more: after dispose(), or before prepare().
   * Checks node-llama-cpp's own `disposed` flags, so a test can trust it.
   */
  get released(): boolean {
    return (this.loadedModel?.disposed ?? true) && (this.loadedContext?.disposed ?? true);
  }
}
