#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: native ctest, the same unit tests as wasm under node,
# the node tests (native/wasm agreement, independent readers, bad input), and the browser tests.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/setup.sh || exit 1
bash scripts/build.sh || exit 1
mkdir -p test-output
failed=()
run() {
  local name=$1
  shift
  echo "=== $name"
  "$@" || failed+=("$name")
}
run "native unit tests (ctest)" ctest --test-dir build --output-on-failure
run "wasm unit tests under node (ctest)" ctest --test-dir build-wasm --output-on-failure
run "node tests (agreement, python3-onnx + onnxruntime readers, bad input)" node --test tests/js/
if [ -d tests/browser ]; then
  run "browser tests (playwright-core + chromium)" node --test tests/browser/
fi
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all test suites passed"
