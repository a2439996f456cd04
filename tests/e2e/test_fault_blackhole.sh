#!/usr/bin/env bash
# Drop the path between client and exit for 5 s (a fault proxy black-holes
# both ways) during transfers, on each transport: once the path is back,
# every transfer completes byte-exact and no session is reset, although the
# client gave the link up as dead in between and reconnected.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_faultproxy fp "$EXIT_PORT"

round() { # NAME ENDPOINT
  ENDPOINT=$2 start_client "$1" k --heartbeat 1 --heartbeat-timeout 3 --reconnect-delay 100 \
    --max-reconnect-delay 1 --request-timeout 4
  "$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 90 --sessions 8 \
    --up 32m --down 32m >"$TMP/$1.run" 2>&1 &
  local run=$!
  sleep 1
  kill -USR1 "$FP_PID" # black hole
  sleep 5
  kill -USR2 "$FP_PID"
  wait "$run" || { cat "$TMP/$1.run" "$TMP/$1.err" >&2; fail "$1: transfers across the outage failed"; }
  grep -q ', 0 failed;' "$TMP/$1.run" || fail "$1: $(cat "$TMP/$1.run")"
  echo "$1: $(cat "$TMP/$1.run")"
  grep -qE 'no answer|no whole answer' "$TMP/$1.err" ||
    { cat "$TMP/$1.err" >&2; fail "$1: the outage went unnoticed"; }
  stop "$1" "$CLIENT_PID"
}
round ws "ws://127.0.0.1:$FP_PORT/stream"
round post "http://127.0.0.1:$FP_PORT/tunnel"
echo ok
