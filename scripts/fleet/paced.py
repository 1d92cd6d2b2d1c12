#!/usr/bin/python3
"""Paced echo client for the fleet tests: opens N concurrent TCP connections to one or more echo-server targets, sends
SIZE bytes of a deterministic per-connection payload on each at a paced rate so the transfer lasts about DURATION
seconds, reads the echo back concurrently and checks that every byte came back intact and in order.

Per connection it measures the longest stall: the longest gap between two successive receptions of echoed bytes,
counting the gap from connect to the first echoed byte (and, for a connection that fails, the gap from its last
reception to the failure). This is how the tests measure failover when a proxy node dies mid-transfer. With paced
sending the baseline stall is about one chunk interval (CHUNK / (SIZE / DURATION)).

A connection is lost when its connect fails, it is reset, it makes no progress for TIMEOUT seconds, the echo ends
early or a byte differs from what was sent.

Usage: paced.py --target ADDR:PORT [--target [V6ADDR]:PORT ...] --connections N --size BYTES --duration SECONDS
                [--timeout SECONDS] [--json FILE] [--start-file FILE] [--chunk BYTES] [--buffer BYTES]

Connections are spread round-robin over the targets. --start-file FILE is created once every connection is
established and has had its first bytes echoed (or has already failed), so a test can wait for "all in flight".
Prints nothing while running except errors on stderr, then one summary line on stdout:
  paced: connections=N ok=K lost=L bytes=TOTAL longest_stall_ms=X p50_stall_ms=Y
where bytes counts verified echoed bytes over all connections and the stall figures are the maximum and median of
the per-connection longest stalls over the connections that completed. Exit status 0 iff every connection completed
intact, 1 otherwise, 2 on usage errors. Python 3 standard library only.
"""
import argparse
import json
import random
import socket
import statistics
import sys
import threading
import time

BLOCK = 65536          # payload generator block; the stream does not depend on how it is read
SEED = 0x9ACED000      # connection i's payload is random.Random(SEED + i) in BLOCK-sized randbytes blocks


class Payload:
    """The deterministic byte stream of one connection, read sequentially in arbitrary pieces."""

    def __init__(self, index):
        self.random = random.Random(SEED + index)
        self.buffer = b""
        self.offset = 0

    def read(self, n):
        while len(self.buffer) - self.offset < n:
            self.buffer = self.buffer[self.offset:] + self.random.randbytes(BLOCK)
            self.offset = 0
        data = self.buffer[self.offset:self.offset + n]
        self.offset += n
        return data


_log_lock = threading.Lock()


def log(message):
    """One whole line to stderr; print() from several threads would interleave the text and its newline."""
    with _log_lock:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


def parse_target(text):
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("target must be ADDR:PORT or [V6ADDR]:PORT: %r" % text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def format_target(target):
    host, port = target
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


class Connection:
    def __init__(self, index, target, args, ready):
        self.index = index
        self.target = target
        self.args = args
        self.ready = ready            # called once: first echoed bytes received, or failed before that
        self.local_port = None
        self.ok = False
        self.error = None
        self.bytes_echoed = 0
        self.bytes_sent = 0
        self.longest_stall = 0.0
        self.connect_seconds = None
        self.seconds = 0.0
        self.sock = None
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.signalled = False

    def signal_ready(self):
        with self.lock:
            if self.signalled:
                return
            self.signalled = True
        self.ready()

    def fail(self, error):
        with self.lock:
            if self.error is None:
                self.error = error
                first = True
            else:
                first = False
        self.stop.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)   # wakes the other thread
            except OSError:
                pass
        if first:
            log("paced: connection %d to %s (local port %s) lost: %s"
                % (self.index, format_target(self.target), self.local_port, error))

    def connect(self):
        host, port = self.target
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            if self.args.buffer:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.args.buffer)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.args.buffer)
            sock.settimeout(self.args.timeout)   # also the no-progress limit for every send and receive
            sock.connect(address)
        except BaseException:
            sock.close()
            raise
        return sock

    def run(self):
        start = time.monotonic()
        try:
            try:
                self.sock = self.connect()
            except socket.timeout:
                self.fail("connect: timed out after %gs" % self.args.timeout)
                return
            except OSError as e:
                self.fail("connect: %s" % e)
                return
            connected = time.monotonic()
            self.connect_seconds = connected - start
            try:
                self.local_port = self.sock.getsockname()[1]
            except OSError:
                pass
            sender = threading.Thread(target=self.send, args=(connected,), daemon=True)
            sender.start()
            try:
                self.receive(connected)
            finally:
                if self.error is not None:
                    self.stop.set()
                sender.join()
                self.sock.close()
            if self.error is None:
                self.ok = True
        except Exception as e:   # never let one connection take the run down
            self.fail("internal error: %r" % e)
        finally:
            self.seconds = time.monotonic() - start
            self.signal_ready()

    def send(self, t0):
        size, chunk = self.args.size, self.args.chunk
        rate = size / self.args.duration if self.args.duration > 0 else 0
        payload = Payload(self.index)
        try:
            while self.bytes_sent < size:
                if self.stop.is_set():
                    return
                n = min(chunk, size - self.bytes_sent)
                self.sock.sendall(payload.read(n))
                self.bytes_sent += n
                if rate and self.bytes_sent < size:
                    delay = t0 + self.bytes_sent / rate - time.monotonic()
                    if delay > 0 and self.stop.wait(delay):
                        return
            self.sock.shutdown(socket.SHUT_WR)
        except socket.timeout:
            self.fail("send: no progress for %gs after %d bytes sent" % (self.args.timeout, self.bytes_sent))
        except OSError as e:
            if not self.stop.is_set():
                self.fail("send: %s after %d bytes sent" % (e, self.bytes_sent))

    def receive(self, t0):
        size = self.args.size
        expected = Payload(self.index)
        last = t0
        buffer = bytearray(65536)
        view = memoryview(buffer)
        while self.bytes_echoed < size:
            try:
                n = self.sock.recv_into(buffer)
            except socket.timeout:
                self.note_stall(last)
                self.fail("receive: no progress for %gs after %d bytes echoed" % (self.args.timeout, self.bytes_echoed))
                return
            except OSError as e:
                self.note_stall(last)
                if not self.stop.is_set():
                    self.fail("receive: %s after %d bytes echoed" % (e, self.bytes_echoed))
                return
            if self.stop.is_set():
                return   # the sender failed
            if n == 0:
                self.note_stall(last)
                self.fail("receive: connection closed after %d of %d bytes echoed" % (self.bytes_echoed, size))
                return
            last = self.note_stall(last)
            if self.bytes_echoed + n > size:
                self.fail("receive: %d bytes echoed, more than the %d sent" % (self.bytes_echoed + n, size))
                return
            want = expected.read(n)
            if view[:n] != want:
                bad = next(i for i in range(n) if buffer[i] != want[i])
                self.fail("receive: wrong byte at offset %d (got 0x%02x, expected 0x%02x)"
                          % (self.bytes_echoed + bad, buffer[bad], want[bad]))
                return
            self.bytes_echoed += n
            self.signal_ready()

    def note_stall(self, last):
        now = time.monotonic()
        self.longest_stall = max(self.longest_stall, now - last)
        return now

    def result(self):
        return {
            "index": self.index,
            "target": format_target(self.target),
            "local_port": self.local_port,
            "ok": self.ok,
            "error": self.error,
            "bytes_sent": self.bytes_sent,
            "bytes_echoed": self.bytes_echoed,
            "longest_stall_ms": round(self.longest_stall * 1000, 1),
            "connect_ms": None if self.connect_seconds is None else round(self.connect_seconds * 1000, 1),
            "seconds": round(self.seconds, 3),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", action="append", type=parse_target, required=True,
                        help="ADDR:PORT or [V6ADDR]:PORT; repeat to spread connections round-robin")
    parser.add_argument("--connections", type=int, required=True)
    parser.add_argument("--size", type=int, required=True, help="bytes sent (and echoed) per connection")
    parser.add_argument("--duration", type=float, required=True, help="seconds the paced transfer should last")
    parser.add_argument("--timeout", type=float, default=30.0,
                        help="seconds without progress before a connection counts as lost (default 30)")
    parser.add_argument("--json", metavar="FILE", help="write per-connection results and totals as JSON")
    parser.add_argument("--start-file", metavar="FILE",
                        help="create FILE once every connection has had its first bytes echoed")
    parser.add_argument("--chunk", type=int, default=16384, help="bytes per paced send (default 16384)")
    parser.add_argument("--buffer", type=int, default=65536,
                        help="SO_SNDBUF/SO_RCVBUF per socket, 0 for the kernel default (default 65536)")
    args = parser.parse_args()
    if args.connections < 1 or args.size < 1 or args.duration < 0 or args.timeout <= 0 or args.chunk < 1 \
            or args.buffer < 0:
        parser.error("--connections, --size, --chunk and --timeout must be positive, --duration and --buffer >= 0")

    pending = [args.connections]
    pending_lock = threading.Lock()
    all_ready = threading.Event()

    def ready():
        with pending_lock:
            pending[0] -= 1
            if pending[0] == 0:
                all_ready.set()

    threading.stack_size(512 * 1024)
    connections = [Connection(i, args.target[i % len(args.target)], args, ready) for i in range(args.connections)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in connections]
    started = time.monotonic()
    for t in threads:
        t.start()
    if args.start_file:
        all_ready.wait()
        try:
            with open(args.start_file, "a"):
                pass
        except OSError as e:
            log("paced: cannot create start file: %s" % e)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started

    ok = [c for c in connections if c.ok]
    stalls = [c.longest_stall * 1000 for c in ok]
    totals = {
        "connections": len(connections),
        "ok": len(ok),
        "lost": len(connections) - len(ok),
        "bytes": sum(c.bytes_echoed for c in connections),
        "longest_stall_ms": round(max(stalls), 1) if stalls else 0,
        "p50_stall_ms": round(statistics.median(stalls), 1) if stalls else 0,
    }
    print("paced: connections=%d ok=%d lost=%d bytes=%d longest_stall_ms=%d p50_stall_ms=%d"
          % (totals["connections"], totals["ok"], totals["lost"], totals["bytes"],
             round(totals["longest_stall_ms"]), round(totals["p50_stall_ms"])), flush=True)
    if args.json:
        document = dict(totals, size=args.size, duration=args.duration, timeout=args.timeout,
                        targets=[format_target(t) for t in args.target], elapsed_seconds=round(elapsed, 3),
                        results=[c.result() for c in connections])
        with open(args.json, "w") as f:
            json.dump(document, f, indent=1)
            f.write("\n")
    return 0 if len(ok) == len(connections) else 1


if __name__ == "__main__":
    sys.exit(main())
