#!/usr/bin/python3
"""Echo server for the end-to-end tests: echoes every byte back, and records the TCP options the backend's kernel
negotiated for each connection (tcpi_options from TCP_INFO, as ss -ti shows them) in a log, one line per
connection: "PEER PORT options=N snd_wscale=A rcv_wscale=B".

Usage: echo_server.py BIND_ADDRESS PORT LOGFILE   (binds IPv4 and IPv6 when given "::")
"""
import socket
import sys
import threading


def serve(conn, peer, log, lock):
    info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    options, wscales = info[5], info[6]
    with lock, open(log, "a") as f:
        f.write("%s %d options=%d snd_wscale=%d rcv_wscale=%d\n"
                % (peer[0], peer[1], options, wscales & 0x0f, wscales >> 4))
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                break
            conn.sendall(data)
    finally:
        conn.close()


def main():
    address, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind((address, port))
    server.listen(1024)
    lock = threading.Lock()
    while True:
        conn, peer = server.accept()
        threading.Thread(target=serve, args=(conn, peer, log, lock), daemon=True).start()


if __name__ == "__main__":
    main()
