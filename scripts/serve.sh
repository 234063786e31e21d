#!/usr/bin/env bash
# Installs what is missing, builds, and serves the playground (with the default example model) on 127.0.0.1.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh
bash scripts/build.sh
exec node scripts/serve.mjs dist "${PORT:-8080}"
