#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_<name>.c with clang + libFuzzer + ASan/UBSan
# and runs each for a bounded time (default 30 s; CI runs 30 s each).
#   scripts/fuzz.sh [SECONDS]
# Each target names the modules it links on its "fuzz-sources:" line, and
# may name system libraries on a "fuzz-libs:" line. The
# corpus grows in build-fuzz/corpus/<name>, seeded from tests/fuzz/seeds/<name>.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
line=$(bash scripts/deps.sh | tail -n 1)
prefix=${line#WOLFSSL_PREFIX=}
if [ "$prefix" = system ]; then
  wolf_cflags=$(pkg-config --cflags wolfssl); wolf_libs=$(pkg-config --libs wolfssl)
else
  wolf_cflags="-I$prefix/include"; wolf_libs="$prefix/lib/libwolfssl.a -lm -lpthread"
fi
out=build-fuzz
mkdir -p "$out"
status=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  mods=$(sed -n 's/^ \* fuzz-sources: //p' "$src")
  [ -n "$mods" ] || { echo "fuzz: $src has no fuzz-sources line" >&2; exit 1; }
  libs=$(sed -n 's/^ \* fuzz-libs: //p' "$src") # optional: system libraries, e.g. -lwslay
  # shellcheck disable=SC2086
  clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -D_GNU_SOURCE -I. $wolf_cflags "$src" $mods $libs $wolf_libs -o "$out/$name"
  mkdir -p "$out/corpus/$name"
  seeds=()
  [ -d "tests/fuzz/seeds/$name" ] && seeds=("tests/fuzz/seeds/$name")
  echo "fuzz: $name for ${secs}s"
  if ! "$out/$name" -artifact_prefix="$out/$name-" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
      -print_final_stats=1 "$out/corpus/$name" "${seeds[@]}" >"$out/$name.log" 2>&1; then
    echo "fuzz: $name FAILED; see $out/$name.log and the crash-* file it names" >&2
    tail -n 30 "$out/$name.log" >&2
    status=1
  else
    grep -E 'stat::number_of_executed_units|stat::new_units_added' "$out/$name.log" | tr '\n' ' '
    echo
  fi
done
exit $status
