#!/usr/bin/env bash
# Builds llama.cpp's own `llama-bench` from the exact llama.cpp source node-llama-cpp ships
# (llama/gitRelease.bundle), CPU only, into bench/.build/ (git-ignored). Idempotent: re-running
# with an existing binary is a no-op. Used by bench/engine.mjs as the reference for engine overhead.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
build_root="$here/.build"
nlc_dir="$(cd "$root/packages/backends/node_modules/node-llama-cpp" && pwd -P)"
bundle="$nlc_dir/llama/gitRelease.bundle"
tag="$(node -e "console.log(require('$nlc_dir/llama/llama.cpp.info.json').tag)")"
src="$build_root/llama.cpp-$tag"
out="$src/build"
bin="$out/bin/llama-bench"

if [[ -x "$bin" && "${1:-}" != "--force" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$build_root"
if [[ ! -d "$src/.git" ]]; then
  rm -rf "$src"
  git clone --quiet "$bundle" "$src" >&2
  git -C "$src" checkout --quiet "$tag" 2>/dev/null || true
fi
cmake -S "$src" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF \
  -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$out" --target llama-bench -j "$(nproc)" >&2
echo "$bin"
