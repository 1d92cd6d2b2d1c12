/* IPv6 extension headers in front of the transport header. The proxy skips exactly these when it finds the inner
 * L4 header it authenticates, and the backend must find the same one; after decapsulation the kernel handles the
 * headers itself. Read with bpf_skb_load_bytes: their lengths vary up to 2 KiB each, so they may lie beyond the
 * linear part and beyond what a constant bounds check can prove. */
#ifndef SP_IPV6_EXT_H
#define SP_IPV6_EXT_H

#define SP_IPV6_HOPOPTS 0
#define SP_IPV6_ROUTING 43
#define SP_IPV6_FRAGMENT 44
#define SP_IPV6_DSTOPTS 60
#define SP_IPV6_EXT_MAX 4

/*
 * Walks from *offset (the byte after the fixed header), *nexthdr its Next Header field, over at most
 * SP_IPV6_EXT_MAX hop-by-hop, routing and destination options headers (next header, length, (length + 1) * 8
 * bytes), and with fragment_ok over fragment headers too (8 bytes). On true, *offset and *nexthdr describe the
 * first other header. False: a fragment header where none is allowed, a fifth extension header, or one cut off
 * by the end of the packet.
 */
static __always_inline bool sp_ipv6_skip_ext(struct __sk_buff *skb, __u32 *offset, __u8 *nexthdr,
                                             bool fragment_ok)
{
#pragma unroll
    for (int i = 0; i <= SP_IPV6_EXT_MAX; i++) {
        __u8 ext[2];
        __u8 kind = *nexthdr;
        if (kind != SP_IPV6_HOPOPTS && kind != SP_IPV6_ROUTING && kind != SP_IPV6_DSTOPTS &&
            kind != SP_IPV6_FRAGMENT)
            return true;
        if (i == SP_IPV6_EXT_MAX || (kind == SP_IPV6_FRAGMENT && !fragment_ok))
            return false;
        if (bpf_skb_load_bytes(skb, *offset, ext, sizeof(ext)) < 0)
            return false;
        *nexthdr = ext[0];
        /* A fragment header's second byte is reserved: its length is always 8. */
        *offset += kind == SP_IPV6_FRAGMENT ? 8 : ((__u32)ext[1] + 1) * 8;
    }
    return false;
}

#endif
