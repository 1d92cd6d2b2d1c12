/* The encapsulation header, version 1: what the proxy writes after the outer UDP header (its side:
 * src/main/java/io/synproxy/packet/EncapHeader.java). Pure byte accessors, also built into the test runner.
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|0| Hlen = 3|  Proto 4 / 41 |H| Ver |     Epoch     |WScale |   word 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Client MSS           |         reserved (0)          |   word 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |          Authenticator: SipHash-2-4, per-backend key, 64 bits |   words 2-3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   H       a handshake ACK whose cookie the proxy validated
 *   Ver     1
 *   Epoch   with H: the low 8 bits of the salt epoch that issued the cookie (replay bound, epoch.h); else 0
 *   WScale  with H: the proxy's window scale, the backend's receive scale (kfunc rcv_wscale); else 0
 *   MSS     with H: the client's MSS (kfunc mss)
 * The authenticator (auth.h) covers words 0 and 1, the inner addresses and the first 12 bytes of the inner L4 header.
 *
 * The chained form (Beamer's daisy chaining, depth 1): after a change of the backend set the proxy may name the
 * flow's previous owner in an unmarked packet. The receiving backend takes the packet if a socket owns the flow;
 * else it hands the packet to the previous owner in the plain form above (handover.h).
 *
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|0| Hlen = 9|  Proto 4 / 41 |0| Ver |   0 (Epoch)   |   0   |   word 0
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |               0               |P|             0               |   word 1 (P: the previous owner follows)
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   A1: authenticator for this backend, its key (auth.h)        |   words 2-3
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   A2: authenticator for the previous owner, its key, over the |   words 4-5
 * |       plain header it receives after the hand-over            |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |   the previous owner's address: IPv6, or IPv4 as ::ffff:a.b.c.d (16 bytes)   |   words 6-9
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * P exactly when Hlen is 9, never with H, and word 1 holds nothing else: anything else is malformed. A1 covers
 * words 0 and 1, the previous owner's address, the inner addresses and the first 12 inner L4 bytes; A2 covers what
 * the previous owner's plain header will hold (first byte 0x03, the same Proto and flags, word 1 zero), the inner
 * addresses and the 12 L4 bytes: exactly what that owner verifies.
 */
#ifndef SP_ENCAP_H
#define SP_ENCAP_H

#define SP_ENCAP_LENGTH 16
#define SP_ENCAP_FIRST_BYTE 0x03    /* GUE variant 0, C 0, Hlen 3 */
#define SP_ENCAP_FIRST_BYTE_V0 0x02 /* Hlen 2: the 12-byte header of proxies before version 1 */
#define SP_ENCAP_PROTO_IPV4 4
#define SP_ENCAP_PROTO_IPV6 41
#define SP_ENCAP_VERSION 1
#define SP_ENCAP_FLAG_HANDSHAKE 0x8000
#define SP_ENCAP_AUTH_OFFSET 8      /* the authenticator: bytes 8..16, big-endian */
#define SP_ENCAP_COVERED 8          /* the header bytes it covers: words 0 and 1 */
#define SP_ENCAP_CHAINED_LENGTH 40
#define SP_ENCAP_FIRST_BYTE_CHAINED 0x09 /* GUE variant 0, C 0, Hlen 9 */
#define SP_ENCAP_FLAG_PREVIOUS 0x8000    /* word 1's low half (bytes 6-7): the previous owner follows */
#define SP_ENCAP_PREVIOUS_AUTH_OFFSET 16 /* A2: bytes 16..24, big-endian */
#define SP_ENCAP_PREVIOUS_OFFSET 24      /* the previous owner's address: bytes 24..40 */
#define SP_ENCAP_EXTENSION (SP_ENCAP_CHAINED_LENGTH - SP_ENCAP_LENGTH) /* what the hand-over removes: 24 bytes */

static __always_inline __u16 sp_encap_flags(const __u8 *header)
{
    return ((__u16)header[2] << 8) | header[3];
}

static __always_inline bool sp_encap_marked(__u16 flags)
{
    return flags & SP_ENCAP_FLAG_HANDSHAKE;
}

static __always_inline __u32 sp_encap_version(__u16 flags)
{
    return (flags >> 12) & 0x7;
}

static __always_inline __u8 sp_encap_epoch(__u16 flags)
{
    return (flags >> 4) & 0xff;
}

static __always_inline __u8 sp_encap_wscale(__u16 flags)
{
    return flags & 0xf;
}

static __always_inline __u16 sp_encap_mss(const __u8 *header)
{
    return ((__u16)header[4] << 8) | header[5];
}

/* Word 1's low half: reserved in the plain form (covered by the authenticator, else unchecked) except for P. */
static __always_inline bool sp_encap_previous(const __u8 *header)
{
    return ((((__u16)header[6] << 8) | header[7]) & SP_ENCAP_FLAG_PREVIOUS) != 0;
}

/* The chained form's word 1 is P alone. */
static __always_inline bool sp_encap_chained_word1_ok(const __u8 *header)
{
    return header[4] == 0 && header[5] == 0 && header[6] == (SP_ENCAP_FLAG_PREVIOUS >> 8) && header[7] == 0;
}

/* An IPv4 previous owner is carried IPv4-mapped (::ffff:a.b.c.d, RFC 4291 2.5.5.2). */
static __always_inline bool sp_encap_v4_mapped(const __u8 *address)
{
    for (int i = 0; i < 10; i++)
        if (address[i])
            return false;
    return address[10] == 0xff && address[11] == 0xff;
}

#endif
