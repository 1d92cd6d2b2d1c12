/*
 * The test runner's reference: what the backend program should do with a frame, written again from the
 * specification (README, "The backends"; native/bpf/encap.h) over plain bytes, without the program's code: its own
 * SipHash-2-4 (byte-oriented, padding done here), its own parser, its own RFC 6040 table and its own epoch search.
 * The mutation fuzz compares the program against it frame by frame.
 */
#ifndef SP_TEST_REFERENCE_H
#define SP_TEST_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "counters.h"

/* ---- SipHash-2-4 over a byte string (Aumasson and Bernstein's reference, reduced) ---- */

static uint64_t ref_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t ref_rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

#define REF_ROUND                                                                                                  \
    do {                                                                                                           \
        v0 += v1; v1 = ref_rotl(v1, 13); v1 ^= v0; v0 = ref_rotl(v0, 32);                                         \
        v2 += v3; v3 = ref_rotl(v3, 16); v3 ^= v2;                                                                \
        v0 += v3; v3 = ref_rotl(v3, 21); v3 ^= v0;                                                                \
        v2 += v1; v1 = ref_rotl(v1, 17); v1 ^= v2; v2 = ref_rotl(v2, 32);                                         \
    } while (0)

static uint64_t ref_siphash(const uint8_t key[16], const uint8_t *message, size_t length)
{
    uint64_t k0 = ref_le64(key), k1 = ref_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0, v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0, v3 = 0x7465646279746573ULL ^ k1;
    size_t full = length - length % 8;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = ref_le64(message + i);
        v3 ^= m;
        REF_ROUND;
        REF_ROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)length << 56;
    for (size_t i = 0; i < length % 8; i++)
        last |= (uint64_t)message[full + i] << (8 * i);
    v3 ^= last;
    REF_ROUND;
    REF_ROUND;
    v0 ^= last;
    v2 ^= 0xff;
    REF_ROUND;
    REF_ROUND;
    REF_ROUND;
    REF_ROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- the configuration, as the runner wrote it into the program's maps ---- */

#define REF_MAX_ENTRIES 8

struct ref_address {
    int family; /* 4 or 6 */
    uint8_t bytes[16];
    uint8_t key[16];    /* for keys: the first key */
    uint8_t second[16]; /* the second (a key rotation's), written to the map whatever keys_flags says */
    uint8_t keys_flags; /* struct sp_keys flags: SP_KEYS_SECOND says whether second counts */
};

/* A previous owner the test namespace can reach (a route and a permanent neighbour entry): what bpf_fib_lookup
 * answers for it. Every other address fails the lookup (no route, no neighbour, or local). */
struct ref_neighbour {
    struct ref_address address;
    uint8_t dmac[6], smac[6];
};

#define REF_MTU 1500 /* of the test's interfaces: a longer hand-over fails the lookup (FRAG_NEEDED) */

struct ref_config {
    bool enabled, strict, has_default_key;
    uint8_t default_key[16], default_second[16];
    uint8_t default_keys_flags;
    uint16_t port;
    uint32_t period_ms, grace_ms, skew_ms;
    struct ref_address proxies[REF_MAX_ENTRIES], vips[REF_MAX_ENTRIES], keys[REF_MAX_ENTRIES];
    int proxy_count, vip_count, key_count;
    struct ref_neighbour neighbours[REF_MAX_ENTRIES];
    int neighbour_count;
};

static const struct ref_address *ref_find(const struct ref_address *list, int count, int family,
                                          const uint8_t *bytes)
{
    for (int i = 0; i < count; i++)
        if (list[i].family == family && !memcmp(list[i].bytes, bytes, family == 4 ? 4 : 16))
            return &list[i];
    return NULL;
}

/* ---- the classification ---- */

static uint16_t ref_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* What the program should do with a frame: a set of acceptable counters (one, except where only the socket table
 * or the clock decides), and where the pieces are. */
struct ref_result {
    uint32_t allowed;  /* bit per counter */
    bool authentic;    /* reached the authenticator and it verifies (or would, once signed) */
    bool by_second;    /* authentic under the second key of a rotation only */
    bool signable;     /* reached the authenticator: ref_sign can make it verify */
    size_t header;     /* our header's offset */
    size_t inner;      /* the inner IP header's offset */
    size_t l4;         /* the inner L4 header's offset */
    bool outer_v6, inner_v6;
    bool chained;      /* our header is the chained one (40 bytes, a previous owner) */
    uint8_t outer_ecn;
    const uint8_t *key;    /* the key that authenticates it: the first one */
    const uint8_t *second; /* and the second, during a key rotation (else NULL) */
    uint8_t message[68];   /* what the authenticator covers */
    size_t message_length;
    const struct ref_neighbour *next_hop; /* handed over: what the FIB lookup answered */
};

#define REF_BIT(c) (1u << (c))

/* IPv6 extension headers as the specification lists them: at most 4 of hop-by-hop, routing, destination options,
 * and fragment headers only where allowed. False when the chain is refused or cut off. */
static bool ref_ipv6_chain(const uint8_t *f, size_t len, size_t *offset, uint8_t *next, bool fragment_ok)
{
    for (int count = 0;; count++) {
        uint8_t kind = *next;
        bool ext = kind == 0 || kind == 43 || kind == 60;
        if (!ext && kind != 44)
            return true;
        if (count == 4 || (kind == 44 && !fragment_ok))
            return false;
        if (*offset + 2 > len)
            return false;
        *next = f[*offset];
        *offset += kind == 44 ? 8 : ((size_t)f[*offset + 1] + 1) * 8;
    }
}

/* Epoch search by brute force: every e with the right low 8 bits anywhere near now. */
static bool ref_epoch_fresh(uint64_t now_ms, uint8_t epoch, uint32_t period, uint32_t grace, uint32_t skew)
{
    if (period == 0)
        return false;
    int64_t center = (int64_t)(now_ms / period);
    for (int64_t e = center - 600; e <= center + 600; e++) {
        if (e < 0 || (e & 0xff) != epoch)
            continue;
        int64_t start = e * (int64_t)period, now = (int64_t)now_ms;
        if (start - skew <= now && now <= start + period + grace + skew)
            return true;
    }
    return false;
}

/* The previous owner's address as a family and bytes: IPv4-mapped (::ffff:a.b.c.d) is IPv4. */
static int ref_previous_family(const uint8_t *previous)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(previous, mapped, 12) ? 6 : 4;
}

static const struct ref_neighbour *ref_find_neighbour(const struct ref_config *c, const uint8_t *previous)
{
    int family = ref_previous_family(previous);
    const uint8_t *bytes = family == 4 ? previous + 12 : previous;
    for (int i = 0; i < c->neighbour_count; i++)
        if (c->neighbours[i].address.family == family &&
            !memcmp(c->neighbours[i].address.bytes, bytes, family == 4 ? 4 : 16))
            return &c->neighbours[i];
    return NULL;
}

/* A chained packet no socket owns (handover.h): refused when its previous owner is of the other family or the
 * outer destination, its TTL / hop limit would reach 0 or its outer lengths disagree with the frame; failed when
 * the namespace has no way there (or the result exceeds the MTU); else handed over. */
static int ref_handover(const uint8_t *f, size_t len, const struct ref_config *c, struct ref_result *r)
{
    const uint8_t *previous = f + r->header + 24;
    size_t length; /* the outer IP packet after the hand-over */
    if (!r->outer_v6) {
        const uint8_t *ip = f + 14;
        uint16_t total = ref_be16(ip + 2);
        if (ref_previous_family(previous) != 4 || !memcmp(previous + 12, ip + 16, 4))
            return SP_HANDOVER_REFUSED;
        if (total != len - 14 || ref_be16(f + 34 + 4) != total - 20 || ip[8] <= 1)
            return SP_HANDOVER_REFUSED;
        length = total - 24;
    } else {
        uint16_t payload = ref_be16(f + 18);
        if (ref_previous_family(previous) != 6 || !memcmp(previous, f + 38, 16))
            return SP_HANDOVER_REFUSED;
        if (payload != len - 54 || ref_be16(f + 54 + 4) != payload || f[21] <= 1)
            return SP_HANDOVER_REFUSED;
        length = 40 + payload - 24;
    }
    r->next_hop = ref_find_neighbour(c, previous);
    if (!r->next_hop || length > REF_MTU)
        return SP_HANDOVER_FAILED;
    return SP_HANDED_OVER;
}

static void ref_final(struct ref_result *r, int counter)
{
    r->allowed = REF_BIT(counter);
}

static void ref_strict_v4(const struct ref_config *c, const uint8_t *ip, struct ref_result *r)
{
    bool blocked = c->strict && ip[9] == 6 && ref_find(c->vips, c->vip_count, 4, ip + 16);
    ref_final(r, blocked ? SP_NOT_ENCAPSULATED : SP_NOT_OURS);
}

static void ref_strict_v6(const struct ref_config *c, const uint8_t *f, size_t len, struct ref_result *r)
{
    if (!c->strict || !ref_find(c->vips, c->vip_count, 6, f + 38)) {
        ref_final(r, SP_NOT_OURS);
        return;
    }
    size_t offset = 54;
    uint8_t next = f[20];
    bool known = ref_ipv6_chain(f, len, &offset, &next, true);
    ref_final(r, !known || next == 6 ? SP_NOT_ENCAPSULATED : SP_NOT_OURS);
}

/* Classifies a frame of len >= 14 bytes (shorter ones never reach a tc program). now_ms: the wall clock. */
static void ref_classify(const uint8_t *f, size_t len, const struct ref_config *c, uint64_t now_ms,
                         struct ref_result *r)
{
    memset(r, 0, sizeof(*r));
    if (!c->enabled) {
        ref_final(r, SP_NOT_OURS);
        return;
    }
    uint16_t type = ref_be16(f + 12);
    const struct ref_address *own;
    if (type == 0x0800) {
        const uint8_t *ip = f + 14;
        if (len < 34) {
            ref_final(r, SP_NOT_OURS);
            return;
        }
        unsigned ihl = ip[0] & 0xf;
        uint16_t frag = ref_be16(ip + 6);
        if (ip[9] != 17) {
            ref_strict_v4(c, ip, r);
            return;
        }
        size_t udp = 14 + ihl * 4;
        if ((frag & 0x1fff) || ihl < 5 || len < udp + 8 || ref_be16(f + udp + 2) != c->port) {
            ref_final(r, SP_NOT_OURS);
            return;
        }
        if (ihl != 5) {
            ref_final(r, SP_OUTER_OPTIONS);
            return;
        }
        if (frag & 0x2000) {
            ref_final(r, SP_OUTER_FRAGMENT);
            return;
        }
        if (!ref_find(c->proxies, c->proxy_count, 4, ip + 12)) {
            ref_final(r, SP_UNKNOWN_PROXY);
            return;
        }
        own = ref_find(c->keys, c->key_count, 4, ip + 16);
        r->header = 14 + 20 + 8;
        r->outer_ecn = ip[1] & 3;
    } else if (type == 0x86dd) {
        if (len < 54) {
            ref_final(r, SP_NOT_OURS);
            return;
        }
        uint8_t next = f[20];
        if (next == 44) {
            bool first_to_us = len >= 54 + 8 + 8 && f[54] == 17 && !(ref_be16(f + 56) & 0xfff8) &&
                               ref_be16(f + 62 + 2) == c->port;
            if (first_to_us)
                ref_final(r, SP_OUTER_FRAGMENT);
            else
                ref_strict_v6(c, f, len, r);
            return;
        }
        if (next != 17) {
            ref_strict_v6(c, f, len, r);
            return;
        }
        if (len < 62 || ref_be16(f + 56) != c->port) {
            ref_final(r, SP_NOT_OURS);
            return;
        }
        if (!ref_find(c->proxies, c->proxy_count, 6, f + 22)) {
            ref_final(r, SP_UNKNOWN_PROXY);
            return;
        }
        own = ref_find(c->keys, c->key_count, 6, f + 38);
        r->header = 14 + 40 + 8;
        r->outer_v6 = true;
        r->outer_ecn = (f[15] >> 4) & 3;
    } else {
        ref_final(r, SP_NOT_OURS);
        return;
    }
    r->key = own ? own->key : c->has_default_key ? c->default_key : NULL;
    if (!r->key) {
        ref_final(r, SP_NO_KEY);
        return;
    }
    uint8_t keys_flags = own ? own->keys_flags : c->default_keys_flags;
    if (keys_flags & 0x01) /* SP_KEYS_SECOND */
        r->second = own ? own->second : c->default_second;

    const uint8_t *h = f + r->header;
    if (len < r->header + 16) {
        ref_final(r, SP_MALFORMED);
        return;
    }
    if (h[0] != 0x03 && h[0] != 0x09) {
        ref_final(r, h[0] == 0x02 ? SP_BAD_VERSION : SP_MALFORMED);
        return;
    }
    if (h[1] != 4 && h[1] != 41) {
        ref_final(r, SP_MALFORMED);
        return;
    }
    uint16_t flags = ref_be16(h + 2);
    if (((flags >> 12) & 7) != 1) {
        ref_final(r, SP_BAD_VERSION);
        return;
    }
    bool marked = flags & 0x8000;
    /* The chained header: first byte 0x09 exactly when P (bytes 6-7, 0x8000), never with H, word 1 P alone. */
    r->chained = h[0] == 0x09;
    bool previous = ref_be16(h + 6) & 0x8000;
    if (previous != r->chained || (r->chained && (marked || ref_be16(h + 4) != 0 || ref_be16(h + 6) != 0x8000)) ||
        (r->chained && len < r->header + 40)) {
        ref_final(r, SP_MALFORMED);
        return;
    }
    r->inner = r->header + (r->chained ? 40 : 16);
    r->inner_v6 = h[1] == 41;
    const uint8_t *in = f + r->inner;
    uint8_t protocol;
    size_t addresses_length = r->inner_v6 ? 32 : 8;
    if (r->inner_v6) {
        if (len < r->inner + 40 || (in[0] >> 4) != 6) {
            ref_final(r, SP_MALFORMED);
            return;
        }
        r->l4 = r->inner + 40;
        protocol = in[6];
        if (!ref_ipv6_chain(f, len, &r->l4, &protocol, false) || (protocol != 6 && protocol != 58)) {
            ref_final(r, SP_MALFORMED);
            return;
        }
    } else {
        if (len < r->inner + 20 || (in[0] >> 4) != 4 || (in[0] & 0xf) < 5 || (ref_be16(in + 6) & 0x3fff)) {
            ref_final(r, SP_MALFORMED);
            return;
        }
        r->l4 = r->inner + (in[0] & 0xf) * 4;
        protocol = in[9];
        if (protocol != 6 && protocol != 1) {
            ref_final(r, SP_MALFORMED);
            return;
        }
    }
    bool tcp = protocol == 6;
    if ((marked && !tcp) || len < r->l4 + (tcp ? 20 : 12) || (tcp && (f[r->l4 + 12] >> 4) < 5)) {
        ref_final(r, SP_MALFORMED);
        return;
    }

    /* The authenticator. */
    r->signable = true;
    size_t m = 0;
    memcpy(r->message, h, 8);
    m += 8;
    if (r->chained) { /* the previous owner's address after the header's first 8 bytes */
        memcpy(r->message + m, h + 24, 16);
        m += 16;
    }
    memcpy(r->message + m, in + (r->inner_v6 ? 8 : 12), addresses_length);
    m += addresses_length;
    memcpy(r->message + m, f + r->l4, 12);
    r->message_length = m + 12;
    uint64_t carried = 0;
    for (int i = 0; i < 8; i++)
        carried = (carried << 8) | h[8 + i];
    bool by_first = carried == ref_siphash(r->key, r->message, r->message_length);
    r->by_second = !by_first && r->second && carried == ref_siphash(r->second, r->message, r->message_length);
    r->authentic = by_first || r->by_second;
    if (!r->authentic) {
        ref_final(r, SP_BAD_AUTH);
        return;
    }
    if (marked && !ref_epoch_fresh(now_ms, (flags >> 4) & 0xff, c->period_ms, c->grace_ms, c->skew_ms)) {
        ref_final(r, SP_STALE_EPOCH);
        return;
    }
    uint8_t inner_ecn = r->inner_v6 ? (in[1] >> 4) & 3 : in[1] & 3;
    if (r->outer_ecn == 3 && inner_ecn == 0) {
        ref_final(r, SP_CE_NOT_ECT);
        return;
    }
    if (!tcp) {
        ref_final(r, SP_ICMP_PASSED);
        return;
    }
    uint8_t tcp_flags = f[r->l4 + 13];
    if (marked && (tcp_flags & 0x16) == 0x10)
        r->allowed = REF_BIT(SP_HANDSHAKE_ASSIGNED) | REF_BIT(SP_HANDSHAKE_EXISTING) |
                     REF_BIT(SP_HANDSHAKE_OVER_TIMEWAIT) | REF_BIT(SP_TIMEWAIT_REFUSED) |
                     REF_BIT(SP_TIMEWAIT_RETRY_FAILED) | REF_BIT(SP_HANDSHAKE_NO_LISTENER) |
                     REF_BIT(SP_HANDSHAKE_REFUSED);
    else if (r->chained)
        r->allowed = REF_BIT(SP_FORWARDED) | REF_BIT(ref_handover(f, len, c, r));
    else
        r->allowed = REF_BIT(SP_FORWARDED) | REF_BIT(SP_NO_SOCKET);
}

/* Writes the authenticator a proxy holding the key would write, when the frame gets that far: with the second key
 * when asked and there is one (a proxy on the other side of a key rotation). */
static bool ref_sign(uint8_t *f, size_t len, const struct ref_config *c, bool second)
{
    struct ref_result r;
    ref_classify(f, len, c, 0, &r);
    if (!r.signable)
        return false;
    uint64_t tag = ref_siphash(second && r.second ? r.second : r.key, r.message, r.message_length);
    for (int i = 0; i < 8; i++)
        f[r.header + 8 + i] = (uint8_t)(tag >> (56 - 8 * i));
    return true;
}

/* RFC 6040 section 4.2's table, indexed [inner][outer] by codepoint (0 not-ECT, 1 ECT(1), 2 ECT(0), 3 CE; the RFC
 * prints its columns in the order not-ECT, ECT(0), ECT(1), CE); -1 = drop. */
static const int ref_ecn_table[4][4] = {
    /* inner not-ECT */ {0, 0, 0, -1},
    /* inner ECT(1) */ {1, 1, 1, 3},
    /* inner ECT(0) */ {2, 1, 2, 3},
    /* inner CE */ {3, 3, 3, 3},
};

/* The Internet checksum of an IPv4 header, computed whole (RFC 1071). */
static uint16_t ref_ip_checksum(const uint8_t *header, size_t length)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2)
        sum += ref_be16(header + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

#endif
