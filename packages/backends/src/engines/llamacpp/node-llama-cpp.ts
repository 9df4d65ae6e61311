import { closeSync, openSync, readFileSync, readSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LlemError } from "@llem/schema";
import { isMissingPackage, missingPackageMessage } from "../../optional-dependency.js";
import { nativeBuildMismatch } from "./native-build.js";

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
 * Which llama.cpp binary to load (`LLEM_LLAMACPP_BINARY`):
 * - `auto` (default): the native build that `pnpm install` made for this machine when there is
 *   one (node-llama-cpp prefers a local build), else node-llama-cpp's prebuilt binary;
 * - `prebuilt`: node-llama-cpp's prebuilt binary even where a native build exists (to compare the
 *   two; the bench does);
 * - `native`: the native build, or an error when there is none.
 */
export type LlamaCppBinaryPreference = "auto" | "prebuilt" | "native";

export function llamaCppBinaryPreference(
  env: NodeJS.ProcessEnv = process.env,
): LlamaCppBinaryPreference {
  const value = (env.LLEM_LLAMACPP_BINARY ?? "auto").trim().toLowerCase() || "auto";
  if (value === "auto" || value === "prebuilt" || value === "native") return value;
  throw new LlemError(
    "CONFIG_INVALID",
    `LLEM_LLAMACPP_BINARY is "${env.LLEM_LLAMACPP_BINARY}"; expected auto, prebuilt or native`,
    { details: { field: "LLEM_LLAMACPP_BINARY", value: env.LLEM_LLAMACPP_BINARY } },
  );
}

/**
 * One Llama binding per process and device mode. `cpu` never touches GPU binaries; `gpu` lets
 * node-llama-cpp pick CUDA, then Vulkan, and falls back to CPU when neither works — the caller
 * checks `llama.gpu` to tell the two apart.
 *
 * `maxThreads: 0` turns off node-llama-cpp's thread splitter, so a context's `threads` is the
 * exact count llama.cpp uses (the splitter would otherwise cap it at the math-core count).
 * `build: "never"`: a missing binary is an error here, never a surprise compile at run time; the
 * native build the install made (native-build.ts) is a node-llama-cpp "local build", which
 * node-llama-cpp loads in preference to its prebuilt binaries by itself.
 */
export function getLlamaFor(mode: "cpu" | "gpu"): Promise<Llama> {
  const directory = nodeLlamaCppPackageDir();
  const requested = llamaCppBinaryPreference();
  const preference =
    requested === "auto" && directory && nativeBuildMismatch(directory) ? "prebuilt" : requested;
  const key = `${mode}:${preference}`;
  let instance = llamaInstances.get(key);
  if (!instance) {
    instance = loadNodeLlamaCpp().then(async ({ getLlama, LlamaLogLevel }) => {
      const llama = await getLlama({
        gpu: mode === "cpu" ? false : "auto",
        build: "never",
        logLevel: LlamaLogLevel.error,
        progressLogs: false,
        maxThreads: 0,
        // node-llama-cpp looks for a local build in a folder named after the build options and
        // falls back to the prebuilt binary (matched without custom options) when there is none:
        // an option no build has skips the local build.
        ...(preference === "prebuilt"
          ? { cmakeOptions: { LLEM_LLAMACPP_BINARY: "prebuilt" } }
          : {}),
      });
      if (preference === "native" && llama.buildType !== "localBuild") {
        await llama.dispose();
        throw new LlemError(
          "ENGINE_UNAVAILABLE",
          "LLEM_LLAMACPP_BINARY is native but this install has no native llama.cpp build; run `npx -y pnpm@10 --filter @llem/backends build:native`",
          { details: { field: "LLEM_LLAMACPP_BINARY", value: "native" } },
        );
      }
      return llama;
    });
    instance.catch(() => llamaInstances.delete(key));
    llamaInstances.set(key, instance);
  }
  return instance;
}

let cachedPackageDir: string | null | undefined;

/** node-llama-cpp's package directory (real path), from its resolved entry (without loading it); null if absent. */
export function nodeLlamaCppPackageDir(): string | null {
  if (cachedPackageDir !== undefined) return cachedPackageDir;
  cachedPackageDir = null;
  try {
    let directory = dirname(fileURLToPath(import.meta.resolve("node-llama-cpp")));
    for (let depth = 0; depth < 6; depth++) {
      if (readPackageJson(directory)?.name === "node-llama-cpp") {
        cachedPackageDir = realpathSync(directory);
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

/**
 * The llama.cpp commit node-llama-cpp builds its binaries from: the head of the source bundle it
 * ships (`llama/gitRelease.bundle`, whose text header lists `<sha> <ref>` lines before the pack).
 * Its own release tag (`v0.5.0` in llama.cpp.info.json and the binaries' metadata) is
 * node-llama-cpp's name for that build, not llama.cpp's. Null when there is no bundle.
 */
export function llamaCppSourceCommit(): string | null {
  const directory = nodeLlamaCppPackageDir();
  if (directory === null) return null;
  try {
    const fd = openSync(join(directory, "llama", "gitRelease.bundle"), "r");
    try {
      const head = Buffer.alloc(4096);
      const length = readSync(fd, head, 0, head.length, 0);
      const header = head.subarray(0, length).toString("latin1");
      if (!header.startsWith("# v2 git bundle") && !header.startsWith("# v3 git bundle")) {
        return null;
      }
      return /^([0-9a-f]{40}) /m.exec(header)?.[1] ?? null;
    } finally {
      closeSync(fd);
    }
  } catch {
    return null;
  }
}

/**
 * llama.cpp's own version, as `result.environment.engine_versions["llama.cpp"]` records it:
 * the release a binary reports when it is a llama.cpp build tag (`b6855`), else the commit of the
 * source it was built from (`ggml-org/llama.cpp@de3ff815ea7d`), else the release as reported.
 *
 *   llamaCppVersion({ repo: "ggml-org/llama.cpp", release: "b6855" }, null)      → "ggml-org/llama.cpp@b6855"
 *   llamaCppVersion({ repo: "ggml-org/llama.cpp", release: "v0.5.0" }, "de3f…")  → "ggml-org/llama.cpp@de3ff815ea7d"
 */
export function llamaCppVersion(
  release: { repo: string; release: string },
  sourceCommit: string | null,
): string {
  if (/^b\d+$/.test(release.release) || sourceCommit === null) {
    return `${release.repo}@${release.release}`;
  }
  return `${release.repo}@${sourceCommit.slice(0, 12)}`;
}
