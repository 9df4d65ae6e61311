import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { type ExperimentConfig, LlemError } from "@llem/schema";
import { abortedError } from "../aborted.js";
import type { EngineContext, PreparedModel } from "../engines/types.js";
import { resolveModel } from "../models/resolve-model.js";
import { llemCacheDir } from "../models/synthetic.js";
import { findBinary, searchPath } from "./find-binary.js";
import { freePort } from "./free-port.js";
import { type HttpEndpoint, HttpEngine } from "./http-engine.js";
import { launchPlan, listenAddress } from "./runners/index.js";
import { ServerProcess } from "./server-process.js";
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
  private server: ServerProcess | undefined;
  private startup: { argv: string[]; binarySource: string; attempts: number } | undefined;
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
      const endpoint: HttpEndpoint = {
        baseUrl,
        model: model.argument,
        extras: spec.requestExtras(config),
        includeUsage: spec.streamUsage,
      };
      return { endpoint, model: model.prepared };
    }
    throw lastError;
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
      server_fresh: true,
      server_argv: this.startup?.argv ?? null,
      server_binary_source: this.startup?.binarySource ?? null,
      server_start_attempts: this.startup?.attempts ?? null,
      server_slots: this.spec.slots(this.config),
      runner: section.runner,
      image: section.image,
      gpus: this.context.gpus?.devices ?? null,
    };
  }

  async dispose(): Promise<void> {
    this.releaseConnections();
    await this.server?.stop();
    if (this.tempLogDir) {
      await rm(this.tempLogDir, { recursive: true, force: true });
      this.tempLogDir = undefined;
    }
  }
}
