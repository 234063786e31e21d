#!/usr/bin/env bash
# Builds the native tree (build/), the wasm tree (build-wasm/) and assembles the static site (dist/).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
jobs=$(nproc)
export NODE_PATH=/usr/share/nodejs   # Debian's emcc loads node-acorn from there

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"

# Configured every time, like the native tree, so that source files added since (the CMake globs) are picked up.
emcmake cmake -S . -B build-wasm -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CROSSCOMPILING_EMULATOR="/usr/bin/node;--no-experimental-fetch" >/dev/null
cmake --build build-wasm -j"$jobs"

bash scripts/assemble_site.sh
