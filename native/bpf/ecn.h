/* ECN across the tunnel hop (RFC 6040, normal mode): a router between proxy and backend may mark the outer header
 * CE; decapsulation carries the mark into the client's packet, so the backend's TCP sees the congestion. Pure
 * functions, also built into the test runner. */
#ifndef SP_ECN_H
#define SP_ECN_H

#define SP_ECN_NOT_ECT 0
#define SP_ECN_ECT1 1
#define SP_ECN_ECT0 2
#define SP_ECN_CE 3

/*
 * RFC 6040 section 4.2, the decapsulation table: outer CE makes an ECT inner packet CE, outer ECT(1) makes an
 * ECT(0) inner packet ECT(1), everything else leaves the inner field as it is. Returns false for the one case
 * that must be dropped: outer CE over a not-ECT inner packet (its transport cannot hear the congestion signal).
 */
static __always_inline bool sp_ecn_decap(__u8 outer, __u8 *inner)
{
    if (outer == SP_ECN_CE) {
        if (*inner == SP_ECN_NOT_ECT)
            return false;
        *inner = SP_ECN_CE;
    } else if (outer == SP_ECN_ECT1 && *inner == SP_ECN_ECT0) {
        *inner = SP_ECN_ECT1;
    }
    return true;
}

/* RFC 1624 eqn. 3: the Internet checksum after one 16-bit word of what it covers changed from old to new,
 * HC' = ~(~HC + ~m + m'); values as read big-endian. Never yields 0xffff for a header that had a valid sum. */
static __always_inline __u16 sp_csum_replace16(__u16 check, __u16 old, __u16 new)
{
    __u32 sum = (__u16)~check + (__u32)(__u16)~old + new;
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (__u16)~sum;
}

#endif
