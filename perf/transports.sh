#!/usr/bin/env bash
# perf/transports.sh: one session's upload and download through urelay over
# ws and over direct post (1 and 4 workers), in one run on loopback, every
# byte checked by relaycheck. Reports the median of RUNS runs and the ratios
# the post issue sets as targets (post >= 0.5 x ws; >= 50 x the Go
# original's 4.5 MB/s single-session upload). Reports; never fails on speed.
#
#   perf/transports.sh [BUILD_DIR] [SIZE] [RUNS]      (default build 256m 3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
size=${2:-256m}
runs=${3:-3}
urelay=$build/tools/urelay
rc=$build/tests/urelay-test-relaycheck
[ -x "$urelay" ] && [ -x "$rc" ] || { echo "build first: scripts/build.sh" >&2; exit 64; }

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
PORTS_FILE="$tmp"/ports
# shellcheck source=scripts/ports.sh
. ./scripts/ports.sh
port() { free_port; }
wait_line() {
  for _ in $(seq 200); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "no /$2/ in $1" >&2; cat "$1" "${1%.out}.err" >&2 || true; exit 1
}

"$urelay" keygen --out "$tmp/k" >/dev/null
"$rc" serve >"$tmp/target.out" 2>/dev/null & pids+=($!)
wait_line "$tmp/target.out" '^[0-9]+$'
target=$(head -n1 "$tmp/target.out")
exit_port=$(port)
"$urelay" exit --listen "127.0.0.1:$exit_port" --key-file "$tmp/k" --allow-dest 127.0.0.1/32 \
  --dns-server 127.0.0.1:1 --log-level warn >"$tmp/exit.out" 2>"$tmp/exit.err" & pids+=($!)
wait_line "$tmp/exit.out" '^urelay exit: ready'

# Not called in $(...): the pid must reach this shell's pids for cleanup.
client() { # NAME ENDPOINT ARGS... -> sets $sport to the SOCKS port
  local name=$1 ep=$2; shift 2
  local p; p=$(port)
  "$urelay" client --socks "127.0.0.1:$p" --key-file "$tmp/k" --endpoint "$ep" --log-level warn \
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  wait_line "$tmp/$name.out" '^urelay client: ready'
  sport=$p
}
client ws "ws://127.0.0.1:$exit_port/stream"
ws=$sport
client post4 "http://127.0.0.1:$exit_port/tunnel" --workers 4
post4=$sport
client post1 "http://127.0.0.1:$exit_port/tunnel" --workers 1
post1=$sport

# Through `urelay forwarder` with 20 ms per request, where the workers
# matter: a second exit and clients with 4 MiB windows (window / round trip
# bounds one session).
exit2=$(port)
"$urelay" exit --listen "127.0.0.1:$exit2" --key-file "$tmp/k" --allow-dest 127.0.0.1/32 \
  --dns-server 127.0.0.1:1 --log-level warn --window 4m >"$tmp/exit2.out" 2>"$tmp/exit2.err" &
pids+=($!)
wait_line "$tmp/exit2.out" '^urelay exit: ready'
fwd=$(port)
"$urelay" forwarder --listen "127.0.0.1:$fwd" --exit "http://127.0.0.1:$exit2/tunnel" \
  --latency-ms 20 --log-level warn >"$tmp/fwd.out" 2>"$tmp/fwd.err" & pids+=($!)
wait_line "$tmp/fwd.out" '^urelay forwarder: ready'
client fwd4 "http://127.0.0.1:$fwd/exec" --workers 4 --window 4m
fwd4=$sport
client fwd1 "http://127.0.0.1:$fwd/exec" --workers 1 --window 4m
fwd1=$sport

# mbps SOCKS_PORT up|down: the median MB/s of $runs one-session transfers.
mbps() {
  local v=() i
  for ((i = 0; i < runs; i++)); do
    if [ "$2" = up ]; then a=(--up "$size" --down 0); else a=(--up 0 --down "$size"); fi
    out=$("$rc" run --socks "$1" --target "$target" --timeout 120 "${a[@]}")
    case "$out" in *", 0 failed;"*) ;; *) echo "transfer failed: $out" >&2; exit 1 ;; esac
    v+=("$(echo "$out" | sed -nE 's/.* ([0-9.]+) MB\/s total.*/\1/p')")
    printf '.' >&2
  done
  printf '%s\n' "${v[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

declare -A r
for t in ws post4 post1; do
  for d in up down; do r[$t.$d]=$(mbps "${!t}" "$d"); done
done
direct_size=$size
size=${FWD_SIZE:-32m}
for t in fwd4 fwd1; do
  for d in up down; do r[$t.$d]=$(mbps "${!t}" "$d"); done
done
size=$direct_size
echo >&2
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
printf 'single session, %s each way, median of %s runs (MB/s, relaycheck-verified)\n' "$size" "$runs"
printf '%-22s %10s %10s\n' transport upload download
printf '%-22s %10s %10s\n' "ws" "${r[ws.up]}" "${r[ws.down]}"
printf '%-22s %10s %10s\n' "post, 4 workers" "${r[post4.up]}" "${r[post4.down]}"
printf '%-22s %10s %10s\n' "post, 1 worker" "${r[post1.up]}" "${r[post1.down]}"
printf '%-22s %10s %10s   (%s each way, 20 ms per request)\n' "forwarder, 4 workers" \
  "${r[fwd4.up]}" "${r[fwd4.down]}" "${FWD_SIZE:-32m}"
printf '%-22s %10s %10s\n' "forwarder, 1 worker" "${r[fwd1.up]}" "${r[fwd1.down]}"
printf 'post(4) / ws:          up %s  down %s   (target >= 0.5)\n' \
  "$(ratio "${r[post4.up]}" "${r[ws.up]}")" "$(ratio "${r[post4.down]}" "${r[ws.down]}")"
printf 'post(4) upload / 4.5 MB/s (GooseRelayVPN): %s   (target >= 50)\n' \
  "$(ratio "${r[post4.up]}" 4.5)"
printf 'post: 4 workers / 1 worker:  direct up %s down %s;  via forwarder up %s down %s\n' \
  "$(ratio "${r[post4.up]}" "${r[post1.up]}")" "$(ratio "${r[post4.down]}" "${r[post1.down]}")" \
  "$(ratio "${r[fwd4.up]}" "${r[fwd1.up]}")" "$(ratio "${r[fwd4.down]}" "${r[fwd1.down]}")"
