#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every unit and
# end-to-end test with ctest. `--asan` does the same in an ASan+UBSan build.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(bash scripts/build.sh "$@" | tail -n 1)
ulimit -n 20000 2>/dev/null || true
ctest --test-dir "$dir" --output-on-failure -j2
