# Helpers for the relay end-to-end tests: sourced after lib.sh.
# Starts real `urelay exit` / `urelay client` processes on loopback with a
# fresh key, waits for their "ready" lines, and stops them at exit.
: "${RELAYCHECK:?run through ctest}"
PIDS=()
cleanup_relay() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup_relay EXIT

PORTS_FILE="$TMP"/ports
# shellcheck source=scripts/ports.sh
. "$SRC"/scripts/ports.sh

# wait_line FILE REGEX SECONDS
wait_line() {
  local i
  for ((i = 0; i < $3 * 20; i++)); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "--- $1:" >&2; cat "$1" >&2
  [ -f "${1%.*}.err" ] && { echo "--- ${1%.*}.err:" >&2; cat "${1%.*}.err" >&2; }
  fail "no /$2/ in $1 within $3 s"
}

new_key() { "$URELAY" keygen --out "$TMP/$1" >/dev/null; }

# start_target: a relaycheck target server; sets TARGET_PORT.
start_target() {
  "$RELAYCHECK" serve >"$TMP/target.port" 2>"$TMP/target.err" &
  PIDS+=($!)
  wait_line "$TMP/target.port" '^[0-9]+$' 5
  TARGET_PORT=$(head -n1 "$TMP/target.port")
}

# start_exit NAME ARGS...: sets EXIT_PORT (or takes $EXIT_LISTEN_PORT: a
# restart on the same port), EXIT_PID; logs in $TMP/NAME.*
start_exit() {
  local name=$1; shift
  EXIT_PORT=${EXIT_LISTEN_PORT:-$(free_port)}
  "$URELAY" exit --listen "127.0.0.1:$EXIT_PORT" --dns-server 127.0.0.1:"${DNS_PORT:-1}" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  EXIT_PID=$!
  PIDS+=($EXIT_PID)
  wait_line "$TMP/$name.out" '^urelay exit: ready' 10
}

# start_client NAME KEY ARGS...: sets SOCKS_PORT, CLIENT_PID. The endpoint
# is $ENDPOINT when set, else the exit's ws://.../stream.
start_client() {
  local name=$1 key=$2; shift 2
  SOCKS_PORT=$(free_port)
  "$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/$key" --state-file "" \
    --endpoint "${ENDPOINT:-ws://127.0.0.1:$EXIT_PORT/stream}" "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  CLIENT_PID=$!
  PIDS+=($CLIENT_PID)
  wait_line "$TMP/$name.out" '^urelay client: ready' 10
}

# start_forwarder NAME ARGS...: a `urelay forwarder` in front of the exit;
# sets FWD_PORT (or takes $FWD_LISTEN_PORT), FWD_PID.
start_forwarder() {
  local name=$1; shift
  FWD_PORT=${FWD_LISTEN_PORT:-$(free_port)}
  "$URELAY" forwarder --listen "127.0.0.1:$FWD_PORT" --exit "http://127.0.0.1:$EXIT_PORT/tunnel" \
    "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  FWD_PID=$!
  PIDS+=($FWD_PID)
  wait_line "$TMP/$name.out" '^urelay forwarder: ready' 10
}

# stop NAME PID: SIGTERM, and the process must exit 0.
stop() {
  local code=0
  kill -TERM "$2"
  wait "$2" || code=$?
  [ "$code" = 0 ] || { tail -n 40 "$TMP/$1.err" >&2; fail "$1 exited $code"; }
}

# posts NAME: the number of POSTs forwarder NAME served, from its summary
# line (after stop).
posts() { sed -n 's/^urelay forwarder: \([0-9]*\) posts.*/\1/p' "$TMP/$1.err"; }

# check RELAYCHECK-ARGS...: a transfer through $SOCKS_PORT that must be byte-exact.
check() {
  "$RELAYCHECK" run --socks "$SOCKS_PORT" --target "$TARGET_PORT" --timeout 60 "$@" >"$TMP/check.out" 2>&1 ||
    { cat "$TMP/check.out" >&2; fail "transfer failed: $*"; }
  grep -q ', 0 failed;' "$TMP/check.out" || { cat "$TMP/check.out" >&2; fail "relaycheck: $*"; }
  cat "$TMP/check.out"
}

# reply HOST:PORT: the SOCKS5 reply code the relay gives for that target.
reply() { "$RELAYCHECK" probe --socks "$SOCKS_PORT" --target "$1" | sed -n 's/^reply //p'; }

# start_faultproxy NAME TARGET_PORT: tests/e2e/faultproxy.py in front of
# TARGET_PORT; sets FP_PORT, FP_PID.
start_faultproxy() {
  python3 "$SRC/tests/e2e/faultproxy.py" "$2" --max-seconds 300 >"$TMP/$1.port" 2>"$TMP/$1.err" &
  FP_PID=$!
  PIDS+=($FP_PID)
  wait_line "$TMP/$1.port" '^[0-9]+$' 5
  FP_PORT=$(head -n1 "$TMP/$1.port")
}

# start_dns: a fake DNS server on loopback; sets DNS_PORT (start_exit uses it).
start_dns() {
  "$FAKEDNS" >"$TMP/dns.port" 2>"$TMP/dns.err" &
  PIDS+=($!)
  wait_line "$TMP/dns.port" '^[0-9]+$' 5
  DNS_PORT=$(head -n1 "$TMP/dns.port")
}
