#!/usr/bin/env bash
# Keys: a wrong key ends the client with code 2 (and a message that says
# so) within 5 s, while the exit keeps serving a correct client; two client
# processes sharing one key never see each other's bytes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
new_key wrong
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client a k
A_PORT=$SOCKS_PORT

# A correct client busy with a transfer while the wrong one knocks.
"$RELAYCHECK" run --socks "$A_PORT" --target "$TARGET_PORT" --timeout 60 --sessions 4 \
  --up 16m --down 16m >"$TMP/busy.out" 2>&1 &
BUSY=$!
start=$(date +%s%N)
set +e
timeout 10 "$URELAY" client --socks "127.0.0.1:$(free_port)" --key-file "$TMP/wrong" \
  --endpoint "ws://127.0.0.1:$EXIT_PORT/stream" >"$TMP/wrong.out" 2>&1
rc=$?
set -e
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$rc" = 2 ] || { cat "$TMP/wrong.out" >&2; fail "wrong key: exit code $rc, want 2"; }
[ "$ms" -lt 5000 ] || fail "wrong key: took $ms ms, want < 5000"
grep -q 'does not accept this key' "$TMP/wrong.out" || { cat "$TMP/wrong.out" >&2; fail "message"; }
grep -qi "$(cat "$TMP/wrong")" "$TMP/wrong.out" "$TMP"/*.err && fail "a key was printed"
echo "wrong key: exit code 2 after $ms ms: $(grep -o 'refused our first batch.*' "$TMP/wrong.out")"
wait "$BUSY" || { cat "$TMP/busy.out" >&2; fail "the correct client's transfer failed"; }
cat "$TMP/busy.out"

# Two client processes, one key: distinct instances, separate sessions.
start_client b k
B_PORT=$SOCKS_PORT
"$RELAYCHECK" run --socks "$A_PORT" --target "$TARGET_PORT" --timeout 60 --sessions 20 \
  --up 2m --down 2m >"$TMP/a.out" 2>&1 &
PA=$!
"$RELAYCHECK" run --socks "$B_PORT" --target "$TARGET_PORT" --timeout 60 --sessions 20 \
  --up 2m --down 2m >"$TMP/b.out" 2>&1 &
PB=$!
wait "$PA" || { cat "$TMP/a.out" >&2; fail "client a"; }
wait "$PB" || { cat "$TMP/b.out" >&2; fail "client b"; }
echo "two clients, one key: $(cat "$TMP/a.out") / $(cat "$TMP/b.out")"
[ "$(grep -c 'first authenticated batch' "$TMP/exit.err")" = 2 ] || fail "exit did not see two clients"

# One key may have max_instances (8 by default) live client instances at
# the exit (each costs a mux and batch buffers): a, b and 6 more fill it (the
# wrong-key one never counted). A 9th still gets in, and is no wrong key: an
# instance with no open sessions gives way to it.
for i in 1 2 3 4 5 6; do start_client "more$i" k; done
start_client ninth k
grep -q 'gives way to' "$TMP/exit.err" || fail "exit did not log the eviction"
check --sessions 2 --up 256k --down 256k >/dev/null # through the 9th
echo "a 9th live instance of one key gets in: an idle one gives way"
echo ok
