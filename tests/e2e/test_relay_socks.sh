#!/usr/bin/env bash
# Malformed SOCKS5 input (reliability.md §4.2) gets its RFC 1928/1929 reply
# and a close; the client keeps serving everyone else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relay_lib.sh"
new_key k
start_target
start_exit exit --key-file "$TMP/k" --allow-dest 127.0.0.0/8
start_client plain k
python3 - "$SOCKS_PORT" "$TARGET_PORT" <<'PY'
import socket, struct, sys, time
socks, target = int(sys.argv[1]), int(sys.argv[2])
req = lambda cmd, atyp, addr, rsv=0: bytes([5, cmd, rsv, atyp]) + addr + struct.pack(">H", target)
v4 = bytes([127, 0, 0, 1])
def talk(chunks, one_by_one=False):
    s = socket.create_connection(("127.0.0.1", socks), timeout=5)
    out = b""
    for c in chunks:
        for piece in ([bytes([b]) for b in c] if one_by_one else [c]):
            s.sendall(piece)
            if one_by_one: time.sleep(0.002)
        time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    while True:
        try: d = s.recv(4096)
        except ConnectionResetError: break
        if not d: break
        out += d
    s.close()
    return out
cases = [
    ("VER 4", [b"\x04\x01\x00"], b"\x05\xff"),
    ("NMETHODS 0", [b"\x05\x00"], b"\x05\xff"),
    ("no acceptable method", [b"\x05\x01\x02"], b"\x05\xff"),
    ("BIND", [b"\x05\x01\x00", req(2, 1, v4)], b"\x05\x00\x05\x07"),
    ("UDP ASSOCIATE", [b"\x05\x01\x00", req(3, 1, v4)], b"\x05\x00\x05\x07"),
    ("unknown CMD", [b"\x05\x01\x00", req(9, 1, v4)], b"\x05\x00\x05\x07"),
    ("ATYP 5", [b"\x05\x01\x00", req(1, 5, v4)], b"\x05\x00\x05\x08"),
    ("domain length 0", [b"\x05\x01\x00", req(1, 3, b"\x00")], b"\x05\x00\x05\x01"),
    ("NUL in domain", [b"\x05\x01\x00", req(1, 3, b"\x03a\x00b")], b"\x05\x00\x05\x01"),
    ("RSV 1", [b"\x05\x01\x00", req(1, 1, v4, rsv=1)], b"\x05\x00\x05\x01"),
]
for name, chunks, want in cases:
    got = talk(chunks)
    if not got.startswith(want):
        sys.exit(f"FAIL: {name}: got {got.hex()} want prefix {want.hex()}")
    print(f"{name}: {got[:4].hex()}")
# A valid request one byte per write, then data: the relay works.
hdr = struct.pack(">QQQ", 42, 0, 0)
got = talk([b"\x05\x01\x00", req(1, 1, v4), hdr], one_by_one=True)
if not got.startswith(b"\x05\x00\x05\x00") or not got.endswith(b"K"):
    sys.exit(f"FAIL: one byte per write: {got.hex()}")
print("valid request one byte per write: success, status K")
PY
echo "after all that, the client still serves:"
check --sessions 4 --up 1m --down 1m

echo "RFC 1929: username/password required"
start_client auth k --socks-user alice --socks-password s3cret-pw
python3 - "$SOCKS_PORT" <<'PY'
import socket, sys
p = int(sys.argv[1])
def login(user, pw):
    s = socket.create_connection(("127.0.0.1", p), timeout=5)
    s.sendall(b"\x05\x01\x02")
    assert s.recv(2) == b"\x05\x02", "server must pick username/password"
    s.sendall(bytes([1, len(user)]) + user + bytes([len(pw)]) + pw)
    r = s.recv(2); s.close(); return r
assert login(b"alice", b"wrong") == b"\x01\x01", "wrong password accepted"
assert login(b"bob", b"s3cret-pw") == b"\x01\x01", "wrong user accepted"
assert login(b"alice", b"s3cret-pw") == b"\x01\x00", "right login refused"
s = socket.create_connection(("127.0.0.1", p), timeout=5)
s.sendall(b"\x05\x01\x00")
assert s.recv(2) == b"\x05\xff", "no-auth must be refused when a login is configured"
print("auth: wrong password 0101, wrong user 0101, right login 0100, no-auth 05ff")
PY
echo ok
