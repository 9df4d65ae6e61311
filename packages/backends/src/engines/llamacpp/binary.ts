import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { hasNativeGenerate } from "./direct-decode.js";
import { installedGpuBinaries } from "./gpu-binaries.js";
import { linkedNativeBuild, nativeBuildMismatch } from "./native-build.js";
import {
  getLlamaFor,
  type Llama,
  llamaCppBinaryPreference,
  nodeLlamaCppPackageDir,
  nodeLlamaCppVersion,
} from "./node-llama-cpp.js";
import { readSetupRecord } from "./setup.js";

/**
 * Which llama.cpp binary a process loaded and what that costs, for each result
 * (`engine_settings.llama_binary`, `environment.engine_versions["llama.cpp-binary"]`) and for
 * `llem doctor`. Read from the process itself where it can be (the shared libraries mapped into
 * it), so it says what ran, not what was meant to run.
 */
export interface LlamaCppBinary {
  /** `native build`: compiled on this machine by the install; `prebuilt`: node-llama-cpp's. */
  kind: "native build" | "prebuilt" | "other local build";
  /** The ggml CPU backend library that was loaded: the prebuilt picks one per CPU (`libggml-cpu-zen4.so` …). */
  cpu_backend: string | null;
  /** Whether ggml runs its threads with OpenMP (libgomp loaded) or its own per-graph pool. */
  openmp: boolean | null;
  /** llem's whole-request native generation loop (llemGenerate) is in the binary. */
  native_loop: boolean;
  /** The native build's cache key (`$LLEM_CACHE_DIR/llama-builds/<key>`). */
  build_key: string | null;
  /** The native build's compiler, or what is known of the prebuilt's. */
  compiler: string | null;
  /** GPU backend in use (`cuda`, `vulkan`), or false. */
  gpu: string | false;
  /** Why the prebuilt runs (it is the fallback), or null. */
  fallback_reason: string | null;
  /** What this binary costs compared with the native build (docs/engine-performance.md). */
  cost: string;
}

/** Shared libraries mapped into this process (Linux), or null where that cannot be read. */
function mappedLibraries(): string[] | null {
  try {
    const maps = readFileSync("/proc/self/maps", "utf8");
    const paths = new Set<string>();
    for (const line of maps.split("\n")) {
      const path = line.split(/\s+/)[5];
      if (path?.startsWith("/")) paths.add(path);
    }
    return [...paths];
  } catch {
    return null;
  }
}

const PREBUILT_COST =
  "fallback: prompt processing of f16/f32 weights at about half of llama.cpp's own speed (its GCC 11 build spills tinyBLAS's accumulators), worker threads created per token, and no native generation loop (two binding round trips per batch-1 token)";

function fallbackReason(llama: Llama): string {
  if (llamaCppBinaryPreference() === "prebuilt") return "LLEM_LLAMACPP_BINARY=prebuilt";
  const directory = nodeLlamaCppPackageDir();
  const mismatch = directory ? nativeBuildMismatch(directory) : null;
  if (mismatch) return mismatch;
  const setup = readSetupRecord();
  if (!setup) return "no native build: the install's llama.cpp setup has not run in this install";
  if (setup.native.status === "skipped") return "LLEM_NATIVE_BUILD=0 at install";
  if (setup.native.status === "unavailable") return `no native build: ${setup.native.reason}`;
  if (setup.native.status === "failed")
    return `the native build failed at install: ${setup.native.reason}`;
  return llama.gpu === false
    ? "the native build did not load (node-llama-cpp fell back to its prebuilt binary)"
    : `the native build is CPU-only; ${llama.gpu} runs from node-llama-cpp's prebuilt binary`;
}

/** Describes the binary `llama` was loaded from, in this process. */
export function describeLoadedBinary(llama: Llama): LlamaCppBinary {
  const libraries = mappedLibraries();
  const cpuBackend =
    libraries
      ?.map((path) => basename(path))
      .find(
        (name) => /^libggml-cpu[-.a-z0-9]*\.(so|dylib)$/.test(name) || name === "ggml-cpu.dll",
      ) ?? null;
  const openmp =
    libraries === null
      ? null
      : libraries.some((path) => /lib(g|i)?omp[.\d]*\.so/.test(basename(path)));
  const nativeLoop = hasNativeGenerate(llama);
  const directory = nodeLlamaCppPackageDir();
  const linked = directory ? linkedNativeBuild(directory) : null;
  if (llama.buildType === "localBuild") {
    const record = linked?.record ?? null;
    return {
      kind: record ? "native build" : "other local build",
      cpu_backend: cpuBackend,
      openmp,
      native_loop: nativeLoop,
      build_key: linked?.key ?? null,
      compiler: record?.inputs.compiler ?? null,
      gpu: llama.gpu,
      fallback_reason: null,
      cost: record
        ? `none at run time (llama.cpp's own speed); built once on this machine in ${record.build_seconds} s, ${(record.size_bytes / 2 ** 20).toFixed(0)} MB in the llem cache`
        : "unknown: a local node-llama-cpp build llem did not make",
    };
  }
  return {
    kind: "prebuilt",
    cpu_backend: cpuBackend,
    openmp,
    native_loop: nativeLoop,
    build_key: null,
    compiler: "GCC 11.4 (node-llama-cpp's Ubuntu 22.04 CI)",
    gpu: llama.gpu,
    fallback_reason: fallbackReason(llama),
    cost: PREBUILT_COST,
  };
}

/** One line for `environment.engine_versions["llama.cpp-binary"]`. */
export function binaryLabel(binary: LlamaCppBinary): string {
  const parts = [
    binary.gpu === false ? "cpu" : binary.gpu,
    binary.cpu_backend,
    binary.openmp === null ? null : binary.openmp ? "OpenMP" : "no OpenMP",
    binary.native_loop ? "native generation loop" : "no native generation loop",
  ].filter(Boolean);
  const head =
    binary.kind === "native build"
      ? `native build ${binary.build_key}`
      : binary.kind === "prebuilt"
        ? "node-llama-cpp prebuilt (fallback)"
        : "local build";
  return `${head}: ${parts.join(", ")}`;
}

/**
 * `llem doctor`'s llamacpp line: loads the CPU binary the engine would load (in this process) and
 * says which it is, what it costs, and which GPU binaries are installed.
 */
export async function describeLlamaCppBinary(): Promise<{
  ok: boolean;
  detail: string;
  binary: LlamaCppBinary | null;
}> {
  const version = nodeLlamaCppVersion();
  const directory = nodeLlamaCppPackageDir();
  if (!directory || !version)
    return { ok: false, detail: "node-llama-cpp is not installed", binary: null };
  let binary: LlamaCppBinary;
  try {
    binary = describeLoadedBinary(await getLlamaFor("cpu"));
  } catch (error) {
    return {
      ok: false,
      detail: `node-llama-cpp ${version}: no llama.cpp binary loads: ${(error as Error).message}`,
      binary: null,
    };
  }
  const gpus = installedGpuBinaries(directory);
  const setup = readSetupRecord(directory);
  const gpuLine =
    gpus.length > 0
      ? `GPU binaries: ${gpus.join(", ")}`
      : `GPU binaries: none — ${setup?.gpu.reason ?? "not set up"}; \`LLEM_GPU_BINARIES=cuda npx -y pnpm@10 install\` fetches CUDA's`;
  const what =
    binary.kind === "prebuilt"
      ? `${binaryLabel(binary)} — ${binary.fallback_reason}. Costs: ${binary.cost.replace(/^fallback: /, "")}; \`npx -y pnpm@10 --filter @llem/backends build:native\` builds the native one`
      : `${binaryLabel(binary)} — costs ${binary.cost}`;
  return { ok: true, detail: `node-llama-cpp ${version}: ${what}. ${gpuLine}`, binary };
}
