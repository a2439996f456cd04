#!/usr/bin/env bash
# Kill the exit (SIGKILL) during transfers on 20 sessions and start it again
# on the same port: every session ends with a reset, never a clean end of a
# truncated stream, and every byte before it is right; the client reconnects
# within its backoff cap; new sessions work; its descriptors return to their
# count before the transfers. Then --no-reconnect: the client exits 1 when
# the exit goes away.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
EXIT_LISTEN_PORT=$EXIT_PORT
start_client c k --heartbeat 1 --heartbeat-timeout 3 --reconnect-delay 100 \
  --max-reconnect-delay 2
fds() { ls "/proc/$CLIENT_PID/fd" | wc -l; }
base=$(fds)
"$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 60 --sessions 20 \
  --up 0 --down 4096m --expect-reset >"$TMP/run.out" 2>&1 &
RUN=$!
sleep 1
kill -KILL "$EXIT_PID"
wait "$EXIT_PID" 2>/dev/null || true
sleep 1
start_exit exit2 --key-file "$TMP/k" --allow-dest 127.0.0.0/8
t0=$(date +%s%N)
wait "$RUN" || { cat "$TMP/run.out" "$TMP/c.err" >&2; fail "a session did not end with a reset"; }
cat "$TMP/run.out"
grep -q ', 0 failed;' "$TMP/run.out" || fail "relaycheck: $(cat "$TMP/run.out")"
wait_line "$TMP/c.err" 'is up again' 5
took=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "sessions reset ${took} ms after the exit came back"
[ "$took" -lt 4000 ] || fail "the client took ${took} ms to learn (backoff cap 2 s)"
check --sessions 4 --up 1m --down 1m
for _ in $(seq 50); do [ "$(fds)" -le "$base" ] && break; sleep 0.1; done
[ "$(fds)" -le "$base" ] || { ls -l "/proc/$CLIENT_PID/fd" >&2; fail "client fds: $(fds), at start $base"; }
stop c "$CLIENT_PID"

# --no-reconnect: the exit goes away, the client exits 1.
start_client nr k --no-reconnect
kill -TERM "$EXIT_PID"
code=0
timeout 10 tail --pid="$CLIENT_PID" -f /dev/null || fail "the client did not exit"
wait "$CLIENT_PID" || code=$?
[ "$code" = 1 ] || { cat "$TMP/nr.err" >&2; fail "--no-reconnect: exit code $code, want 1"; }
grep -q 'reconnect is off' "$TMP/nr.err" || { cat "$TMP/nr.err" >&2; fail "no reason given"; }
echo ok
