// SPDX-License-Identifier: GPL-2.0
/*
 * synproxy's backend program (tc ingress). The proxy sends validated handshake ACKs and all other client traffic
 * for its VIPs encapsulated: outer IP | UDP (port from sp_config) | 12-byte header | the client's IP packet
 * (wire format: src/main/java/io/synproxy/packet/EncapHeader.java). Here we
 *   - pass everything that is not ours untouched;
 *   - drop, counted, what is ours but unauthenticated or malformed;
 *   - decapsulate the rest, then
 *       a marked (H) ACK: find the listener and create the request socket from the cookie's options
 *         (bpf_sk_assign_tcp_reqsk): the kernel turns it into a full socket at once, no SYN ever seen;
 *       anything else: pass it only if an established socket owns it, so a forged ACK flood costs a lookup.
 * The proxy validated the cookie; this program checks the proxy (the authenticator), not the cookie.
 */
#include "vmlinux.h"

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "maps.h"
#include "siphash.h"

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define ENCAP_LENGTH 12
#define ENCAP_FIRST_BYTE 0x02
#define ENCAP_FLAG_HANDSHAKE 0x8000
#define ENCAP_WSCALE_MASK 0x000f
#define COOKIE_WSCALE_NONE 0xf
#define TCP_LISTEN_STATE 10
#define TCP_OPTIONS_MAX 40

extern int bpf_sk_assign_tcp_reqsk(struct __sk_buff *skb, struct sock *sk, struct bpf_tcp_req_attrs *attrs,
                                   int attrs__sz) __ksym;

static __always_inline void set_timestamps(struct bpf_tcp_req_attrs *attrs, const __u8 *ts)
{
    attrs->tstamp_ok = 1;
    attrs->rcv_tsval = ((__u32)ts[0] << 24) | ((__u32)ts[1] << 16) | ((__u32)ts[2] << 8) | ts[3];
    attrs->rcv_tsecr = ((__u32)ts[4] << 24) | ((__u32)ts[5] << 16) | ((__u32)ts[6] << 8) | ts[7];
}

struct option_walk {
    __u8 buf[64];
    __u8 ts[8];
    __u32 off;
    __u32 length;
    __u32 found;
};

/* One option of the walk: returns 1 to stop. */
static long option_step(__u32 index, void *data)
{
    struct option_walk *walk = data;
    __u32 off = walk->off;
    if (off >= walk->length || off >= TCP_OPTIONS_MAX)
        return 1;
    __u8 kind = walk->buf[off & 63];
    if (kind == 0)
        return 1;
    if (kind == 1) {
        walk->off = off + 1;
        return 0;
    }
    __u8 size = walk->buf[(off + 1) & 63];
    if (size < 2 || off + size > walk->length)
        return 1;
    if (kind == 8 && size == 10) {
        for (int i = 0; i < 8; i++)
            walk->ts[i] = walk->buf[(off + 2 + i) & 63];
        walk->found = 1;
        return 1;
    }
    walk->off = off + size;
    return 0;
}

/* The timestamps of an ACK's options, if present: walked in a stack copy; every index masked into the buffer. */
static __always_inline void parse_timestamps(struct __sk_buff *skb, __u32 options_offset, __u32 length,
                                             struct bpf_tcp_req_attrs *attrs)
{
    __u8 buf[64] = {};
    if (length == 0 || length > TCP_OPTIONS_MAX)
        return;
    if (bpf_skb_load_bytes(skb, options_offset, buf, length & 0x3f) < 0)
        return;
    /* Linux and most stacks send NOP NOP TS, or TS first: take those without walking (constant indexes). */
    if (length >= 12 && buf[0] == 1 && buf[1] == 1 && buf[2] == 8 && buf[3] == 10) {
        set_timestamps(attrs, buf + 4);
        return;
    }
    if (length >= 10 && buf[0] == 8 && buf[1] == 10) {
        set_timestamps(attrs, buf + 2);
        return;
    }
    /* Anything else: walked with bpf_loop, whose callback the verifier checks once (an open-coded loop over
     * every option layout exceeds its budget). */
    struct option_walk walk = {.length = length};
    __builtin_memcpy(walk.buf, buf, sizeof(buf));
    bpf_loop(TCP_OPTIONS_MAX, option_step, &walk, 0);
    if (walk.found)
        set_timestamps(attrs, walk.ts);
}

/* Creates the connection's request socket from a validated ACK; returns the tc verdict. */
static __always_inline int handshake(struct __sk_buff *skb, const struct sp_config *config,
                                     struct bpf_sock_tuple *tuple, __u32 tuple_size, int v6, __u32 ack,
                                     __u32 options_offset, __u32 options_length, __u16 flags)
{
    /* Options first, while no socket reference is held: fewer states for the verifier to walk. */
    struct bpf_tcp_req_attrs attrs = {};
    parse_timestamps(skb, options_offset, options_length, &attrs);
    struct bpf_sock *skc = bpf_skc_lookup_tcp(skb, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);
    if (!skc) {
        sp_count(SP_HANDSHAKE_NO_LISTENER);
        return TC_ACT_SHOT;
    }
    if (skc->state != TCP_LISTEN_STATE) {
        /* A retransmitted ACK, or data after it: the connection already has its socket. */
        bpf_sk_release(skc);
        sp_count(SP_HANDSHAKE_EXISTING);
        return TC_ACT_OK;
    }
    struct sock *sk = (struct sock *)bpf_skc_to_tcp_sock(skc);
    if (!sk) {
        bpf_sk_release(skc);
        sp_count(SP_HANDSHAKE_REFUSED);
        return TC_ACT_SHOT;
    }
    __u32 cookie = ack - 1;
    __u32 mss_index = (cookie >> 6) & 3;
    __u32 wscale = cookie & 0xf;
    attrs.mss = v6 ? config->mss_v6[mss_index & 3] : config->mss_v4[mss_index & 3];
    if (wscale != COOKIE_WSCALE_NONE) {
        attrs.wscale_ok = 1;
        attrs.snd_wscale = wscale;
        attrs.rcv_wscale = flags & ENCAP_WSCALE_MASK;
    }
    attrs.sack_ok = (cookie >> 4) & 1;
    attrs.ecn_ok = (cookie >> 5) & 1;
    int ret = bpf_sk_assign_tcp_reqsk(skb, sk, &attrs, sizeof(attrs));
    bpf_sk_release(skc);
    if (ret < 0) {
        sp_count(SP_HANDSHAKE_REFUSED);
        return TC_ACT_SHOT;
    }
    sp_count(SP_HANDSHAKE_ASSIGNED);
    return TC_ACT_OK;
}

/* Unmarked traffic: passes only if an established (non-listening) socket owns it. */
static __always_inline int forward(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple_size)
{
    struct bpf_sock *skc = bpf_skc_lookup_tcp(skb, tuple, tuple_size, BPF_F_CURRENT_NETNS, 0);
    if (skc) {
        int established = skc->state != TCP_LISTEN_STATE;
        bpf_sk_release(skc);
        if (established) {
            sp_count(SP_FORWARDED);
            return TC_ACT_OK;
        }
    }
    sp_count(SP_NO_SOCKET);
    return TC_ACT_SHOT;
}

SEC("tc")
int synproxy_backend(struct __sk_buff *skb)
{
    __u32 zero = 0;
    const struct sp_config *config = bpf_map_lookup_elem(&sp_config, &zero);
    if (!config || !config->enabled)
        return TC_ACT_OK;

    /* Headers may sit in page fragments (veth, af_packet): make the ones we read linear first. Outer Ethernet,
     * IPv6, UDP and our header, then the inner IP and TCP headers at their longest. */
    __u32 want = 14 + 40 + 8 + ENCAP_LENGTH + 60 + 60;
    __u32 len = skb->len;
    bpf_skb_pull_data(skb, want < len ? want : len);
    void *data = (void *)(long)skb->data;
    void *data_end = (void *)(long)skb->data_end;
    struct ethhdr *eth = data;
    if ((void *)(eth + 1) > data_end)
        return TC_ACT_OK;

    /* Outer header: ours only if UDP to the encapsulation port. */
    int outer_v6 = 0;
    __u32 outer_length;
    struct udphdr *udp;
    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr *ip = (void *)(eth + 1);
        if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_UDP_)
            return TC_ACT_OK;
        if (ip->ihl != 5 || (ip->frag_off & bpf_htons(0x3fff)))
            return TC_ACT_OK;
        udp = (void *)(ip + 1);
        if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(config->encap_port))
            return TC_ACT_OK;
        __u32 source = ip->saddr;
        if (!bpf_map_lookup_elem(&sp_proxies_v4, &source)) {
            sp_count(SP_UNKNOWN_PROXY);
            return TC_ACT_SHOT;
        }
        outer_length = sizeof(*ip) + sizeof(*udp) + ENCAP_LENGTH;
    } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr *ip6 = (void *)(eth + 1);
        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_UDP_)
            return TC_ACT_OK;
        udp = (void *)(ip6 + 1);
        if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(config->encap_port))
            return TC_ACT_OK;
        struct sp_in6 source;
        __builtin_memcpy(&source, &ip6->saddr, sizeof(source));
        if (!bpf_map_lookup_elem(&sp_proxies_v6, &source)) {
            sp_count(SP_UNKNOWN_PROXY);
            return TC_ACT_SHOT;
        }
        outer_v6 = 1;
        outer_length = sizeof(*ip6) + sizeof(*udp) + ENCAP_LENGTH;
    } else {
        return TC_ACT_OK;
    }

    __u8 *encap = (void *)(udp + 1);
    if ((void *)(encap + ENCAP_LENGTH) > data_end || encap[0] != ENCAP_FIRST_BYTE) {
        sp_count(SP_MALFORMED);
        return TC_ACT_SHOT;
    }
    int inner_v6 = encap[1] == 41;
    if (!inner_v6 && encap[1] != 4) {
        sp_count(SP_MALFORMED);
        return TC_ACT_SHOT;
    }
    __u16 flags = ((__u16)encap[2] << 8) | encap[3];

    /* The authenticator: SipHash-2-4 over header word, ack, inner addresses, ports and seq (EncapHeader). */
    __u64 words[7] = {};
    struct tcphdr *tcp;
    void *inner = encap + ENCAP_LENGTH;
    if (inner_v6) {
        struct ipv6hdr *ip6 = inner;
        if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_TCP_) {
            sp_count(SP_MALFORMED);
            return TC_ACT_SHOT;
        }
        tcp = (void *)(ip6 + 1);
        if ((void *)(tcp + 1) > data_end) {
            sp_count(SP_MALFORMED);
            return TC_ACT_SHOT;
        }
        __builtin_memcpy(&words[1], &ip6->saddr, 32);
        __builtin_memcpy(&words[5], tcp, 8);
        words[6] = 48ULL << 56;
    } else {
        struct iphdr *ip = inner;
        if ((void *)(ip + 1) > data_end || ip->protocol != IPPROTO_TCP_ || ip->ihl < 5) {
            sp_count(SP_MALFORMED);
            return TC_ACT_SHOT;
        }
        tcp = inner + ip->ihl * 4;
        if ((void *)(tcp + 1) > data_end) {
            sp_count(SP_MALFORMED);
            return TC_ACT_SHOT;
        }
        __builtin_memcpy(&words[1], &ip->saddr, 8);
        __builtin_memcpy(&words[2], tcp, 8);
        words[3] = 24ULL << 56;
    }
    __u32 first_word, ack_wire;
    __builtin_memcpy(&first_word, encap, 4);
    __builtin_memcpy(&ack_wire, &tcp->ack_seq, 4);
    words[0] = (__u64)first_word | ((__u64)ack_wire << 32);
    __u64 expected = sp_siphash(config->auth_k0, config->auth_k1, words, inner_v6 ? 7 : 4);
    __u64 carried;
    __builtin_memcpy(&carried, encap + 4, 8);
    if (bpf_be64_to_cpu(carried) != expected) {
        sp_count(SP_BAD_AUTH);
        return TC_ACT_SHOT;
    }

    /* What the rest needs, read before decapsulation moves the packet. */
    __u32 ack = bpf_ntohl(tcp->ack_seq);
    int handshake_ack = (flags & ENCAP_FLAG_HANDSHAKE) && tcp->ack && !tcp->syn && !tcp->rst;
    __u32 tcp_offset = (__u32)((void *)tcp - data) - outer_length;
    __u32 options_length = tcp->doff > 5 ? tcp->doff * 4 - 20 : 0;
    struct bpf_sock_tuple tuple = {};
    __u32 tuple_size;
    if (inner_v6) {
        struct ipv6hdr *ip6 = inner;
        __builtin_memcpy(tuple.ipv6.saddr, &ip6->saddr, 16);
        __builtin_memcpy(tuple.ipv6.daddr, &ip6->daddr, 16);
        tuple.ipv6.sport = tcp->source;
        tuple.ipv6.dport = tcp->dest;
        tuple_size = sizeof(tuple.ipv6);
    } else {
        struct iphdr *ip = inner;
        tuple.ipv4.saddr = ip->saddr;
        tuple.ipv4.daddr = ip->daddr;
        tuple.ipv4.sport = tcp->source;
        tuple.ipv4.dport = tcp->dest;
        tuple_size = sizeof(tuple.ipv4);
    }

    /* Strip the outer IP, UDP and our header: the client's packet follows the Ethernet header directly. When the
     * families differ, the skb's protocol changes first (which also moves the room by the 20 bytes the two IP
     * headers differ by), and the EtherType after. */
    __s32 strip = outer_length;
    if (inner_v6 != outer_v6) {
        if (bpf_skb_change_proto(skb, bpf_htons(inner_v6 ? ETH_P_IPV6 : ETH_P_IP), 0) < 0) {
            sp_count(SP_MIXED_FAMILY);
            return TC_ACT_SHOT;
        }
        strip += inner_v6 ? 20 : -20;
    }
    if (bpf_skb_adjust_room(skb, -strip, BPF_ADJ_ROOM_MAC, 0) < 0) {
        sp_count(SP_DECAP_FAILED);
        return TC_ACT_SHOT;
    }
    if (inner_v6 != outer_v6) {
        __be16 proto = bpf_htons(inner_v6 ? ETH_P_IPV6 : ETH_P_IP);
        if (bpf_skb_store_bytes(skb, 12, &proto, sizeof(proto), 0) < 0) {
            sp_count(SP_DECAP_FAILED);
            return TC_ACT_SHOT;
        }
    }
    if (handshake_ack)
        return handshake(skb, config, &tuple, tuple_size, inner_v6, ack, tcp_offset + 20, options_length, flags);
    return forward(skb, &tuple, tuple_size);
}

char _license[] SEC("license") = "GPL";
