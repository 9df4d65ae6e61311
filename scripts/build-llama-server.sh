#!/usr/bin/env bash
# Builds llama.cpp's own tools (`llama-server` by default; `llama-bench` with --bench) from the exact
# llama.cpp source node-llama-cpp ships (llama/gitRelease.bundle), CPU only, into a cache outside
# the clone, so every clone and worktree on the machine reuses one build:
#
#   ${LLEM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llem}/build/llama.cpp/<tag>-<commit>-<arch>/build/bin/llama-server
#
# Prints the binary's path on stdout (and nothing else); progress goes to stderr. Idempotent: with
# the binary already built it prints the path at once. Concurrent callers wait on one lock, so two
# clones never build into one tree at the same time. `--force` rebuilds.
#
#   pnpm build:llama-server            # → …/bin/llama-server
#   pnpm build:llama-server --bench    # → …/bin/llama-bench (same tree, ggml compiled once)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target=llama-server
force=0
for arg in "$@"; do
  case "$arg" in
    --bench) target=llama-bench ;;
    --force) force=1 ;;
    *) echo "usage: $0 [--bench] [--force]" >&2; exit 2 ;;
  esac
done

nlc_dir="$(cd "$root/packages/backends/node_modules/node-llama-cpp" 2>/dev/null && pwd -P)" || {
  echo "node-llama-cpp is not installed under packages/backends; run pnpm install first" >&2
  exit 1
}
bundle="$nlc_dir/llama/gitRelease.bundle"
tag="$(node -e "console.log(require(process.argv[1]).tag)" "$nlc_dir/llama/llama.cpp.info.json")"
commit="$(git bundle list-heads "$bundle" | awk 'NR==1 {print substr($1, 1, 12)}')"
cache="${LLEM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/llem}"
# Keyed by the source (tag + commit) and the machine's architecture: a different llama.cpp gets
# its own tree, the same one is reused.
tree="$cache/build/llama.cpp/$tag-$commit-$(uname -m)"
src="$tree/src"
out="$tree/build"
bin="$out/bin/$target"
stamp="$tree/.built-$target"

if [[ $force -eq 0 && -x "$bin" && -f "$stamp" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$tree"
exec 9>"$tree/.lock"
flock 9 # another clone may be building this tree right now: wait for it
if [[ $force -eq 0 && -x "$bin" && -f "$stamp" ]]; then
  echo "$bin"
  exit 0
fi
for tool in git cmake ninja c++; do
  command -v "$tool" >/dev/null || {
    echo "building $target needs $tool (apt-get install -y git cmake ninja-build g++)" >&2
    exit 1
  }
done
if [[ ! -d "$src/.git" ]]; then
  rm -rf "$src"
  git clone --quiet "$bundle" "$src" >&2
fi
git -C "$src" checkout --quiet "$commit" >&2
# Static libraries: the binary stands alone (a container rootfs needs only it and libc/libstdc++).
cmake -S "$src" -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$out" --target "$target" -j "$(nproc)" >&2
"$bin" --version >&2 2>&1 || true
touch "$stamp"
echo "$bin"
