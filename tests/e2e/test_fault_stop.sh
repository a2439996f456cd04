#!/usr/bin/env bash
# SIGSTOP the exit for longer than the heartbeat timeout during transfers,
# then SIGCONT: the client declares the link dead, reconnects once the exit
# runs again, and resumes the same sessions: every byte arrives once, in
# order (relaycheck checks the streams both ways), and no session is reset.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client c k --heartbeat 1 --heartbeat-timeout 3 --reconnect-delay 100 \
  --max-reconnect-delay 1
"$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 90 --sessions 8 \
  --up 48m --down 48m >"$TMP/run.out" 2>&1 &
RUN=$!
sleep 1
kill -STOP "$EXIT_PID"
sleep 5
kill -CONT "$EXIT_PID"
wait "$RUN" || { cat "$TMP/run.out" "$TMP/c.err" >&2; fail "transfers across the stop failed"; }
grep -q ', 0 failed;' "$TMP/run.out" || fail "relaycheck: $(cat "$TMP/run.out")"
cat "$TMP/run.out"
grep -q 'no answer to heartbeats' "$TMP/c.err" || { cat "$TMP/c.err" >&2; fail "the dead link went unnoticed"; }
grep -q 'is up again' "$TMP/c.err" || { cat "$TMP/c.err" >&2; fail "no reconnect"; }
# And the tunnel works for new sessions.
check --sessions 4 --up 1m --down 1m
echo ok
