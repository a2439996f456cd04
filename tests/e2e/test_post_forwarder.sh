#!/usr/bin/env bash
# The post transport through `urelay forwarder` (the Apps Script stand-in:
# every answer comes back through a 302 and a GET), with latency and with
# injected faults. Every byte checked; a fault must never reset a session.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --window 4m

echo "through the forwarder with 50 ms latency, text mode, 302 -> GET"
start_forwarder fwd --latency-ms 50
ENDPOINT="http://127.0.0.1:$FWD_PORT/macros/s/test/exec"
start_client client k --text --workers 8 --window 4m
check --up 64m --down 64m
check --sessions 100 --up 256k --down 256k
check --up 1k --down 16m
check --early --up 64k --down 64k --sessions 10

echo "time to first byte: about one round trip through the forwarder, no fixed window"
start_client quick k --text --optimistic
out=$("$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --up 1 --down 1 --timeout 10)
echo "$out"
ms=$(echo "$out" | sed -nE 's/.*; ([0-9.]+) s;.*/\1/p' | awk '{ printf "%d", $1 * 1000 }')
# One exchange costs >= 50 ms here; a 350 ms drain window (the Go
# original's) would make it >= 350 ms.
[ "$ms" -lt 300 ] || fail "a 1-byte exchange took $ms ms"
stop quick "$CLIENT_PID"

grep -E 'post: .* [1-9][0-9]* redirects followed' "$TMP/quick.err" || fail "no redirects followed"

echo "faults: every 7th answer lost (502), every 13th truncated"
start_forwarder faulty --fail-every 7 --truncate-every 13
ENDPOINT="http://127.0.0.1:$FWD_PORT/exec"
start_client faults k --workers 4
check --up 16m --down 16m
check --sessions 20 --up 512k --down 512k
stop faults "$CLIENT_PID"
grep -E 'post: .* [1-9][0-9]* failed' "$TMP/faults.err" || fail "no request failed: faults not injected?"
stop faulty "$FWD_PID"
grep -E 'faults: 502=[1-9][0-9]* truncated=[1-9][0-9]*' "$TMP/faulty.err" ||
  fail "the forwarder injected no faults"
if grep -E 'reset|RST' "$TMP/faults.err"; then fail "a session was reset"; fi
stop exit "$EXIT_PID"
echo ok
