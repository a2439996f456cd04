#!/usr/bin/env python3
"""faultproxy: a userspace TCP proxy on loopback that breaks the path on cue,
for the fault tests (tc and iptables are not available here).

    faultproxy.py TARGET_PORT          prints its own port, then proxies
                                       127.0.0.1:PORT -> 127.0.0.1:TARGET_PORT

Signals:
    SIGUSR1  black hole on: nothing moves either way, new connections are
             accepted but never reach the target (as if packets were dropped)
    SIGUSR2  black hole off: everything held moves again
    SIGHUP   reset every connection it carries (RST both ways)

It stops by itself after --max-seconds (default 300): a test that forgets it
does not leave it behind.
"""
import asyncio
import signal
import socket
import struct
import sys


class Proxy:
    def __init__(self, target):
        self.target = target
        self.open = asyncio.Event()
        self.open.set()
        self.conns = set()

    async def pipe(self, reader, writer):
        try:
            while True:
                data = await reader.read(1 << 16)
                await self.open.wait()
                if not data:
                    writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            pass

    async def handle(self, creader, cwriter):
        await self.open.wait()
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            self.reset(cwriter)
            return
        pair = (cwriter, uwriter)
        self.conns.add(pair)
        try:
            await asyncio.gather(self.pipe(creader, uwriter), self.pipe(ureader, cwriter))
        finally:
            self.conns.discard(pair)
            for w in pair:
                w.close()

    @staticmethod
    def reset(writer):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.close()

    def reset_all(self):
        for pair in list(self.conns):
            for w in pair:
                self.reset(w)


async def main():
    target = int(sys.argv[1])
    max_seconds = 300
    if len(sys.argv) > 3 and sys.argv[2] == "--max-seconds":
        max_seconds = int(sys.argv[3])
    p = Proxy(target)
    server = await asyncio.start_server(p.handle, "127.0.0.1", 0)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, p.open.clear)
    loop.add_signal_handler(signal.SIGUSR2, p.open.set)
    loop.add_signal_handler(signal.SIGHUP, p.reset_all)
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    print(server.sockets[0].getsockname()[1], flush=True)
    try:
        await asyncio.wait_for(done.wait(), max_seconds)
    except asyncio.TimeoutError:
        pass


asyncio.run(main())
