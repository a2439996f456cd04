#!/usr/bin/env bash
# Caps: over the per-client or the global session cap a new session gets
# RST cap-exceeded (SOCKS5 0x01); the sessions already open are untouched,
# and a slot freed is a slot usable again.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8 --max-sessions 3 \
  --max-sessions-per-client 2
start_client a k
A=$SOCKS_PORT
start_client b k
B=$SOCKS_PORT
python3 - "$A" "$B" "$TARGET_PORT" <<'PY'
import socket, struct, sys
a, b, target = (int(x) for x in sys.argv[1:])
def open_session(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x05\x01\x00")
    assert s.recv(2) == b"\x05\x00"
    s.sendall(b"\x05\x01\x00\x01\x7f\x00\x00\x01" + struct.pack(">H", target))
    rep = b""
    while len(rep) < 10:
        d = s.recv(10 - len(rep))
        if not d: break
        rep += d
    return s, rep[1] if len(rep) > 1 else None
def exchange(s, n=4096):
    # relaycheck's target protocol: header (key, up 0, down n), EOF, then
    # n bytes and the status byte 'K'.
    s.sendall(struct.pack(">QQQ", 7, 0, n)); s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(65536)
        if not d: break
        got += d
    return len(got) == n + 1 and got[-1:] == b"K"
a1, r1 = open_session(a); a2, r2 = open_session(a)
assert (r1, r2) == (0, 0), f"first two sessions of client a: {r1} {r2}"
a3, r3 = open_session(a)
assert r3 == 1, f"third session of client a (per-client cap 2): reply {r3}, want 1"
print("client a: 2 sessions open, the 3rd refused with 0x01 (per-client cap)")
b1, rb1 = open_session(b)
assert rb1 == 0, f"client b's first session: {rb1}"
b2, rb2 = open_session(b)
assert rb2 == 1, f"4th live session overall (global cap 3): reply {rb2}, want 1"
print("client b: 1 session open, the next refused with 0x01 (global cap 3)")
assert exchange(a1) and exchange(a2) and exchange(b1), "an open session was disturbed"
print("the three open sessions still carry their bytes")
for s in (a1, a2, a3, b1, b2): s.close()
import time; time.sleep(0.3)
c1, rc1 = open_session(b)
assert rc1 == 0 and exchange(c1), f"after the others closed: reply {rc1}"
print("after they closed, a new session works again")
PY
echo ok
