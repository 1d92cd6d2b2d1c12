#!/usr/bin/python3
"""Keeps clients connecting: a new TCP connection every INTERVAL seconds, round-robin over the targets, each sending
a small payload to the echo server and checking it comes back whole. Runs until STOP_FILE exists (or --seconds
pass), then prints one line:
  connector: attempted=N ok=K failed=F
and exits 0 iff nothing failed. A connection fails when its connect fails or times out, it is reset, or the echo is
short or differs. Several connections are in flight at once (a thread each), so a slow one does not pace the rest.
Usage: connector.py --target ADDR:PORT [--target [V6]:PORT ...] --interval S --stop-file FILE [--seconds S]
"""
import argparse
import os
import socket
import sys
import threading
import time


def target(text):
    host, _, port = text.rpartition(":")
    return host.strip("[]"), int(port)


def one(addr, n, results, lock):
    payload = (b"synproxy-%08d-" % n) * 64
    ok = False
    try:
        family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(addr)
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(65536)
                if not chunk:
                    break
                got += chunk
            ok = got == payload
    except OSError as e:
        print(f"connection {n} to {addr}: {e}", file=sys.stderr)
    with lock:
        results["ok" if ok else "failed"] += 1


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", action="append", type=target, required=True)
    p.add_argument("--interval", type=float, default=0.02)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--seconds", type=float, default=600)
    a = p.parse_args()
    results, lock, threads = {"ok": 0, "failed": 0}, threading.Lock(), []
    start, n = time.time(), 0
    while not os.path.exists(a.stop_file) and time.time() - start < a.seconds:
        t = threading.Thread(target=one, args=(a.target[n % len(a.target)], n, results, lock))
        t.start()
        threads.append(t)
        n += 1
        time.sleep(a.interval)
    for t in threads:
        t.join()
    print(f"connector: attempted={n} ok={results['ok']} failed={results['failed']}")
    sys.exit(0 if results["failed"] == 0 and n > 0 else 1)


main()
