/* The hand-over of a chained packet (encap.h) whose flow no socket here owns: Beamer's daisy chaining (NSDI 2018),
 * depth 1. After a change of the backend set the proxy sends a flow to its new owner and names the previous one; a
 * flow the previous owner still serves (no socket here) goes on to it as the packet the proxy would have sent it:
 *   - the plain 16-byte header (first byte 0x03, the same Proto and flags, word 1 zero) with A2, the authenticator
 *     the proxy computed under the previous owner's key (we hold only our own);
 *   - the outer destination the previous owner; the outer source still the proxy's, as the previous owner's program
 *     trusts proxy sources only; TTL / hop limit one less (refused where it would reach 0); the lengths 24 bytes
 *     less; IPv4's header checksum updated (RFC 1624: a valid one stays valid, a bad one stays bad); UDP checksum 0,
 *     as the proxy sends;
 *   - the inner packet untouched: RFC 6040 is applied once, by whoever decapsulates;
 *   - Ethernet addresses and the way out from the kernel's FIB and neighbour table (bpf_fib_lookup, from the
 *     ingress interface, which therefore needs forwarding enabled), then bpf_redirect to that interface's egress.
 * A plain packet is never handed over (depth 1). Every step is checked on the packet before anything changes; once
 * bpf_skb_adjust_room has run, a failure drops the packet half-rewritten (counted handover-failed).
 */
#ifndef SP_HANDOVER_H
#define SP_HANDOVER_H

#include "counters.h"
#include "ecn.h"
#include "encap.h"

#define SP_TC_ACT_REDIRECT 7
#define SP_AF_INET 2
#define SP_AF_INET6 10
#define SP_HANDOVER_ETH_HLEN 14
#define SP_HANDOVER_UDP 17
/* What leaves in front of the inner packet: the outer IP header (20 or 40), UDP (8) and the plain header (16). */
#define SP_HANDOVER_OUT_V4 (20 + 8 + SP_ENCAP_LENGTH)
#define SP_HANDOVER_OUT_V6 (40 + 8 + SP_ENCAP_LENGTH)

static __always_inline __u16 sp_get16(const __u8 *p)
{
    return ((__u16)p[0] << 8) | p[1];
}

static __always_inline void sp_put16(__u8 *p, __u16 value)
{
    p[0] = value >> 8;
    p[1] = value & 0xff;
}

static __always_inline bool sp_same_bytes(const __u8 *a, const __u8 *b, int n)
{
    __u8 diff = 0;
#pragma unroll
    for (int i = 0; i < n; i++)
        diff |= a[i] ^ b[i];
    return diff == 0;
}

/* The UDP header (ports kept, the new length, no checksum) and the plain header after the outer IP header. */
static __always_inline void sp_handover_udp_and_header(__u8 *out, const __u8 *udp, const __u8 *header,
                                                       __u16 udp_length)
{
    __builtin_memcpy(out, udp, 4);
    sp_put16(out + 4, udp_length);
    out[6] = 0;
    out[7] = 0;
    __u8 *plain = out + 8;
    plain[0] = SP_ENCAP_FIRST_BYTE;
    plain[1] = header[1];
    plain[2] = header[2];
    plain[3] = header[3];
    __builtin_memset(plain + 4, 0, 4);
    __builtin_memcpy(plain + SP_ENCAP_AUTH_OFFSET, header + SP_ENCAP_PREVIOUS_AUTH_OFFSET, 8);
}

/* Outer IPv4 (no options: sp_outer_v4 saw to that): true with the new headers in out and the FIB query in fib;
 * false with the counter that ends the frame. */
static __always_inline bool sp_handover_v4(struct __sk_buff *skb, __u8 *out, struct bpf_fib_lookup *fib,
                                           __u32 *counter)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u8 *ip = data + SP_HANDOVER_ETH_HLEN;
    __u8 *udp = ip + 20;
    __u8 *header = udp + 8;
    *counter = SP_HANDOVER_FAILED;
    if ((void *)(header + SP_ENCAP_CHAINED_LENGTH) > data_end)
        return false; /* the caller read it already */
    const __u8 *previous = header + SP_ENCAP_PREVIOUS_OFFSET;
    *counter = SP_HANDOVER_REFUSED;
    if (!sp_encap_v4_mapped(previous) || sp_same_bytes(previous + 12, ip + 16, 4))
        return false; /* another family, or ourselves */
    __u16 total = sp_get16(ip + 2);
    if (total != skb->len - SP_HANDOVER_ETH_HLEN || sp_get16(udp + 4) != total - 20 || ip[8] <= 1)
        return false;
    __builtin_memcpy(out, ip, 20);
    sp_put16(out + 2, total - SP_ENCAP_EXTENSION);
    out[8] = ip[8] - 1;
    __builtin_memcpy(out + 16, previous + 12, 4);
    __u16 check = sp_get16(ip + 10);
    check = sp_csum_replace16(check, sp_get16(ip + 2), sp_get16(out + 2));
    check = sp_csum_replace16(check, sp_get16(ip + 8), sp_get16(out + 8));
    check = sp_csum_replace16(check, sp_get16(ip + 16), sp_get16(out + 16));
    check = sp_csum_replace16(check, sp_get16(ip + 18), sp_get16(out + 18));
    sp_put16(out + 10, check);
    sp_handover_udp_and_header(out + 20, udp, header, total - 20 - SP_ENCAP_EXTENSION);
    fib->family = SP_AF_INET;
    fib->tos = ip[1];
    __builtin_memcpy(&fib->ipv4_src, ip + 12, 4);
    __builtin_memcpy(&fib->ipv4_dst, previous + 12, 4);
    fib->tot_len = total - SP_ENCAP_EXTENSION;
    __builtin_memcpy(&fib->sport, udp, 4); /* sport and dport: for a multipath route's hash */
    return true;
}

/* Outer IPv6 (UDP right after the fixed header: sp_outer_v6 saw to that): the same. */
static __always_inline bool sp_handover_v6(struct __sk_buff *skb, __u8 *out, struct bpf_fib_lookup *fib,
                                           __u32 *counter)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u8 *ip6 = data + SP_HANDOVER_ETH_HLEN;
    __u8 *udp = ip6 + 40;
    __u8 *header = udp + 8;
    *counter = SP_HANDOVER_FAILED;
    if ((void *)(header + SP_ENCAP_CHAINED_LENGTH) > data_end)
        return false;
    const __u8 *previous = header + SP_ENCAP_PREVIOUS_OFFSET;
    *counter = SP_HANDOVER_REFUSED;
    if (sp_encap_v4_mapped(previous) || sp_same_bytes(previous, ip6 + 24, 16))
        return false;
    __u16 payload = sp_get16(ip6 + 4);
    if (payload != skb->len - SP_HANDOVER_ETH_HLEN - 40 || sp_get16(udp + 4) != payload || ip6[7] <= 1)
        return false;
    __builtin_memcpy(out, ip6, 40);
    sp_put16(out + 4, payload - SP_ENCAP_EXTENSION);
    out[7] = ip6[7] - 1;
    __builtin_memcpy(out + 24, previous, 16);
    sp_handover_udp_and_header(out + 40, udp, header, payload - SP_ENCAP_EXTENSION);
    fib->family = SP_AF_INET6;
    __builtin_memcpy(&fib->flowinfo, ip6, 4);
    fib->flowinfo &= bpf_htonl(0x0fffffff); /* traffic class and flow label */
    __builtin_memcpy(fib->ipv6_src, ip6 + 8, 16);
    __builtin_memcpy(fib->ipv6_dst, previous, 16);
    fib->tot_len = 40 + payload - SP_ENCAP_EXTENSION;
    __builtin_memcpy(&fib->sport, udp, 4);
    return true;
}

/* Hands the chained packet (outer IPv6 or IPv4, our header right after UDP) to its previous owner. Returns
 * SP_HANDED_OVER after bpf_redirect (the program then returns TC_ACT_REDIRECT), else the counter of the drop. */
static __always_inline __u32 sp_handover(struct __sk_buff *skb, bool v6)
{
    __u8 out[SP_HANDOVER_OUT_V6];
    struct bpf_fib_lookup fib = {};
    __u32 counter;
    if (!(v6 ? sp_handover_v6(skb, out, &fib, &counter) : sp_handover_v4(skb, out, &fib, &counter)))
        return counter;
    fib.l4_protocol = SP_HANDOVER_UDP;
    fib.ifindex = skb->ingress_ifindex;
    if (bpf_fib_lookup(skb, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
        return SP_HANDOVER_FAILED;
    /* BPF_ADJ_ROOM_NET takes the 24 bytes right after the fixed outer IP header: the UDP header and our header's
     * first 16 bytes. Left in front of the inner packet: the outer IP header, then A2 and the previous owner's
     * address (24 bytes); one store rewrites all of it as outer IP, UDP and the plain header. BPF_F_RECOMPUTE_CSUM
     * keeps a CHECKSUM_COMPLETE sum right (it covers from the network header on); the Ethernet addresses lie
     * outside it. */
    if (bpf_skb_adjust_room(skb, -SP_ENCAP_EXTENSION, BPF_ADJ_ROOM_NET, 0) < 0)
        return SP_HANDOVER_FAILED;
    long stored = v6 ? bpf_skb_store_bytes(skb, SP_HANDOVER_ETH_HLEN, out, SP_HANDOVER_OUT_V6,
                                           BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH)
                     : bpf_skb_store_bytes(skb, SP_HANDOVER_ETH_HLEN, out, SP_HANDOVER_OUT_V4,
                                           BPF_F_RECOMPUTE_CSUM | BPF_F_INVALIDATE_HASH);
    if (stored < 0)
        return SP_HANDOVER_FAILED;
    __builtin_memcpy(out, fib.dmac, 6); /* out is free again: the Ethernet addresses go through it */
    __builtin_memcpy(out + 6, fib.smac, 6);
    if (bpf_skb_store_bytes(skb, 0, out, 12, 0) < 0)
        return SP_HANDOVER_FAILED;
    return bpf_redirect(fib.ifindex, 0) == SP_TC_ACT_REDIRECT ? SP_HANDED_OVER : SP_HANDOVER_FAILED;
}

#endif
