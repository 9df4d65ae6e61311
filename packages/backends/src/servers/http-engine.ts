import {
  type ExperimentConfig,
  LlemError,
  SERVER_ENGINE_APIS,
  SERVER_WORKLOAD_DEFAULTS,
  type ServerEngine,
} from "@llem/schema";
import { abortedError } from "../aborted.js";
import type {
  Engine,
  EngineRunOptions,
  PreparedModel,
  RequestMeasurement,
} from "../engines/types.js";
import { type LoadPlan, runLoad } from "../load/generator.js";
import { closeConnections } from "../load/http-stream.js";
import { toMeasurement } from "../load/measurement.js";
import { apiUrl, requestBody } from "../load/request-body.js";
import { type ServerApi, type StreamTarget, streamRequest } from "../load/stream-request.js";

/** Where an HTTP engine sends its requests, once `prepare` knows. */
export interface HttpEndpoint {
  baseUrl: string;
  /** The model name requests carry. */
  model: string;
  headers?: Record<string, string>;
  /** Fields every request body carries (the engine's own). */
  extras: Record<string, unknown>;
  includeUsage: boolean;
}

/**
 * What every engine that is driven over OpenAI-compatible streaming HTTP shares: the request
 * bodies, warmup, the measured workload through the one load generator, and the settings a
 * result shows. Subclasses only say where the endpoint is (`connect`: start a server, or check
 * a running one) and how to let it go.
 */
export abstract class HttpEngine implements Engine {
  protected endpoint: HttpEndpoint | undefined;
  protected readonly api: ServerApi;

  constructor(
    readonly name: ServerEngine,
    protected readonly config: ExperimentConfig,
  ) {
    this.api = config.workload.api ?? SERVER_ENGINE_APIS[name][0];
  }

  /** Starts or finds the server; returns the model section of the result. */
  protected abstract connect(signal: AbortSignal | undefined): Promise<{
    endpoint: HttpEndpoint;
    model: PreparedModel;
  }>;

  abstract versions(): Record<string, string>;
  abstract dispose(outcome?: { measured: boolean }): Promise<void>;
  logTail?(): string | null;

  async prepare({ signal }: { signal?: AbortSignal }): Promise<PreparedModel> {
    const { endpoint, model } = await this.connect(signal);
    this.endpoint = endpoint;
    return model;
  }

  protected target(): StreamTarget {
    const endpoint = this.requireEndpoint();
    return {
      url: apiUrl(endpoint.baseUrl, this.api),
      api: this.api,
      ...(endpoint.headers ? { headers: endpoint.headers } : {}),
    };
  }

  private requireEndpoint(): HttpEndpoint {
    if (!this.endpoint)
      throw new LlemError("INTERNAL", `${this.name} engine used before prepare()`);
    return this.endpoint;
  }

  private body(prompt: string): string {
    const endpoint = this.requireEndpoint();
    return requestBody({
      api: this.api,
      model: endpoint.model,
      prompt,
      maxTokens: this.config.task.max_output_tokens,
      seed: this.config.task.random_seed,
      includeUsage: endpoint.includeUsage,
      extras: endpoint.extras,
    });
  }

  private timeoutMs(): number {
    return (
      (this.config.workload.request_timeout_s ?? SERVER_WORKLOAD_DEFAULTS.request_timeout_s) * 1000
    );
  }

  async warmup(prompt: string, { signal }: { signal?: AbortSignal }): Promise<RequestMeasurement> {
    const start = performance.now();
    const response = await streamRequest(this.target(), this.body(prompt), {
      ...(signal ? { signal } : {}),
      timeoutMs: this.timeoutMs(),
    });
    if (signal?.aborted) throw abortedError(signal, "warmup");
    const measurement = toMeasurement(response, {
      index: 0,
      promptIndex: 0,
      scheduledAt: start,
      windowStart: start,
    });
    if (response.status !== "ok") {
      const tail = this.logTail?.() ?? null;
      throw new LlemError(
        "REQUESTS_FAILED",
        `a warmup request to ${this.name} failed: ${response.error}${tail ? `\n--- last lines of the server log ---\n${tail}` : ""}`,
      );
    }
    return measurement;
  }

  async run(prompts: readonly string[], options: EngineRunOptions): Promise<RequestMeasurement[]> {
    const requests = prompts.map((prompt, promptIndex) => ({
      promptIndex,
      body: this.body(prompt),
    }));
    const measurements = await runLoad(this.target(), requests, this.loadPlan(), {
      ...(options.signal ? { signal: options.signal } : {}),
      timeoutMs: this.timeoutMs(),
      windowStart: options.windowStart ?? performance.now(),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
    });
    if (options.signal?.aborted) throw abortedError(options.signal, "measurement window");
    return measurements;
  }

  private loadPlan(): LoadPlan {
    const workload = this.config.workload;
    if (workload.mode !== "rate") return { mode: workload.mode, concurrency: workload.concurrency };
    return {
      mode: "rate",
      requestRate: workload.request_rate ?? 1,
      arrival: workload.arrival ?? "poisson",
      ...(workload.burstiness === undefined ? {} : { burstiness: workload.burstiness }),
      maxConcurrency: workload.max_concurrency ?? null,
      seed: this.config.task.random_seed,
    };
  }

  /** Closes the kept-alive connections to the endpoint (from `dispose`). */
  protected releaseConnections(): void {
    if (this.endpoint) closeConnections(this.endpoint.baseUrl);
  }

  /** What every HTTP engine's result shows; subclasses add theirs. */
  resolvedSettings(): Record<string, unknown> {
    return {
      api: this.api,
      url: this.endpoint ? apiUrl(this.endpoint.baseUrl, this.api) : null,
      request_model: this.endpoint?.model ?? null,
      request_extras: this.endpoint?.extras ?? {},
      stream_usage_requested: this.endpoint?.includeUsage ?? null,
    };
  }
}
