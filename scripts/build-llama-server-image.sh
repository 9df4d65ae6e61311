#!/usr/bin/env bash
# Builds a local container image holding llem's llama-server build (scripts/build-llama-server.sh)
# and nothing else but the shared libraries it links — from a rootfs tarball with `podman import`
# (no registry, no base image pull). Prints the image name; a no-op when it exists already.
#
#   pnpm build:llama-server-image            # → localhost/llem-llama-server:<tag>-<commit>
#   RUNTIME=docker pnpm build:llama-server-image
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
runtime="${RUNTIME:-podman}"
bin="$(bash "$root/scripts/build-llama-server.sh")"
tree="$(basename "$(dirname "$(dirname "$(dirname "$bin")")")")"
image="localhost/llem-llama-server:${tree%-*}"
if "$runtime" image exists "$image" 2>/dev/null || "$runtime" image inspect "$image" >/dev/null 2>&1; then
  echo "$image"
  exit 0
fi
rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp"
cp "$bin" "$rootfs/usr/local/bin/llama-server"
# The binary's shared libraries (and the dynamic loader) at the paths it was linked against.
for lib in $(ldd "$bin" | awk '/=> \// {print $3} /^[[:space:]]*\/lib/ {print $1}'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
tar -C "$rootfs" -cf "$rootfs.tar" .
"$runtime" import --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' "$rootfs.tar" "$image" >&2
rm -f "$rootfs.tar"
echo "$image"
