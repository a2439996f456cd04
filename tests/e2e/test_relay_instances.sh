#!/usr/bin/env bash
# Client instances per key (max_instances, docs/protocol.md §3.5). A restart
# loop of one client (10 processes, killed within the exit's grace) never
# locks the key out: idle instances give way. When every instance holds
# open sessions, a new client hears "instance limit reached" (WebSocket,
# POST, and POST through the forwarder), keeps retrying (never exit code 2),
# and gets in once an instance has no session left.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target

# hold NAME SOCKS_PORT: a session through SOCKS_PORT, kept open until
# $TMP/NAME.release exists, then used (a checked exchange) and closed.
# Prints "open" to $TMP/NAME.hold once the exit has dialed.
hold() {
  python3 - "$2" "$TARGET_PORT" "$TMP/$1.release" >"$TMP/$1.hold" 2>&1 <<'PY' &
import os, socket, struct, sys, time
socks, target, release = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", socks), timeout=20)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", target))
rep = b""
while len(rep) < 10:
    d = s.recv(10 - len(rep))
    assert d, "closed during the SOCKS reply"
    rep += d
assert rep[1] == 0, f"SOCKS reply {rep[1]}"
print("open", flush=True)
for _ in range(1200):  # 60 s at most
    if os.path.exists(release):
        break
    time.sleep(0.05)
n = 4096  # relaycheck's target: header (key, up 0, down n), EOF, n bytes + 'K'
s.sendall(struct.pack(">QQQ", 7, 0, n)); s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(65536)
    if not d: break
    got += d
assert len(got) == n + 1 and got[-1:] == b"K", f"{len(got)} bytes back"
s.close()
print("done", flush=True)
PY
  HOLD_PID=$!
  PIDS+=($HOLD_PID)
  wait_line "$TMP/$1.hold" '^open$' 10
}

# release NAME: ends the held session; it must have carried its bytes.
release() {
  touch "$TMP/$1.release"
  wait "$HOLD_PID" || { cat "$TMP/$1.hold" >&2; fail "held session $1 failed"; }
  grep -q '^done$' "$TMP/$1.hold" || fail "held session $1 did not finish"
}

# launch NAME ARGS...: a client that may not get in at once (no wait for
# ready); sets LAUNCH_PID, LAUNCH_SOCKS.
launch() {
  local name=$1; shift
  LAUNCH_SOCKS=$(free_port)
  "$URELAY" client --socks "127.0.0.1:$LAUNCH_SOCKS" --key-file "$TMP/k" --state-file "" \
    --endpoint "$ENDPOINT" --reconnect-delay 100 --max-reconnect-delay 1 "$@" \
    >"$TMP/$name.out" 2>"$TMP/$name.err" &
  LAUNCH_PID=$!
  PIDS+=($LAUNCH_PID)
}

# limited NAME PID: client NAME hears the limit, says so once, keeps trying.
limited() {
  wait_line "$TMP/$1.err" 'exit: instance limit reached for this key; retrying with backoff' 10
  sleep 3 # a few retries (backoff 100 ms .. 1 s)
  kill -0 "$2" 2>/dev/null || { cat "$TMP/$1.err" >&2; fail "$1 exited while limited"; }
  ! grep -q 'ready' "$TMP/$1.out" || fail "$1 got in past the limit"
  [ "$(grep -c 'instance limit reached for this key' "$TMP/$1.err")" = 1 ] ||
    { cat "$TMP/$1.err" >&2; fail "$1: the limit logged more than once"; }
  grep -q 'does not accept this key' "$TMP/$1.err" && fail "$1 took the limit for a wrong key"
  echo "$1: instance limit reached, still retrying"
}

echo "(a) a restart loop: 10 clients of one key killed within the grace, max_instances 8"
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --max-instances 8
ENDPOINT="ws://127.0.0.1:$EXIT_PORT/stream"
for i in 1 2 3 4 5 6 7 8 9 10; do
  start_client "loop$i" k
  [ "$i" = 10 ] && break
  kill -KILL "$CLIENT_PID"
  wait "$CLIENT_PID" 2>/dev/null || true
done
check --sessions 4 --up 1m --down 1m
evicted=$(grep -c 'gives way to' "$TMP/exit.err" || true)
[ "$evicted" = 2 ] || { cat "$TMP/exit.err" >&2; fail "$evicted instances gave way, want 2"; }
grep -q 'instance limit reached' "$TMP"/loop*.err && fail "a client of the loop was limited"
stop loop10 "$CLIENT_PID"
echo "the 10th client moves bytes; 2 idle instances gave way"
stop exit "$EXIT_PID"

echo "(b) max_instances 1, the one instance holding a session"
start_exit exit1 --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --max-instances 1
ENDPOINT="ws://127.0.0.1:$EXIT_PORT/stream"
start_client holder k
HOLDER_PID=$CLIENT_PID
hold s1 "$SOCKS_PORT"

launch ws
WS_PID=$LAUNCH_PID
limited ws "$WS_PID"
[ "$(grep -c 'instance limit reached (1 instances' "$TMP/exit1.err")" = 1 ] ||
  { cat "$TMP/exit1.err" >&2; fail "the exit did not log the limit exactly once"; }
release s1
wait_line "$TMP/ws.out" '^urelay client: ready' 10
wait_line "$TMP/ws.err" 'room for this instance again' 5
grep -q 'key .* room for new instances again' "$TMP/exit1.err" || fail "exit: no end of the limit"
grep -q 'gives way to' "$TMP/exit1.err" || fail "the idle holder did not give way"
SOCKS_PORT=$LAUNCH_SOCKS check --sessions 2 --up 256k --down 256k
echo "ws: in once the holder's session closed"
stop holder "$HOLDER_PID"

echo "(c) the same over POST /tunnel (503), and through the forwarder (its 200)"
WS_SOCKS=$LAUNCH_SOCKS
hold s2 "$WS_SOCKS" # the ws client now holds the one slot
ENDPOINT="http://127.0.0.1:$EXIT_PORT/tunnel"
launch post
POST_PID=$LAUNCH_PID
limited post "$POST_PID"
release s2
wait_line "$TMP/post.out" '^urelay client: ready' 10
SOCKS_PORT=$LAUNCH_SOCKS check --sessions 2 --up 256k --down 256k
stop post "$POST_PID"
echo "post: in once the ws client's session closed"

hold s3 "$WS_SOCKS"
start_forwarder fwd
ENDPOINT="http://127.0.0.1:$FWD_PORT/macros/s/test/exec"
launch fwdpost --text
FWD_CLIENT_PID=$LAUNCH_PID
limited fwdpost "$FWD_CLIENT_PID"
release s3
wait_line "$TMP/fwdpost.out" '^urelay client: ready' 10
SOCKS_PORT=$LAUNCH_SOCKS check --sessions 2 --up 256k --down 256k
stop fwdpost "$FWD_CLIENT_PID"
echo "post through the forwarder: in once the ws client's session closed"
stop ws "$WS_PID"
stop exit1 "$EXIT_PID"
! grep -l 'runtime error\|AddressSanitizer' "$TMP"/*.err || fail "sanitizer reports"
echo ok
