/* The authenticator of an encapsulated packet: proof that a proxy holding this backend's key K_b sent it. */
#ifndef SP_AUTH_H
#define SP_AUTH_H

#include "encap.h"
#include "siphash.h"

/*
 * SipHash-2-4 keyed with K_b over
 *     header bytes 0..8 || inner source and destination address || the first 12 bytes of the inner L4 header
 * (28 bytes for an IPv4 inner packet, 52 for IPv6), carried big-endian in header bytes 8..16. As SipHash blocks
 * (little-endian 64-bit reads of the wire bytes, the last one padded as SipHash pads):
 *     IPv4: [header 0..8] [addresses]          [L4 0..8] [L4 8..12 | 28 << 56]
 *     IPv6: [header 0..8] [addresses: 4 blocks] [L4 0..8] [L4 8..12 | 52 << 56]
 * The 12 L4 bytes are TCP's ports, seq and ack, or ICMP's type, code, checksum, 4 bytes of the rest of its header
 * and the first 4 of the quoted packet. So the mark, epoch, window scale and MSS are bound to the flow and its
 * seq and ack: none can be forged or moved to another flow without K_b, and K_b opens this backend only.
 * header and addresses point into the packet (bounds checked by the caller), l4 to a 12-byte copy.
 */
static __always_inline bool sp_auth_verify(const struct sp_key *key, const __u8 *header, const __u8 *addresses,
                                           bool v6, const __u8 *l4)
{
    __u64 words[7] = {};
    __u32 tail;
    __u64 carried;
    int blocks;
    __builtin_memcpy(&words[0], header, 8);
    __builtin_memcpy(&tail, l4 + 8, 4);
    if (v6) {
        __builtin_memcpy(&words[1], addresses, 32);
        __builtin_memcpy(&words[5], l4, 8);
        words[6] = tail | 52ULL << 56;
        blocks = 7;
    } else {
        __builtin_memcpy(&words[1], addresses, 8);
        __builtin_memcpy(&words[2], l4, 8);
        words[3] = tail | 28ULL << 56;
        blocks = 4;
    }
    __builtin_memcpy(&carried, header + SP_ENCAP_AUTH_OFFSET, 8);
    return bpf_be64_to_cpu(carried) == sp_siphash(key->k0, key->k1, words, blocks);
}

#endif
