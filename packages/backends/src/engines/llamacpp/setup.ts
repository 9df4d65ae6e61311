import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { llemCacheDir } from "../../models/synthetic.js";
import { gpuBinaryPackages, installGpuPackage, wantedGpuBinaries } from "./gpu-binaries.js";
import {
  type EnsureNativeBuildOptions,
  ensureNativeBuild,
  findToolchain,
  type Toolchain,
  unlinkNativeBuild,
} from "./native-build.js";
import { nodeLlamaCppPackageDir } from "./node-llama-cpp.js";

/**
 * What `pnpm install` does for the llamacpp engine (packages/backends/scripts/setup-llamacpp.mjs,
 * run by the workspace's `prepare`), in order:
 *
 * 1. the native build (native-build.ts): linked from the per-machine cache, or compiled now when
 *    a toolchain is present; `LLEM_NATIVE_BUILD=0` keeps node-llama-cpp's prebuilt binary;
 * 2. GPU binaries (gpu-binaries.ts): fetched where a GPU is (or `LLEM_GPU_BINARIES` says).
 *
 * It never fails the install for what it could not do by itself (no compiler, a failed build,
 * no network): node-llama-cpp's prebuilt binary still runs, labelled as the fallback it is. It
 * fails only when asked explicitly (`LLEM_NATIVE_BUILD=force`, `LLEM_GPU_BINARIES=cuda`) and
 * that fails. What happened is written to `llama/llem-setup.json` in node-llama-cpp's folder, for
 * `llem doctor` and each result's engine settings.
 */

export type NativeSetupStatus =
  /** linked to a build made earlier on this machine */
  | "cached"
  /** compiled by this install */
  | "built"
  /** LLEM_NATIVE_BUILD=0 */
  | "skipped"
  /** no toolchain */
  | "unavailable"
  /** the build failed */
  | "failed";

export interface LlamaCppSetupRecord {
  native: { status: NativeSetupStatus; reason: string; key: string | null };
  gpu: { wanted: string[]; installed: string[]; reason: string };
  at: string;
}

export interface SetupOptions {
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
  /** Rebuild the native binary even when the cache has it (`build:native`). */
  force?: boolean;
  log?: (line: string) => void;
  /**
   * Loads the linked native build in a fresh process and says which binary loaded (the install
   * script passes one; a build that does not load must not stay linked, or every run would fall
   * back silently — or crash).
   */
  verify?: () => { kind: string | null; detail: string };
  /** For tests: another node-llama-cpp folder, toolchain and compile step than the real ones. */
  nodeLlamaCppDir?: string;
  toolchain?: Toolchain;
  compile?: EnsureNativeBuildOptions["compile"];
}

export interface SetupOutcome {
  record: LlamaCppSetupRecord | null;
  /** True when something asked for explicitly failed: the install should fail. */
  failed: boolean;
}

const SETUP_FILE = "llem-setup.json";

/** What the last install's setup did in this node-llama-cpp, or null before any. */
export function readSetupRecord(
  nodeLlamaCppDir = nodeLlamaCppPackageDir(),
): LlamaCppSetupRecord | null {
  if (!nodeLlamaCppDir) return null;
  try {
    return JSON.parse(readFileSync(join(nodeLlamaCppDir, "llama", SETUP_FILE), "utf8"));
  } catch {
    return null;
  }
}

function nativeMode(env: NodeJS.ProcessEnv, force: boolean): "auto" | "off" | "force" {
  if (force) return "force";
  const value = (env.LLEM_NATIVE_BUILD ?? "auto").trim().toLowerCase();
  if (["0", "off", "false", "no", "skip"].includes(value)) return "off";
  if (["force", "1", "on", "true", "yes"].includes(value)) return "force";
  return "auto";
}

export async function setupLlamaCpp(options: SetupOptions = {}): Promise<SetupOutcome> {
  const env = options.env ?? process.env;
  const cacheDir = options.cacheDir ?? llemCacheDir(env);
  const log = options.log ?? ((line: string) => console.log(`llem: ${line}`));
  const dir = options.nodeLlamaCppDir ?? nodeLlamaCppPackageDir();
  if (!dir) {
    log("node-llama-cpp is not installed; nothing to set up for the llamacpp engine");
    return { record: null, failed: false };
  }
  let failed = false;
  const mode = nativeMode(env, options.force ?? false);
  let native: LlamaCppSetupRecord["native"];
  if (mode === "off") {
    unlinkNativeBuild(dir);
    native = { status: "skipped", reason: "LLEM_NATIVE_BUILD=0", key: null };
  } else {
    const toolchain = options.toolchain ?? findToolchain(env);
    if (!toolchain.ok) {
      unlinkNativeBuild(dir);
      native = { status: "unavailable", reason: toolchain.reason, key: null };
      failed ||= mode === "force";
    } else {
      try {
        const outcome = await ensureNativeBuild({
          nodeLlamaCppDir: dir,
          cacheDir,
          toolchain,
          force: mode === "force",
          progress: log,
          compile: options.compile,
        });
        native = {
          status: outcome.source,
          reason:
            outcome.source === "built"
              ? `compiled in ${outcome.record.build_seconds} s`
              : `built ${outcome.record.built_at}`,
          key: outcome.record.key,
        };
      } catch (error) {
        unlinkNativeBuild(dir);
        native = { status: "failed", reason: (error as Error).message, key: null };
        failed ||= mode === "force";
      }
    }
  }
  if ((native.status === "built" || native.status === "cached") && options.verify) {
    const loaded = options.verify();
    if (loaded.kind !== "native build") {
      unlinkNativeBuild(dir);
      native = {
        status: "failed",
        reason: `it was built but did not load (${loaded.detail || "no output"})`,
        key: native.key,
      };
      failed ||= mode === "force";
    }
  }
  logNative(native, cacheDir, log);

  const gpu: LlamaCppSetupRecord["gpu"] = { wanted: [], installed: [], reason: "" };
  let explicit = false;
  try {
    explicit = (env.LLEM_GPU_BINARIES ?? "auto").trim().toLowerCase() !== "auto";
    const wanted = wantedGpuBinaries(env);
    gpu.wanted = wanted.kinds;
    gpu.reason = wanted.reason;
    const version = readVersion(dir);
    for (const kind of wanted.kinds) {
      const names = gpuBinaryPackages(kind);
      if (names.length === 0) log(`no ${kind} binaries exist for this platform`);
      for (const name of names) {
        const { fetched } = installGpuPackage({ nodeLlamaCppDir: dir, cacheDir, name, version });
        log(`${fetched ? "fetched" : "linked"} ${name}@${version} (${wanted.reason})`);
      }
      if (names.length > 0) gpu.installed.push(kind);
    }
  } catch (error) {
    gpu.reason = `${gpu.reason}; failed: ${(error as Error).message}`;
    log(`GPU binaries: ${(error as Error).message}`);
    failed ||= explicit;
  }

  const record: LlamaCppSetupRecord = { native, gpu, at: new Date().toISOString() };
  writeFileSync(join(dir, "llama", SETUP_FILE), `${JSON.stringify(record, null, 2)}\n`);
  return { record, failed };
}

function readVersion(nodeLlamaCppDir: string): string {
  return (
    JSON.parse(readFileSync(join(nodeLlamaCppDir, "package.json"), "utf8")) as { version: string }
  ).version;
}

function logNative(
  native: LlamaCppSetupRecord["native"],
  cacheDir: string,
  log: (line: string) => void,
): void {
  const where = native.key ? `${join(cacheDir, "llama-builds", native.key)}` : "";
  switch (native.status) {
    case "built":
    case "cached":
      log(
        `llama.cpp: native build for this machine (${native.status === "built" ? native.reason : "reused from the machine's cache"}: ${where})`,
      );
      return;
    case "skipped":
      log("llama.cpp: node-llama-cpp's prebuilt binary (LLEM_NATIVE_BUILD=0)");
      return;
    default:
      log(
        `llama.cpp: node-llama-cpp's prebuilt binary, as a fallback (${native.status === "unavailable" ? native.reason : `the native build failed: ${native.reason}`}). It processes prompts at about half of llama.cpp's own speed and has no native generation loop (docs/engine-performance.md); once a compiler is there: npx -y pnpm@10 --filter @llem/backends build:native`,
      );
  }
}
