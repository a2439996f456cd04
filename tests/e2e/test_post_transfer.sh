#!/usr/bin/env bash
# The post transport (POST /tunnel with long polls), client to exit
# directly: the transfers of the ws test, every byte checked.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
ENDPOINT="http://127.0.0.1:$EXIT_PORT/tunnel"
start_client client k --workers 4

echo "64 MiB up and 64 MiB down on one session"
check --up 64m --down 64m
echo "100 concurrent sessions, 1 MiB each way"
check --sessions 100 --up 1m --down 1m
echo "half-close: the app sends 1 KiB and shuts its write side; 32 MiB still arrive"
check --up 1k --down 32m
echo "write order: SOCKS5 request and three writes back to back before any reply"
check --early --up 64k --down 64k --sessions 10

echo "several requests carry one session at once (4 workers)"
stop client "$CLIENT_PID"
grep -E 'post: .* at most [0-9]+ carrying data at once' "$TMP/client.err" ||
  fail "no post counters in the client's log"
inflight=$(sed -nE 's/.* at most ([0-9]+) carrying data at once.*/\1/p' "$TMP/client.err")
[ "$inflight" -gt 1 ] || fail "at most $inflight request in flight: the workers did not share"
grep -E 'post: [0-9]+ requests .* 0 failed' "$TMP/client.err" || fail "requests failed"

echo "text mode: base64 bodies, and the optimistic SOCKS5 reply"
start_client text k --text --optimistic
check --early --up 2m --down 8m --sessions 4
stop text "$CLIENT_PID"

echo "a wrong key: the exit answers the decoy, the client exits 2 at once"
new_key other
set +e
timeout 10 "$URELAY" client --socks "127.0.0.1:$(free_port)" --key-file "$TMP/other" \
  --endpoint "$ENDPOINT" >"$TMP/wrong.out" 2>"$TMP/wrong.err"
code=$?
set -e
[ "$code" = 2 ] || { cat "$TMP/wrong.err" >&2; fail "wrong key: exit code $code, want 2"; }
grep -q 'not as an urelay exit taking this key' "$TMP/wrong.err" || fail "wrong key: no clear message"

echo "POST /tunnel with a body over the cap: 413 from Content-Length alone"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
  -H 'Content-Length: 99999999' -H 'Expect:' "http://127.0.0.1:$EXIT_PORT/tunnel" || true)
[ "$status" = 413 ] || fail "oversized POST: HTTP $status, want 413"
echo "POST /tunnel with garbage: the same 404 as an unknown path"
a=$(curl -s -w ' %{http_code}' --max-time 5 --data-binary 'hello' "http://127.0.0.1:$EXIT_PORT/tunnel")
b=$(curl -s -w ' %{http_code}' --max-time 5 --data-binary 'hello' "http://127.0.0.1:$EXIT_PORT/nothing")
[ "$a" = "$b" ] && [ "${a##* }" = 404 ] || fail "decoy differs: '$a' vs '$b'"

stop exit "$EXIT_PID"
echo ok
