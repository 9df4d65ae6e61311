// Builds node-llama-cpp's llama.cpp addon from the source node-llama-cpp ships (its
// llama/gitRelease.bundle; no network), CPU only, with llama.cpp's default CMake options: OpenMP
// on and -march=native. node-llama-cpp then prefers this local build over its prebuilt binaries.
//
// Why: the prebuilt CPU binaries are compiled without OpenMP, so ggml creates and joins a fresh
// thread pool for every graph it computes; with more than one thread on a small machine that
// costs up to 10× in generation speed (README "Thread default"). Needs cmake, a C++ compiler and
// Node's headers (npm's `nodedir`, or a download cmake-js does itself). Takes ~10 min on 2 cores.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const cli = join(packageDir, "node_modules", ".bin", "node-llama-cpp");
const result = spawnSync(cli, ["source", "download", "--gpu", "false", "--noUsageExample"], {
  cwd: packageDir,
  stdio: "inherit",
});
if (result.status !== 0) {
  console.error(
    "\nllem: building llama.cpp from node-llama-cpp's bundled source failed (see above). llem still works with the prebuilt binaries; the default thread count adapts to them.",
  );
  process.exit(result.status ?? 1);
}
