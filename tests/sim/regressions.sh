#!/usr/bin/env bash
# Replays every seed of regressions.txt with urelay-sim ($1); fails on the
# first one that fails, after printing its trace and replay command.
set -euo pipefail
sim=${1:?usage: regressions.sh PATH/TO/urelay-sim}
list="$(dirname "$0")/regressions.txt"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
n=0
while IFS= read -r line; do
  args=${line%%#*}
  [ -n "${args// /}" ] || continue
  # shellcheck disable=SC2086 # the line is a list of arguments
  "$sim" $args >"$out" 2>&1 || { echo "regression: urelay-sim $args failed:"; cat "$out"; exit 1; }
  n=$((n + 1))
done <"$list"
echo "$n passed, 0 failed"
