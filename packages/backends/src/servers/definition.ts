import { spawnSync } from "node:child_process";
import {
  canonicalJson,
  type ExperimentConfig,
  sha256Hex,
  type ValidationIssue,
} from "@llem/schema";
import { llamaCppPreflight } from "../engines/llamacpp/preflight.js";
import type { EngineDefinition, EngineProbe, ResultContext } from "../engines/types.js";
import type { ResultWarning } from "../metrics/energy.js";
import { isSyntheticModel } from "../models/synthetic.js";
import { findBinary, searchPath } from "./find-binary.js";
import type { ServerEngineSpec } from "./spec.js";

/**
 * A server engine's registry entry, from its spec. Nothing here starts anything or needs the
 * server's executable: a study validates on a laptop and runs on a cluster, so whether the
 * binary is found is `llem doctor`'s to say (and the run's to fail on, clearly).
 */
export function serverEngineDefinition(spec: ServerEngineSpec): EngineDefinition {
  return {
    name: spec.name,
    description: spec.description,
    async create(config, context) {
      const { ServerEngine } = await import("./server-engine.js");
      return new ServerEngine(spec, config, context);
    },
    processEnv: (base) => base,
    preflight: (config, context) => serverPreflight(spec, config, context),
    estimate: (config, context) => spec.estimate(config, context),
    probe: async () => probeServer(spec),
    resultWarnings: (context) => serverResultWarnings(spec.name, context),
    serverKey: (config) => serverKeyOf(spec, config),
    version: (versions) => versions[spec.name] ?? null,
    summary: { parts: spec.summaryParts, shows: spec.summaryShows },
  };
}

/**
 * What makes two configs' servers the same one: the engine, the model, the section (runner, image,
 * binary, knobs) and the server's command line but its port. Workload and measurement fields that
 * do not reach the command line leave it unchanged; those that do (llama-server's slots follow
 * the concurrency unless n_parallel is set) change it.
 */
function serverKeyOf(spec: ServerEngineSpec, config: ExperimentConfig): string {
  const args = spec.serverArgs(config, { host: "", port: 0, model: config.task.model });
  const identity = {
    engine: spec.name,
    model: config.task.model,
    section: spec.section(config),
    args,
  };
  return sha256Hex(canonicalJson(identity)).slice(0, 16);
}

function serverPreflight(
  spec: ServerEngineSpec,
  config: ExperimentConfig,
  context: { baseDir: string },
): ValidationIssue[] {
  if (spec.model === "gguf") return llamaCppPreflight(config, context);
  if (isSyntheticModel(config.task.model)) {
    return [
      {
        path: "task.model",
        message: `synthetic models run on llamacpp and llama-server; ${spec.name} needs a model id or path it can load`,
      },
    ];
  }
  return [];
}

/** `llem doctor`: where the server's executable was found (or why not), and the container runtimes. */
export function probeServer(spec: ServerEngineSpec): EngineProbe {
  const lookup = findBinary({
    configured: null,
    envVar: spec.binaryEnv,
    defaultName: spec.command.binary,
    ...(spec.binaryFallbacks ? { fallbacks: spec.binaryFallbacks } : {}),
  });
  const command = [spec.command.binary, ...spec.command.args].join(" ");
  if (lookup.found) {
    const shown = lookup.path + (spec.command.args.length ? ` ${spec.command.args.join(" ")}` : "");
    const check = spec.probeCheck;
    if (
      check &&
      spawnSync(lookup.path, check.args, { stdio: "ignore", timeout: 20_000 }).status !== 0
    )
      return { ok: false, detail: `${lookup.path} (from ${lookup.source}) ${check.failure}` };
    return { ok: true, detail: `${shown} (from ${lookup.source})` };
  }
  const runtimes = ["podman", "docker", "apptainer"].filter((runtime) => searchPath(runtime));
  const containers = runtimes.length
    ? `; can run in a container (runner: ${runtimes.join(" | ")} with an image)`
    : "";
  return { ok: false, detail: `\`${command}\`: ${lookup.reason}${containers}` };
}

/** What only a server engine's requests can say about a window. */
export function serverResultWarnings(
  engine: string,
  { requests, config }: ResultContext,
): ResultWarning[] {
  const warnings: ResultWarning[] = [];
  const records = requests.flatMap((request) => (request.record ? [request.record] : []));
  const ok = records.filter((record) => record.status === "ok");
  const fromChunks = ok.filter((record) => record.token_source === "chunks").length;
  if (fromChunks > 0) {
    warnings.push({
      code: "tokens_from_chunks",
      message: `${fromChunks} of ${ok.length} responses carried no usage; their output tokens are the text chunks counted by llem (a chunk may hold several tokens)`,
    });
  }
  const fewerTokens = ok.filter(
    (record) => record.token_source === "usage" && record.output_tokens < record.text_chunks,
  ).length;
  if (fewerTokens > 0) {
    warnings.push({
      code: "usage_below_chunks",
      message: `${fewerTokens} responses report fewer completion tokens than the text chunks they streamed; the server's usage is used`,
    });
  }
  const resent = records.filter((record) => record.attempts > 1).length;
  if (resent > 0) {
    warnings.push({
      code: "requests_resent",
      message: `${resent} requests met a kept-alive connection the server had just closed and were sent again at once (attempts: 2 in requests.jsonl; the time lost is inside their latency); from the first on, llem opened a connection per request to that server`,
    });
  }
  const target = config.task.max_output_tokens;
  const short = ok.filter((record) => record.output_tokens < target).length;
  if (short > 0) {
    warnings.push({
      code: "short_outputs",
      message: `${short} of ${ok.length} responses generated fewer than max_output_tokens ${target} (end of sequence or a stop): runs are comparable only at equal output lengths`,
    });
  }
  const limit = config.task.max_input_tokens;
  const long =
    limit === null ? 0 : ok.filter((record) => (record.input_tokens ?? 0) > limit).length;
  if (long > 0) {
    warnings.push({
      code: "prompts_not_truncated",
      message: `${long} prompts were longer than max_input_tokens ${limit}; ${engine} was sent them whole (server engines do not truncate)`,
    });
  }
  return warnings;
}
