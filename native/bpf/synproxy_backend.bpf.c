// SPDX-License-Identifier: GPL-2.0
/*
 * synproxy's backend program (tc ingress). The proxy sends validated handshake ACKs, all other client traffic for
 * its VIPs, and ICMP errors about it (path MTU discovery) encapsulated:
 *     Ethernet | outer IPv4 or IPv6 | UDP (port from sp_config) | our 16-byte header (encap.h) | the client's IP packet
 * Here we
 *   - pass everything that is not ours untouched (with --strict: except TCP to a VIP that did not come through a
 *     proxy);
 *   - drop, counted, what is ours but unauthenticated, replayed or malformed;
 *   - decapsulate the rest (ECN carried over as RFC 6040 says), then
 *       ICMP: pass it, so the socket it is about learns the path MTU;
 *       a marked (H) ACK: find the listener and create the request socket from the cookie's options
 *         (bpf_sk_assign_tcp_reqsk): the kernel turns it into a full socket at once, no SYN ever seen; when a
 *         TIME_WAIT socket holds its 4-tuple, end it with a RST and take a copy of the ACK again (timewait.h);
 *       any other TCP: pass it only if a socket owns it, so a forged ACK flood costs a lookup;
 *       unless the proxy named the flow's previous owner (the chained header, encap.h): then a flow no socket here
 *         owns goes on to that owner, rewritten to the plain header it accepts and redirected (handover.h).
 * The proxy validated the cookie; this program checks the proxy (the authenticator, keyed per backend), not the
 * cookie. Every frame ends in exactly one counter (counters.h), and the counter decides pass or drop.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "encap.h"
#include "auth.h"
#include "epoch.h"
#include "ecn.h"
#include "ipv6_ext.h"
#include "tcp_options.h"
#include "timewait.h"
#include "handover.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define SP_ETH_HLEN 14
#define SP_ETH_P_IP 0x0800
#define SP_ETH_P_IPV6 0x86DD
#define SP_IPPROTO_ICMP 1
#define SP_IPPROTO_TCP 6
#define SP_IPPROTO_UDP 17
#define SP_IPPROTO_ICMPV6 58
#define SP_IP_MF 0x2000
#define SP_IP_OFFSET 0x1fff
#define SP_IPV6_FRAG_OFFSET 0xfff8
#define SP_TCP_SYN 0x02
#define SP_TCP_RST 0x04
#define SP_TCP_ACK 0x10
#define SP_TCP_HEADER 20
#define SP_L4_COVERED 12 /* the inner L4 bytes the authenticator covers */
#define SP_TCP_TIME_WAIT 6
#define SP_TCP_LISTEN 10
#define SP_COOKIE_WSCALE_NONE 0xf
/* Read in place, so made linear first: outer Ethernet, IPv6 and UDP, our header, the inner IPv4 header at its
 * longest and a TCP header with options. Extension headers and the L4 header are read with bpf_skb_load_bytes. */
#define SP_PULL (SP_ETH_HLEN + 40 + 8 + SP_ENCAP_CHAINED_LENGTH + 60 + 60)

extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk, struct bpf_tcp_req_attrs *attrs,
                                   int attrs__sz) __ksym;

/* What the outer headers say about a frame that is ours. */
struct sp_outer {
    const struct sp_keys *keys; /* K_b for the outer destination address (two during a key rotation) */
    __u32 header;             /* offset of our header: Ethernet, outer IP and UDP */
    __u32 inner;              /* offset of the client's IP header: after our header (sp_encapsulated sets it) */
    bool v6;
    __u8 ecn;
};

/* The verdict follows from the counter: these pass, every other one drops. */
static __always_inline bool sp_passes(__u32 counter)
{
    return counter == SP_NOT_OURS || counter == SP_ICMP_PASSED || counter == SP_HANDSHAKE_ASSIGNED ||
           counter == SP_HANDSHAKE_EXISTING || counter == SP_HANDSHAKE_OVER_TIMEWAIT || counter == SP_FORWARDED;
}

/* Not ours, IPv4: passed, except with --strict TCP to a VIP address, which may only arrive encapsulated. Fragments
 * count as TCP too (a later one carries no TCP header, but reassembles into a segment all the same). */
static __always_inline __u32 sp_unencapsulated_v4(const struct sp_config *config, const struct iphdr *ip)
{
    if (!(config->flags & SP_FLAG_STRICT) || ip->protocol != SP_IPPROTO_TCP)
        return SP_NOT_OURS;
    __u32 destination = ip->daddr;
    return bpf_map_lookup_elem(&sp_vips_v4, &destination) ? SP_NOT_ENCAPSULATED : SP_NOT_OURS;
}

/* Not ours, IPv6: the same. The transport is found behind extension headers and fragment headers, as the kernel
 * will find it; a chain too long to follow cannot be shown not to be TCP, so with --strict it goes too. */
static __always_inline __u32 sp_unencapsulated_v6(struct __sk_buff *skb, const struct sp_config *config,
                                                  const struct ipv6hdr *ip6)
{
    if (!(config->flags & SP_FLAG_STRICT))
        return SP_NOT_OURS;
    struct sp_in6 destination;
    __builtin_memcpy(&destination, &ip6->daddr, sizeof(destination));
    if (!bpf_map_lookup_elem(&sp_vips_v6, &destination))
        return SP_NOT_OURS;
    __u32 offset = SP_ETH_HLEN + sizeof(*ip6);
    __u8 nexthdr = ip6->nexthdr;
    if (!sp_ipv6_skip_ext(skb, &offset, &nexthdr, true) || nexthdr == SP_IPPROTO_TCP)
        return SP_NOT_ENCAPSULATED;
    return SP_NOT_OURS;
}

/* Our keys for the outer destination address: its own (--address), else those given whole (--backend-key). */
static __always_inline const struct sp_keys *sp_keys_or_default(const struct sp_config *config,
                                                               const struct sp_keys *own)
{
    if (own)
        return own;
    return (config->flags & SP_FLAG_DEFAULT_KEY) ? &config->keys : NULL;
}

/* Outer IPv4: true when the frame is UDP to our port, a plain header (no options, not a fragment), from a listed
 * proxy, to an address we hold a key for; else *counter says where the frame ends. */
static __always_inline bool sp_outer_v4(const struct sp_config *config, void *data, void *data_end,
                                        struct sp_outer *outer, __u32 *counter)
{
    struct iphdr *ip = data + SP_ETH_HLEN;
    *counter = SP_NOT_OURS;
    if ((void *)(ip + 1) > data_end)
        return false;
    if (ip->protocol != SP_IPPROTO_UDP) {
        *counter = sp_unencapsulated_v4(config, ip);
        return false;
    }
    /* A later fragment has no UDP header to read, so it cannot be told apart; without its first fragment
     * (dropped below when it is ours) it never reassembles. */
    if ((ip->frag_off & bpf_htons(SP_IP_OFFSET)) || ip->ihl < 5)
        return false;
    struct udphdr *udp = (void *)ip + ip->ihl * 4;
    if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(config->encap_port))
        return false;
    /* The proxy sends neither: such a frame is not from a proxy, whatever its source says. */
    if (ip->ihl != 5) {
        *counter = SP_OUTER_OPTIONS;
        return false;
    }
    if (ip->frag_off & bpf_htons(SP_IP_MF)) {
        *counter = SP_OUTER_FRAGMENT;
        return false;
    }
    __u32 source = ip->saddr;
    if (!bpf_map_lookup_elem(&sp_proxies_v4, &source)) {
        *counter = SP_UNKNOWN_PROXY;
        return false;
    }
    __u32 destination = ip->daddr;
    outer->keys = sp_keys_or_default(config, bpf_map_lookup_elem(&sp_keys_v4, &destination));
    if (!outer->keys) {
        *counter = SP_NO_KEY;
        return false;
    }
    outer->header = SP_ETH_HLEN + sizeof(*ip) + sizeof(*udp);
    outer->v6 = false;
    outer->ecn = ip->tos & 0x3;
    return true;
}

/* Outer IPv6: the same; UDP must follow the fixed header directly (the proxy sends no extension headers). */
static __always_inline bool sp_outer_v6(struct __sk_buff *skb, const struct sp_config *config, void *data,
                                        void *data_end, struct sp_outer *outer, __u32 *counter)
{
    struct ipv6hdr *ip6 = data + SP_ETH_HLEN;
    *counter = SP_NOT_OURS;
    if ((void *)(ip6 + 1) > data_end)
        return false;
    if (ip6->nexthdr == SP_IPV6_FRAGMENT) {
        /* The first fragment of UDP to our port (next header, reserved, offset and M, identification): dropped
         * as an IPv4 fragment would be. Any other fragment is not ours. */
        __u8 *fragment = (void *)(ip6 + 1);
        struct udphdr *udp = (void *)(fragment + 8);
        if ((void *)(udp + 1) <= data_end && fragment[0] == SP_IPPROTO_UDP &&
            !((((__u16)fragment[2] << 8) | fragment[3]) & SP_IPV6_FRAG_OFFSET) &&
            udp->dest == bpf_htons(config->encap_port)) {
            *counter = SP_OUTER_FRAGMENT;
            return false;
        }
        *counter = sp_unencapsulated_v6(skb, config, ip6);
        return false;
    }
    if (ip6->nexthdr != SP_IPPROTO_UDP) {
        *counter = sp_unencapsulated_v6(skb, config, ip6);
        return false;
    }
    struct udphdr *udp = (void *)(ip6 + 1);
    if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(config->encap_port))
        return false;
    struct sp_in6 address;
    __builtin_memcpy(&address, &ip6->saddr, sizeof(address));
    if (!bpf_map_lookup_elem(&sp_proxies_v6, &address)) {
        *counter = SP_UNKNOWN_PROXY;
        return false;
    }
    __builtin_memcpy(&address, &ip6->daddr, sizeof(address));
    outer->keys = sp_keys_or_default(config, bpf_map_lookup_elem(&sp_keys_v6, &address));
    if (!outer->keys) {
        *counter = SP_NO_KEY;
        return false;
    }
    outer->header = SP_ETH_HLEN + sizeof(*ip6) + sizeof(*udp);
    outer->v6 = true;
    outer->ecn = (((__u8 *)ip6)[1] >> 4) & 0x3; /* the low bits of the traffic class */
    return true;
}

/* A marked packet is only good while the cookie the proxy validated could still validate (epoch.h): the wall
 * clock is TAI less the offset backend.sh measured, as bpf_ktime_get_tai_ns is the only wall clock BPF has. */
static __always_inline bool sp_epoch_current(const struct sp_config *config, __u16 flags)
{
    __u64 now_ms = (bpf_ktime_get_tai_ns() - config->tai_offset_ns) / 1000000;
    return sp_epoch_fresh(now_ms, sp_encap_epoch(flags), config->salt_period_ms, config->grace_ms,
                          config->max_skew_ms);
}

/* RFC 6040 (ecn.h): false when the packet must be dropped (outer CE over a not-ECT inner packet). */
static __always_inline bool sp_ecn_allowed(const __u8 *inner_ip, bool v6, __u8 outer_ecn)
{
    __u8 ecn = v6 ? (inner_ip[1] >> 4) & 0x3 : inner_ip[1] & 0x3;
    return sp_ecn_decap(outer_ecn, &ecn);
}

/* RFC 6040 on the inner header in place, when we decapsulate (sp_ecn_allowed said yes; a packet handed over goes
 * untouched, its previous owner decapsulates). IPv4: the TOS byte and the header checksum; IPv6: the low two bits
 * of the traffic class. */
static __always_inline void sp_ecn_apply(__u8 *inner_ip, bool v6, __u8 outer_ecn)
{
    __u8 old = v6 ? (inner_ip[1] >> 4) & 0x3 : inner_ip[1] & 0x3;
    __u8 ecn = old;
    if (!sp_ecn_decap(outer_ecn, &ecn) || ecn == old)
        return;
    if (v6) {
        inner_ip[1] = (inner_ip[1] & ~0x30) | (ecn << 4);
        return;
    }
    __u16 before = ((__u16)inner_ip[0] << 8) | inner_ip[1];
    inner_ip[1] = (inner_ip[1] & ~0x3) | ecn;
    __u16 after = ((__u16)inner_ip[0] << 8) | inner_ip[1];
    __u16 check = sp_csum_replace16(((__u16)inner_ip[10] << 8) | inner_ip[11], before, after);
    inner_ip[10] = check >> 8;
    inner_ip[11] = check & 0xff;
}

/* Strips the outer IP, UDP and our header (strip bytes behind Ethernet): the client's packet follows the Ethernet
 * header directly. When the families differ, the skb's protocol changes first (which also moves the room by the 20
 * bytes the two IP headers differ by), and the EtherType after. */
static __always_inline bool sp_decap(struct __sk_buff *skb, bool outer_v6, bool inner_v6, __s32 strip,
                                     __u32 *counter)
{
    if (inner_v6 != outer_v6) {
        if (bpf_skb_change_proto(skb, bpf_htons(inner_v6 ? SP_ETH_P_IPV6 : SP_ETH_P_IP), 0) < 0) {
            *counter = SP_MIXED_FAMILY;
            return false;
        }
        strip += inner_v6 ? 20 : -20;
    }
    if (bpf_skb_adjust_room(skb, -strip, BPF_ADJ_ROOM_MAC, 0) < 0) {
        *counter = SP_DECAP_FAILED;
        return false;
    }
    if (inner_v6 != outer_v6) {
        __be16 proto = bpf_htons(inner_v6 ? SP_ETH_P_IPV6 : SP_ETH_P_IP);
        if (bpf_skb_store_bytes(skb, 12, &proto, sizeof(proto), 0) < 0) {
            *counter = SP_DECAP_FAILED;
            return false;
        }
    }
    return true;
}

/* What a validated ACK carries for the kfunc besides its timestamps, and where its TCP header is. */
struct sp_handshake_ack {
    __u32 ack;       /* the ACK's ack field: the cookie + 1 */
    __u32 seq;       /* its seq: the client's ISN + 1 */
    __u32 options;   /* offset of its TCP options, still encapsulated */
    __u32 options_length;
    __u32 tcp;       /* offset of its TCP header after decapsulation */
    __u16 mss;       /* the client's MSS (our header, word 1) */
    __u8 rcv_wscale; /* the proxy's window scale (our header, WScale) */
};

/* A validated ACK whose 4-tuple a TIME_WAIT socket holds (timewait.h): refused (dropped) unless the kernel would
 * let a SYN reopen it; else a copy, still encapsulated, goes back to ingress to be taken once TIME_WAIT is gone,
 * and this one, decapsulated, becomes the RST that ends TIME_WAIT (passed). Consumes the socket reference. */
static __always_inline __u32 sp_handshake_over_timewait(struct __sk_buff *skb, struct bpf_sock *skc,
                                                        const struct sp_outer *outer, bool inner_v6,
                                                        const struct sp_handshake_ack *hs,
                                                        const struct bpf_tcp_req_attrs *attrs, bool retry)
{
    struct tcp_timewait_sock___sp *tw = (void *)bpf_skc_to_tcp_timewait_sock(skc);
    if (!tw || retry) {
        /* Our copy meets TIME_WAIT again: the RST was ignored (tcp_rfc1337=1), or a new entry came meanwhile. */
        bpf_sk_release(skc);
        return SP_TIMEWAIT_REFUSED;
    }
    __u32 rcv_nxt = tw->tw_sk.__tw_common.skc_tw_rcv_nxt;
    bool reopens = sp_timewait_reopens(hs->seq, rcv_nxt, attrs->tstamp_ok, attrs->rcv_tsval, tw->tw_ts_recent,
                                       tw->tw_ts_recent_stamp != 0);
    bpf_sk_release(skc);
    if (!reopens)
        return SP_TIMEWAIT_REFUSED;
    /* The copy first, while the packet is still as the proxy sent it: it is authenticated again on its way back. */
    __u32 mark = skb->mark;
    skb->mark = SP_RETRY_MARK;
    long cloned = bpf_clone_redirect(skb, skb->ifindex, BPF_F_INGRESS);
    skb->mark = mark;
    if (cloned < 0)
        return SP_TIMEWAIT_RETRY_FAILED;
    __u32 counter;
    if (!sp_decap(skb, outer->v6, inner_v6, outer->inner - SP_ETH_HLEN, &counter))
        return counter;
    if (!sp_timewait_rst(skb, hs->tcp, hs->options_length, rcv_nxt))
        return SP_TIMEWAIT_RETRY_FAILED; /* and the copy, meeting TIME_WAIT again, is counted timewait-refused */
    return SP_HANDSHAKE_OVER_TIMEWAIT;
}

/* Creates the connection's request socket from a validated ACK, still encapsulated: the socket lookup comes
 * before decapsulation, as a TIME_WAIT entry needs the packet the proxy sent. */
static __always_inline __u32 sp_handshake(struct __sk_buff *skb, const struct sp_outer *outer, bool inner_v6,
                                          struct bpf_sock_tuple *tuple, __u32 tuple_size,
                                          const struct sp_handshake_ack *hs)
{
    /* Options first, while no socket reference is held: fewer states for the verifier to walk. */
    struct bpf_tcp_req_attrs attrs = {};
    sp_parse_timestamps(skb, hs->options, hs->options_length, &attrs);
    /* Our own copy coming back (sp_handshake_over_timewait): unmarked again before the kernel sees it. */
    bool retry = skb->mark == SP_RETRY_MARK;
    if (retry)
        skb->mark = 0;
    __u32 strip = outer->inner - SP_ETH_HLEN;
    __u32 counter;
    struct bpf_sock *skc = bpf_skc_lookup_tcp(skb, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);
    if (!skc)
        return SP_HANDSHAKE_NO_LISTENER;
    if (skc->state == SP_TCP_TIME_WAIT)
        return sp_handshake_over_timewait(skb, skc, outer, inner_v6, hs, &attrs, retry);
    if (skc->state != SP_TCP_LISTEN) {
        /* A retransmitted ACK, or data after it: the connection already has its socket. */
        bpf_sk_release(skc);
        return sp_decap(skb, outer->v6, inner_v6, strip, &counter) ? SP_HANDSHAKE_EXISTING : counter;
    }
    struct sock *sk = (struct sock *)bpf_skc_to_tcp_sock(skc);
    if (!sk) {
        bpf_sk_release(skc);
        return SP_HANDSHAKE_REFUSED;
    }
    /* The kfunc reads the client's IP header: decapsulated first. */
    if (!sp_decap(skb, outer->v6, inner_v6, strip, &counter)) {
        bpf_sk_release(skc);
        return counter;
    }
    /* The cookie's clear bits: 5 ECN, 4 SACK, 3..0 the client's window scale (15: none); 7..6 are unused now. */
    __u32 cookie = hs->ack - 1;
    __u32 wscale = cookie & 0xf;
    attrs.mss = hs->mss;
    if (wscale != SP_COOKIE_WSCALE_NONE) {
        attrs.wscale_ok = 1;
        attrs.snd_wscale = wscale;
        attrs.rcv_wscale = hs->rcv_wscale;
    }
    attrs.sack_ok = (cookie >> 4) & 1;
    attrs.ecn_ok = (cookie >> 5) & 1;
    int ret = bpf_sk_assign_tcp_reqsk(skb, sk, &attrs, sizeof(attrs));
    bpf_sk_release(skc);
    return ret < 0 ? SP_HANDSHAKE_REFUSED : SP_HANDSHAKE_ASSIGNED;
}

/* Unmarked TCP: passes only if a socket other than a listener owns it (established, closing, a request socket).
 * Looked up before decapsulation: a chained packet no socket owns is handed over as it came. */
static __always_inline bool sp_owned(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple_size)
{
    struct bpf_sock *skc = bpf_skc_lookup_tcp(skb, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);
    if (!skc)
        return false;
    bool owned = skc->state != SP_TCP_LISTEN;
    bpf_sk_release(skc);
    return owned;
}

/* A frame from a proxy (sp_outer_*): our header, the inner packet, authentication, then what it is. */
static __always_inline __u32 sp_encapsulated(struct __sk_buff *skb, const struct sp_config *config,
                                             struct sp_outer *outer)
{
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    __u8 *header = data + outer->header;
    if ((void *)(header + SP_ENCAP_LENGTH) > data_end)
        return SP_MALFORMED;
    bool chained = header[0] == SP_ENCAP_FIRST_BYTE_CHAINED;
    if (header[0] != SP_ENCAP_FIRST_BYTE && !chained)
        return header[0] == SP_ENCAP_FIRST_BYTE_V0 ? SP_BAD_VERSION : SP_MALFORMED;
    bool inner_v6 = header[1] == SP_ENCAP_PROTO_IPV6;
    if (!inner_v6 && header[1] != SP_ENCAP_PROTO_IPV4)
        return SP_MALFORMED;
    /* Checked before the authenticator: another version may cover other bytes. */
    __u16 flags = sp_encap_flags(header);
    if (sp_encap_version(flags) != SP_ENCAP_VERSION)
        return SP_BAD_VERSION;
    bool marked = sp_encap_marked(flags);
    /* The chained form (encap.h): P exactly with Hlen 9, never with H, word 1 nothing but P. */
    if (sp_encap_previous(header) != chained)
        return SP_MALFORMED;
    const __u8 *previous = NULL;
    __u32 inner = outer->header + SP_ENCAP_LENGTH;
    if (chained) {
        if (marked || !sp_encap_chained_word1_ok(header))
            return SP_MALFORMED;
        if ((void *)(header + SP_ENCAP_CHAINED_LENGTH) > data_end)
            return SP_MALFORMED;
        previous = header + SP_ENCAP_PREVIOUS_OFFSET;
        inner = outer->header + SP_ENCAP_CHAINED_LENGTH;
    }
    outer->inner = inner;

    /* The inner IP header, and where its L4 header starts (the same one the proxy authenticated). */
    __u8 *inner_ip = data + inner;
    __u8 *addresses;
    __u32 l4;
    __u8 protocol;
    if (inner_v6) {
        struct ipv6hdr *ip6 = (void *)inner_ip;
        if ((void *)(ip6 + 1) > data_end || ip6->version != 6)
            return SP_MALFORMED;
        l4 = inner + sizeof(*ip6);
        protocol = ip6->nexthdr;
        if (!sp_ipv6_skip_ext(skb, &l4, &protocol, false))
            return SP_MALFORMED;
        if (protocol != SP_IPPROTO_TCP && protocol != SP_IPPROTO_ICMPV6)
            return SP_MALFORMED;
        addresses = (__u8 *)&ip6->saddr;
    } else {
        struct iphdr *ip = (void *)inner_ip;
        if ((void *)(ip + 1) > data_end || ip->version != 4 || ip->ihl < 5)
            return SP_MALFORMED;
        /* The proxy forwards no fragments: a later one has no L4 header to authenticate. */
        if (ip->frag_off & bpf_htons(SP_IP_MF | SP_IP_OFFSET))
            return SP_MALFORMED;
        l4 = inner + ip->ihl * 4;
        protocol = ip->protocol;
        if (protocol != SP_IPPROTO_TCP && protocol != SP_IPPROTO_ICMP)
            return SP_MALFORMED;
        addresses = (__u8 *)&ip->saddr;
    }
    bool tcp = protocol == SP_IPPROTO_TCP;
    if (marked && !tcp)
        return SP_MALFORMED; /* only a handshake ACK is marked */
    /* The L4 header, copied: it lies behind a variable-length chain (IPv4 options, IPv6 extension headers). */
    __u8 l4_header[SP_TCP_HEADER];
    if (tcp) {
        if (bpf_skb_load_bytes(skb, l4, l4_header, SP_TCP_HEADER) < 0 || (l4_header[12] >> 4) < 5)
            return SP_MALFORMED;
    } else if (bpf_skb_load_bytes(skb, l4, l4_header, SP_L4_COVERED) < 0) {
        return SP_MALFORMED;
    }

    if (!sp_auth_verify(outer->keys, header, previous, addresses, inner_v6, l4_header))
        return SP_BAD_AUTH;
    if (marked && !sp_epoch_current(config, flags))
        return SP_STALE_EPOCH;
    if (!sp_ecn_allowed(inner_ip, inner_v6, outer->ecn))
        return SP_CE_NOT_ECT;

    /* What the socket lookups and the handshake need, read before decapsulation moves the packet. */
    struct bpf_sock_tuple tuple = {};
    __u32 tuple_size;
    if (inner_v6) {
        __builtin_memcpy(tuple.ipv6.saddr, addresses, 32);
        __builtin_memcpy(&tuple.ipv6.sport, l4_header, 4);
        tuple_size = sizeof(tuple.ipv6);
    } else {
        __builtin_memcpy(&tuple.ipv4.saddr, addresses, 8);
        __builtin_memcpy(&tuple.ipv4.sport, l4_header, 4);
        tuple_size = sizeof(tuple.ipv4);
    }
    struct sp_handshake_ack hs = {
        .ack = ((__u32)l4_header[8] << 24) | ((__u32)l4_header[9] << 16) | ((__u32)l4_header[10] << 8) |
               l4_header[11],
        .seq = ((__u32)l4_header[4] << 24) | ((__u32)l4_header[5] << 16) | ((__u32)l4_header[6] << 8) |
               l4_header[7],
        .options = l4 + SP_TCP_HEADER,
        .options_length = (l4_header[12] >> 4) * 4 - SP_TCP_HEADER,
        .tcp = SP_ETH_HLEN + (l4 - inner),
        .mss = sp_encap_mss(header),
        .rcv_wscale = sp_encap_wscale(flags),
    };
    __u8 tcp_flags = l4_header[13];
    if (tcp && marked && (tcp_flags & (SP_TCP_ACK | SP_TCP_SYN | SP_TCP_RST)) == SP_TCP_ACK) {
        sp_ecn_apply(inner_ip, inner_v6, outer->ecn);
        return sp_handshake(skb, outer, inner_v6, &tuple, tuple_size, &hs);
    }
    if (tcp && !sp_owned(skb, &tuple, tuple_size))
        return chained ? sp_handover(skb, outer->v6) : SP_NO_SOCKET;

    sp_ecn_apply(inner_ip, inner_v6, outer->ecn);
    __u32 counter;
    if (!sp_decap(skb, outer->v6, inner_v6, inner - SP_ETH_HLEN, &counter))
        return counter;
    return tcp ? SP_FORWARDED : SP_ICMP_PASSED;
}

static __always_inline __u32 sp_process(struct __sk_buff *skb)
{
    __u32 zero = 0;
    const struct sp_config *config = bpf_map_lookup_elem(&sp_config, &zero);
    if (!config || !config->enabled)
        return SP_NOT_OURS;

    /* Headers may sit in page fragments (veth, af_packet): make the ones read in place linear first. */
    __u32 len = skb->len;
    bpf_skb_pull_data(skb, len < SP_PULL ? len : SP_PULL);
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return SP_NOT_OURS;

    struct sp_outer outer = {};
    __u32 counter;
    if (eth->h_proto == bpf_htons(SP_ETH_P_IP)) {
        if (!sp_outer_v4(config, data, data_end, &outer, &counter))
            return counter;
    } else if (eth->h_proto == bpf_htons(SP_ETH_P_IPV6)) {
        if (!sp_outer_v6(skb, config, data, data_end, &outer, &counter))
            return counter;
    } else {
        return SP_NOT_OURS;
    }
    return sp_encapsulated(skb, config, &outer);
}

SEC("tc")
int synproxy_backend(struct __sk_buff *skb)
{
    __u32 counter = sp_process(skb);
    sp_count(counter);
    if (counter == SP_HANDED_OVER)
        return SP_TC_ACT_REDIRECT; /* bpf_redirect was called (handover.h) */
    return sp_passes(counter) ? TC_ACT_OK : TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
