#!/usr/bin/env bash
# wss://: the exit serves TLS with a certificate for relay.test from a CA
# made here; the client verifies it by default. Fronting fields: the client
# dials 127.0.0.1 (--connect) while SNI, verification and Host use the name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
command -v openssl >/dev/null || { echo "openssl missing: skipped"; exit 0; }
cd "$TMP"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=urelay test CA" -keyout ca.key -out ca.pem 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=relay.test" \
  -keyout srv.key -out srv.csr 2>/dev/null
printf 'subjectAltName=DNS:relay.test\n' >ext
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile ext -out srv.pem 2>/dev/null
chmod 600 srv.key
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --tls-cert srv.pem --tls-key srv.key
grep -q 'wss /stream' "$TMP/exit.out" || fail "exit does not say it serves TLS"

client_tls() { # NAME ARGS...: a client through TLS; call with set +e, returns its exit code
  local name=$1; shift
  SOCKS_PORT=$(free_port)
  timeout 10 "$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/k" \
    --endpoint "wss://relay.test:$EXIT_PORT/stream" --connect "127.0.0.1:$EXIT_PORT" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err"
}

# Verification on by default: the system CAs do not know our CA.
set +e; client_tls nocas; rc=$?; set -e
[ "$rc" = 2 ] || { cat "$TMP/nocas.err" >&2; fail "unverifiable certificate: exit $rc, want 2"; }
grep -q 'TLS with .* failed' "$TMP/nocas.err" || { cat "$TMP/nocas.err" >&2; fail "message"; }
echo "system CAs only: refused, exit 2: $(grep -o 'failed (.*' "$TMP/nocas.err" | head -c 120)"

# The right CA but the wrong name.
set +e; client_tls badname --ca-file ca.pem --sni other.test; rc=$?; set -e
[ "$rc" = 2 ] || { cat "$TMP/badname.err" >&2; fail "wrong name: exit $rc, want 2"; }
echo "--sni other.test: refused, exit 2"

# The right CA and name: it works, byte-exact.
SOCKS_PORT=$(free_port)
"$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/k" \
  --endpoint "wss://relay.test:$EXIT_PORT/stream" --connect "127.0.0.1:$EXIT_PORT" \
  --ca-file ca.pem >"$TMP/good.out" 2>"$TMP/good.err" &
PIDS+=($!)
wait_line "$TMP/good.out" '^urelay client: ready' 10
check --up 16m --down 16m --sessions 4

# --insecure skips verification, and says so.
SOCKS_PORT=$(free_port)
"$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/k" \
  --endpoint "wss://relay.test:$EXIT_PORT/stream" --connect "127.0.0.1:$EXIT_PORT" \
  --insecure >"$TMP/insecure.out" 2>"$TMP/insecure.err" &
PIDS+=($!)
wait_line "$TMP/insecure.out" '^urelay client: ready' 10
grep -q 'WARN .*--insecure' "$TMP/insecure.err" || fail "--insecure without a warning"
check --up 1m --down 1m

# https:// POST with the fronting split three ways: the URL names
# front.test (Host: exit.test), the client dials 127.0.0.1 and verifies
# the certificate for relay.test.
grep -q 'https /tunnel' "$TMP/exit.out" || fail "exit does not say it serves POST over TLS"
SOCKS_PORT=$(free_port)
"$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/k" \
  --endpoint "https://front.test:$EXIT_PORT/tunnel" --connect "127.0.0.1:$EXIT_PORT" \
  --sni relay.test --host exit.test --ca-file ca.pem >"$TMP/post.out" 2>"$TMP/post.err" &
PIDS+=($!)
wait_line "$TMP/post.out" '^urelay client: ready' 10
check --up 16m --down 16m --sessions 4
set +e
timeout 10 "$URELAY" client --socks "127.0.0.1:$(free_port)" --key-file "$TMP/k" \
  --endpoint "https://front.test:$EXIT_PORT/tunnel" --connect "127.0.0.1:$EXIT_PORT" \
  --ca-file ca.pem >"$TMP/postbad.out" 2>"$TMP/postbad.err"
rc=$?
set -e
# The certificate does not cover front.test: exit 2 at start, as for wss.
[ "$rc" = 2 ] || { cat "$TMP/postbad.err" >&2; fail "https post, wrong name: exit $rc, want 2"; }
grep -q 'TLS with .* failed' "$TMP/postbad.err" || { cat "$TMP/postbad.err" >&2; fail "message"; }
echo "https post: verified for --sni, refused for the URL's name"

# Plain HTTP to the TLS port gets nothing, and the exit keeps serving.
curl -s --max-time 3 "http://127.0.0.1:$EXIT_PORT/healthz" >"$TMP/plain" || true
[ ! -s "$TMP/plain" ] || fail "plain HTTP to the TLS port got an answer"
health=$(curl -s --max-time 5 --cacert ca.pem --resolve "relay.test:$EXIT_PORT:127.0.0.1" \
  "https://relay.test:$EXIT_PORT/healthz")
[[ "$health" == *'"ok":true'* ]] || fail "healthz over TLS: $health"
echo "plain HTTP to the TLS port: no answer; https /healthz: ok"
echo ok
