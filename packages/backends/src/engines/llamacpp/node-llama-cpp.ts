import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlemError } from "@llem/schema";
import { isMissingPackage, missingPackageMessage } from "../../optional-dependency.js";

/**
 * node-llama-cpp loads a native addon and probes the machine when imported, so it is only ever
 * imported from here, on first use (never on a CLI's --help path or when a study is only planned).
 */
export type NodeLlamaCpp = typeof import("node-llama-cpp");
export type Llama = Awaited<ReturnType<NodeLlamaCpp["getLlama"]>>;

let modulePromise: Promise<NodeLlamaCpp> | undefined;

export function loadNodeLlamaCpp(): Promise<NodeLlamaCpp> {
  modulePromise ??= import("node-llama-cpp").catch((error: unknown) => {
    modulePromise = undefined;
    const message = isMissingPackage(error, "node-llama-cpp")
      ? missingPackageMessage("node-llama-cpp", "engine llamacpp")
      : `engine llamacpp: node-llama-cpp could not be loaded: ${(error as Error).message}`;
    throw new LlemError("ENGINE_UNAVAILABLE", message, { cause: error });
  });
  return modulePromise;
}

const llamaInstances = new Map<string, Promise<Llama>>();

/**
 * One Llama binding per process and device mode. `cpu` never touches GPU binaries; `gpu` lets
 * node-llama-cpp pick CUDA, then Vulkan, and falls back to CPU when neither works — the caller
 * checks `llama.gpu` to tell the two apart.
 *
 * `maxThreads: 0` turns off node-llama-cpp's thread splitter, so a context's `threads` is the
 * exact count llama.cpp uses (the splitter would otherwise cap it at the math-core count).
 * `build: "never"`: a missing binary is an error here, never a surprise compile at run time; a
 * local build made by `pnpm --filter @llem/backends build:native` is preferred over the prebuilt
 * one automatically by node-llama-cpp.
 */
export function getLlamaFor(mode: "cpu" | "gpu"): Promise<Llama> {
  let instance = llamaInstances.get(mode);
  if (!instance) {
    instance = loadNodeLlamaCpp().then(({ getLlama, LlamaLogLevel }) =>
      getLlama({
        gpu: mode === "cpu" ? false : "auto",
        build: "never",
        logLevel: LlamaLogLevel.error,
        progressLogs: false,
        maxThreads: 0,
      }),
    );
    instance.catch(() => llamaInstances.delete(mode));
    llamaInstances.set(mode, instance);
  }
  return instance;
}

let cachedPackageDir: string | null | undefined;

/** node-llama-cpp's package directory, from its resolved entry (without loading it); null if absent. */
export function nodeLlamaCppPackageDir(): string | null {
  if (cachedPackageDir !== undefined) return cachedPackageDir;
  cachedPackageDir = null;
  try {
    let directory = dirname(fileURLToPath(import.meta.resolve("node-llama-cpp")));
    for (let depth = 0; depth < 6; depth++) {
      if (readPackageJson(directory)?.name === "node-llama-cpp") {
        cachedPackageDir = directory;
        break;
      }
      directory = dirname(directory);
    }
  } catch {
    // unresolvable: not installed
  }
  return cachedPackageDir;
}

/** node-llama-cpp's package version, from its package.json; null when it is not installed. */
export function nodeLlamaCppVersion(): string | null {
  const directory = nodeLlamaCppPackageDir();
  return directory === null ? null : (readPackageJson(directory)?.version ?? null);
}

function readPackageJson(directory: string): { name?: string; version?: string } | undefined {
  try {
    return JSON.parse(readFileSync(join(directory, "package.json"), "utf8"));
  } catch {
    return undefined; // not this directory
  }
}
