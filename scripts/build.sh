#!/usr/bin/env bash
# Installs what is missing (scripts/deps.sh), then configures and builds.
#   scripts/build.sh           -> build/       (warnings are errors)
#   scripts/build.sh --asan    -> build-asan/  (AddressSanitizer + UBSan)
# Prints the build directory on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build
extra=()
case "${1:-}" in
  "") ;;
  --asan) dir=build-asan; extra=(-DURELAY_SANITIZE=ON) ;;
  *) echo "usage: scripts/build.sh [--asan]" >&2; exit 64 ;;
esac

line=$(bash scripts/deps.sh | tail -n 1)
prefix=${line#WOLFSSL_PREFIX=}
[ "$prefix" = system ] && prefix=""

cmake -S . -B "$dir" -DWOLFSSL_PREFIX="$prefix" -DURELAY_WERROR=ON "${extra[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)" >&2
echo "$dir"
