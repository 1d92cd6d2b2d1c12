#!/usr/bin/python3
"""Golden cases and fuzz seeds for the backend program, built independently of it: frames with scapy, the
authenticator with our own SipHash-2-4 (checked against the SipHash paper's vector), K_b with our own HKDF-Expand
(checked against RFC 5869). Sets up the sockets the program's lookups should find (a listener on each VIP, an
established connection, a TIME_WAIT entry), then runs the C runner over the cases and the fuzz.

Runs inside the test's network namespace (scripts/bpf-test.sh makes it, with the addresses below on lo):
    bpf_test.py run --runner RUNNER --obj OBJ --work DIR [--frames N] [--seed S]
    bpf_test.py ingress --key KEYFILE --dev t1 --backend-dev t0 [--use issue|accept] [--port P] [--sport S]
                        [--refused KEYFILE]   real handshakes through the program on t0
    bpf_test.py ingress-handover --key KEYFILE --dev t1 --backend-dev t0 --link-dev a0 --peer-netns NS
                                 --peer-mac MAC [--use issue|accept] [--port P] [--sport S]
                                 a chained packet handed over from t0's program to another backend
    bpf_test.py derive KEYFILE ADDRESS [--accept]   prints K_b (hex) for a key file's issue (accept) key and an address
KEYFILE: a key file as synproxy reads it (one bare hex line, or `issue HEX` / `accept HEX` lines); --use: the key the
proxy side signs with (backend.sh attached t0, and B, with the same file).
Prints one line per check ("  ok    NAME" / "  FAIL  NAME"); exits 1 on any failure.
"""
import argparse
import hashlib
import hmac
import ipaddress
import os
import socket
import struct
import subprocess
import sys
import time

import logging

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)  # no "No route found" chatter: nothing is sent
from scapy.all import (ARP, ICMP, IP, UDP, TCP, Ether, ICMPv6PacketTooBig, IPOption_EOL, IPOption_NOP, IPv6,
                       IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, IPv6ExtHdrHopByHop, IPv6ExtHdrRouting, Raw)
from scapy.utils import checksum

# The test topology (bpf-test.sh puts the VIPs, clients and router addresses on lo).
PORT = 6080
PROXY4, PROXY6 = "203.0.113.1", "2001:db8:113::1"
STRANGER4, STRANGER6 = "203.0.113.99", "2001:db8:113::99"
BACKEND4, BACKEND6 = "10.20.0.2", "2001:db8:200::11"
UNKEYED4 = "10.20.0.99"  # a backend address with no key of its own
VIP4, VIP6 = "198.51.100.10", "2001:db8:100::10"
OTHER4, OTHER6 = "198.51.100.77", "2001:db8:100::77"
CLIENT4, CLIENT6 = "192.0.2.1", "2001:db8:2::1"
ROUTER4, ROUTER6 = "192.0.2.254", "2001:db8:2::fe"
CLIENT4_REAL, CLIENT6_REAL, CLIENT6_MIXED = "192.0.2.77", "2001:db8:2::77", "2001:db8:2::78"  # not local: routed via t0
ROUTER4_REAL, ROUTER6_REAL = "192.0.2.253", "2001:db8:2::fd"
MAC_BACKEND, MAC_PROXY = "02:00:00:00:00:0b", "02:00:00:00:00:03"
ESTABLISHED_PORT, TIMEWAIT_PORT, NEW_PORT = 41000, 41001, 52000
PERIOD_MS, GRACE_MS, SKEW_MS = 600000, 600000, 500
RETRY_MARK = 0x53505254  # native/bpf/timewait.h SP_RETRY_MARK
# Hand-overs (native/bpf/handover.h): previous owners behind veth p0, as bpf-test.sh sets up its routes and permanent
# neighbour entries; p0 is the ingress interface of the runs (forwarding on), its MAC the source the FIB answers.
PREV_DEV = "p0"
PREV4, PREV6, PREV4_VIA_GATEWAY = "10.30.0.5", "2001:db8:300::5", "10.40.0.5"
PREV4_NO_NEIGHBOUR, PREV4_NO_ROUTE, PREV6_NO_ROUTE = "10.30.0.6", "10.99.0.5", "2001:db8:999::5"
MAC_PREV4, MAC_GATEWAY, MAC_PREV6 = "02:00:00:00:00:0c", "02:00:00:00:00:0d", "02:00:00:00:00:0e"
NEIGHBOURS = ((PREV4, MAC_PREV4), (PREV6, MAC_PREV6), (PREV4_VIA_GATEWAY, MAC_GATEWAY))
# The second backend of the real hand-over (ingress-handover), in its own namespace behind veth a0 / b0.
BACKEND_B4, BACKEND_B6 = "10.50.0.2", "2001:db8:500::2"
P0 = {"mac": None, "ifindex": 0}  # read from the namespace by run()
M32 = 0xFFFFFFFF

checks = {"passed": 0, "failed": 0}


def check(ok, name, why=""):
    checks["passed" if ok else "failed"] += 1
    print(("  ok    %s" if ok else "  FAIL  %s" + (": " + why if why else "")) % name, flush=True)


# ---- SipHash-2-4 and HKDF, written here from their specifications ----

M64 = (1 << 64) - 1


def _rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key, message):
    k0, k1 = struct.unpack("<QQ", key)
    v = [0x736F6D6570736575 ^ k0, 0x646F72616E646F6D ^ k1, 0x6C7967656E657261 ^ k0, 0x7465646279746573 ^ k1]

    def sipround():
        v[0] = (v[0] + v[1]) & M64; v[1] = _rotl(v[1], 13); v[1] ^= v[0]; v[0] = _rotl(v[0], 32)
        v[2] = (v[2] + v[3]) & M64; v[3] = _rotl(v[3], 16); v[3] ^= v[2]
        v[0] = (v[0] + v[3]) & M64; v[3] = _rotl(v[3], 21); v[3] ^= v[0]
        v[2] = (v[2] + v[1]) & M64; v[1] = _rotl(v[1], 17); v[1] ^= v[2]; v[2] = _rotl(v[2], 32)

    tail = len(message) % 8
    blocks = [struct.unpack("<Q", message[i:i + 8])[0] for i in range(0, len(message) - tail, 8)]
    blocks.append(int.from_bytes(message[len(message) - tail:], "little") | (len(message) & 0xFF) << 56)
    for m in blocks:
        v[3] ^= m
        sipround()
        sipround()
        v[0] ^= m
    v[2] ^= 0xFF
    for _ in range(4):
        sipround()
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def hkdf_expand(prk, info, length):
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def backend_key(auth_key, address):
    """K_b = HKDF-Expand-SHA256(PRK = the auth key file's bytes, info = label || backend address, L = 16)."""
    return hkdf_expand(auth_key, b"synproxy backend auth v1" + ipaddress.ip_address(address).packed, 16)


def read_key_file(path):
    """A synproxy key file, read here from its specification (not backend.sh's code): '#' to the end of a line is a
    comment, blank lines are ignored; one line of hex digits alone is the one key, else `issue HEX` (exactly one)
    and `accept HEX` (at most one) lines, `flow HEX` ignored. Returns (issue, accept or None)."""
    words = [line.split("#")[0].split() for line in open(path, encoding="ascii")]
    words = [w for w in words if w]
    if len(words) == 1 and len(words[0]) == 1:
        return bytes.fromhex(words[0][0]), None
    found = {w[0]: bytes.fromhex(w[1]) for w in words if len(w) == 2 and w[0] in ("issue", "accept")}
    return found["issue"], found.get("accept")


def self_checks():
    h = siphash24(bytes(range(16)), bytes(range(15)))
    check(h == 0xA129CA6149BE45E5, "python: SipHash-2-4 matches the paper's vector (key 00..0f, message 00..0e)",
          "got %016x" % h)
    prk = bytes.fromhex("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5")
    okm = hkdf_expand(prk, bytes(range(0xF0, 0xFA)), 42)
    want = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    check(okm.hex() == want, "python: HKDF-Expand-SHA256 matches RFC 5869 test case 1", okm.hex())


# ---- frames ----

def encap_header(inner_v6, marked=False, epoch=0, wscale=0, mss=0, version=1, first=0x03, proto=None, reserved=0):
    flags = (0x8000 if marked else 0) | (version & 7) << 12 | (epoch & 0xFF) << 4 | (wscale & 0xF)
    return bytes([first, proto if proto is not None else (41 if inner_v6 else 4)]) + struct.pack(
        ">HHH", flags, mss, reserved)


def l4_offset(inner, v6):
    if not v6:
        return (inner[0] & 0xF) * 4
    offset, nexthdr = 40, inner[6]
    while nexthdr in (0, 43, 60):
        nexthdr, offset = inner[offset], offset + (inner[offset + 1] + 1) * 8
    return offset


def authenticator(key, header8, inner, v6):
    addresses = inner[8:40] if v6 else inner[12:20]
    l4 = l4_offset(inner, v6)
    return siphash24(key, header8 + addresses + inner[l4:l4 + 12])


def outer(payload, v6, src=None, dst=None, ecn=0, dport=PORT, ip_options=None, frag=0, mf=False, ttl=64):
    if v6:
        ip = IPv6(src=src or PROXY6, dst=dst or BACKEND6, tc=ecn, hlim=ttl)
    else:
        ip = IP(src=src or PROXY4, dst=dst or BACKEND4, tos=ecn, ttl=ttl, id=7, frag=frag,
                flags="MF" if mf else 0, options=ip_options or [])
    return bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / ip / UDP(sport=40001, dport=dport, chksum=0) / Raw(payload))


class Keys:
    """K_b per backend address, derived (HKDF) on first use, as the proxies derive them: by_address from the key in
    use (a key file's issue key), accept from the other key of a rotation (its accept key), when there is one."""

    class ByAddress(dict):
        def __init__(self, auth_key):
            super().__init__()
            self.auth = auth_key

        def __missing__(self, address):
            self[address] = backend_key(self.auth, address)
            return self[address]

    def __init__(self, auth_key, accept_key=None):
        self.auth = auth_key
        self.by_address = Keys.ByAddress(auth_key)
        self.accept = Keys.ByAddress(accept_key) if accept_key else None

    @staticmethod
    def from_file(path):
        return Keys(*read_key_file(path))

    def signing(self, use):
        """The keys a proxy side signs with: "issue" or "accept"."""
        return self.by_address if use == "issue" else self.accept


def encap(keys, inner_packet, outer_v6, marked=False, epoch=0, wscale=0, mss=0, key=None, header=None,
          tamper=None, **outer_args):
    """Our header and authenticator around an inner packet, inside an outer frame to the backend."""
    inner = bytes(inner_packet)
    inner_v6 = inner[0] >> 4 == 6
    dst = outer_args.get("dst") or (BACKEND6 if outer_v6 else BACKEND4)
    h8 = header if header is not None else encap_header(inner_v6, marked, epoch, wscale, mss)
    tag = authenticator(key or keys.by_address[dst], h8, inner, inner_v6)
    payload = bytearray(h8 + struct.pack(">Q", tag) + inner)
    if tamper:
        tamper(payload)
    return outer(bytes(payload), outer_v6, **outer_args)


def decapsulated(inner_packet, ecn=None, macs=(MAC_BACKEND, MAC_PROXY)):
    """The frame the program should hand the kernel: our Ethernet addresses, the inner EtherType and packet (with
    its ECN field changed, and IPv4's checksum recomputed whole)."""
    inner = bytearray(bytes(inner_packet))
    v6 = inner[0] >> 4 == 6
    if ecn is not None:
        if v6:
            inner[1] = (inner[1] & ~0x30) | ecn << 4
        else:
            ihl = (inner[0] & 0xF) * 4
            inner[1] = (inner[1] & ~0x3) | ecn
            inner[10:12] = b"\0\0"
            inner[10:12] = struct.pack(">H", checksum(bytes(inner[:ihl])))
    return bytes(Ether(dst=macs[0], src=macs[1], type=0x86DD if v6 else 0x0800)) + bytes(inner)


# ---- the chained header (native/bpf/encap.h) and the hand-over (native/bpf/handover.h) ----

P_FLAG = 0x8000  # bytes 6-7 of the chained header: the previous owner follows


def previous_bytes(address):
    """The previous owner as the chained header carries it: IPv6, or IPv4 mapped (::ffff:a.b.c.d)."""
    a = ipaddress.ip_address(address)
    return a.packed if a.version == 6 else bytes(10) + b"\xff\xff" + a.packed


def chained_header(inner_v6, **kw):
    """Word 0 and 1 of a chained header: first byte 0x09, word 1 P alone (unless told otherwise)."""
    kw.setdefault("first", 0x09)
    kw.setdefault("reserved", P_FLAG)
    return encap_header(inner_v6, **kw)


def plain_for_previous(header8):
    """The plain header's first 8 bytes the previous owner receives: 0x03, the same Proto and flags, word 1 zero."""
    return bytes([0x03, header8[1], header8[2], header8[3], 0, 0, 0, 0])


def chained(keys, inner_packet, outer_v6, previous, key=None, previous_key=None, header=None, signed_previous=None,
            a1_over_plain_message=False, tamper=None, **outer_args):
    """A chained frame as the proxy builds it: A1 under the receiving backend's key over header bytes 0..8, the
    previous owner's 16 address bytes, the inner addresses and 12 L4 bytes; A2 under the previous owner's key over
    the plain header it will receive, the inner addresses and 12 L4 bytes; then the previous owner's address."""
    inner = bytes(inner_packet)
    inner_v6 = inner[0] >> 4 == 6
    dst = outer_args.get("dst") or (BACKEND6 if outer_v6 else BACKEND4)
    h8 = header if header is not None else chained_header(inner_v6)
    prev16 = previous_bytes(previous)
    signed = h8 if a1_over_plain_message else h8 + previous_bytes(signed_previous or previous)
    a1 = authenticator(key or keys.by_address[dst], signed, inner, inner_v6)
    a2 = authenticator(previous_key or keys.by_address[previous], plain_for_previous(h8), inner, inner_v6)
    payload = bytearray(h8 + struct.pack(">QQ", a1, a2) + prev16 + inner)
    if tamper:
        tamper(payload)
    return outer(bytes(payload), outer_v6, **outer_args)


def handed_over(keys, inner_packet, outer_v6, previous, dmac, ecn=0, ttl=63, a2=None, src_mac=None, a2_key=None):
    """What the previous owner must receive: exactly the frame the proxy would have sent it (plain header, A2 under
    its key), from the proxy's address, the TTL / hop limit one less, Ethernet addresses from the FIB lookup."""
    inner = bytes(inner_packet)
    inner_v6 = inner[0] >> 4 == 6
    h8 = encap_header(inner_v6)
    tag = a2 if a2 is not None else authenticator(a2_key or keys.by_address[previous], h8, inner, inner_v6)
    if outer_v6:
        ip = IPv6(src=PROXY6, dst=previous, tc=ecn, hlim=ttl)
    else:
        ip = IP(src=PROXY4, dst=previous, tos=ecn, ttl=ttl, id=7)
    return bytes(Ether(dst=dmac, src=src_mac or P0["mac"]) / ip / UDP(sport=40001, dport=PORT, chksum=0) /
                 Raw(h8 + struct.pack(">Q", tag) + inner))


def verify_as_previous_owner(keys, frame):
    """Parses a frame as a previous owner's program would (our own parser): returns (outer destination, what is
    wrong or "") with its authenticator checked under the key derived for that destination (either, during a
    rotation)."""
    frame = bytes(frame)
    v6 = frame[12:14] == b"\x86\xdd"
    if v6:
        dst, udp = str(ipaddress.ip_address(frame[38:54])), 54
    else:
        dst, udp = str(ipaddress.ip_address(frame[30:34])), 14 + (frame[14] & 0xF) * 4
    h = frame[udp + 8:udp + 24]
    inner = frame[udp + 24:]
    if h[0] != 0x03 or h[4:8] != bytes(4) or (h[2] >> 4) & 7 != 1:
        return dst, "not a plain version-1 header: %s" % h[:8].hex()
    tags = [authenticator(k[dst], h[:8], inner, h[1] == 41) for k in (keys.by_address, keys.accept) if k]
    if struct.unpack(">Q", h[8:16])[0] not in tags:
        return dst, "authenticator %s, the previous owner's keys give %s" % (h[8:16].hex(),
                                                                             " or ".join("%016x" % t for t in tags))
    return dst, ""


TS = [("NOP", None), ("NOP", None), ("Timestamp", (123456, 789012))]
COOKIE = 0x5A5A5A00 | 0x10 | 7  # MAC bits, SACK, the client's window scale 7


def tcp4(sport=NEW_PORT, dport=80, flags="A", tos=0, src=CLIENT4, dst=VIP4, payload=b"", ip_options=None,
         frag=0, mf=False, seq=1000, options=None):
    return IP(src=src, dst=dst, tos=tos, ttl=64, id=1, frag=frag, flags="MF" if mf else 0,
              options=ip_options or []) / TCP(sport=sport, dport=dport, seq=seq, ack=COOKIE + 1, flags=flags,
                                               window=502, options=TS if options is None else options) / Raw(payload)


def tcp6(sport=NEW_PORT, dport=80, flags="A", tc=0, src=CLIENT6, dst=VIP6, payload=b"", ext=None, seq=1000,
         options=None):
    ip = IPv6(src=src, dst=dst, tc=tc, hlim=64)
    for header in ext or []:
        ip = ip / header
    return ip / TCP(sport=sport, dport=dport, seq=seq, ack=COOKIE + 1, flags=flags, window=502,
                    options=TS if options is None else options) / Raw(payload)


def icmp4_frag_needed():
    quoted = IP(src=VIP4, dst=CLIENT4, ttl=60) / TCP(sport=80, dport=ESTABLISHED_PORT, seq=5000, flags="A")
    return IP(src=ROUTER4, dst=VIP4, ttl=64) / ICMP(type=3, code=4, nexthopmtu=1400) / Raw(bytes(quoted)[:28])


def icmp6_too_big(ext=None):
    quoted = IPv6(src=VIP6, dst=CLIENT6, hlim=60) / TCP(sport=80, dport=ESTABLISHED_PORT, seq=5000, flags="A")
    ip = IPv6(src=ROUTER6, dst=VIP6, hlim=64)
    for header in ext or []:
        ip = ip / header
    return ip / ICMPv6PacketTooBig(mtu=1280) / Raw(bytes(quoted)[:60])


# ---- the sockets the lookups find ----

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_TIMESTAMP, TCP_SEND_QUEUE, TCP_REPAIR_OFF_NO_WP = 19, 20, 21, 24, 2, -1
TIMEWAIT = {}  # family (4, 6) -> (rcv_nxt, TSval) of the server's TIME_WAIT entry for TIMEWAIT_PORT


def client_sequence(sock):
    """What the server's TIME_WAIT entry will hold once this client socket (connected, nothing sent) closes:
    rcv_nxt = the client's write_seq + 1 (its FIN), read in repair mode (CAP_NET_ADMIN), and about the TSval it
    sends now (the FIN's is a few ms later)."""
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    write_seq = sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ) & 0xFFFFFFFF
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, TCP_REPAIR_OFF_NO_WP)
    tsval = sock.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP) & 0xFFFFFFFF
    return (write_seq + 1) & 0xFFFFFFFF, tsval

def sockets():
    """A listener on each VIP's port 80, an established connection from each client's ESTABLISHED_PORT, and a
    TIME_WAIT entry on the server side for TIMEWAIT_PORT (the server closes first). Kept open while the runner runs."""
    held = []
    for family, vip, client in ((socket.AF_INET, VIP4, CLIENT4), (socket.AF_INET6, VIP6, CLIENT6)):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((vip, 80))
        listener.listen(16)
        established = socket.socket(family, socket.SOCK_STREAM)
        established.bind((client, ESTABLISHED_PORT))
        established.connect((vip, 80))
        server_side, _ = listener.accept()
        closing = socket.socket(family, socket.SOCK_STREAM)
        closing.bind((client, TIMEWAIT_PORT))
        closing.connect((vip, 80))
        TIMEWAIT[6 if family == socket.AF_INET6 else 4] = client_sequence(closing)
        closing_server, _ = listener.accept()
        closing_server.close()
        time.sleep(0.05)
        closing.close()
        held += [listener, established, server_side]
    time.sleep(0.2)
    tw = subprocess.run(["ss", "-Htan", "state", "time-wait"], capture_output=True, text=True).stdout
    ok = "%s:80" % VIP4 in tw and "[%s]:80" % VIP6 in tw
    check(ok, "setup: listeners, established connections and TIME_WAIT entries on the VIPs", tw)
    return held


# ---- the cases ----

def wait_for_epoch_room():
    """The golden epochs are computed here and checked by the program moments later: stay clear of an edge."""
    while True:
        now = int(time.time() * 1000)
        if PERIOD_MS - now % PERIOD_MS > 30000:
            return now // PERIOD_MS
        time.sleep(1)


def golden_cases(keys, epoch):
    cases = []  # ("config ..." lines or (name, ret, counter, input, output))

    def case(name, ret, counter, frame, out="-"):
        cases.append((name, ret, counter, frame, out))

    def cfg(line):
        cases.append(line)

    def marked(inner, outer_v6=False, **kw):
        return encap(keys, inner, outer_v6, marked=True, epoch=kw.pop("epoch", epoch), wscale=7,
                     mss=kw.pop("mss", 1460), **kw)

    def plain(inner, outer_v6=False, **kw):
        return encap(keys, inner, outer_v6, **kw)

    # Handshake ACKs. The kfunc creates a request socket only for an skb at tc ingress (skb_at_tc_ingress);
    # BPF_PROG_TEST_RUN's skb is not, so bpf_sk_assign_tcp_reqsk returns -EINVAL here and the program counts
    # handshake-refused (and drops) after finding the listener and decoding the cookie: everything up to the kfunc
    # call is checked here, the socket itself by the end-to-end run.
    a4, a6 = tcp4(), tcp6()
    case("marked-ack-v4-reaches-kfunc", "shot", "handshake-refused", marked(a4), decapsulated(a4))
    case("marked-ack-v6-reaches-kfunc", "shot", "handshake-refused", marked(a6, True), decapsulated(a6))
    case("marked-ack-v6-in-v4-reaches-kfunc", "shot", "handshake-refused", marked(a6, False), decapsulated(a6))
    case("marked-ack-v4-in-v6-reaches-kfunc", "shot", "handshake-refused", marked(a4, True), decapsulated(a4))
    case("marked-ack-previous-epoch-still-good", "shot", "handshake-refused", marked(a4, epoch=epoch - 1))
    inner_opts = tcp4(ip_options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()])
    case("marked-ack-inner-ipv4-options", "shot", "handshake-refused", marked(inner_opts), decapsulated(inner_opts))
    hrd = tcp6(ext=[IPv6ExtHdrHopByHop(), IPv6ExtHdrRouting(), IPv6ExtHdrDestOpt()])
    case("marked-ack-v6-after-hop-routing-dstopts", "shot", "handshake-refused", marked(hrd, True),
         decapsulated(hrd))
    case("marked-ack-no-listener", "shot", "handshake-no-listener", marked(tcp4(dport=81)))
    case("marked-ack-no-listener-v6", "shot", "handshake-no-listener", marked(tcp6(dport=81), True))
    est4, est6 = tcp4(sport=ESTABLISHED_PORT), tcp6(sport=ESTABLISHED_PORT)
    case("marked-ack-existing-connection", "ok", "handshake-existing", marked(est4), decapsulated(est4))
    case("marked-ack-existing-connection-v6", "ok", "handshake-existing", marked(est6, True), decapsulated(est6))
    # Over TIME_WAIT (native/bpf/timewait.h): the kernel's test for a SYN over TIME_WAIT decides, with the entry's
    # rcv_nxt and last TSval (known here, TIMEWAIT); when it allows, a copy goes back to ingress (under
    # BPF_PROG_TEST_RUN to the namespace's lo, where nothing takes it) and this ACK becomes a RST at rcv_nxt.
    for v6 in (False, True):
        family = "v6" if v6 else "v4"
        rcv_nxt, ts = TIMEWAIT[6 if v6 else 4]
        make = tcp6 if v6 else tcp4

        def tw(seq, tsval=None, v6=v6, make=make):
            options = [] if tsval is None else [("NOP", None), ("NOP", None), ("Timestamp", (tsval & M32, 789012))]
            return make(sport=TIMEWAIT_PORT, seq=seq & M32, options=options)

        def rst(packet, seq):
            out = packet.copy()
            out[TCP].seq, out[TCP].ack, out[TCP].flags = seq, 0, "R"
            out[TCP].options = [("NOP", None)] * 12 if packet[TCP].options else []
            del out[TCP].chksum
            return decapsulated(out)

        newer = tw(rcv_nxt + 100001, ts + 100000)
        case("marked-ack-over-timewait-%s-becomes-rst-at-rcv-nxt" % family, "ok", "handshake-over-timewait",
             marked(newer, v6), rst(newer, rcv_nxt))
        case("marked-ack-over-timewait-%s-isn-just-after-no-timestamps" % family, "ok", "handshake-over-timewait",
             marked(tw(rcv_nxt + 2), v6), rst(tw(rcv_nxt + 2), rcv_nxt))
        case("marked-ack-over-timewait-%s-isn-equal-refused" % family, "shot", "timewait-refused",
             marked(tw(rcv_nxt + 1), v6))
        case("marked-ack-over-timewait-%s-isn-before-refused" % family, "shot", "timewait-refused",
             marked(tw(rcv_nxt - 1000), v6))
        case("marked-ack-over-timewait-%s-isn-before-but-newer-tsval" % family, "ok", "handshake-over-timewait",
             marked(tw(rcv_nxt - 1000, ts + 100000), v6))
        case("marked-ack-over-timewait-%s-older-tsval-refused-paws" % family, "shot", "timewait-refused",
             marked(tw(rcv_nxt + 100001, ts - 100000), v6))
        cfg("config mark %d" % RETRY_MARK)
        case("marked-ack-over-timewait-%s-our-retry-meets-it-again-dropped" % family, "shot", "timewait-refused",
             marked(newer, v6))
        cfg("config mark 0")
    case("marked-ack-over-timewait-v6-in-v4", "ok", "handshake-over-timewait",
         marked(tcp6(sport=TIMEWAIT_PORT, seq=(TIMEWAIT[6][0] + 5) & M32, options=[]), False))
    case("marked-syn-is-not-a-handshake", "shot", "no-socket", marked(tcp4(flags="S")))
    case("marked-ack-rst-is-not-a-handshake", "shot", "no-socket", marked(tcp4(flags="AR")))

    # Unmarked traffic.
    d4, d6 = tcp4(sport=ESTABLISHED_PORT, flags="PA", payload=b"GET / HTTP/1.1\r\n\r\n"), \
        tcp6(sport=ESTABLISHED_PORT, flags="PA", payload=b"GET / HTTP/1.1\r\n\r\n")
    case("data-v4-established", "ok", "forwarded", plain(d4), decapsulated(d4))
    case("data-v6-established", "ok", "forwarded", plain(d6, True), decapsulated(d6))
    case("data-v6-in-v4-established", "ok", "forwarded", plain(d6, False), decapsulated(d6))
    case("data-v4-in-v6-established", "ok", "forwarded", plain(d4, True), decapsulated(d4))
    case("data-v4-to-timewait-passes", "ok", "forwarded", plain(tcp4(sport=TIMEWAIT_PORT)))
    case("ack-v4-no-socket", "shot", "no-socket", plain(tcp4()))
    case("ack-v6-no-socket", "shot", "no-socket", plain(tcp6(), True))
    case("unmarked-epoch-bits-ignored", "ok", "forwarded",
         plain(d4, header=encap_header(False, epoch=epoch + 77, wscale=3)), decapsulated(d4))

    # The authenticator.
    def flip(offset, mask=1):
        def change(payload):
            payload[offset] ^= mask
        return change

    case("bad-auth-v4", "shot", "bad-auth", marked(a4, tamper=flip(15)))
    case("bad-auth-v6", "shot", "bad-auth", marked(a6, True, tamper=flip(8, 0x80)))
    case("bad-auth-shared-key-instead-of-backend-key", "shot", "bad-auth", marked(a4, key=keys.auth[:16]))
    case("bad-auth-another-backends-key", "shot", "bad-auth", marked(a4, key=keys.by_address[BACKEND6]))
    case("bad-auth-covers-mss", "shot", "bad-auth", marked(a4, tamper=flip(5)))
    case("bad-auth-covers-reserved", "shot", "bad-auth", marked(a4, tamper=flip(7)))
    case("bad-auth-covers-epoch", "shot", "bad-auth", marked(a4, tamper=flip(3, 0x10)))
    case("bad-auth-covers-wscale", "shot", "bad-auth", marked(a4, tamper=flip(3, 0x01)))
    case("bad-auth-covers-mark", "shot", "bad-auth", plain(d4, tamper=flip(2, 0x80)))
    case("bad-auth-covers-tcp-ack", "shot", "bad-auth", marked(a4, tamper=flip(16 + 20 + 11)))
    case("bad-auth-covers-inner-source", "shot", "bad-auth", marked(a4, tamper=flip(16 + 12)))
    case("bad-auth-covers-icmp-quote", "shot", "bad-auth", plain(icmp4_frag_needed(), tamper=flip(16 + 20 + 11)))

    # Versions.
    for version in (0, 2, 7):
        case("bad-version-%d" % version, "shot", "bad-version",
             plain(d4, header=encap_header(False, version=version)))
    old = outer(bytes([0x02, 4, 0, 0]) + bytes(8) + bytes(d4), False)
    case("bad-version-old-12-byte-header", "shot", "bad-version", old)

    # Proxies, keys, epochs.
    case("unknown-proxy-v4", "shot", "unknown-proxy", marked(a4, src=STRANGER4))
    case("unknown-proxy-v6", "shot", "unknown-proxy", marked(a6, True, src=STRANGER6))
    case("no-key-for-outer-address", "shot", "no-key", marked(a4, dst=UNKEYED4))
    case("stale-epoch-3-old", "shot", "stale-epoch", marked(a4, epoch=epoch - 3))
    case("stale-epoch-2-ahead", "shot", "stale-epoch", marked(a4, epoch=epoch + 2))
    case("stale-epoch-v6", "shot", "stale-epoch", marked(a6, True, epoch=epoch + 128))

    # ECN across the tunnel (RFC 6040): on the established flow, so the frame passes and its bytes matter.
    def ecn4(inner_ecn):
        return tcp4(sport=ESTABLISHED_PORT, tos=0x20 | inner_ecn)

    def ecn6(inner_ecn):
        return tcp6(sport=ESTABLISHED_PORT, tc=0x20 | inner_ecn)

    case("ce-over-ect0-v4-becomes-ce", "ok", "forwarded", plain(ecn4(2), ecn=3), decapsulated(ecn4(2), ecn=3))
    case("ce-over-ect1-v4-becomes-ce", "ok", "forwarded", plain(ecn4(1), ecn=3), decapsulated(ecn4(1), ecn=3))
    case("ce-over-ect1-v6-becomes-ce", "ok", "forwarded", plain(ecn6(1), True, ecn=3),
         decapsulated(ecn6(1), ecn=3))
    case("ce-over-ect0-v4-in-v6-becomes-ce", "ok", "forwarded", plain(ecn4(2), True, ecn=3),
         decapsulated(ecn4(2), ecn=3))
    case("ce-over-ce-stays", "ok", "forwarded", plain(ecn4(3), ecn=3), decapsulated(ecn4(3)))
    case("ect1-over-ect0-becomes-ect1", "ok", "forwarded", plain(ecn4(2), ecn=1), decapsulated(ecn4(2), ecn=1))
    case("not-ect-outer-leaves-ect0", "ok", "forwarded", plain(ecn4(2), ecn=0), decapsulated(ecn4(2)))
    case("ce-over-not-ect-v4-dropped", "shot", "ce-not-ect", plain(ecn4(0), ecn=3))
    case("ce-over-not-ect-v6-dropped", "shot", "ce-not-ect", plain(ecn6(0), True, ecn=3))
    case("ce-over-not-ect-marked-dropped", "shot", "ce-not-ect", marked(tcp4(tos=0), ecn=3))

    # ICMP for path MTU discovery.
    i4, i6 = icmp4_frag_needed(), icmp6_too_big()
    case("icmp-frag-needed-v4-passed", "ok", "icmp-passed", plain(i4), decapsulated(i4))
    case("icmpv6-too-big-passed", "ok", "icmp-passed", plain(i6, True), decapsulated(i6))
    case("icmpv6-too-big-in-v4-passed", "ok", "icmp-passed", plain(i6, False), decapsulated(i6))
    i6d = icmp6_too_big(ext=[IPv6ExtHdrDestOpt()])
    case("icmpv6-after-dstopts-passed", "ok", "icmp-passed", plain(i6d, True), decapsulated(i6d))
    case("icmp-marked-is-malformed", "shot", "malformed",
         plain(i4, header=encap_header(False, marked=True, epoch=epoch)))
    short_icmp = IP(src=ROUTER4, dst=VIP4) / ICMP(type=3, code=4)  # 8 bytes: less than the 12 covered
    case("icmp-shorter-than-12-bytes-malformed", "shot", "malformed",
         outer(encap_header(False) + bytes(8) + bytes(short_icmp), False))

    # IPv6 extension headers in front of the inner L4 header.
    dst = tcp6(sport=ESTABLISHED_PORT, ext=[IPv6ExtHdrDestOpt()], flags="PA", payload=b"x")
    case("dstopts-before-tcp-forwarded", "ok", "forwarded", plain(dst, True), decapsulated(dst))
    four = tcp6(ext=[IPv6ExtHdrHopByHop(), IPv6ExtHdrDestOpt(), IPv6ExtHdrRouting(), IPv6ExtHdrDestOpt()])
    case("four-extension-headers-accepted", "shot", "handshake-refused", marked(four, True))
    five = bytes(tcp6(ext=[IPv6ExtHdrHopByHop()] + [IPv6ExtHdrDestOpt()] * 4))
    case("five-extension-headers-malformed", "shot", "malformed",
         outer(encap_header(True) + bytes(8) + five, True))
    frag = bytes(tcp6(ext=[IPv6ExtHdrFragment(m=1, id=5)]))
    case("inner-fragment-header-malformed", "shot", "malformed", outer(encap_header(True) + bytes(8) + frag, True))
    cut = bytes(tcp6(ext=[IPv6ExtHdrDestOpt()]))[:40] + bytes([6, 200])  # claims 1608 bytes, has 2
    case("extension-header-cut-off-malformed", "shot", "malformed", outer(encap_header(True) + bytes(8) + cut, True))

    # Malformed encapsulation.
    good = bytes(plain(d4))
    udp_payload = 14 + 20 + 8
    case("truncated-our-header", "shot", "malformed", good[:udp_payload + 10])
    case("first-byte-wrong", "shot", "malformed", outer(bytes([0x13]) + good[udp_payload + 1:], False))
    case("inner-protocol-5", "shot", "malformed", plain(d4, header=encap_header(False, proto=5)))
    case("inner-version-mismatch", "shot", "malformed", plain(d6, header=encap_header(False, proto=4)))
    case("inner-ipv4-fragment", "shot", "malformed", plain(tcp4(sport=ESTABLISHED_PORT, mf=True)))
    case("inner-ipv4-later-fragment", "shot", "malformed", plain(tcp4(sport=ESTABLISHED_PORT, frag=3)))
    case("inner-udp", "shot", "malformed", plain(IP(src=CLIENT4, dst=VIP4) / UDP(sport=53, dport=53) / Raw(b"x" * 8)))
    case("inner-tcp-truncated", "shot", "malformed",
         outer(encap_header(False) + bytes(8) + bytes(tcp4())[:20 + 12], False))
    bad_doff = bytearray(bytes(d4))
    bad_doff[20 + 12] = 0x40
    case("inner-tcp-data-offset-4", "shot", "malformed", plain(bytes(bad_doff)))

    # The outer header: what the proxy never sends.
    case("outer-ipv4-options", "shot", "outer-options",
         plain(d4, ip_options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(), IPOption_EOL()]))
    case("outer-ipv4-first-fragment", "shot", "outer-fragment", plain(d4, mf=True))
    case("outer-ipv4-later-fragment-not-ours", "ok", "not-ours", plain(d4, frag=100), "=")
    frag_outer = bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / IPv6(src=PROXY6, dst=BACKEND6) /
                       IPv6ExtHdrFragment(m=1, id=9) / UDP(sport=40001, dport=PORT, chksum=0) / Raw(b"\0" * 40))
    case("outer-ipv6-first-fragment", "shot", "outer-fragment", frag_outer)
    case("outer-ipv4-options-other-port-not-ours", "ok", "not-ours",
         outer(b"hello", False, dport=53, ip_options=[IPOption_NOP(), IPOption_NOP(), IPOption_NOP(),
                                                        IPOption_EOL()]), "=")

    # Not ours.
    case("arp-not-ours", "ok", "not-ours", bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_PROXY) /
                                                  ARP(psrc=PROXY4, pdst=BACKEND4)), "=")
    case("udp-dns-not-ours", "ok", "not-ours", outer(b"\0" * 12, False, dport=53), "=")
    case("udp-v6-other-port-not-ours", "ok", "not-ours", outer(b"\0" * 12, True, dport=6081), "=")
    plain4 = bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp4())
    plain6 = bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp6())
    case("tcp-to-vip-v4-not-strict-passes", "ok", "not-ours", plain4, "=")
    case("tcp-to-vip-v6-not-strict-passes", "ok", "not-ours", plain6, "=")
    # BPF_PROG_TEST_RUN refuses frames shorter than Ethernet and the fixed IP header: cut inside UDP's.
    case("truncated-in-udp-header-v4-not-ours", "ok", "not-ours", plain(d4)[:14 + 20 + 6], "=")
    case("truncated-in-udp-header-v6-not-ours", "ok", "not-ours", plain(d6, True)[:14 + 40 + 6], "=")

    # --strict: TCP to a VIP must come through a proxy.
    cfg("config strict 1")
    case("strict-tcp-to-vip-v4-dropped", "shot", "not-encapsulated", plain4)
    case("strict-tcp-to-vip-v6-dropped", "shot", "not-encapsulated", plain6)
    case("strict-tcp-to-vip-v6-behind-dstopts-dropped", "shot", "not-encapsulated",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp6(ext=[IPv6ExtHdrDestOpt()])))
    case("strict-tcp-to-vip-v6-fragment-dropped", "shot", "not-encapsulated",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp6(ext=[IPv6ExtHdrFragment(m=1, id=3)])))
    case("strict-ipv4-later-fragment-to-vip-dropped", "shot", "not-encapsulated",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp4(frag=10)))
    long_chain = IPv6(src=CLIENT6, dst=VIP6) / IPv6ExtHdrHopByHop()
    for _ in range(5):
        long_chain = long_chain / IPv6ExtHdrDestOpt()
    long_chain = long_chain / UDP(sport=1, dport=2)
    case("strict-vip-v6-chain-too-long-dropped", "shot", "not-encapsulated",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / long_chain))
    case("strict-tcp-to-other-address-passes", "ok", "not-ours",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp4(dst=OTHER4)), "=")
    case("strict-tcp-to-other-address-v6-passes", "ok", "not-ours",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp6(dst=OTHER6)), "=")
    case("strict-icmp-to-vip-passes", "ok", "not-ours",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / IP(src=CLIENT4, dst=VIP4) / ICMP()), "=")
    case("strict-udp-to-vip-passes", "ok", "not-ours",
         bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / IP(src=CLIENT4, dst=VIP4) / UDP(dport=53)), "=")
    case("strict-encapsulated-still-forwarded", "ok", "forwarded", plain(d4), decapsulated(d4))
    cfg("config strict 0")

    # The chained header (Beamer's daisy chaining, depth 1): a flow no socket here owns goes to the previous owner
    # named in the header, rewritten to the plain header it accepts (A2), out of p0 to the neighbour the FIB gives.
    n4 = tcp4(sport=NEW_PORT + 10, flags="PA", payload=b"after the change")
    n6 = tcp6(sport=NEW_PORT + 10, flags="PA", payload=b"after the change")
    handovers = [  # name, inner, outer v6, previous owner, its next hop's MAC
        ("chained-v4-no-socket-handed-over", n4, False, PREV4, MAC_PREV4),
        ("chained-v6-no-socket-handed-over", n6, True, PREV6, MAC_PREV6),
        ("chained-v6-in-v4-handed-over", n6, False, PREV4, MAC_PREV4),
        ("chained-v4-in-v6-handed-over", n4, True, PREV6, MAC_PREV6),
        ("chained-handed-over-via-a-gateway", n4, False, PREV4_VIA_GATEWAY, MAC_GATEWAY),
        ("chained-v6-inner-extension-headers-handed-over", tcp6(sport=NEW_PORT + 10, ext=[IPv6ExtHdrDestOpt()]),
         True, PREV6, MAC_PREV6),
    ]
    for name, inner, outer_v6, previous, mac in handovers:
        case(name, "redirect", "handed-over", chained(keys, inner, outer_v6, previous),
             handed_over(keys, inner, outer_v6, previous, mac))
    case("chained-ttl-2-handed-over-with-1", "redirect", "handed-over", chained(keys, n4, False, PREV4, ttl=2),
         handed_over(keys, n4, False, PREV4, MAC_PREV4, ttl=1))
    # RFC 6040 is the decapsulator's: the inner packet leaves untouched, the outer CE with it.
    e4, e6 = tcp4(sport=NEW_PORT + 10, tos=0x20 | 2), tcp6(sport=NEW_PORT + 10, tc=0x20 | 1)
    case("chained-handed-over-inner-ecn-untouched-outer-ce-kept", "redirect", "handed-over",
         chained(keys, e4, False, PREV4, ecn=3), handed_over(keys, e4, False, PREV4, MAC_PREV4, ecn=3))
    case("chained-v6-handed-over-inner-ecn-untouched-outer-ce-kept", "redirect", "handed-over",
         chained(keys, e6, True, PREV6, ecn=3), handed_over(keys, e6, True, PREV6, MAC_PREV6, ecn=3))
    case("chained-ce-over-not-ect-dropped", "shot", "ce-not-ect",
         chained(keys, tcp4(sport=NEW_PORT + 10), False, PREV4, ecn=3))
    # A2 is the previous owner's to check (we have not its key): a wrong one goes on, and is refused there (below).
    bad_a2 = 0x0123456789ABCDEF

    def set_a2(payload):
        payload[16:24] = struct.pack(">Q", bad_a2)
    case("chained-a2-not-checked-here-handed-over", "redirect", "handed-over",
         chained(keys, n4, False, PREV4, tamper=set_a2), handed_over(keys, n4, False, PREV4, MAC_PREV4, a2=bad_a2))

    # A socket owns the flow: taken here, the whole 40-byte header stripped, RFC 6040 applied here.
    case("chained-v4-established-forwarded", "ok", "forwarded", chained(keys, d4, False, PREV4), decapsulated(d4))
    case("chained-v6-established-forwarded", "ok", "forwarded", chained(keys, d6, True, PREV6), decapsulated(d6))
    case("chained-v6-in-v4-established-forwarded", "ok", "forwarded", chained(keys, d6, False, PREV4),
         decapsulated(d6))
    case("chained-established-ce-over-ect0-becomes-ce", "ok", "forwarded", chained(keys, ecn4(2), False, PREV4, ecn=3),
         decapsulated(ecn4(2), ecn=3))
    case("chained-timewait-socket-owns-it-forwarded", "ok", "forwarded",
         chained(keys, tcp4(sport=TIMEWAIT_PORT), False, PREV4))
    case("chained-established-previous-owner-ourselves-still-forwarded", "ok", "forwarded",
         chained(keys, d4, False, BACKEND4), decapsulated(d4))
    case("chained-icmp-decapsulated-and-passed", "ok", "icmp-passed", chained(keys, i4, False, PREV4),
         decapsulated(i4))
    case("chained-icmpv6-decapsulated-and-passed", "ok", "icmp-passed", chained(keys, i6, True, PREV6),
         decapsulated(i6))

    # A1: this backend's key over the header, the previous owner's address, the flow.
    def set_previous(address):
        def change(payload):
            payload[24:40] = previous_bytes(address)
        return change
    case("chained-bad-auth-previous-owner-changed-after-signing", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, tamper=set_previous(PREV4_VIA_GATEWAY)))
    case("chained-bad-auth-previous-owner-changed-v6", "shot", "bad-auth",
         chained(keys, n6, True, PREV6, tamper=flip(24 + 15)))
    case("chained-bad-auth-a1-without-previous-owner-in-its-message", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, a1_over_plain_message=True))
    case("chained-bad-auth-a1-under-the-previous-owners-key", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, key=keys.by_address[PREV4]))
    case("chained-bad-auth-covers-inner-ack", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, tamper=flip(40 + 20 + 11)))
    case("chained-bad-auth-a1-swapped-with-a2", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, tamper=lambda p: p.__setitem__(slice(8, 24), p[16:24] + p[8:16])))

    # Malformed: P exactly with first byte 0x09, never with H, word 1 nothing but P; a cut header.
    def header(**kw):
        return chained_header(False, **kw)
    case("chained-marked-malformed", "shot", "malformed",
         chained(keys, a4, False, PREV4, header=header(marked=True, epoch=epoch)))
    case("chained-first-byte-without-p-malformed", "shot", "malformed",
         chained(keys, n4, False, PREV4, header=header(reserved=0)))
    case("plain-header-with-p-malformed", "shot", "malformed",
         plain(d4, header=encap_header(False, reserved=P_FLAG)))
    case("chained-mss-malformed", "shot", "malformed", chained(keys, n4, False, PREV4, header=header(mss=1460)))
    case("chained-other-reserved-bit-malformed", "shot", "malformed",
         chained(keys, n4, False, PREV4, header=header(reserved=P_FLAG | 1)))
    case("chained-cut-in-previous-owner-malformed", "shot", "malformed",
         chained(keys, n4, False, PREV4)[:14 + 20 + 8 + 30])
    case("chained-version-2-bad-version", "shot", "bad-version",
         chained(keys, n4, False, PREV4, header=header(version=2)))
    case("chained-unknown-proxy", "shot", "unknown-proxy", chained(keys, n4, False, PREV4, src=STRANGER4))

    # Refused: the previous owner is ourselves or of the other family, the TTL would reach 0, lengths disagree.
    case("chained-previous-owner-ourselves-refused", "shot", "handover-refused", chained(keys, n4, False, BACKEND4))
    case("chained-previous-owner-ourselves-v6-refused", "shot", "handover-refused", chained(keys, n6, True, BACKEND6))
    case("chained-previous-owner-ipv6-under-outer-ipv4-refused", "shot", "handover-refused",
         chained(keys, n4, False, PREV6))
    case("chained-previous-owner-ipv4-under-outer-ipv6-refused", "shot", "handover-refused",
         chained(keys, n6, True, PREV4))
    case("chained-ttl-1-refused", "shot", "handover-refused", chained(keys, n4, False, PREV4, ttl=1))
    case("chained-hop-limit-1-refused", "shot", "handover-refused", chained(keys, n6, True, PREV6, ttl=1))
    case("chained-trailing-bytes-lengths-disagree-refused", "shot", "handover-refused",
         chained(keys, n4, False, PREV4) + bytes(8))

    # Failed: no way to the previous owner from the FIB.
    case("chained-no-neighbour-entry-failed", "shot", "handover-failed", chained(keys, n4, False, PREV4_NO_NEIGHBOUR))
    case("chained-no-route-failed", "shot", "handover-failed", chained(keys, n4, False, PREV4_NO_ROUTE))
    case("chained-no-route-v6-failed", "shot", "handover-failed", chained(keys, n6, True, PREV6_NO_ROUTE))
    big = tcp4(sport=NEW_PORT + 10, flags="PA", payload=bytes(1460 - 12))  # 1500 inner: 1520 + 20 outer after
    case("chained-longer-than-the-routes-mtu-failed", "shot", "handover-failed", chained(keys, big, False, PREV4))
    cfg("config ifindex 1")  # lo: forwarding off (bpf-test.sh turns it on for p0 only)
    case("chained-forwarding-off-on-ingress-interface-failed", "shot", "handover-failed",
         chained(keys, n4, False, PREV4))
    cfg("config ifindex %d" % P0["ifindex"])

    # The previous owner's side: the program, holding that owner's key, takes the handed-over frames as they leave
    # (built independently above, and compared byte for byte with the program's output).
    cfg("config key %s %s" % (PREV4, keys.by_address[PREV4].hex()))
    cfg("config key %s %s" % (PREV6, keys.by_address[PREV6].hex()))
    case("previous-owner-authenticates-the-handed-over-frame-v4", "shot", "no-socket",
         handed_over(keys, n4, False, PREV4, MAC_PREV4))
    case("previous-owner-authenticates-the-handed-over-frame-v6", "shot", "no-socket",
         handed_over(keys, n6, True, PREV6, MAC_PREV6))
    case("previous-owner-forwards-a-handed-over-frame-to-its-socket", "ok", "forwarded",
         handed_over(keys, d4, False, PREV4, MAC_PREV4), decapsulated(d4, macs=(MAC_PREV4, P0["mac"])))
    case("previous-owner-refuses-a-handed-over-frame-with-a-wrong-a2", "shot", "bad-auth",
         handed_over(keys, n4, False, PREV4, MAC_PREV4, a2=bad_a2))
    case("previous-owner-does-not-hand-over-again-depth-1", "shot", "no-socket",
         handed_over(keys, n6, False, PREV4, MAC_PREV4))

    # A rotation of the authentication key (config.h, struct sp_keys): an address holds the key in use (issue) and
    # the other (accept); either authenticates, a third is refused as any wrong key is (bad-auth).
    issue, accept, third = keys.by_address, keys.accept, Keys.ByAddress(os.urandom(32))

    def pair(address, first, second, flags=None):
        cfg("config key %s %s %s%s" % (address, first[address].hex(), second[address].hex(),
                                      "" if flags is None else " %d" % flags))

    for address in (BACKEND4, BACKEND6):
        pair(address, issue, accept)
    for label, outer_v6, d, a in (("v4", False, d4, a4), ("v6", True, d6, a6), ("v6-in-v4", False, d6, a6)):
        address = BACKEND6 if outer_v6 else BACKEND4
        case("rotation-%s-data-under-the-issue-key-forwarded" % label, "ok", "forwarded", plain(d, outer_v6),
             decapsulated(d))
        case("rotation-%s-data-under-the-accept-key-forwarded" % label, "ok", "forwarded",
             plain(d, outer_v6, key=accept[address]), decapsulated(d))
        case("rotation-%s-marked-ack-under-the-accept-key-reaches-kfunc" % label, "shot", "handshake-refused",
             marked(a, outer_v6, key=accept[address]), decapsulated(a))
        case("rotation-%s-data-under-a-third-key-bad-auth" % label, "shot", "bad-auth",
             plain(d, outer_v6, key=third[address]))
        case("rotation-%s-marked-ack-under-a-third-key-bad-auth" % label, "shot", "bad-auth",
             marked(a, outer_v6, key=third[address]))
    case("rotation-accept-key-of-another-address-bad-auth", "shot", "bad-auth", plain(d4, key=accept[BACKEND6]))
    case("rotation-accept-key-tampered-bad-auth", "shot", "bad-auth", plain(d4, key=accept[BACKEND4],
                                                                           tamper=flip(16 + 20 + 4)))
    case("rotation-the-next-shared-key-itself-bad-auth", "shot", "bad-auth", plain(d4, key=accept.auth[:16]))
    pair(BACKEND4, accept, issue)  # the other way round: the accept key first
    case("rotation-keys-either-order-first-forwarded", "ok", "forwarded", plain(d4, key=accept[BACKEND4]),
         decapsulated(d4))
    case("rotation-keys-either-order-second-forwarded", "ok", "forwarded", plain(d4), decapsulated(d4))
    case("rotation-keys-either-order-third-bad-auth", "shot", "bad-auth", plain(d4, key=third[BACKEND4]))
    pair(BACKEND4, issue, accept, flags=0)  # the second key's bytes there, its flag not: not a key
    case("rotation-second-key-without-its-flag-bad-auth", "shot", "bad-auth", plain(d4, key=accept[BACKEND4]))
    case("rotation-second-key-without-its-flag-first-still-forwarded", "ok", "forwarded", plain(d4),
         decapsulated(d4))
    pair(BACKEND4, issue, accept)
    # Chained: A1 under either of our keys; A2, made under either of the previous owner's, goes on as it is.
    case("rotation-chained-a1-under-the-accept-key-handed-over", "redirect", "handed-over",
         chained(keys, n4, False, PREV4, key=accept[BACKEND4]), handed_over(keys, n4, False, PREV4, MAC_PREV4))
    case("rotation-chained-v6-a1-under-the-accept-key-handed-over", "redirect", "handed-over",
         chained(keys, n6, True, PREV6, key=accept[BACKEND6]), handed_over(keys, n6, True, PREV6, MAC_PREV6))
    case("rotation-chained-a2-under-the-previous-owners-accept-key-handed-over", "redirect", "handed-over",
         chained(keys, n4, False, PREV4, previous_key=accept[PREV4]),
         handed_over(keys, n4, False, PREV4, MAC_PREV4, a2_key=accept[PREV4]))
    case("rotation-chained-established-a1-under-the-accept-key-forwarded", "ok", "forwarded",
         chained(keys, d4, False, PREV4, key=accept[BACKEND4]), decapsulated(d4))
    case("rotation-chained-a1-under-a-third-key-bad-auth", "shot", "bad-auth",
         chained(keys, n4, False, PREV4, key=third[BACKEND4]))
    case("rotation-chained-v6-a1-under-a-third-key-bad-auth", "shot", "bad-auth",
         chained(keys, n6, True, PREV6, key=third[BACKEND6]))
    # The previous owner's side: A2 (its A1 now) under either of its keys; under a third, refused.
    pair(PREV4, issue, accept)
    pair(PREV6, issue, accept)
    case("rotation-previous-owner-takes-a2-under-its-issue-key", "ok", "forwarded",
         handed_over(keys, d4, False, PREV4, MAC_PREV4), decapsulated(d4, macs=(MAC_PREV4, P0["mac"])))
    case("rotation-previous-owner-takes-a2-under-its-accept-key", "ok", "forwarded",
         handed_over(keys, d4, False, PREV4, MAC_PREV4, a2_key=accept[PREV4]),
         decapsulated(d4, macs=(MAC_PREV4, P0["mac"])))
    case("rotation-previous-owner-takes-a2-under-its-accept-key-v6", "shot", "no-socket",
         handed_over(keys, n6, True, PREV6, MAC_PREV6, a2_key=accept[PREV6]))
    case("rotation-previous-owner-refuses-a2-under-a-third-key", "shot", "bad-auth",
         handed_over(keys, d4, False, PREV4, MAC_PREV4, a2_key=third[PREV4]))
    case("rotation-previous-owner-refuses-a2-under-a-third-key-v6", "shot", "bad-auth",
         handed_over(keys, n6, True, PREV6, MAC_PREV6, a2_key=third[PREV6]))
    for address in (BACKEND4, BACKEND6, PREV4, PREV6):  # back to one key each
        cfg("config key %s %s" % (address, issue[address].hex()))
    case("rotation-over-accept-key-bad-auth-again", "shot", "bad-auth", plain(d4, key=accept[BACKEND4]))
    case("rotation-over-previous-owner-refuses-its-old-accept-key", "shot", "bad-auth",
         handed_over(keys, d4, False, PREV4, MAC_PREV4, a2_key=accept[PREV4]))

    # --backend-key: one key for any outer address without its own.
    cfg("config default-key %s" % keys.by_address[UNKEYED4].hex())
    case("default-key-authenticates-unlisted-address", "ok", "forwarded", plain(d4, dst=UNKEYED4),
         decapsulated(d4))
    case("default-key-does-not-replace-own-key", "shot", "bad-auth",
         plain(d4, key=keys.by_address[UNKEYED4]))
    case("default-key-single-accept-key-bad-auth", "shot", "bad-auth",
         plain(d4, dst=UNKEYED4, key=accept[UNKEYED4]))
    # --backend-key during a rotation: its issue and accept keys.
    cfg("config default-key %s %s" % (issue[UNKEYED4].hex(), accept[UNKEYED4].hex()))
    case("rotation-default-keys-issue-key-forwarded", "ok", "forwarded", plain(d4, dst=UNKEYED4), decapsulated(d4))
    case("rotation-default-keys-accept-key-forwarded", "ok", "forwarded", plain(d4, dst=UNKEYED4,
                                                                               key=accept[UNKEYED4]),
         decapsulated(d4))
    case("rotation-default-keys-accept-key-marked-ack-reaches-kfunc", "shot", "handshake-refused",
         marked(a4, dst=UNKEYED4, key=accept[UNKEYED4]), decapsulated(a4))
    case("rotation-default-keys-accept-key-v6-forwarded", "ok", "forwarded",
         plain(d6, True, dst="2001:db8:200::99", key=accept[UNKEYED4]), decapsulated(d6))
    case("rotation-default-keys-third-key-bad-auth", "shot", "bad-auth", plain(d4, dst=UNKEYED4,
                                                                              key=third[UNKEYED4]))
    case("rotation-default-keys-do-not-replace-own-keys", "shot", "bad-auth", plain(d4, key=accept[UNKEYED4]))
    case("rotation-default-keys-chained-a1-under-the-accept-key-handed-over", "redirect", "handed-over",
         chained(keys, n4, False, PREV4, dst=UNKEYED4, key=accept[UNKEYED4]),
         handed_over(keys, n4, False, PREV4, MAC_PREV4))
    cfg("config default-key %s %s 0" % (issue[UNKEYED4].hex(), accept[UNKEYED4].hex()))
    case("rotation-default-keys-second-without-its-flag-bad-auth", "shot", "bad-auth",
         plain(d4, dst=UNKEYED4, key=accept[UNKEYED4]))

    # Not configured yet: everything passes untouched.
    cfg("config enabled 0")
    case("unconfigured-passes-untouched", "ok", "not-ours", marked(a4), "=")
    return cases


def fuzz_seeds(keys, epoch):
    """Well-formed frames of every kind, the starting points of the runner's mutations."""
    d4 = tcp4(sport=ESTABLISHED_PORT, flags="PA", payload=b"data")
    d6 = tcp6(sport=ESTABLISHED_PORT, flags="PA", payload=b"data")
    c4 = tcp4(sport=NEW_PORT + 20, flags="PA", payload=b"x")
    c6 = tcp6(sport=NEW_PORT + 20, flags="PA", payload=b"x")
    seeds = {
        "chained-v4": chained(keys, c4, False, PREV4),
        "chained-v6": chained(keys, c6, True, PREV6),
        "chained-v6-in-v4-gateway": chained(keys, c6, False, PREV4_VIA_GATEWAY),
        "chained-v4-in-v6": chained(keys, c4, True, PREV6),
        "chained-established": chained(keys, d4, False, PREV4),
        "chained-established-v6": chained(keys, d6, True, PREV6),
        "chained-ourselves": chained(keys, c4, False, BACKEND4),
        "chained-no-route-v6": chained(keys, c6, True, PREV6_NO_ROUTE),
        "chained-icmp-v6": chained(keys, icmp6_too_big(), True, PREV6),
        "marked-v4": encap(keys, tcp4(), False, marked=True, epoch=epoch, wscale=7, mss=1460),
        "marked-v6": encap(keys, tcp6(), True, marked=True, epoch=epoch, wscale=7, mss=1440),
        "marked-v6-in-v4": encap(keys, tcp6(), False, marked=True, epoch=epoch, wscale=7, mss=1440),
        "marked-v4-in-v6": encap(keys, tcp4(), True, marked=True, epoch=epoch, wscale=7, mss=1460),
        "marked-existing": encap(keys, tcp4(sport=ESTABLISHED_PORT), False, marked=True, epoch=epoch),
        "marked-timewait-reopens": encap(keys, tcp6(sport=TIMEWAIT_PORT, seq=(TIMEWAIT[6][0] + 100001) & M32,
                                                    options=[("Timestamp", ((TIMEWAIT[6][1] + 100000) & M32, 1))]),
                                         True, marked=True, epoch=epoch),
        "marked-timewait-refused": encap(keys, tcp4(sport=TIMEWAIT_PORT, seq=(TIMEWAIT[4][0] - 5) & M32,
                                                    options=[("Timestamp", ((TIMEWAIT[4][1] - 100000) & M32, 1))]),
                                         False, marked=True, epoch=epoch),
        "marked-ext-v6": encap(keys, tcp6(ext=[IPv6ExtHdrDestOpt(), IPv6ExtHdrRouting()]), True, marked=True,
                               epoch=epoch),
        "data-v4": encap(keys, d4, False),
        "data-v6": encap(keys, d6, True),
        "data-v6-in-v4": encap(keys, d6, False),
        "data-v4-in-v6": encap(keys, d4, True),
        "data-v4-ect0": encap(keys, tcp4(sport=ESTABLISHED_PORT, tos=2), False, ecn=3),
        "data-v6-ext": encap(keys, tcp6(sport=ESTABLISHED_PORT, ext=[IPv6ExtHdrHopByHop()]), True),
        "ack-no-socket": encap(keys, tcp4(sport=NEW_PORT + 1), False),
        "icmp-v4": encap(keys, icmp4_frag_needed(), False),
        "icmp-v6": encap(keys, icmp6_too_big(), True),
        "icmp-v6-in-v4": encap(keys, icmp6_too_big(ext=[IPv6ExtHdrDestOpt()]), False),
        "plain-tcp-vip-v4": bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp4()),
        "plain-tcp-vip-v6": bytes(Ether(dst=MAC_BACKEND, src=MAC_PROXY) / tcp6(ext=[IPv6ExtHdrDestOpt()])),
        "arp": bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=MAC_PROXY) / ARP(psrc=PROXY4, pdst=BACKEND4)),
        # BACKEND6 holds two keys in the fuzz (config_lines): its second signs these
        "rotation-data-v6-accept-key": encap(keys, d6, True, key=keys.accept[BACKEND6]),
        "rotation-marked-v4-in-v6-accept-key": encap(keys, tcp4(), True, marked=True, epoch=epoch, wscale=7,
                                                     mss=1460, key=keys.accept[BACKEND6]),
        "rotation-chained-v6-accept-key": chained(keys, c6, True, PREV6, key=keys.accept[BACKEND6]),
    }
    return seeds


def config_lines(keys, rotation=False):
    """The configuration both runs start from; rotation (the fuzz's): BACKEND6 holds its issue and accept keys."""
    lines = ["config port %d" % PORT, "config period-ms %d" % PERIOD_MS, "config grace-ms %d" % GRACE_MS,
             "config skew-ms %d" % SKEW_MS, "config strict 0", "config enabled 1"]
    lines += ["config proxy %s" % a for a in (PROXY4, PROXY6)]
    lines += ["config vip %s" % a for a in (VIP4, VIP6)]
    lines += ["config key %s %s" % (BACKEND4, keys.by_address[BACKEND4].hex())]
    lines += ["config key %s %s%s" % (BACKEND6, keys.by_address[BACKEND6].hex(),
                                      " " + keys.accept[BACKEND6].hex() if rotation else "")]
    lines += ["config ifindex %d" % P0["ifindex"]]
    lines += ["config neighbour %s %s %s" % (a, mac.replace(":", ""), P0["mac"].replace(":", ""))
              for a, mac in NEIGHBOURS]
    return lines


def check_handover_outputs(keys, path):
    """Every frame the program handed over (TC_ACT_REDIRECT) in the golden run, as it left: its authenticator must
    verify under the key derived for its new outer destination, so the previous owner takes it; and it must still
    come from the proxy's address. The one with a deliberately wrong A2 must not verify."""
    redirected = 0
    for line in open(path):
        name, ret, frame = (line.split() + [""])[:3]
        if ret != "7":
            continue
        redirected += 1
        frame = bytes.fromhex(frame)
        dst, wrong = verify_as_previous_owner(keys, frame)
        v6 = frame[12:14] == b"\x86\xdd"
        src = str(ipaddress.ip_address(frame[22:38] if v6 else frame[26:30]))
        if "a2-not-checked" in name:
            check(wrong != "", "handover output %s: a wrong A2 stays wrong (the previous owner refuses it)" % name)
            continue
        check(not wrong and src == (PROXY6 if v6 else PROXY4),
              "handover output %s: from the proxy's address to %s, authenticated under that owner's key" % (name, dst),
              wrong or "source %s" % src)
    check(redirected >= 10, "handover outputs: the golden run redirected %d frames" % redirected)


def run(args):
    self_checks()
    P0["mac"] = open("/sys/class/net/%s/address" % PREV_DEV).read().strip()
    P0["ifindex"] = socket.if_nametoindex(PREV_DEV)
    held = sockets()
    keys = Keys(os.urandom(32), os.urandom(32))  # the key in use and the next one (a rotation's)
    epoch = wait_for_epoch_room()
    os.makedirs(args.work, exist_ok=True)
    golden = os.path.join(args.work, "golden.txt")
    with open(golden, "w") as out:
        for line in config_lines(keys):
            print(line, file=out)
        for item in golden_cases(keys, epoch):
            if isinstance(item, str):
                print(item, file=out)
                continue
            name, ret, counter, frame, expected = item
            expected = expected if expected in ("-", "=") else bytes(expected).hex()
            print("case %s %s %s %s %s" % (name, ret, counter, bytes(frame).hex(), expected), file=out)
    fuzz = os.path.join(args.work, "fuzz.txt")
    with open(fuzz, "w") as out:
        for line in config_lines(keys, rotation=True):
            print(line, file=out)
        for name, frame in fuzz_seeds(keys, epoch).items():
            print("seed %s %s" % (name, bytes(frame).hex()), file=out)
    sys.stdout.flush()
    outputs = os.path.join(args.work, "golden-outputs.txt")
    rc_golden = subprocess.run([args.runner, "golden", args.obj, golden, outputs]).returncode
    check_handover_outputs(keys, outputs)
    rc_fuzz = subprocess.run([args.runner, "fuzz", args.obj, fuzz, "--frames", str(args.frames),
                              "--seed", str(args.seed)]).returncode
    del held
    if rc_golden not in (0, 1) or rc_fuzz not in (0, 1):
        check(False, "runner", "exited %d / %d" % (rc_golden, rc_fuzz))
    return 0 if checks["failed"] == 0 and rc_golden == 0 and rc_fuzz == 0 else 1


def ingress(args):
    """The handshake where only a real tc ingress hook can take it: frames sent into veth t1 reach the program on t0
    (attached by backend.sh with --key and --address), which must create sockets a listener accepts, with the
    options the cookie and our header carry, and then pass the client's data to them. The proxy side signs with the
    key file's issue or accept key (--use); with --refused, one more marked ACK under that file's key must make no
    socket (bpf-test.sh checks bad-auth)."""
    keys = Keys(read_key_file(args.key)[0 if args.use == "issue" else 1])
    port, sport = args.port, args.sport
    run = " [%s]" % args.label if args.label else ""
    t0_mac = open("/sys/class/net/%s/address" % args.backend_dev).read().strip()
    t1_mac = open("/sys/class/net/%s/address" % args.dev).read().strip()
    macs = bytes.fromhex(t0_mac.replace(":", "") + t1_mac.replace(":", ""))  # to t0, from t1
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((args.dev, 0))
    listeners = {}
    for family, vip in ((socket.AF_INET, VIP4), (socket.AF_INET6, VIP6)):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((vip, port))
        listener.listen(16)
        listener.settimeout(2)
        listeners[family] = listener
    epoch = int(time.time() * 1000) // 60000  # backend.sh's default period
    cookie = 0x33333300 | 0x10 | 6  # SACK, the client's window scale 6
    # Each flow's ACK lays its timestamps out differently: the program's two shortcuts and its option walk.
    nop = ("NOP", None)
    layouts = {"v4": [nop, nop, ("Timestamp", (1000, 2000))], "v6": [("Timestamp", (1000, 2000)), nop, nop],
               "v6-in-v4": [nop, ("SAckOK", b""), ("Timestamp", (1000, 2000))]}
    flows = (("v4", socket.AF_INET, CLIENT4_REAL, False), ("v6", socket.AF_INET6, CLIENT6_REAL, True),
             ("v6-in-v4", socket.AF_INET6, CLIENT6_MIXED, False))
    for label, family, client, outer_v6 in flows:
        v6 = family == socket.AF_INET6
        vip = VIP6 if v6 else VIP4
        ip = IPv6(src=client, dst=vip, hlim=64) if v6 else IP(src=client, dst=vip, ttl=64)
        ack = ip / TCP(sport=sport, dport=port, seq=7001, ack=cookie + 1, flags="A", window=1000,
                       options=layouts[label])
        frame = encap(keys, ack, outer_v6, marked=True, epoch=epoch, wscale=9, mss=1400)
        raw.send(macs + frame[12:])
        try:
            conn, peer = listeners[family].accept()
        except socket.timeout:
            check(False, "ingress%s %s: a marked ACK through tc ingress becomes a socket the listener accepts"
                  % (run, label), "nothing to accept")
            continue
        check(peer[0] == client and peer[1] == sport,
              "ingress%s %s: a marked ACK through tc ingress becomes a socket the listener accepts" % (run, label),
              str(peer))
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        options, wscales = info[5], info[6]
        snd_wscale, rcv_wscale = wscales & 0xF, wscales >> 4
        snd_mss = struct.unpack_from("<I", info, 16)[0]
        want_mss = 1400 - 12  # the client's MSS from our header, less the timestamp option
        check(options & 7 == 7 and snd_wscale == 6 and rcv_wscale == 9 and snd_mss == want_mss,
              "ingress%s %s: its options come from the cookie (SACK, WS 6), our header (WS 9, MSS 1400) and the "
              "ACK (timestamps: %s)" % (run, label, " ".join(o[0] for o in layouts[label])),
              "options %d, snd_wscale %d, rcv_wscale %d, snd_mss %d" % (options, snd_wscale, rcv_wscale, snd_mss))
        data = ip / TCP(sport=sport, dport=port, seq=7001, ack=cookie + 1, flags="PA", window=1000,
                        options=[("NOP", None), ("NOP", None), ("Timestamp", (1001, 2000))]) / Raw(b"hello")
        raw.send(macs + encap(keys, data, outer_v6)[12:])
        conn.settimeout(2)
        try:
            got = conn.recv(100)
        except socket.timeout:
            got = b""
        check(got == b"hello", "ingress%s %s: the client's data, unmarked, reaches that socket" % (run, label),
              repr(got))
        # Path MTU discovery: a router's "fragmentation needed" / "packet too big" about the backend's packets to
        # the client, forwarded by the proxy, must reach this socket and lower its MSS. The quoted segment carries
        # the socket's snd_una (its ISN is the cookie), or the kernel ignores the error as out of window.
        quoted = (IPv6(src=vip, dst=client, hlim=60) if v6 else IP(src=vip, dst=client, ttl=60, flags="DF")) / \
            TCP(sport=port, dport=sport, seq=cookie + 1, ack=7006, flags="A")
        if v6:
            error, mtu = IPv6(src=ROUTER6_REAL, dst=vip) / ICMPv6PacketTooBig(mtu=1280) / Raw(bytes(quoted)), 1280
        else:
            error, mtu = IP(src=ROUTER4_REAL, dst=vip) / ICMP(type=3, code=4, nexthopmtu=1200) / \
                Raw(bytes(quoted)[:28]), 1200
        raw.send(macs + encap(keys, error, outer_v6)[12:])
        time.sleep(0.3)
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        snd_mss = struct.unpack_from("<I", info, 16)[0]
        want_mss = mtu - (40 if v6 else 20) - 20 - 12
        check(snd_mss == want_mss, "ingress%s %s: an encapsulated %s (MTU %d) lowers that socket's MSS to %d"
              % (run, label, "packet too big" if v6 else "fragmentation needed", mtu, want_mss), "MSS %d" % snd_mss)
        conn.close()
    if args.refused:
        # A key the backend does not hold (a third one, or the one a finished rotation dropped): no socket.
        refused = Keys(read_key_file(args.refused)[0])
        ip = IP(src=CLIENT4_REAL, dst=VIP4, ttl=64)
        ack = ip / TCP(sport=sport + 10, dport=port, seq=7001, ack=cookie + 1, flags="A", window=1000,
                       options=layouts["v4"])
        raw.send(macs + encap(refused, ack, False, marked=True, epoch=epoch, wscale=9, mss=1400)[12:])
        listeners[socket.AF_INET].settimeout(1)
        try:
            conn, peer = listeners[socket.AF_INET].accept()
            conn.close()
            got = str(peer)
        except socket.timeout:
            got = ""
        check(got == "", "ingress%s v4: a marked ACK under a key the backend does not hold makes no socket" % run,
              "accepted %s" % got)
    return 0 if checks["failed"] == 0 else 1


def ingress_timewait(args):
    """A client reusing a 4-tuple the backend still holds in TIME_WAIT (native/bpf/timewait.h), through tc ingress on
    t0: a first connection (a marked ACK makes it) that the backend closes first, then a marked ACK of a new
    handshake on the same 4-tuple. Allowed by the kernel's test for a SYN over TIME_WAIT: TIME_WAIT ends (our RST)
    and the socket is created (our copy, back through ingress). Refused (ISN not after, no newer TSval), or with
    net.ipv4.tcp_rfc1337=1 (the RST ignored, our copy meets TIME_WAIT again): dropped, TIME_WAIT stays. bpf-test.sh
    checks the counters after."""
    keys = Keys(read_key_file(args.key)[0])
    t0_mac = open("/sys/class/net/%s/address" % args.backend_dev).read().strip()
    t1_mac = open("/sys/class/net/%s/address" % args.dev).read().strip()
    macs = bytes.fromhex(t0_mac.replace(":", "") + t1_mac.replace(":", ""))
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((args.dev, 0))
    port = 8081
    listeners = {}
    for family, vip in ((socket.AF_INET, VIP4), (socket.AF_INET6, VIP6)):
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((vip, port))
        listener.listen(16)
        listener.settimeout(1.5)
        listeners[family] = listener
    epoch = int(time.time() * 1000) // 60000

    def send(ip, sport, seq, ack, flags, tsval, outer_v6, marked):
        segment = ip / TCP(sport=sport, dport=port, seq=seq, ack=ack, flags=flags, window=1000,
                           options=[("NOP", None), ("NOP", None), ("Timestamp", (tsval, 1))])
        raw.send(macs + encap(keys, segment, outer_v6, marked=marked, epoch=epoch if marked else 0,
                              wscale=7 if marked else 0, mss=1400 if marked else 0)[12:])

    def accept(family):
        try:
            return listeners[family].accept()
        except socket.timeout:
            return None, None

    def in_timewait(client, sport):
        out = subprocess.run(["ss", "-Htan", "state", "time-wait"], capture_output=True, text=True).stdout
        return any(line.split()[-1].rsplit(":", 1)[1] == str(sport) and client in line.split()[-1]
                   for line in out.splitlines() if line.split())

    def first_connection(label, family, client, outer_v6, sport):
        """Handshake 1 (client ISN 70000, our ISN 0x44444400), closed by the backend; the client's FIN+ACK after
        the backend's FIN puts the backend's side in TIME_WAIT with rcv_nxt 70002, last TSval 5001."""
        v6 = family == socket.AF_INET6
        ip = IPv6(src=client, dst=VIP6 if v6 else VIP4, hlim=64) if v6 else IP(src=client, dst=VIP4, ttl=64)
        cookie = 0x44444400 | 0x10 | 6
        send(ip, sport, 70001, cookie + 1, "A", 5000, outer_v6, True)
        conn, _ = accept(family)
        if conn is None:
            check(False, "ingress timewait %s: the first connection" % label, "nothing to accept")
            return None
        conn.close()  # the backend closes first: its FIN goes out t0 (to t1, where nobody answers but us)
        time.sleep(0.1)
        send(ip, sport, 70001, cookie + 2, "FA", 5001, outer_v6, False)
        time.sleep(0.2)
        ok = in_timewait(client, sport)
        check(ok, "ingress timewait %s: the backend closed first, its side of the 4-tuple is in TIME_WAIT (ss)"
              % label)
        return ip if ok else None

    for label, family, client, outer_v6, sport in (("v4", socket.AF_INET, CLIENT4_REAL, False, 46001),
                                                   ("v6", socket.AF_INET6, CLIENT6_REAL, True, 46002)):
        ip = first_connection(label, family, client, outer_v6, sport)
        if ip is None:
            continue
        # The same 4-tuple again: ISN 170000 after rcv_nxt 70002, TSval 6000 newer than 5001.
        send(ip, sport, 170001, (0x55555500 | 0x10 | 6) + 1, "A", 6000, outer_v6, True)
        conn, peer = accept(family)
        check(conn is not None and peer[1] == sport,
              "ingress timewait %s: a marked ACK over TIME_WAIT becomes a socket the listener accepts" % label,
              "nothing to accept" if conn is None else str(peer))
        check(not in_timewait(client, sport), "ingress timewait %s: TIME_WAIT is gone (ss)" % label)
        if conn is not None:
            conn.close()

    # Refused: ISN 60000 not after rcv_nxt 70002, TSval 5001 not newer (not older either: no PAWS).
    ip = first_connection("v4 isn-not-after", socket.AF_INET, CLIENT4_REAL, False, 46003)
    if ip is not None:
        send(ip, 46003, 60001, (0x66666600 | 0x10 | 6) + 1, "A", 5001, False, True)
        conn, _ = accept(socket.AF_INET)
        check(conn is None and in_timewait(CLIENT4_REAL, 46003),
              "ingress timewait v4: ISN not after rcv_nxt and no newer TSval: dropped, TIME_WAIT stays")
    # tcp_rfc1337=1: TIME_WAIT ignores our RST; the copy meets it again and is dropped, once.
    with open("/proc/sys/net/ipv4/tcp_rfc1337", "w") as f:
        f.write("1")
    try:
        ip = first_connection("v6 rfc1337", socket.AF_INET6, CLIENT6_REAL, True, 46004)
        if ip is not None:
            send(ip, 46004, 170001, (0x77777700 | 0x10 | 6) + 1, "A", 6000, True, True)
            conn, _ = accept(socket.AF_INET6)
            check(conn is None and in_timewait(CLIENT6_REAL, 46004),
                  "ingress timewait v6 with tcp_rfc1337=1: the RST is ignored, our copy dropped, TIME_WAIT stays")
    finally:
        with open("/proc/sys/net/ipv4/tcp_rfc1337", "w") as f:
            f.write("0")
    return 0 if checks["failed"] == 0 else 1


def enter_netns(fd):
    """This thread into the network namespace fd refers to (setns); sockets made meanwhile stay in theirs."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, 0x40000000) != 0:  # CLONE_NEWNET
        raise OSError(ctypes.get_errno(), "setns")


def ingress_handover(args):
    """A hand-over between two backends through real tc ingress hooks: backend B (its own namespace, program on b0,
    reached over veth a0 / b0) holds the flow's socket, made by a marked ACK sent to it directly; then the proxy
    (played here) sends the client's data to backend A (this namespace, program on t0) naming B as the previous
    owner. A has no socket for the flow: its program must hand the packet over (FIB lookup, redirect out of a0),
    and B's program must take it (A2 under B's key) and give the data to B's socket. bpf-test.sh checks the
    counters of both after. The proxy side signs A1 (A's key) and A2 (B's) with the key file's issue or accept
    key (--use)."""
    keys = Keys(read_key_file(args.key)[0 if args.use == "issue" else 1])
    run = " [%s]" % args.label if args.label else ""

    def mac_of(dev):
        return bytes.fromhex(open("/sys/class/net/%s/address" % dev).read().strip().replace(":", ""))

    to_a = mac_of(args.backend_dev) + mac_of(args.dev)  # t1 -> t0
    to_b = bytes.fromhex(args.peer_mac.replace(":", "")) + mac_of(args.link_dev)  # a0 -> b0
    raw_a, raw_b = socket.socket(socket.AF_PACKET, socket.SOCK_RAW), socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw_a.bind((args.dev, 0))
    raw_b.bind((args.link_dev, 0))
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    peer = os.open("/var/run/netns/%s" % args.peer_netns, os.O_RDONLY)
    listeners = {}
    enter_netns(peer)
    try:
        for family, vip in ((socket.AF_INET, VIP4), (socket.AF_INET6, VIP6)):
            listener = socket.socket(family, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((vip, args.port))
            listener.listen(16)
            listener.settimeout(2)
            listeners[family] = listener
    finally:
        enter_netns(home)
        os.close(home)
        os.close(peer)
    epoch = int(time.time() * 1000) // 60000  # backend.sh's default period
    cookie = 0x22222200 | 0x10 | 7
    for label, family, client, outer_v6, b_address, sport in (
            ("v4", socket.AF_INET, CLIENT4_REAL, False, BACKEND_B4, args.sport),
            ("v6", socket.AF_INET6, CLIENT6_REAL, True, BACKEND_B6, args.sport + 1)):
        v6 = family == socket.AF_INET6
        vip = VIP6 if v6 else VIP4
        ip = IPv6(src=client, dst=vip, hlim=64) if v6 else IP(src=client, dst=vip, ttl=64)
        ack = ip / TCP(sport=sport, dport=args.port, seq=9001, ack=cookie + 1, flags="A", window=1000)
        raw_b.send(to_b + encap(keys, ack, outer_v6, marked=True, epoch=epoch, wscale=7, mss=1400,
                                dst=b_address)[12:])
        try:
            conn, peer = listeners[family].accept()
        except socket.timeout:
            check(False, "ingress handover%s %s: backend B has the flow's socket (a marked ACK sent to it)"
                  % (run, label), "nothing to accept")
            continue
        check(peer[1] == sport, "ingress handover%s %s: backend B has the flow's socket (a marked ACK sent to it)"
              % (run, label), str(peer))
        data = ip / TCP(sport=sport, dport=args.port, seq=9001, ack=cookie + 1, flags="PA", window=1000) / \
            Raw(b"handed over by A")
        raw_a.send(to_a + chained(keys, data, outer_v6, b_address)[12:])
        conn.settimeout(2)
        try:
            got = conn.recv(100)
        except socket.timeout:
            got = b""
        check(got == b"handed over by A", "ingress handover%s %s: a chained packet to backend A naming B reaches B's "
              "socket (A: no socket, FIB lookup, redirect out of a0; B: A2 under its key)" % (run, label), repr(got))
        conn.close()
    return 0 if checks["failed"] == 0 else 1


def derive(args):
    print(backend_key(read_key_file(args.keyfile)[1 if args.accept else 0], args.address).hex())
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("run")
    p.add_argument("--runner", required=True)
    p.add_argument("--obj", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--frames", type=int, default=1000000)
    p.add_argument("--seed", type=int, default=1)
    i = sub.add_parser("ingress")
    i.add_argument("--key", required=True)
    i.add_argument("--dev", required=True)
    i.add_argument("--backend-dev", required=True)
    i.add_argument("--use", choices=("issue", "accept"), default="issue")
    i.add_argument("--port", type=int, default=8080)
    i.add_argument("--sport", type=int, default=45000)
    i.add_argument("--refused")
    i.add_argument("--label", default="")
    t = sub.add_parser("ingress-timewait")
    t.add_argument("--key", required=True)
    t.add_argument("--dev", required=True)
    t.add_argument("--backend-dev", required=True)
    h = sub.add_parser("ingress-handover")
    h.add_argument("--key", required=True)
    h.add_argument("--dev", required=True)
    h.add_argument("--backend-dev", required=True)
    h.add_argument("--link-dev", required=True)
    h.add_argument("--peer-netns", required=True)
    h.add_argument("--peer-mac", required=True)
    h.add_argument("--use", choices=("issue", "accept"), default="issue")
    h.add_argument("--port", type=int, default=8082)
    h.add_argument("--sport", type=int, default=47001)
    h.add_argument("--label", default="")
    d = sub.add_parser("derive")
    d.add_argument("keyfile")
    d.add_argument("address")
    d.add_argument("--accept", action="store_true")
    args = parser.parse_args()
    sys.exit({"run": run, "ingress": ingress, "ingress-timewait": ingress_timewait,
              "ingress-handover": ingress_handover, "derive": derive}[args.command](args))


if __name__ == "__main__":
    main()
