#!/usr/bin/python3
"""Client side of a transfer through the proxy: connects to ADDRESS:PORT, sends SIZE deterministic bytes while
reading the echo, and checks every byte came back. Prints "ok SIZE" or "FAIL reason"; exit status says the same.

Usage: transfer.py ADDRESS PORT SIZE [TIMEOUT_SECONDS] [--dstopts]

--dstopts: every IPv6 packet of the connection carries a destination-options extension header (one PadN option),
set as a sticky socket option (needs CAP_NET_RAW).
"""
import hashlib
import socket
import sys
import threading


def payload(size):
    out = bytearray()
    block = 0
    while len(out) < size:
        out += hashlib.sha256(block.to_bytes(8, "big")).digest()
        block += 1
    return bytes(out[:size])


# A destination-options header with one PadN option of 4 bytes: next header and length are filled by the kernel.
DSTOPTS_PADN = bytes([0, 0, 1, 4, 0, 0, 0, 0])


def main():
    flags = [a for a in sys.argv[1:] if a.startswith("--")]
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    address, port, size = args[0], int(args[1]), int(args[2])
    timeout = float(args[3]) if len(args) > 3 else 20
    data = payload(size)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    if "--dstopts" in flags:
        sock.setsockopt(socket.IPPROTO_IPV6, getattr(socket, "IPV6_DSTOPTS", 59), DSTOPTS_PADN)
    sock.settimeout(timeout)
    try:
        sock.connect((address, port))
        sender = threading.Thread(target=sock.sendall, args=(data,))
        sender.start()
        received = bytearray()
        while len(received) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        sender.join()
    except OSError as e:
        print("FAIL %s" % e)
        return 1
    finally:
        sock.close()
    if bytes(received) != data:
        print("FAIL received %d bytes, %s" % (len(received), "corrupt" if len(received) == size else "short"))
        return 1
    print("ok %d" % size)
    return 0


if __name__ == "__main__":
    sys.exit(main())
