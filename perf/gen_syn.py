#!/usr/bin/python3
"""Writes a capture of distinct TCP SYNs to the baseline's VIP, for the line-rate harness.

    gen_syn.py OUT.pcap COUNT [v6]

Each SYN comes from its own client (IPv4 192.0.2.0/24 or IPv6 2001:db8::/64, the documentation ranges) and source
port, to 198.51.100.10:80 (or 2001:db8:100::10 port 80 with v6), with Linux's SYN options in Linux's order
(MSS 1460, SACK-permitted, timestamps, NOP, window scale 7) and valid checksums. Frames go to a unicast MAC.
"""
import random
import sys

from scapy.layers.inet import IP, TCP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

VIP_V4 = "198.51.100.10"
VIP_V6 = "2001:db8:100::10"
VIP_PORT = 80
CLIENT_MAC = "02:00:00:00:00:01"
PROXY_MAC = "02:00:00:00:00:02"


def syn(index, v6, rng):
    if v6:
        ip = IPv6(src="2001:db8::%x" % (index + 1), dst=VIP_V6, hlim=64)
    else:
        ip = IP(src="192.0.2.%d" % (index % 254 + 1), dst=VIP_V4, ttl=64, flags="DF", id=rng.getrandbits(16))
    tcp = TCP(sport=1024 + index % 64000, dport=VIP_PORT, flags="S", seq=rng.getrandbits(32), window=64240,
              options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (rng.getrandbits(32), 0)), ("NOP", None),
                       ("WScale", 7)])
    # Building the frame fills in lengths and checksums.
    return Ether(src=CLIENT_MAC, dst=PROXY_MAC) / ip / tcp


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != "v6"):
        sys.stderr.write("usage: gen_syn.py OUT.pcap COUNT [v6]\n")
        return 2
    out, count, v6 = argv[1], int(argv[2]), len(argv) == 4
    rng = random.Random(1)  # the same capture every time
    wrpcap(out, [syn(i, v6, rng) for i in range(count)])
    sys.stderr.write("wrote %d %s SYNs to %s\n" % (count, "IPv6" if v6 else "IPv4", out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
