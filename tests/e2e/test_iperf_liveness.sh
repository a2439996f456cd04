#!/usr/bin/env bash
# Liveness (BRIEF §7 I5, issue 13 defect 1): no byte, ACK or credit waits for
# a timer. The issue's reproduction with the real programs: `iperf3 -c -t 1`
# under proxychains4 through the client's SOCKS5 port, over post and over ws,
# with the client's heartbeat at 15 s. A run whose bytes wait for the
# heartbeat takes up to 15 s instead of about 1 s; every run here must finish
# within $BOUND s, exit 0 and move its bytes, and its sockets must really be
# connected to the SOCKS port.
#
# Uploads with -P 4 are the stronger workload: four data sessions end with
# frames still queued, which is what left the mux's on_pending flag stale
# before 8ff4a91 (about half of such runs stalled over post, against one in
# five or fewer with -P 1).
#
# Needs the Debian packages iperf3 and proxychains4 (scripts/deps.sh installs
# them): without them the test fails, it does not skip.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"

for prog in iperf3 proxychains4; do
  command -v "$prog" >/dev/null ||
    fail "$prog is not installed (Debian package $prog; scripts/deps.sh installs it)"
done

BOUND=3           # seconds of wall time per `iperf3 -t 1` run (the heartbeat is 15)
RUN_TIMEOUT=20    # a stalled run still ends, and shows where it ended
# Runs per transport: uploads with one stream (the issue's command), uploads
# with four, downloads (-R) with two.
UP1_RUNS=${LIVENESS_UP1_RUNS:-3}
UP4_RUNS=${LIVENESS_UP4_RUNS:-6}
REV_RUNS=${LIVENESS_REV_RUNS:-2}
MAX_FAILS=${LIVENESS_MAX_FAILS:-2}  # stop early once this many runs failed
failures=0
declare -a FAILED=()

# pc_conf FILE SOCKSPORT: a proxychains4 config with one SOCKS5 proxy. No
# localnet line: proxychains4 sends loopback targets through the chain too
# (it only goes direct for localnet ranges), and proxy_dns is off.
pc_conf() {
  cat >"$1" <<EOF
strict_chain
tcp_read_time_out 15000
tcp_connect_time_out 8000
[ProxyList]
socks5 127.0.0.1 $2
EOF
}

# start_iperf: a one-shot `iperf3 -s -1` on a fresh 127.0.0.1 port; sets IPERF_PORT.
start_iperf() {
  IPERF_PORT=$(free_port)
  timeout $((RUN_TIMEOUT + 10)) iperf3 -s -1 -B 127.0.0.1 -p "$IPERF_PORT" --forceflush \
    >"$TMP/iperf_s.out" 2>&1 &
  IPERF_PID=$!
  PIDS+=($IPERF_PID)
  wait_line "$TMP/iperf_s.out" 'Server listening' 5
}

# check_json FILE SOCKSPORT: prints "sent received" from an iperf3 --json
# report; fails unless the test moved bytes and its sockets really were
# connected to the SOCKS port (getpeername is not hooked by proxychains4).
check_json() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
socks = int(sys.argv[2])
if d.get("error"):
    sys.exit(f"iperf3 error: {d['error']}")
peers = {c["remote_port"] for c in d["start"]["connected"]}
if peers != {socks}:
    sys.exit(f"data socket connected to port(s) {sorted(peers)}, not the SOCKS port {socks}")
sent = d["end"]["sum_sent"]["bytes"]
recv = d["end"]["sum_received"]["bytes"]
if recv <= 0 or sent <= 0:
    sys.exit(f"nothing moved: sent {sent}, received {recv}")
if recv > sent:
    sys.exit(f"received {recv} > sent {sent}")
# The control connection is its own session: its TEST_END may overtake the
# last data bytes, which iperf3 then does not count. The relay holds a few
# windows and socket buffers at most.
if sent - recv > max(sent // 10, 32 << 20):
    sys.exit(f"sent {sent}, received only {recv}")
print(sent, recv)
PY
}

# run_iperf LABEL STREAMS ARGS...: one proxied `iperf3 -c ... -t 1 -P STREAMS
# ARGS`, timed.
run_iperf() {
  local label=$1 streams=$2; shift 2
  start_iperf
  local t0 t1 ms rc=0 out="$TMP/$label.json" err="$TMP/$label.err" why=""
  t0=$(date +%s%N)
  PROXYCHAINS_CONF_FILE="$TMP/pc.conf" timeout "$RUN_TIMEOUT" \
    proxychains4 iperf3 -c 127.0.0.1 -p "$IPERF_PORT" -t 1 -P "$streams" --json "$@" >"$out" 2>"$err" || rc=$?
  t1=$(date +%s%N)
  ms=$(((t1 - t0) / 1000000))
  kill -TERM "$IPERF_PID" 2>/dev/null || true
  wait "$IPERF_PID" 2>/dev/null || true
  local bytes=""
  if [ "$rc" != 0 ]; then
    why="exit code $rc"
  elif ! bytes=$(check_json "$out" "$SOCKS_PORT" 2>&1); then
    why=$bytes; bytes=""
  elif [ "$(grep -c "Strict chain .*127\.0\.0\.1:$SOCKS_PORT .*127\.0\.0\.1:$IPERF_PORT .*OK" "$err")" -lt $((streams + 1)) ]; then
    why="proxychains4 did not carry all $((streams + 1)) connections through the SOCKS port"
  elif ((ms > BOUND * 1000)); then
    why="took longer than $BOUND s: bytes waited for a timer"
  fi
  printf '  %-12s %6d ms  sent/received %s%s\n' "$label" "$ms" "${bytes:--}" "${why:+  FAIL: $why}"
  if [ -n "$why" ]; then
    sed 's/^/    | /' "$err" | tail -n 5
    FAILED+=("$label: $why")
    failures=$((failures + 1))
    ((failures < MAX_FAILS)) || { summary; fail "stopping after $failures failed runs"; }
  fi
}

summary() {
  if ((${#FAILED[@]})); then
    printf '%s\n' "failed runs:" "${FAILED[@]/#/  }" >&2
  fi
}

# transport NAME ENDPOINT-URL-TEMPLATE: a fresh exit and client, then the runs.
transport() {
  local name=$1
  echo "== $name: fresh exit and client, heartbeat 15 s"
  start_exit "exit_$name" --key-file "$TMP/k" --allow-dest 127.0.0.0/8
  ENDPOINT=${2//PORT/$EXIT_PORT}
  start_client "client_$name" k --heartbeat 15
  pc_conf "$TMP/pc.conf" "$SOCKS_PORT"
  local i
  for ((i = 1; i <= UP1_RUNS; i++)); do run_iperf "$name-up$i" 1; done
  for ((i = 1; i <= UP4_RUNS; i++)); do run_iperf "$name-up4x$i" 4; done
  for ((i = 1; i <= REV_RUNS; i++)); do run_iperf "$name-rev2x$i" 2 -R; done
  stop "client_$name" "$CLIENT_PID"
  stop "exit_$name" "$EXIT_PID"
}

new_key k

echo "proxychains4 does not go direct to loopback: with no SOCKS server, iperf3 fails"
pc_conf "$TMP/pc.conf" "$(free_port)"
start_iperf
if PROXYCHAINS_CONF_FILE="$TMP/pc.conf" timeout 10 proxychains4 iperf3 -c 127.0.0.1 -p "$IPERF_PORT" \
  -t 1 >"$TMP/direct.out" 2>&1; then
  cat "$TMP/direct.out" >&2
  fail "iperf3 reached 127.0.0.1 without the SOCKS server: proxychains4 bypassed it"
fi
kill -TERM "$IPERF_PID" 2>/dev/null || true
wait "$IPERF_PID" 2>/dev/null || true

transport post "http://127.0.0.1:PORT/tunnel"
transport ws "ws://127.0.0.1:PORT/stream"

summary
((failures == 0)) || fail "$failures of $((2 * (UP1_RUNS + UP4_RUNS + REV_RUNS))) runs failed"
echo ok
