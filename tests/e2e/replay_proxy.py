#!/usr/bin/env python3
"""replay_proxy: an on-path observer for the replay tests (issue 13). A TCP
proxy on loopback between a client and an exit that forwards both ways,
records what the client sends and replays it, on cue, on NEW connections to
the exit, as an attacker who captured the traffic would. Stdlib only,
127.0.0.1 only.

    replay_proxy.py serve TARGET_PORT [--max-seconds N] [--rate BYTES_PER_S]
                          [--no-record]
        prints "PORT CONTROL_PORT", then proxies 127.0.0.1:PORT ->
        127.0.0.1:TARGET_PORT and takes commands on CONTROL_PORT;
        --rate paces the TARGET_PORT -> connector direction of each
        connection (in front of a target: a slow source, so that a
        download on loopback lasts long enough for replays to land in
        the middle of it, with the exit waiting on the target, not on
        the client); --no-record makes it a
        plain (paced) forwarder
    replay_proxy.py ctl CONTROL_PORT COMMAND [ARG...]
        sends one command, prints the one-line JSON answer
    replay_proxy.py sink DIR [--max-seconds N]
        a target that keeps what each connection sends in DIR/conn-N.bin
        (N from 1, in accept order); prints its port
    replay_proxy.py send SOCKS_PORT TARGET_PORT FILE
        sends FILE through a SOCKS5 proxy to 127.0.0.1:TARGET_PORT, shuts
        its write side and waits for the end; exit 0 on a clean end

What is recorded (client -> exit bytes, each connection on its own):
  - WebSocket (a GET with "Upgrade: websocket"): the upgrade request, then
    every complete data message, cut by the frame headers (masked frames;
    continuation frames join their message; control frames are not items);
  - POST (anything else): every complete HTTP request, head and
    Content-Length body.
Each item is numbered from 0 in the order it was complete.

Commands (one line each; the answer is one line of JSON):
  stats                  {"items", "conns", "ws_items", "post_items", ...}
  list                   [{"n", "kind", "len", "age", "conn"}, ...]
  replay WHICH [timeout=S] [min_age=S] [stagger=S]
      WHICH: N (one item), all (every item, in order), recent:K (the K
      latest items at least min_age old, default 1 s: their originals
      have reached the exit). Each item goes on its own new connection to
      the exit (ws: the recorded upgrade request, then the message; post:
      the request), started stagger apart (default 0.05 s), all read for
      at most timeout (default 2 s) after the send. Answer {"results":
      [...]}, one per item:
        post: {"n", "kind": "post", "status" (null: none), "body_len",
               "end": "answered" | "eof" | "reset" | "timeout"}
        ws:   {"n", "kind": "ws", "upgrade_status", "frames",
               "data_frames", "frame_bytes", "end": "eof" | "reset" |
               "timeout" (still open at the deadline)}

It stops by itself after --max-seconds (default 120), and on SIGTERM.
"""
import asyncio
import json
import os
import signal
import socket
import struct
import sys
import time

RECORD_CAP = 64 << 20  # bytes of items kept; beyond, items are counted only
HEAD_CAP = 64 << 10


def parse_head(head):
    """(request/status line, {lowercase name: value}) of an HTTP head."""
    lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip().lower()] = v.strip()
    return lines[0], fields


def ws_frame_len(buf):
    """(total length, fin, opcode) of the frame at the start of buf, or
    None while the header is incomplete."""
    if len(buf) < 2:
        return None
    b0, b1 = buf[0], buf[1]
    n = b1 & 0x7F
    hl = 2
    if n == 126:
        if len(buf) < 4:
            return None
        n = struct.unpack(">H", bytes(buf[2:4]))[0]
        hl = 4
    elif n == 127:
        if len(buf) < 10:
            return None
        n = struct.unpack(">Q", bytes(buf[2:10]))[0]
        hl = 10
    if b1 & 0x80:
        hl += 4
    return hl + n, bool(b0 & 0x80), b0 & 0x0F


class Recorder:
    """Cuts one connection's client -> exit bytes into items."""

    def __init__(self, proxy, conn):
        self.proxy = proxy
        self.conn = conn
        self.buf = bytearray()
        self.kind = None  # "ws" or "post" once the first head is parsed
        self.upgrade = None
        self.msg = bytearray()
        self.need = None  # post: total request length once the head is in
        self.broken = False

    def feed(self, data):
        if self.broken:
            return
        self.buf += data
        while not self.broken and self.step():
            pass

    def step(self):
        if self.kind == "ws":
            f = ws_frame_len(self.buf)
            if f is None or len(self.buf) < f[0]:
                return False
            total, fin, op = f
            frame = bytes(self.buf[:total])
            del self.buf[:total]
            if op >= 8:
                self.proxy.control_frames += 1
                return True
            self.msg += frame
            if fin:
                self.proxy.add("ws", bytes(self.msg), self.conn, self.upgrade)
                self.msg = bytearray()
            return True
        if self.need is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > HEAD_CAP:
                    self.broken = True
                return False
            line, fields = parse_head(bytes(self.buf[:end]))
            if line.startswith("GET ") and fields.get("upgrade", "").lower() == "websocket":
                self.kind = "ws"
                self.upgrade = bytes(self.buf[: end + 4])
                del self.buf[: end + 4]
                return True
            if "transfer-encoding" in fields:
                self.broken = True  # the client sends Content-Length only
                self.proxy.unparsed += 1
                return False
            self.kind = "post"
            self.need = end + 4 + int(fields.get("content-length", "0"))
        if len(self.buf) < self.need:
            return False
        self.proxy.add("post", bytes(self.buf[: self.need]), self.conn, None)
        del self.buf[: self.need]
        self.need = None
        return True


class Proxy:
    def __init__(self, target, rate=0, record=True):
        self.target = target
        self.rate = rate
        self.record = record
        self.items = []  # dicts: kind, data, conn, upgrade, t
        self.conns = 0
        self.recorded = 0
        self.dropped = 0
        self.control_frames = 0
        self.unparsed = 0
        self.live = set()

    def add(self, kind, data, conn, upgrade):
        if self.recorded + len(data) > RECORD_CAP:
            self.dropped += 1
            return
        self.recorded += len(data)
        self.items.append(
            {"kind": kind, "data": data, "conn": conn, "upgrade": upgrade, "t": time.monotonic()}
        )

    async def pipe(self, reader, writer, rec, rate=0):
        start, sent = time.monotonic(), 0
        try:
            while True:
                data = await reader.read(1 << 14 if rate else 1 << 16)
                if not data:
                    writer.write_eof()
                    return
                if rec:
                    rec.feed(data)
                writer.write(data)
                await writer.drain()
                if rate:
                    sent += len(data)
                    ahead = sent / rate - (time.monotonic() - start)
                    if ahead > 0:
                        await asyncio.sleep(ahead)
        except (ConnectionError, OSError, RuntimeError):
            # Pass a reset on as a reset.
            abort(writer)

    async def handle(self, creader, cwriter):
        self.conns += 1
        rec = Recorder(self, self.conns) if self.record else None
        try:
            ureader, uwriter = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            abort(cwriter)
            return
        pair = (cwriter, uwriter)
        self.live.add(pair)
        try:
            await asyncio.gather(self.pipe(creader, uwriter, rec), self.pipe(ureader, cwriter, None, self.rate))
        finally:
            self.live.discard(pair)
            for w in pair:
                w.close()

    # ---- control ----

    def stats(self):
        return {
            "items": len(self.items),
            "ws_items": sum(1 for i in self.items if i["kind"] == "ws"),
            "post_items": sum(1 for i in self.items if i["kind"] == "post"),
            "conns": self.conns,
            "recorded_bytes": self.recorded,
            "dropped_items": self.dropped,
            "control_frames": self.control_frames,
            "unparsed_conns": self.unparsed,
        }

    def listing(self):
        now = time.monotonic()
        return [
            {"n": n, "kind": i["kind"], "len": len(i["data"]), "age": round(now - i["t"], 3),
             "conn": i["conn"]}
            for n, i in enumerate(self.items)
        ]

    async def replay(self, which, timeout, min_age, stagger):
        now = time.monotonic()
        if which == "all":
            picked = list(range(len(self.items)))
        elif which.startswith("recent:"):
            k = int(which.split(":", 1)[1])
            old = [n for n, i in enumerate(self.items) if now - i["t"] >= min_age]
            picked = old[-k:] if k > 0 else []
        else:
            n = int(which)
            if not 0 <= n < len(self.items):
                return {"error": f"no item {n} (have {len(self.items)})"}
            picked = [n]
        tasks = []
        for k, n in enumerate(picked):
            if k:
                await asyncio.sleep(stagger)
            tasks.append(asyncio.ensure_future(self.replay_one(n, timeout)))
        results = await asyncio.gather(*tasks)
        return {"results": list(results)}

    async def replay_one(self, n, timeout):
        item = self.items[n]
        res = {"n": n, "kind": item["kind"], "len": len(item["data"])}
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.target), 5)
        except (OSError, asyncio.TimeoutError) as e:
            res["end"] = "connect-failed: %s" % e
            return res
        try:
            if item["kind"] == "post":
                await self.replay_post(item, reader, writer, timeout, res)
            else:
                await self.replay_ws(item, reader, writer, timeout, res)
        finally:
            abort(writer)
        return res

    @staticmethod
    async def read_head(reader, buf, deadline):
        """Reads until a whole HTTP head is in buf; returns its end or
        raises EOFError / asyncio.TimeoutError / ConnectionError."""
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                return end
            left = deadline - time.monotonic()
            if left <= 0 or len(buf) > HEAD_CAP:
                raise asyncio.TimeoutError
            data = await asyncio.wait_for(reader.read(1 << 16), left)
            if not data:
                raise EOFError
            buf += data

    async def replay_post(self, item, reader, writer, timeout, res):
        res.update(status=None, body_len=0)
        writer.write(item["data"])
        deadline = time.monotonic() + timeout
        buf = bytearray()
        try:
            await writer.drain()
            end = await self.read_head(reader, buf, deadline)
            line, fields = parse_head(bytes(buf[:end]))
            parts = line.split()
            res["status"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            want = int(fields.get("content-length", "0"))
            body = len(buf) - end - 4
            while body < want:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise asyncio.TimeoutError
                data = await asyncio.wait_for(reader.read(1 << 16), left)
                if not data:
                    raise EOFError
                body += len(data)
            res["body_len"] = body
            res["end"] = "answered"
        except EOFError:
            res["end"] = "eof"
        except asyncio.TimeoutError:
            res["end"] = "timeout"
        except (ConnectionError, OSError):
            res["end"] = "reset"
        if res["end"] != "answered" and res["status"] is not None:
            res["body_len"] = max(0, len(buf) - buf.find(b"\r\n\r\n") - 4)

    async def replay_ws(self, item, reader, writer, timeout, res):
        res.update(upgrade_status=None, frames=0, data_frames=0, frame_bytes=0)
        writer.write(item["upgrade"])
        deadline = time.monotonic() + timeout
        buf = bytearray()
        try:
            await writer.drain()
            end = await self.read_head(reader, buf, time.monotonic() + 5)
            parts = bytes(buf[:end]).decode("latin-1").split("\r\n")[0].split()
            res["upgrade_status"] = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
            del buf[: end + 4]
            if res["upgrade_status"] != 101:
                res["end"] = "not-upgraded"
                return
            writer.write(item["data"])
            await writer.drain()
            deadline = time.monotonic() + timeout
            while True:
                while True:
                    f = ws_frame_len(buf)
                    if f is None or len(buf) < f[0]:
                        break
                    res["frames"] += 1
                    res["frame_bytes"] += f[0]
                    if f[2] < 8:
                        res["data_frames"] += 1
                    del buf[: f[0]]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise asyncio.TimeoutError
                data = await asyncio.wait_for(reader.read(1 << 16), left)
                if not data:
                    raise EOFError
                buf += data
        except EOFError:
            res["end"] = "eof"
        except asyncio.TimeoutError:
            res["end"] = "timeout"
        except (ConnectionError, OSError):
            res["end"] = "reset"
        res["partial_bytes"] = len(buf)

    async def control(self, reader, writer):
        try:
            line = (await asyncio.wait_for(reader.readline(), 10)).decode().split()
            if not line:
                out = {"error": "empty command"}
            elif line[0] == "stats":
                out = self.stats()
            elif line[0] == "list":
                out = self.listing()
            elif line[0] == "replay" and len(line) >= 2:
                opts = dict(a.split("=", 1) for a in line[2:] if "=" in a)
                out = await self.replay(
                    line[1],
                    min(float(opts.get("timeout", 2)), 30),
                    float(opts.get("min_age", 1)),
                    min(float(opts.get("stagger", 0.05)), 2),
                )
            else:
                out = {"error": "unknown command: " + " ".join(line)}
        except Exception as e:  # noqa: BLE001 -- answer, never die
            out = {"error": repr(e)}
        try:
            writer.write((json.dumps(out) + "\n").encode())
            await writer.drain()
        finally:
            writer.close()


def abort(writer):
    """Close with a reset (SO_LINGER 0)."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
    writer.close()


def max_seconds(args, default):
    if "--max-seconds" in args:
        return float(args[args.index("--max-seconds") + 1])
    return default


async def run_until_done(limit):
    loop = asyncio.get_running_loop()
    done = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    loop.add_signal_handler(signal.SIGINT, done.set)
    try:
        await asyncio.wait_for(done.wait(), limit)
    except asyncio.TimeoutError:
        pass


async def serve(args):
    rate = float(args[args.index("--rate") + 1]) if "--rate" in args else 0
    p = Proxy(int(args[0]), rate, "--no-record" not in args)
    server = await asyncio.start_server(p.handle, "127.0.0.1", 0)
    ctl = await asyncio.start_server(p.control, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], ctl.sockets[0].getsockname()[1], flush=True)
    await run_until_done(max_seconds(args, 120))


async def sink(args):
    outdir = args[0]
    count = [0]

    async def handle(reader, writer):
        count[0] += 1
        path = os.path.join(outdir, "conn-%d.bin" % count[0])
        with open(path, "wb") as f:
            try:
                while True:
                    data = await reader.read(1 << 16)
                    if not data:
                        break
                    f.write(data)
                    f.flush()
            except (ConnectionError, OSError):
                pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await run_until_done(max_seconds(args, 120))


def send(args):
    socks_port, target_port, path = int(args[0]), int(args[1]), args[2]
    data = open(path, "rb").read()
    s = socket.create_connection(("127.0.0.1", socks_port), timeout=10)
    s.sendall(b"\x05\x01\x00")
    if s.recv(2) != b"\x05\x00":
        sys.exit("send: SOCKS5 greeting refused")
    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", target_port))
    reply = b""
    while len(reply) < 10:
        chunk = s.recv(10 - len(reply))
        if not chunk:
            sys.exit("send: SOCKS5 reply cut short")
        reply += chunk
    if reply[1] != 0:
        sys.exit("send: SOCKS5 reply %d" % reply[1])
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    while s.recv(1 << 16):  # the sink answers nothing; wait for its end
        pass
    s.close()
    print("sent %d bytes" % len(data))


def ctl(args):
    s = socket.create_connection(("127.0.0.1", int(args[0])), timeout=90)
    s.sendall((" ".join(args[1:]) + "\n").encode())
    out = b""
    while True:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        out += chunk
    sys.stdout.write(out.decode())
    if not out or b'"error"' in out[:20]:
        sys.exit(1)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        asyncio.run(serve(args))
    elif cmd == "sink":
        asyncio.run(sink(args))
    elif cmd == "send":
        send(args)
    elif cmd == "ctl":
        ctl(args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
