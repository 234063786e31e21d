#!/usr/bin/env bash
# Installs what quantplay needs on Debian 12 (as root) and builds the wasm dependencies into a cache; safe to re-run.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${QP_CACHE:-$HOME/.cache/quantplay}
mkdir -p "$cache"

apt_pkgs=(build-essential cmake pkg-config git python3 ca-certificates dpkg-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libhwy-dev doctest-dev libcli11-dev nlohmann-json3-dev libstb-dev
  emscripten chromium python3-onnx)
command -v node >/dev/null 2>&1 || apt_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_pkgs+=(npm)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Source packages (protobuf for the wasm build of libprotobuf-lite) need a deb-src entry.
src_dir="$cache/src"
if ! ls -d "$src_dir"/protobuf-3.21*/ >/dev/null 2>&1; then
  if ! grep -rqs "deb-src" /etc/apt/sources.list /etc/apt/sources.list.d/ ; then
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      sed -e 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources > /etc/apt/sources.list.d/quantplay-src.sources
    else
      grep -E '^deb ' /etc/apt/sources.list | sed -e 's/^deb /deb-src /' > /etc/apt/sources.list.d/quantplay-src.list
    fi
    apt-get update -qq
  fi
  mkdir -p "$src_dir"
  (cd "$src_dir" && apt-get source -qq --download-only protobuf >/dev/null && dpkg-source -x protobuf_3.21*.dsc >/dev/null)
fi

# libprotobuf-lite for wasm, built once with emcmake and kept in the cache.
pb_prefix="$cache/wasm-protobuf"
if [ ! -f "$pb_prefix/lib/libprotobuf-lite.a" ]; then
  pb_src=$(ls -d "$src_dir"/protobuf-3.21*/ | head -n1)
  rm -rf "$cache/wasm-protobuf-build"
  export NODE_PATH=/usr/share/nodejs
  emcmake cmake -S "$pb_src/cmake" -B "$cache/wasm-protobuf-build" -DCMAKE_BUILD_TYPE=Release \
    -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_PROTOC_BINARIES=OFF -Dprotobuf_WITH_ZLIB=OFF \
    -Dprotobuf_BUILD_SHARED_LIBS=OFF -Dprotobuf_INSTALL=OFF \
    -DCMAKE_CXX_FLAGS="-O2 -fwasm-exceptions" -DCMAKE_C_FLAGS="-O2" >/dev/null
  cmake --build "$cache/wasm-protobuf-build" --target libprotobuf-lite -j"$(nproc)" >/dev/null
  mkdir -p "$pb_prefix/lib"
  cp "$cache/wasm-protobuf-build/libprotobuf-lite.a" "$pb_prefix/lib/"
  rm -rf "$pb_prefix/include"; cp -r "$pb_src/src" "$pb_prefix/include"
fi

# npm packages (models, plotting library, test oracles); onnxruntime-node's install script fetches GPU binaries.
lock_sum=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$here/node_modules/.qp-installed" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$lock_sum" > "$here/node_modules/.qp-installed"
fi
echo "setup: ok (cache $cache)"
