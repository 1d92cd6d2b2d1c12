#!/usr/bin/python3
"""Capture helpers for check.sh (standard library only: no scapy or tshark start-up in a check that must be quick).

    pcap_check.py strip IN OUT     copy IN with every record's timestamp zeroed: net_pcap stamps frames with the time
                                   it sent them, so two runs' files differ there even when every frame is the same
    pcap_check.py same A B         whether two captures hold the same frames in the same order (their headers and
                                   timestamps aside: the Java replay writes its own), printing how many match
    pcap_check.py encap IN         checks every frame of an ACK line's output: outer IPv4 header checksum, UDP length
                                   and checksum (0: none, as the Java engine sends), the encapsulation header's fixed
                                   fields and handshake mark, and the inner IPv4 header checksum; prints a summary and
                                   exits 1 if any frame fails
"""
import struct
import sys


def records(path):
    """The capture's global header, then (record header, frame) pairs."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    out, offset = [], 24
    while offset + 16 <= len(data):
        header = data[offset:offset + 16]
        included = struct.unpack(order + "IIII", header)[2]
        out.append((header, data[offset + 16:offset + 16 + included]))
        offset += 16 + included
    return data[:24], order, out


def ones_complement_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def strip(source, target):
    head, order, recs = records(source)
    with open(target, "wb") as f:
        f.write(head)
        for header, frame in recs:
            _, _, included, original = struct.unpack(order + "IIII", header)
            f.write(struct.pack(order + "IIII", 0, 0, included, original) + frame)
    return 0


def same(a, b):
    fa = [frame for _, frame in records(a)[2]]
    fb = [frame for _, frame in records(b)[2]]
    matching = sum(x == y for x, y in zip(fa, fb))
    print("%d and %d frames, %d identical" % (len(fa), len(fb), matching))
    return 0 if fa and len(fa) == len(fb) == matching else 1


def check_encap_frame(frame):
    """None if the frame is a well-formed IPv4-in-UDP handshake encapsulation, else what is wrong."""
    if len(frame) < 58 or frame[12:14] != b"\x08\x00":
        return "not IPv4"
    outer = frame[14:34]
    if outer[0] != 0x45 or outer[9] != 17:
        return "outer header is not option-less IPv4/UDP"
    if ones_complement_sum(outer) != 0xFFFF:
        return "outer IPv4 checksum"
    total = struct.unpack("!H", outer[2:4])[0]
    if 14 + total != len(frame):
        return "outer IPv4 length"
    udp = frame[34:42]
    sport, dport, length, checksum = struct.unpack("!HHHH", udp)
    if length != total - 20 or dport != 6080 or sport & 0xC000 != 0xC000:
        return "UDP header"
    if checksum != 0:
        pseudo = outer[12:20] + struct.pack("!BBH", 0, 17, length)
        if ones_complement_sum(pseudo + frame[34:]) != 0xFFFF:
            return "UDP checksum"
    first, second = struct.unpack("!II", frame[42:50])
    if first >> 24 != 0x03 or (first >> 16) & 0xFF != 4 or not first & 0x8000 or (first >> 12) & 7 != 1:
        return "encapsulation header (first word %08x)" % first
    if second & 0xFFFF or second >> 16 == 0:
        return "encapsulation header (client MSS word %08x)" % second
    inner = frame[58:]
    ihl = (inner[0] & 0xF) * 4
    if inner[0] >> 4 != 4 or ones_complement_sum(inner[:ihl]) != 0xFFFF:
        return "inner IPv4 header"
    if struct.unpack("!H", inner[2:4])[0] != len(inner):
        return "inner IPv4 length"
    return None


def encap(path):
    _, _, recs = records(path)
    bad = {}
    for _, frame in recs:
        problem = check_encap_frame(frame)
        if problem:
            bad[problem] = bad.get(problem, 0) + 1
    print("%d frames, %d well-formed%s" % (len(recs), len(recs) - sum(bad.values()),
                                           "".join("; %s: %d" % kv for kv in sorted(bad.items()))))
    return 0 if recs and not bad else 1


def main(argv):
    if len(argv) == 4 and argv[1] == "strip":
        return strip(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "same":
        return same(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "encap":
        return encap(argv[2])
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
