#!/usr/bin/env bash
# Heartbeat: with the exit frozen (SIGSTOP), the client notices within three
# heartbeat intervals, its open session ends with a reset (never a clean
# EOF over a truncated stream), and once the exit runs again (SIGCONT) the
# client reconnects and new sessions work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client c k --heartbeat 1
python3 - "$SOCKS_PORT" "$TARGET_PORT" "$EXIT_PID" "$TMP/c.err" <<'PY'
import os, signal, socket, struct, sys, time
socks, target, exit_pid, log = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.create_connection(("127.0.0.1", socks), timeout=10)
s.sendall(b"\x05\x01\x00"); assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", target))
assert s.recv(10)[1] == 0
# header: 1 GiB down that we read slowly, so the session is mid-stream
s.sendall(struct.pack(">QQQ", 9, 0, 1 << 30))
s.recv(65536)
os.kill(exit_pid, signal.SIGSTOP)
t0 = time.time()
try:
    s.settimeout(15)
    ended = "eof"
    while True:
        d = s.recv(1 << 20)
        if not d: break
except ConnectionResetError:
    ended = "reset"
except socket.timeout:
    ended = "timeout"
took = time.time() - t0
os.kill(exit_pid, signal.SIGCONT)
print(f"session ended by {ended} {took:.1f} s after SIGSTOP")
assert ended == "reset", f"the open session must end with a reset, got {ended}"
assert took < 8, f"detection took {took:.1f} s with a 1 s heartbeat"
assert "no answer to heartbeats" in open(log).read(), "client did not log the dead tunnel"
PY
# The client reconnects by itself; then a fresh transfer is byte-exact.
wait_line "$TMP/c.err" 'tunnel to .* is up' 5
for _ in $(seq 100); do
  [ "$(grep -c 'is up' "$TMP/c.err")" -ge 2 ] && break
  sleep 0.1
done
[ "$(grep -c 'is up' "$TMP/c.err")" -ge 2 ] || { cat "$TMP/c.err" >&2; fail "no reconnect"; }
check --sessions 4 --up 1m --down 1m
echo ok
