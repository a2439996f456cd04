#!/usr/bin/env python3
"""accept_count: a listener on 127.0.0.1 that accepts every connection and
closes it at once, writing one line per accept (monotonic milliseconds) to
LOG, for the backoff tests: how many tries, and how far apart.

    accept_count.py PORT LOG [--max-seconds N]

Prints "ready" once listening. Stops after --max-seconds (default 60) or on
SIGTERM: a test that forgets it does not leave it behind.
"""
import signal
import socket
import sys
import time


def main():
    port, log = int(sys.argv[1]), sys.argv[2]
    max_s = 60.0
    if len(sys.argv) > 4 and sys.argv[3] == "--max-seconds":
        max_s = float(sys.argv[4])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    s.settimeout(0.2)
    print("ready", flush=True)
    end = time.monotonic() + max_s
    with open(log, "a", buffering=1) as out:
        while time.monotonic() < end:
            try:
                c, _ = s.accept()
            except socket.timeout:
                continue
            out.write(f"{time.monotonic() * 1000:.1f}\n")
            c.close()


if __name__ == "__main__":
    main()
