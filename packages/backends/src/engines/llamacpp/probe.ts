import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, platform } from "node:os";
import { join } from "node:path";
import { missingPackageMessage } from "../../optional-dependency.js";
import type { EngineProbe } from "../types.js";
import { nodeLlamaCppPackageDir, nodeLlamaCppVersion } from "./node-llama-cpp.js";

/**
 * What `llem doctor` says of the llamacpp engine: the node-llama-cpp it would load and which
 * llama.cpp binary — a local `build:native` build (with or without llem's native generation loop)
 * or the prebuilt ones — found the way node-llama-cpp itself finds them, without loading it.
 */
export async function probeLlamaCpp(): Promise<EngineProbe> {
  const packageDir = nodeLlamaCppPackageDir();
  if (packageDir === null) {
    return { ok: false, detail: missingPackageMessage("node-llama-cpp", "engine llamacpp") };
  }
  try {
    const version = nodeLlamaCppVersion() ?? "unknown";
    const requireFromEngine = createRequire(join(packageDir, "package.json"));
    const prebuilt = `@node-llama-cpp/${platform()}-${arch()}`;
    const variants = ["", "-cuda", "-vulkan"].filter((suffix) => {
      try {
        requireFromEngine.resolve(`${prebuilt}${suffix}`);
        return true;
      } catch {
        return false;
      }
    });
    const ok = variants.includes("");
    const binary = ok
      ? `prebuilt binaries: ${variants.map((suffix) => (suffix === "" ? "cpu" : suffix.slice(1))).join(", ")}`
      : `no prebuilt binary package ${prebuilt}; llama.cpp would have to be built from source`;
    const local = localBuild(packageDir);
    return {
      ok: ok || local !== null,
      detail: `node-llama-cpp ${version}, ${local ?? `${binary}; for llama.cpp's own speed run \`pnpm --filter @llem/backends build:native\` (~10 min)`}`,
    };
  } catch (error) {
    return {
      ok: false,
      detail: `node-llama-cpp not found: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

/**
 * The local build node-llama-cpp loads in preference to its prebuilt binaries (made by
 * `build:native`), and whether it has llem's native generation loop, which the prebuilt binaries
 * lack (the method name is in the binary's string table).
 */
function localBuild(packageDir: string): string | null {
  try {
    const llamaDir = join(packageDir, "llama");
    const { folderName } = JSON.parse(readFileSync(join(llamaDir, "lastBuild.json"), "utf8")) as {
      folderName?: string;
    };
    if (!folderName) return null;
    const addon = join(llamaDir, "localBuilds", folderName, "Release", "llama-addon.node");
    if (!existsSync(addon)) return null;
    return readFileSync(addon).includes("llemGenerate")
      ? `local build ${folderName} (build:native) with llem's native generation loop`
      : `local build ${folderName} without llem's native generation loop: rerun \`pnpm --filter @llem/backends build:native\``;
  } catch {
    return null;
  }
}
