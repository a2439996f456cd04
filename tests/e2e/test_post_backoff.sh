#!/usr/bin/env bash
# The post link backs off a failing endpoint with reconnect_delay doubling to
# max_reconnect_delay (jittered, never past it), whatever the number of
# endpoints, and logs changes of state, not attempts. Issue 13: a sole dead
# endpoint took 323,071 connects and ~32,000 WARN lines in 6 s; through the
# forwarder to a dead exit, 34,409 POSTs in 5 s.
#
# With --reconnect-delay 100 --max-reconnect-delay 1 the waits are at least
# 80, 160, 320, 640, 800, 800... ms: within 4 s at most 8 tries start. The
# bounds allow 12 per endpoint (slack for a busy machine); before, thousands.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
RUN_S=4
MAX_TRIES=12
BACKOFF=(--reconnect-delay 100 --max-reconnect-delay 1)

# client_bg NAME ENDPOINT...: a client in the background; sets BG_PID.
client_bg() {
  local name=$1 e eps=()
  shift
  for e in "$@"; do eps+=(-e "$e"); done
  SOCKS_PORT=$(free_port)
  "$URELAY" client --socks "127.0.0.1:$SOCKS_PORT" --key-file "$TMP/k" --state-file "" \
    "${BACKOFF[@]}" "${eps[@]}" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  BG_PID=$!
  PIDS+=($BG_PID)
}
# run_client NAME ENDPOINT...: a client that never gets ready, for RUN_S
# seconds, then SIGTERM (it must exit 0).
run_client() {
  client_bg "$@"
  sleep "$RUN_S"
  stop "$1" "$BG_PID"
}
# requests NAME: the post link's request count, from its summary line.
requests() { sed -n 's/.* post: \([0-9]*\) requests.*/\1/p' "$TMP/$1.err"; }
# warns NAME MAX: at most MAX WARN lines in NAME's log.
warns() {
  local n
  n=$(grep -c ' WARN ' "$TMP/$1.err" || true)
  echo "$1: $n WARN lines"
  [ "$n" -le "$2" ] || { cat "$TMP/$1.err" >&2; fail "$1: $n WARN lines, want at most $2"; }
}
# bounded WHAT N LIMIT: 2 <= N <= LIMIT (it does try again, with backoff).
bounded() {
  echo "$1: $2"
  [ -n "$2" ] && [ "$2" -ge 2 ] && [ "$2" -le "$3" ] || fail "$1: '$2', want 2..$3"
}
down_line() {
  grep -q "endpoint $2: down (" "$TMP/$1.err" || { cat "$TMP/$1.err" >&2; fail "$1: no down line for $2"; }
}

echo "a sole endpoint, nothing listening"
DEAD=$(free_port)
run_client refused "http://127.0.0.1:$DEAD/tunnel"
bounded "requests in $RUN_S s" "$(requests refused)" "$MAX_TRIES"
grep -q "endpoint http://127.0.0.1:$DEAD/tunnel: down (cannot connect: Connection refused)" \
  "$TMP/refused.err" || { cat "$TMP/refused.err" >&2; fail "no down line"; }
warns refused 1

echo "a sole endpoint that accepts and closes: tries counted by the listener"
P=$(free_port)
python3 "$SRC/tests/e2e/accept_count.py" "$P" "$TMP/closer.log" --max-seconds 60 \
  >"$TMP/counter.out" 2>&1 &
COUNTER_PID=$!
PIDS+=($COUNTER_PID)
wait_line "$TMP/counter.out" '^ready' 5
run_client closer "http://127.0.0.1:$P/tunnel"
kill -TERM "$COUNTER_PID"
wait "$COUNTER_PID" || true
bounded "connections accepted in $RUN_S s" "$(wc -l <"$TMP/closer.log")" "$MAX_TRIES"
# Each gap at least the jittered wait: 80% of 100, 200, 400, 800, then
# 1000 ms, less 50 ms for scheduling.
awk 'NR > 1 { step = 100 * 2 ^ (NR - 2); if (step > 1000) step = 1000; gap = $1 - prev;
              printf "  gap %d: %.0f ms (step %d ms)\n", NR - 1, gap, step;
              if (gap < step * 0.8 - 50) bad = 1 }
     { prev = $1 } END { exit bad }' "$TMP/closer.log" ||
  fail "a try came before its backoff was over"
warns closer 1

echo "through the forwarder to a dead exit: POSTs counted by the forwarder"
EXIT_PORT=$(free_port) start_forwarder fwd
run_client viafwd "http://127.0.0.1:$FWD_PORT/macros/s/x/exec"
stop fwd "$FWD_PID"
bounded "POSTs the forwarder served in $RUN_S s" "$(posts fwd)" "$MAX_TRIES"
down_line viafwd "http://127.0.0.1:$FWD_PORT/macros/s/x/exec"
warns viafwd 1

echo "two dead endpoints: each backs off on its own"
A=$(free_port) B=$(free_port)
run_client two "http://127.0.0.1:$A/tunnel" "http://127.0.0.1:$B/tunnel"
bounded "requests to both in $RUN_S s" "$(requests two)" $((2 * MAX_TRIES))
down_line two "http://127.0.0.1:$A/tunnel"
down_line two "http://127.0.0.1:$B/tunnel"
# Per endpoint: down, and set aside once (blacklist_after 3).
warns two 4

echo "the endpoint comes back: ready within a step, said once"
C=$(free_port)
client_bg back "http://127.0.0.1:$C/tunnel"
sleep 2.5
start_target
EXIT_LISTEN_PORT=$C start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
# The step is at the 1 s cap by now: the next try comes within 1 s.
wait_line "$TMP/back.out" '^urelay client: ready' 3
check --sessions 4 --up 1m --down 1m
n=$(grep -c "endpoint http://127.0.0.1:$C/tunnel: up again after [0-9]* failures" "$TMP/back.err" || true)
[ "$n" = 1 ] || { cat "$TMP/back.err" >&2; fail "up again logged $n times"; }
stop back "$BG_PID"
warns back 1
echo ok
