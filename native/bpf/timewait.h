/* A handshake ACK whose 4-tuple a TIME_WAIT socket still holds (the client reused its port within TIME_WAIT).
 *
 * The kfunc cannot help: with the listener it returns 0, but the kernel then finds the TIME_WAIT entry when it
 * inserts the child (inet_ehash_insert) and frees it, and the ACK dies in cookie_v4_check. Passing the ACK to the
 * TIME_WAIT socket makes it answer with its old ACK and restart its timer: the new connection hangs. What works is
 * what the kernel does for a SYN over TIME_WAIT, in two steps:
 *   1. the same acceptance test (sp_timewait_reopens);
 *   2. a copy of the ACK, still encapsulated, goes back to ingress (bpf_clone_redirect) carrying SP_RETRY_MARK,
 *      and this ACK, decapsulated, becomes a RST at the TIME_WAIT socket's rcv_nxt (sp_timewait_rst): the RST
 *      kills the TIME_WAIT socket (RFC 1337's "TIME_WAIT assassination", which Linux honours unless
 *      net.ipv4.tcp_rfc1337 is 1), the copy then comes through the program again, is authenticated again and, the
 *      4-tuple free, creates its socket the usual way. A copy that meets TIME_WAIT again (tcp_rfc1337=1) is dropped:
 *      the mark makes sure there is one retry, never a loop.
 * The RST is made from the ACK itself: the kernel accepts it only from the client's addresses and ports at exactly
 * rcv_nxt, which only we (from the socket) and the client know, so it can kill nothing but this TIME_WAIT entry.
 */
#ifndef SP_TIMEWAIT_H
#define SP_TIMEWAIT_H

/* skb->mark of the copy sent back to ingress; cleared by the program when it sees the copy again. Ours alone at tc
 * ingress, where nothing else has marked a packet from the wire yet. */
#define SP_RETRY_MARK 0x53505254 /* "SPRT" */
#define SP_TCP_CHECK 16          /* the TCP checksum's offset in its header */

/* The TIME_WAIT socket's fields we read, as CO-RE relocates them against the kernel's struct tcp_timewait_sock.
 * Not vmlinux.h's types: with those, clang 14 emits struct sock (behind sock_common's skc_listener) as a forward
 * declaration, and libbpf then finds bpf_sk_assign_tcp_reqsk's prototype incompatible with the kernel's. */
struct sock_common___sp {
    __u32 skc_tw_rcv_nxt; /* in an anonymous union in the kernel's: matched by name */
} __attribute__((preserve_access_index));

struct inet_timewait_sock___sp {
    struct sock_common___sp __tw_common;
} __attribute__((preserve_access_index));

struct tcp_timewait_sock___sp {
    struct inet_timewait_sock___sp tw_sk;
    __u32 tw_ts_recent;      /* the last TSval seen from the client */
    int tw_ts_recent_stamp;  /* when (seconds); 0: the connection used no timestamps */
} __attribute__((preserve_access_index));

/*
 * tcp_timewait_state_process's test for a SYN over TIME_WAIT, applied to the ACK that completes the proxy's
 * handshake (its ISN is seq - 1): reopen when the new ISN lies after the old connection's rcv_nxt, or when the
 * timestamps show a newer connection; never when PAWS rejects it (a TSval older than the last one seen). The
 * kernel looks at timestamps only when the TIME_WAIT socket kept one (ts_recent_stamp set) and the segment has
 * one. PAWS's 24-day wrap exception is left out: TIME_WAIT lasts 60 s.
 */
static __always_inline bool sp_timewait_reopens(__u32 seq, __u32 rcv_nxt, bool saw_tstamp, __u32 tsval,
                                                __u32 ts_recent, bool ts_recent_stamp)
{
    bool timestamps = saw_tstamp && ts_recent_stamp;
    if (timestamps && ts_recent && (__s32)(ts_recent - tsval) > 0)
        return false; /* PAWS */
    if ((__s32)(seq - 1 - rcv_nxt) > 0)
        return true;
    return timestamps && (__s32)(ts_recent - tsval) < 0;
}

/* One 32-bit word of the TCP header (or its options) at offset to value, the checksum kept right (the change is
 * checksum-neutral as a whole, so a CHECKSUM_COMPLETE sum stays valid too). Helpers only: after
 * bpf_clone_redirect and the decapsulation, no packet pointer is valid. */
static __always_inline bool sp_tcp_store32(struct __sk_buff *skb, __u32 tcp, __u32 offset, __u32 old, __u32 value)
{
    if (bpf_l4_csum_replace(skb, tcp + SP_TCP_CHECK, old, value, sizeof(value)) < 0)
        return false;
    return bpf_skb_store_bytes(skb, tcp + offset, &value, sizeof(value), 0) == 0;
}

/*
 * Turns the decapsulated ACK (its TCP header at offset tcp, options_length bytes of options) into the RST that
 * ends the TIME_WAIT socket: seq = rcv_nxt, ack 0, flags RST alone, the options NOPs (a timestamp would put the
 * RST through PAWS). Addresses, ports and any payload stay: the kernel accepts a RST with data.
 */
static __always_inline bool sp_timewait_rst(struct __sk_buff *skb, __u32 tcp, __u32 options_length, __u32 rcv_nxt)
{
    __u32 words[4]; /* seq, ack, data offset and flags, (window and checksum: unchanged) */
    if (bpf_skb_load_bytes(skb, tcp + 4, words, 12) < 0)
        return false;
    __u8 flags[4];
    __builtin_memcpy(flags, &words[2], 4);
    flags[0] &= 0xf0; /* the data offset; the reserved bits (AccECN's AE) cleared */
    flags[1] = 0x04;  /* RST */
    __u32 flags_word;
    __builtin_memcpy(&flags_word, flags, 4);
    if (!sp_tcp_store32(skb, tcp, 4, words[0], bpf_htonl(rcv_nxt)) || !sp_tcp_store32(skb, tcp, 8, words[1], 0) ||
        !sp_tcp_store32(skb, tcp, 12, words[2], flags_word))
        return false;
    const __u32 nops = 0x01010101;
    for (__u32 i = 0; i < 40; i += 4) { /* a bounded loop: the verifier walks its 10 rounds */
        if (i >= options_length)
            break;
        __u32 old;
        if (bpf_skb_load_bytes(skb, tcp + 20 + i, &old, sizeof(old)) < 0 ||
            !sp_tcp_store32(skb, tcp, 20 + i, old, nops))
            return false;
    }
    return true;
}

#endif
