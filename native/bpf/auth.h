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
 * The chained header (encap.h) puts its 16 bytes of the previous owner's address (previous, else NULL) after the
 * first block, so A1 binds the hand-over's destination too:
 *     IPv4: [header 0..8] [previous 0..8] [previous 8..16] [addresses]           [L4 0..8] [L4 8..12 | 44 << 56]
 *     IPv6: [header 0..8] [previous 0..8] [previous 8..16] [addresses: 4 blocks] [L4 0..8] [L4 8..12 | 68 << 56]
 * (its word 0 reads 0x09 in the first byte, its word 1 0x8000 in bytes 6-7, as on the wire). A2, for the previous
 * owner, is not ours to check: we hold only our own keys. The previous owner checks it here all the same, as the A1
 * of the plain packet the hand-over makes (handover.h): this is the one check of every authenticator.
 * Good under either of keys (config.h): first, then second only when it is set and first failed, so outside a
 * rotation (and for a proxy already issuing with first) a packet costs one hash.
 * header, previous and addresses point into the packet (bounds checked by the caller), l4 to a 12-byte copy.
 */
static __always_inline bool sp_auth_verify(const struct sp_keys *keys, const __u8 *header, const __u8 *previous,
                                           const __u8 *addresses, bool v6, const __u8 *l4)
{
    __u64 words[SP_SIPHASH_MAX_BLOCKS] = {};
    __u32 tail;
    __u64 carried;
    int blocks;
    __builtin_memcpy(&words[0], header, 8);
    __builtin_memcpy(&tail, l4 + 8, 4);
    /* Four layouts, each with constant indexes (the verifier sees fixed stack slots). */
    if (previous && v6) {
        __builtin_memcpy(&words[1], previous, 16);
        __builtin_memcpy(&words[3], addresses, 32);
        __builtin_memcpy(&words[7], l4, 8);
        words[8] = tail | 68ULL << 56;
        blocks = 9;
    } else if (previous) {
        __builtin_memcpy(&words[1], previous, 16);
        __builtin_memcpy(&words[3], addresses, 8);
        __builtin_memcpy(&words[4], l4, 8);
        words[5] = tail | 44ULL << 56;
        blocks = 6;
    } else if (v6) {
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
    carried = bpf_be64_to_cpu(carried);
    if (carried == sp_siphash(keys->first.k0, keys->first.k1, words, blocks))
        return true;
    return (keys->flags & SP_KEYS_SECOND) && carried == sp_siphash(keys->second.k0, keys->second.k1, words, blocks);
}

#endif
