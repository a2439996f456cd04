#!/usr/bin/env bash
# Runs the deterministic simulator (tests/sim) over new seeds for a while:
#   scripts/sim.sh [SECONDS] [urelay-sim options...]
# Builds first (scripts/build.sh), starts at a seed drawn from the clock (or
# --from S), runs consecutive seeds for SECONDS (default 60) on one core,
# keeps going past failures and prints each failing seed's replay command.
# Example: scripts/sim.sh 600 --transport post --faults replay,client-restart
set -euo pipefail
cd "$(dirname "$0")/.."
secs=60
if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then
  secs=$1
  shift
fi
dir=$(bash scripts/build.sh | tail -n 1)
cmake --build "$dir" --target urelay-sim >/dev/null
from=()
[[ " $* " == *" --from "* ]] || from=(--from "$(( $(date +%s) % 1000000000 ))")
exec "$dir/tests/urelay-sim" --time "$secs" --keep-going "${from[@]}" "$@"
