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

#endif
