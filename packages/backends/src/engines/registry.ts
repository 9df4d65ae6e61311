import {
  closestMatch,
  DEFAULT_ENGINE,
  ENGINES,
  type Engine as EngineName,
  LlemError,
} from "@llem/schema";
import { llamaServer } from "./llama-server/index.js";
import { llamacpp } from "./llamacpp/index.js";
import { openai } from "./openai/index.js";
import { sglang } from "./sglang/index.js";
import { tensorrt } from "./tensorrt/index.js";
import { transformers } from "./transformers/index.js";
import type { EngineDefinition } from "./types.js";
import { vllm } from "./vllm/index.js";

/**
 * The engine registry: the one place that lists the engines this build of llem can run. The
 * harness, @llem/study and the CLI reach every engine through it and name none.
 *
 * Adding an engine = one folder under `engines/` exporting its `EngineDefinition`, and one line
 * here. Its config section (`<name>:` in a study) is in @llem/schema's ENGINE_SECTIONS; a name
 * there that has no line here is an engine the config format knows but this build cannot run —
 * `validate`, `--dry-run` and `run` refuse its configs before anything starts.
 */
const REGISTRY: { readonly [Name in EngineName]?: EngineDefinition } = {
  llamacpp,
  "llama-server": llamaServer,
  vllm,
  sglang,
  tensorrt,
  transformers,
  openai,
};

/** The registered engine of that name, or undefined when this build cannot run it. */
export function engineDefinition(name: string): EngineDefinition | undefined {
  return Object.hasOwn(REGISTRY, name) ? REGISTRY[name as EngineName] : undefined;
}

/** Every engine this build can run, in the config format's order. */
export function registeredEngines(): EngineDefinition[] {
  return ENGINES.flatMap((name) => REGISTRY[name] ?? []);
}

/** The engine a config without `engine:` runs on. */
export function defaultEngine(): EngineDefinition {
  return requireEngine(DEFAULT_ENGINE);
}

/** Why `name` cannot run here: the sentence `validate` and a failing run both print. */
export function engineUnavailableReason(name: string): string {
  const known = (ENGINES as readonly string[]).includes(name);
  const available = registeredEngines().map((definition) => definition.name);
  const guess = known ? undefined : closestMatch(name, [...ENGINES]);
  return known
    ? `engine "${name}" is not available in this build of llem (available: ${available.join(", ")})`
    : `unknown engine "${name}"${guess ? `; did you mean "${guess}"?` : ""} (engines: ${ENGINES.join(", ")})`;
}

/** The registered engine, or ENGINE_UNAVAILABLE naming the field and what is available. */
export function requireEngine(name: string): EngineDefinition {
  const definition = engineDefinition(name);
  if (definition) return definition;
  throw new LlemError("ENGINE_UNAVAILABLE", engineUnavailableReason(name), {
    details: { field: "engine", value: name },
  });
}
