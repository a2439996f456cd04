#!/usr/bin/env python3
"""A SOCKS5 proxy on 127.0.0.1 that damages what it relays, for checking that
urelay-bench's sink and checker notice. Prints its port, then serves.

  corrupt_socks.py MODE OFFSET
    flip: flips one bit of the client's byte at OFFSET (after the SOCKS5
          handshake), in the upload direction
    drop: drops the client's byte at OFFSET (every later byte shifts)

Only CONNECT to 127.0.0.0/8 is served. Stops by itself after 120 s.
"""
import socket
import struct
import sys
import threading

MODE, OFFSET = sys.argv[1], int(sys.argv[2])


def pipe(src, dst, damage):
    seen = 0
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            n = len(data)
            if damage and seen <= OFFSET < seen + n:
                i = OFFSET - seen
                if MODE == "flip":
                    data = data[:i] + bytes([data[i] ^ 0x40]) + data[i + 1:]
                else:
                    data = data[:i] + data[i + 1:]
            seen += n
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def recv_all(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise OSError("short")
        b += c
    return b


def serve(c):
    try:
        ver, nm = recv_all(c, 2)
        recv_all(c, nm)
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = recv_all(c, 4)
        if cmd != 1 or atyp != 1:
            c.close()
            return
        host = socket.inet_ntoa(recv_all(c, 4))
        port = struct.unpack(">H", recv_all(c, 2))[0]
        if not host.startswith("127."):
            c.close()
            return
        up = socket.create_connection((host, port))
        c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 0))
        threading.Thread(target=pipe, args=(c, up, True), daemon=True).start()
        threading.Thread(target=pipe, args=(up, c, False), daemon=True).start()
    except OSError:
        c.close()


def main():
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    print(ls.getsockname()[1], flush=True)
    threading.Timer(120, lambda: __import__("os")._exit(0)).start()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
