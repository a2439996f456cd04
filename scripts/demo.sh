#!/usr/bin/env bash
# The main job on loopback: installs what is missing, builds, then runs a
# real exit and real clients with a fresh key, pushes content-checked
# traffic through both transports (ws, and post direct and through
# `urelay forwarder`, the Apps Script stand-in) to a local target, and
# prints what moved and how fast. Everything stays on 127.0.0.1 (the exit's DNS points at a closed
# loopback port, so no name ever leaves the machine) and stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(bash scripts/build.sh | tail -n 1)
U=$PWD/$dir/tools/urelay
RC=$PWD/$dir/tests/urelay-test-relaycheck
"$U" version
echo

tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
PORTS_FILE="$tmp"/ports
# shellcheck source=scripts/ports.sh
. ./scripts/ports.sh
port() { free_port; }
wait_ready() {
  for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  cat "$1" "${1%.out}.err" >&2; echo "demo: $3 did not start" >&2; exit 1
}

"$U" keygen --out "$tmp/key" >/dev/null
"$RC" serve >"$tmp/target.port" &
pids+=($!)
wait_ready "$tmp/target.port" '^[0-9]' target
target=$(head -n1 "$tmp/target.port")
ep=$(port)
sp=$(port)
"$U" exit --listen "127.0.0.1:$ep" --key-file "$tmp/key" --allow-dest 127.0.0.0/8 \
  --dns-server 127.0.0.1:1 --log-level warn >"$tmp/exit.out" 2>"$tmp/exit.err" &
pids+=($!)
wait_ready "$tmp/exit.out" 'ready' exit
# client NAME ENDPOINT ARGS...: starts a client; sets sp to its SOCKS port.
client() {
  local name=$1 endpoint=$2; shift 2
  sp=$(port)
  "$U" client --socks "127.0.0.1:$sp" --key-file "$tmp/key" --endpoint "$endpoint" \
    --log-level warn "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pids+=($!)
  wait_ready "$tmp/$name.out" 'ready' "$name client"
  cat "$tmp/$name.out"
}
cat "$tmp/exit.out"
client ws "ws://127.0.0.1:$ep/stream"
echo

run() {
  local what=$1; shift
  local out
  out=$("$RC" run --socks "$sp" --target "$target" --timeout 120 "$@") ||
    { echo "demo: FAILED: $what" >&2; exit 1; }
  printf '%-48s %s\n' "$what" "${out#relaycheck: }"
}
run "1 session, 64 MiB up + 64 MiB down:" --up 64m --down 64m
run "16 sessions, 4 MiB each way:" --sessions 16 --up 4m --down 4m
run "100 sessions, 256 KiB each way:" --sessions 100 --up 256k --down 256k
run "pipelined SOCKS5 request + data (write order):" --early --sessions 8 --up 64k --down 64k

mkdir -p "$tmp/www"
head -c $((16 << 20)) /dev/urandom >"$tmp/www/file"
hp=$(port)
(cd "$tmp/www" && exec python3 -m http.server "$hp" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$hp/" && break; sleep 0.1; done
t0=$(date +%s%N)
curl -sS --fail --max-time 60 --socks5-hostname "127.0.0.1:$sp" -o "$tmp/got" "http://localhost:$hp/file"
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
if [ "$(sha256sum <"$tmp/got")" = "$(sha256sum <"$tmp/www/file")" ]; then
  printf '%-48s %s\n' "curl --socks5-hostname, 16 MiB over HTTP:" "sha256 equal, ${ms} ms"
else
  echo "demo: FAILED: curl download differs" >&2; exit 1
fi

echo
echo "post transport: batched POST /tunnel with long polls, 4 workers"
client post "http://127.0.0.1:$ep/tunnel"
run "1 session, 64 MiB up + 64 MiB down:" --up 64m --down 64m
run "100 sessions, 256 KiB each way:" --sessions 100 --up 256k --down 256k
run "1 session, 1 byte each way (time to first byte):" --up 1 --down 1

echo
echo "post through urelay forwarder (302 -> GET, text mode, 20 ms per request)"
fp=$(port)
"$U" forwarder --listen "127.0.0.1:$fp" --exit "http://127.0.0.1:$ep/tunnel" --latency-ms 20 \
  --log-level warn >"$tmp/fwd.out" 2>"$tmp/fwd.err" &
pids+=($!)
wait_ready "$tmp/fwd.out" 'ready' forwarder
client fwd "http://127.0.0.1:$fp/macros/s/demo/exec" --text --workers 8
run "1 session, 8 MiB up + 8 MiB down:" --up 8m --down 8m
run "16 sessions, 256 KiB each way:" --sessions 16 --up 256k --down 256k
run "1 session, 1 byte each way (time to first byte):" --up 1 --down 1
echo
echo "demo: every transfer byte-exact through client -> ws | post | forwarder -> exit -> target"
