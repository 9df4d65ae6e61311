import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { type ExperimentConfig, LlemError } from "@llem/schema";
import { abortedError } from "../aborted.js";
import type { EngineContext, PreparedModel } from "../engines/types.js";
import { resolveModel } from "../models/resolve-model.js";
import { llemCacheDir } from "../models/synthetic.js";
import { findBinary, searchPath } from "./find-binary.js";
import { freePort } from "./free-port.js";
import { HeldServer } from "./held-server.js";
import { type HttpEndpoint, HttpEngine } from "./http-engine.js";
import { processInfo } from "./process-info.js";
import { launchPlan, listenAddress } from "./runners/index.js";
import { type RunningServer, ServerProcess } from "./server-process.js";
import type { ServerEngineSpec } from "./spec.js";

/** Attempts at a fresh port when the one chosen was taken before the server bound it. */
const PORT_ATTEMPTS = 3;

/**
 * A server engine's experiment: `prepare` starts the server under its runner on a free port of
 * 127.0.0.1 and waits for its health route (outside the measurement window; the time is
 * `server_startup_s`), the window drives it through the load generator, `dispose` stops it.
 * Everything engine-specific comes from its spec.
 */
export class ServerEngine extends HttpEngine {
  private server: RunningServer | undefined;
  private startup: { argv: string[]; binarySource: string; attempts: number } | undefined;
  /** False when the server was taken over from the previous run (reuse_servers). */
  private fresh = true;
  private prefixCacheReset: boolean | null = null;
  private disposing: Promise<void> | null = null;
  private serverVersion: string | null = null;
  private tempLogDir: string | undefined;

  constructor(
    private readonly spec: ServerEngineSpec,
    config: ExperimentConfig,
    private readonly context: EngineContext,
  ) {
    super(spec.name, config);
  }

  protected async connect(signal: AbortSignal | undefined) {
    const { spec, config, context } = this;
    const section = spec.section(config);
    const model = this.serverModel();
    const endpointAt = (baseUrl: string): HttpEndpoint => ({
      baseUrl,
      model: model.argument,
      extras: spec.requestExtras(config),
      includeUsage: spec.streamUsage,
    });
    const held = await this.adoptHeld(section.stop_timeout_s * 1000);
    if (held) {
      this.server = held;
      this.fresh = false;
      this.startup = { argv: held.argv, binarySource: "shared with the previous run", attempts: 0 };
      this.prefixCacheReset = await this.resetPrefixCache(held.url);
      this.serverVersion = await this.readVersion(held.url);
      return { endpoint: endpointAt(held.url), model: model.prepared };
    }
    const logPath = await this.logPath();
    const local = section.runner === "local";
    const binary = local
      ? this.localBinary()
      : { path: section.binary ?? spec.command.binary, source: `in the image ${section.image}` };
    const runtimeBinary = local ? "" : this.runtimeBinary(section.runner);
    const mounts = [
      ...section.mounts.map((path) => resolve(context.baseDir ?? process.cwd(), path)),
    ];
    if (model.path && !mounts.includes(model.path)) mounts.push(model.path);
    let lastError: unknown;
    for (let attempt = 1; attempt <= PORT_ATTEMPTS; attempt++) {
      if (signal?.aborted) throw abortedError(signal, "server startup");
      const hostPort = await freePort();
      const listen = listenAddress(section.runner, hostPort);
      const args = [
        ...spec.command.args,
        ...spec.serverArgs(config, { ...listen, model: model.argument }),
        ...section.extra_args,
      ];
      const plan = launchPlan({
        runner: section.runner,
        binary: binary.path,
        args,
        hostPort,
        image: section.image,
        runtimeBinary,
        runtimeArgs: section.runtime_args,
        envNames: section.env,
        mounts,
        containerName: this.containerName(),
        ...(context.gpus ? { gpus: context.gpus } : {}),
        ipcHost: spec.ipcHost,
        baseEnv: process.env,
      });
      const baseUrl = `http://127.0.0.1:${hostPort}`;
      try {
        this.server = await ServerProcess.start({
          engine: spec.name,
          runner: section.runner,
          plan,
          url: baseUrl,
          hostPort,
          healthPath: spec.healthPath,
          startupTimeoutMs: section.startup_timeout_s * 1000,
          stopTimeoutMs: section.stop_timeout_s * 1000,
          logPath,
          recordDir: context.outputDir ?? null,
          detached: context.serverReuse?.keep === true,
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        lastError = error;
        // Someone took the port between our choice and the server's bind: choose again.
        if (LlemError.hasCode(error, "SERVER_EXITED") && error.details.portTaken === true) continue;
        throw error;
      }
      this.startup = {
        argv: [plan.command, ...plan.args],
        binarySource: binary.source,
        attempts: attempt,
      };
      this.serverVersion = await this.readVersion(baseUrl);
      return { endpoint: endpointAt(baseUrl), model: model.prepared };
    }
    throw lastError;
  }

  /** The previous run's server, when reuse_servers hands one over and it still serves. */
  private async adoptHeld(stopTimeoutMs: number): Promise<HeldServer | null> {
    const reuse = this.context.serverReuse;
    if (!reuse) return null;
    return HeldServer.adopt(reuse.recordFile, reuse.key, this.spec.healthPath, stopTimeoutMs);
  }

  /** Empties a shared server's prefix cache where the engine has a route for it. */
  private async resetPrefixCache(baseUrl: string): Promise<boolean | null> {
    const route = this.spec.resetPrefixCache;
    if (!route) return null;
    return fetch(`${baseUrl}${route.path}`, {
      method: route.method,
      signal: AbortSignal.timeout(10_000),
    })
      .then((response) => response.ok)
      .catch(() => false);
  }

  /** The model as the server is given it, and the result's model section. */
  private serverModel(): { argument: string; path: string | null; prepared: PreparedModel } {
    const { config, context, spec } = this;
    const name = config.task.model;
    if (spec.model === "gguf") {
      const resolved = resolveModel(name, {
        cacheDir: context.cacheDir ?? llemCacheDir(),
        ...(context.baseDir ? { baseDir: context.baseDir } : {}),
      });
      const header = resolved.header;
      return {
        argument: resolved.path,
        path: resolved.path,
        prepared: {
          name,
          path: resolved.path,
          parameters: header.parameterCount,
          fileSizeBytes: header.fileSizeBytes,
          weightType: header.weightType,
          modelBytes: null,
        },
      };
    }
    // A model id (org/name) is passed as is; a path that exists is passed absolute (and mounted).
    const asPath = resolve(context.baseDir ?? process.cwd(), name);
    const isPath = (name.startsWith(".") || name.startsWith("/")) && existsSync(asPath);
    return {
      argument: isPath ? asPath : name,
      path: isPath ? asPath : null,
      prepared: {
        name,
        path: isPath ? asPath : null,
        parameters: null,
        fileSizeBytes: null,
        weightType: null,
        modelBytes: null,
      },
    };
  }

  private localBinary(): { path: string; source: string } {
    const { spec, config, context } = this;
    const lookup = findBinary({
      configured: spec.section(config).binary,
      envVar: spec.binaryEnv,
      defaultName: spec.command.binary,
      ...(spec.binaryFallbacks ? { fallbacks: spec.binaryFallbacks } : {}),
      ...(context.baseDir ? { baseDir: context.baseDir } : {}),
    });
    if (!lookup.found) {
      throw new LlemError("ENGINE_UNAVAILABLE", `engine ${spec.name}: ${lookup.reason}`, {
        details: { field: `${spec.name}.binary` },
      });
    }
    return lookup;
  }

  private runtimeBinary(runner: string): string {
    const path = searchPath(runner);
    if (!path) {
      throw new LlemError(
        "ENGINE_UNAVAILABLE",
        `engine ${this.spec.name}: runner ${runner} needs ${runner} on PATH, and it is not there`,
        { details: { field: `${this.spec.name}.runner` } },
      );
    }
    return path;
  }

  /** Named after the run (its experiment dir), unique, and valid for every runtime. */
  private containerName(): string {
    const run = basename(this.context.outputDir ?? this.spec.name).replace(
      /[^A-Za-z0-9_.-]+/g,
      "-",
    );
    return `llem-${run.slice(0, 80)}-${randomBytes(3).toString("hex")}`.replace(/^llem--/, "llem-");
  }

  /** engine.log in the experiment dir; without one, a temporary file removed on dispose. */
  private async logPath(): Promise<string> {
    if (this.context.outputDir) return join(this.context.outputDir, "engine.log");
    this.tempLogDir = await mkdtemp(join(tmpdir(), "llem-server-"));
    return join(this.tempLogDir, "engine.log");
  }

  private async readVersion(baseUrl: string): Promise<string | null> {
    const route = this.spec.versionRoute;
    if (!route) return null;
    try {
      const response = await fetch(`${baseUrl}${route.path}`, {
        signal: AbortSignal.timeout(5000),
      });
      return response.ok ? route.read(await response.json()) : null;
    } catch {
      return null;
    }
  }

  windowProblem(): LlemError | null {
    const server = this.server;
    if (!server?.exitStatus) return null;
    const tail = server.logTail();
    return new LlemError(
      "SERVER_EXITED",
      `${this.spec.name}'s server ${server.describeExit()} during the measurement window${tail ? `\n--- last lines of the server log ---\n${tail}` : ""}`,
      { details: { exit: server.exitStatus } },
    );
  }

  /** A local or apptainer server runs on this machine's CPU beside llem: its CPU time counts. */
  workProcesses(): number[] {
    const server = this.server;
    if (!server) return [];
    const pid = server.containerPid ?? server.pid;
    return pid === undefined ? [] : [pid];
  }

  override logTail(): string | null {
    return this.server?.logTail() ?? null;
  }

  versions(): Record<string, string> {
    return this.serverVersion ? { [this.spec.name]: this.serverVersion } : {};
  }

  override resolvedSettings(): Record<string, unknown> {
    const section = this.spec.section(this.config);
    return {
      ...super.resolvedSettings(),
      server_startup_s: this.server?.startupS ?? null,
      server_fresh: this.fresh,
      prefix_cache_reset: this.prefixCacheReset,
      server_argv: this.startup?.argv ?? null,
      server_binary_source: this.startup?.binarySource ?? null,
      server_start_attempts: this.startup?.attempts ?? null,
      server_slots: this.spec.slots(this.config),
      runner: section.runner,
      image: section.image,
      gpus: this.context.gpus?.devices ?? null,
    };
  }

  /** The harness disposes twice (after the window, and finally): the server is handled once. */
  dispose(outcome?: { measured: boolean }): Promise<void> {
    this.releaseConnections();
    this.disposing ??= this.release(outcome?.measured === true);
    return this.disposing;
  }

  /**
   * Hands the server over to the next run (reuse_servers: only after a run that measured, with a
   * server still running) or stops it; removes a temp log.
   */
  private async release(measured: boolean): Promise<void> {
    const server = this.server;
    const reuse = this.context.serverReuse;
    if (server && reuse?.keep && measured && !server.exitStatus) {
      // The next run has the same server: leave it running, owned by the study runner now.
      if (server instanceof HeldServer) server.keep();
      else if (server instanceof ServerProcess) {
        const runner = processInfo(process.ppid);
        // A server that cannot be handed over is stopped below, like any other.
        await server
          .handOver(dirname(reuse.recordFile), reuse.key, {
            pid: process.ppid,
            start_ticks: runner?.startTicks ?? null,
          })
          .catch(() => {});
      }
    }
    await server?.stop();
    if (this.tempLogDir) {
      await rm(this.tempLogDir, { recursive: true, force: true });
      this.tempLogDir = undefined;
    }
  }
}
