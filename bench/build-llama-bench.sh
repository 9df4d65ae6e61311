#!/usr/bin/env bash
# Builds llama.cpp's own `llama-bench` from the exact llama.cpp source node-llama-cpp ships, CPU
# only, in llem's shared llama.cpp build tree (scripts/build-llama-server.sh --bench: cached under
# LLEM_CACHE_DIR/build/llama.cpp/, beside llama-server, so ggml compiles once). Prints its path.
# Used by bench/engine.mjs and bench/servers.mjs as the reference for engine overhead.
set -euo pipefail
exec bash "$(cd "$(dirname "$0")/.." && pwd)/scripts/build-llama-server.sh" --bench "$@"
