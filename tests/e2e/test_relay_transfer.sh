#!/usr/bin/env bash
# Transfers through a real client and exit over ws on loopback, every byte
# checked at the receiver (relaycheck names the first bad offset).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client client k

echo "64 MiB up and 64 MiB down on one session"
check --up 64m --down 64m
echo "100 concurrent sessions, 1 MiB each way"
check --sessions 100 --up 1m --down 1m
echo "half-close: the app sends 1 KiB and shuts its write side; 32 MiB still arrive"
check --up 1k --down 32m
echo "write order: SOCKS5 request and three writes back to back before any reply"
check --early --up 64k --down 64k --sessions 10

echo "optimistic mode: the same, with the reply sent before the dial"
start_client optimistic k --optimistic
check --early --up 64k --down 64k --sessions 10
check --up 8m --down 8m

echo "curl --socks5-hostname fetches a file served on loopback"
mkdir -p "$TMP/www"
head -c 3000000 /dev/urandom >"$TMP/www/blob"
HTTP_PORT=$(free_port)
(cd "$TMP/www" && exec python3 -m http.server "$HTTP_PORT" --bind 127.0.0.1 >/dev/null 2>&1) &
PIDS+=($!)
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && break; sleep 0.1; done
curl -sS --fail --max-time 30 --socks5-hostname "127.0.0.1:$SOCKS_PORT" \
  -o "$TMP/fetched" "http://localhost:$HTTP_PORT/blob"
[ "$(sha256sum <"$TMP/fetched")" = "$(sha256sum <"$TMP/www/blob")" ] || fail "curl: checksums differ"
echo "curl: checksums equal"

echo "SIGTERM: client and exit close their sessions and exit 0"
kill -TERM "$CLIENT_PID"; wait "$CLIENT_PID" || fail "client exited $?"
kill -TERM "$EXIT_PID"; wait "$EXIT_PID" || fail "exit exited $?"
echo ok
