#!/usr/bin/env bash
# SIGHUP: the client reads its config again and takes the new endpoint list
# without dropping a session. The WebSocket link's endpoint leaves the pool
# during transfers: the link moves to the new endpoint (a fault proxy in
# front of the same exit) and every byte still arrives once, in order.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_faultproxy fp "$EXIT_PORT"
OLD="ws://127.0.0.1:$EXIT_PORT/stream" NEW="ws://127.0.0.1:$FP_PORT/stream"
printf '{"key_file": "%s", "state_file": "", "endpoints": ["%s"]}\n' "$TMP/k" "$OLD" >"$TMP/c.json"
SOCKS_PORT=$(free_port)
"$URELAY" client -c "$TMP/c.json" --socks "127.0.0.1:$SOCKS_PORT" >"$TMP/c.out" 2>"$TMP/c.err" &
CLIENT_PID=$!
PIDS+=($CLIENT_PID)
wait_line "$TMP/c.out" '^urelay client: ready' 10
"$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 60 --sessions 8 \
  --up 32m --down 32m >"$TMP/run.out" 2>&1 &
RUN=$!
sleep 0.5
printf '{"key_file": "%s", "state_file": "", "endpoints": ["%s"]}\n' "$TMP/k" "$NEW" >"$TMP/c.json"
kill -HUP "$CLIENT_PID"
wait "$RUN" || { cat "$TMP/run.out" "$TMP/c.err" >&2; fail "transfers across the reload failed"; }
grep -q ', 0 failed;' "$TMP/run.out" || fail "relaycheck: $(cat "$TMP/run.out")"
cat "$TMP/run.out"
grep -q 'SIGHUP: 1 endpoint in the pool' "$TMP/c.err" || { cat "$TMP/c.err" >&2; fail "no reload"; }
grep -q "endpoint $OLD: removed from the pool" "$TMP/c.err" || fail "old endpoint kept"
wait_line "$TMP/c.err" "tunnel to $NEW is up" 5
# A config that does not load is refused; the running endpoints stay.
echo '{"endpoints": [' >"$TMP/c.json"
kill -HUP "$CLIENT_PID"
wait_line "$TMP/c.err" 'SIGHUP: the config does not load, keeping the running one' 5
check --sessions 4 --up 1m --down 1m
stop c "$CLIENT_PID"
echo ok
