/*
 * The ACK line: an IPv4 handshake ACK to the VIP whose cookie validates is encapsulated to its Maglev backend, as
 * ParseStage.v4, AckStage (v4, finish), EncapStage.encapsulate and AuthLanes do it, in the same passes:
 *   1. per frame: the checks, the flow hash, the cookie's epoch bit and the timestamp echo; its SipHash message is
 *      queued in the group of the salt the epoch bit names;
 *   2. per group: the messages hashed together in SIMD lanes under the group's salt, and each cookie (and echo)
 *      compared;
 *   3. per valid ACK: the Maglev lookup and the outer Ethernet, IPv4, UDP and encapsulation headers written in the
 *      headroom in front of the client's IP packet, the authenticator's message queued under the backend's key;
 *   4. the burst's authenticators hashed together in SIMD lanes and written.
 * What the Java engine forwards unmarked (an ACK whose cookie fails, other TCP to the VIP) is dropped here and counted
 * by reason: this line measures the handshake path only.
 */
#include <rte_branch_prediction.h>
#include <rte_prefetch.h>

#include "baseline.h"

/* The outer headers in front of the client's IP packet: Ethernet, IPv4, UDP, the encapsulation header. */
#define ENCAP_LEN 16
#define OUTER_V4 (ETH_LEN + IPV4_MIN_LEN + UDP_LEN + ENCAP_LEN)
/* Encapsulation header fields (packet/EncapHeader.java). */
#define ENCAP_FIRST_BYTE 0x03u           /* version 0, C 0, Hlen 3 */
#define ENCAP_PROTOCOL_IPV4 4u
#define ENCAP_FLAG_HANDSHAKE 0x8000u
#define ENCAP_VERSION 1u
#define ENCAP_VERSION_SHIFT 12
#define ENCAP_EPOCH_SHIFT 4
#define ENCAP_AUTH_MSG_LEN_V4 28         /* header words 0-1, inner addresses, first 12 transport bytes */
/* NOP, NOP, timestamps: the option block Linux sends on every segment once timestamps are on (12 bytes). */
#define NOP_NOP_TIMESTAMPS 0x0101080au
#define NOT_VALID INT64_MIN

/* ACKs of one burst waiting for their cookie checks under one salt (AckLanes). */
struct ack_group {
	struct sip_batch batch;
	unsigned count;
	int owner[BURST];          /* -1: this group encapsulates it; else its lane in the previous-epoch group */
	uint16_t frame[BURST];     /* the frame's index in the burst */
	uint8_t *ip[BURST];
	uint8_t *tcp[BURST];
	uint16_t total_length[BURST];
	uint64_t flow[BURST];
	uint32_t cookie[BURST];
	bool ts[BURST];
	uint32_t tsecr[BURST];
	int64_t epoch[BURST];      /* after the check: the epoch that issued the cookie, or NOT_VALID */
};

/* A checked ACK, ready for its group. */
struct ack {
	struct v4_tcp f;
	uint64_t flow;
	uint32_t cookie;           /* acknowledgment number - 1 */
	uint32_t isn;              /* sequence number - 1 */
	bool ts;
	uint32_t tsecr;
};

/* FlowHash.v4: k0 + k1 * (client address) + k2 * (VIP address) + k3 * (ports), each piece 32 bits, mod 2^64. */
static inline uint64_t flow_hash_v4(const struct keys *k, uint64_t addresses, uint32_t ports)
{
	return k->flow_k[0] + k->flow_k[1] * (addresses & 0xffffffffULL) + k->flow_k[2] * (addresses >> 32)
		+ k->flow_k[3] * ports;
}

/*
 * Whether an ACK carries a timestamp option, and its TSecr: Linux's layout is one compare, anything else walked; a
 * malformed list counts as none (as the backend's kernel would read it).
 */
static inline bool ack_timestamps(const uint8_t *tcp, unsigned tcp_length, uint32_t *tsecr)
{
	if (tcp_length == TCP_MIN_LEN + 12 && load_be32(tcp + TCP_MIN_LEN) == NOP_NOP_TIMESTAMPS) {
		*tsecr = load_be32(tcp + TCP_MIN_LEN + 8);
		return true;
	}
	struct tcp_options o;
	if (tcp_length > TCP_MIN_LEN && parse_options(tcp + TCP_MIN_LEN, tcp_length - TCP_MIN_LEN, &o) && o.ts) {
		*tsecr = o.tsecr;
		return true;
	}
	return false;
}

static inline bool is_current(const struct keys *k, unsigned bits)
{
	return ((bits >> COOKIE_EPOCH_SHIFT) & 1) == k->parity;
}

/* Every check of the ACK path before the cookie's hash, in the Java engine's order. */
static inline enum drop_reason check_ack(const struct engine *e, struct rte_mbuf *m, struct ack *a)
{
	const enum drop_reason reason = parse_v4_tcp(m, &a->f);
	if (reason != DROP_NONE)
		return reason;
	const unsigned flags = a->f.flags;
	if ((flags & (TCP_SYN | TCP_ACK)) == TCP_SYN)
		return DROP_NOT_HANDSHAKE_ACK;
	/* Java hashes the flow of everything that is not a SYN (unmarked traffic needs it too). */
	a->flow = flow_hash_v4(&e->keys, load_le64(a->f.ip + 12), load_le32(a->f.tcp));
	if ((flags & (TCP_ACK | TCP_SYN | TCP_RST)) != TCP_ACK)
		return DROP_NOT_HANDSHAKE_ACK;
	a->cookie = load_be32(a->f.tcp + 8) - 1;
	const unsigned bits = a->cookie & COOKIE_OPTION_MASK;
	/* An epoch bit naming a salt no longer (or not yet) accepted: no hash can validate it. */
	if (!is_current(&e->keys, bits) && !e->keys.previous_valid && !e->keys.next_valid)
		return DROP_ACK_NOT_VALIDATED;
	a->tsecr = 0;
	a->ts = ack_timestamps(a->f.tcp, a->f.tcp_length, &a->tsecr);
	a->isn = load_be32(a->f.tcp + 4) - 1;
	return DROP_NONE;
}

/* Queues a cookie check in a group: the message is the SYN's (ISN = seq - 1), as SynCookie hashed it. */
static inline unsigned queue_check(struct ack_group *g, int owner, const struct ack *a)
{
	const unsigned p = g->count++;
	g->owner[p] = owner;
	g->cookie[p] = a->cookie;
	g->ts[p] = a->ts;
	g->tsecr[p] = a->tsecr;
	g->batch.m[0][p] = load_le64(a->f.ip + 12);
	/* The ISN in the message is in network order, as the SYN carried it: its wire bytes, read little-endian. */
	g->batch.m[1][p] = load_le32(a->f.tcp) | ((uint64_t)rte_le_to_cpu_32(rte_cpu_to_be_32(a->isn)) << 32);
	g->batch.m[2][p] = cookie_final_block_v4(a->cookie & COOKIE_OPTION_MASK);
	return p;
}

/* SynCookie.matches: the MAC bits, and with timestamps the echo of our TSval. */
static inline bool cookie_matches(uint64_t h, uint32_t cookie, bool ts, uint32_t tsecr)
{
	return cookie_from_hash(h, 0) == (cookie & ~COOKIE_OPTION_MASK) && (!ts || tsval_from_hash(h) == tsecr);
}

/* AckLanes.check: hashes a group under its salt; a second check's success goes to its owner in `owners`. */
static inline void check_group(const struct engine *e, struct ack_group *g, enum salt_index salt, int64_t epoch,
			       struct ack_group *owners)
{
	if (g->count == 0)
		return;
	g->batch.blocks = 3;
	g->batch.keyed = false;
	g->batch.key0 = e->keys.salt_k0[salt];
	g->batch.key1 = e->keys.salt_k1[salt];
	sip_lanes(e->isa, &g->batch, g->count);
	for (unsigned p = 0; p < g->count; p++) {
		const bool valid = cookie_matches(g->batch.out[p], g->cookie[p], g->ts[p], g->tsecr[p]);
		if (g->owner[p] < 0)
			g->epoch[p] = valid ? epoch : NOT_VALID;
		else if (valid)
			owners->epoch[g->owner[p]] = epoch;
	}
}

/*
 * EncapStage.encapsulate for a validated handshake ACK: the outer headers written in place of the frame's Ethernet
 * header (into the headroom), the authenticator's message queued for `auth` at `auth_at`.
 */
static inline enum drop_reason encapsulate(const struct engine *e, struct rte_mbuf *m, const struct ack_group *g,
					   unsigned p, struct sip_batch *auth, uint8_t **auth_at, unsigned *nauth)
{
	const struct keys *k = &e->keys;
	const unsigned backend = (unsigned)k->maglev[maglev_slot(g->flow[p])];
	if (rte_pktmbuf_headroom(m) < OUTER_V4 - ETH_LEN)
		return DROP_NO_ROOM;
	uint8_t *const ip = g->ip[p];
	uint8_t *const start = ip - OUTER_V4;
	const unsigned inner = g->total_length[p];
	const unsigned udp_length = UDP_LEN + ENCAP_LEN + inner;
	const uint32_t cookie = g->cookie[p];
	const unsigned mss = MSS_TABLE_V4[(cookie >> COOKIE_MSS_SHIFT) & 3];
	const uint32_t flags = ENCAP_FLAG_HANDSHAKE | (ENCAP_VERSION << ENCAP_VERSION_SHIFT)
		| (((uint32_t)g->epoch[p] & 0xff) << ENCAP_EPOCH_SHIFT) | (WINDOW_SCALE & 0xf);
	const uint32_t first = (ENCAP_FIRST_BYTE << 24) | (ENCAP_PROTOCOL_IPV4 << 16) | flags;
	const uint32_t second = (uint32_t)mss << 16;

	/*
	 * The outer source MAC is the one the frame was sent to (Java's rule when it knows no backend-port MAC). Read
	 * first: the encapsulation header is written over the frame's old Ethernet header.
	 */
	uint8_t source_mac[6];
	memcpy(source_mac, ip - ETH_LEN, 6);
	memcpy(start, k->next_hop_mac, 6);
	memcpy(start + 6, source_mac, 6);
	store_raw16(start + 12, rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4));
	write_ipv4(start + ETH_LEN, ip[1], IPV4_MIN_LEN + udp_length, IPPROTO_UDP_, k->encap_source_raw,
		   k->backend_raw[backend]);
	uint8_t *const udp = start + ETH_LEN + IPV4_MIN_LEN;
	/* An ephemeral source port from the flow hash's top bits: backend NICs spread flows over queues by it. */
	store_raw16(udp, rte_cpu_to_be_16((uint16_t)(0xc000 | (g->flow[p] >> 50))));
	store_raw16(udp + 2, rte_cpu_to_be_16(k->encap_port));
	store_raw16(udp + 4, rte_cpu_to_be_16((uint16_t)udp_length));
	store_raw16(udp + 6, 0);   /* no UDP checksum, as Java: the authenticator covers what matters */
	uint8_t *const header = udp + UDP_LEN;
	store_raw32(header, rte_cpu_to_be_32(first));
	store_raw32(header + 4, rte_cpu_to_be_32(second));

	const unsigned a = (*nauth)++;
	auth_at[a] = header + 8;
	auth->k0[a] = k->auth_k0[backend];
	auth->k1[a] = k->auth_k1[backend];
	/* EncapHeader.firstBlock: the two header words as they sit on the wire, read little-endian. */
	auth->m[0][a] = rte_bswap64(((uint64_t)first << 32) | second);
	auth->m[1][a] = load_le64(ip + 12);
	auth->m[2][a] = load_le64(g->tcp[p]);
	auth->m[3][a] = load_le32(g->tcp[p] + 8) | ((uint64_t)ENCAP_AUTH_MSG_LEN_V4 << 56);

	m->data_off = (uint16_t)(m->data_off - (OUTER_V4 - ETH_LEN));
	m->data_len = (uint16_t)(OUTER_V4 + inner);
	m->pkt_len = OUTER_V4 + inner;
	return DROP_NONE;
}

void ack_burst(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st)
{
	/* Static: four batches of about 2 KB (and the groups' fields) that every burst rewrites: in cache, off the stack. */
	static struct ack_group groups[SALTS];
	static struct sip_batch auth;
	uint8_t *auth_at[BURST];
	unsigned nauth = 0;
	enum drop_reason reasons[BURST];
	const struct keys *k = &e->keys;

	for (unsigned s = 0; s < SALTS; s++)
		groups[s].count = 0;
	/* 1: the checks; each message queued in the group of the salt its epoch bit names. */
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		struct ack a;
		reasons[i] = check_ack(e, pkts[i], &a);
		if (reasons[i] != DROP_NONE)
			continue;
		const unsigned bits = a.cookie & COOKIE_OPTION_MASK;
		const enum salt_index salt = is_current(k, bits) ? SALT_CURRENT
			: k->previous_valid ? SALT_PREVIOUS : SALT_NEXT;
		struct ack_group *g = &groups[salt];
		const unsigned p = queue_check(g, -1, &a);
		g->frame[p] = i;
		g->ip[p] = a.f.ip;
		g->tcp[p] = a.f.tcp;
		g->total_length[p] = (uint16_t)a.f.total_length;
		g->flow[p] = a.flow;
		/* Near a boundary the other parity may also be a node ahead of us: the next epoch's salt too. */
		if (salt == SALT_PREVIOUS && k->next_valid)
			queue_check(&groups[SALT_NEXT], (int)p, &a);
	}
	/* 2: each group's cookies hashed together; the next epoch's second checks write into the previous group. */
	check_group(e, &groups[SALT_CURRENT], SALT_CURRENT, k->epoch, NULL);
	check_group(e, &groups[SALT_PREVIOUS], SALT_PREVIOUS, k->epoch - 1, NULL);
	check_group(e, &groups[SALT_NEXT], SALT_NEXT, k->epoch + 1, &groups[SALT_PREVIOUS]);
	/* 3: each valid ACK encapsulated once, by the group that owns it. */
	auth.blocks = 4;
	auth.keyed = true;
	for (unsigned s = 0; s < SALTS; s++) {
		const struct ack_group *g = &groups[s];
		for (unsigned p = 0; p < g->count; p++) {
			if (g->owner[p] >= 0)
				continue;
			const uint16_t i = g->frame[p];
			reasons[i] = g->epoch[p] == NOT_VALID ? DROP_ACK_NOT_VALIDATED
				: encapsulate(e, pkts[i], g, p, &auth, auth_at, &nauth);
		}
	}
	/* 4: the authenticators, each under its backend's key, hashed together; stored big-endian as Java does. */
	sip_lanes(e->isa, &auth, nauth);
	for (unsigned a = 0; a < nauth; a++)
		store_raw64(auth_at[a], rte_cpu_to_be_64(auth.out[a]));

	struct rte_mbuf *tx[BURST], *drop[BURST];
	uint16_t ntx = 0, ndrop = 0;
	for (uint16_t i = 0; i < n; i++) {
		if (likely(reasons[i] == DROP_NONE)) {
			tx[ntx++] = pkts[i];
		} else {
			st->drops[reasons[i]]++;
			drop[ndrop++] = pkts[i];
		}
	}
	send_and_free(tx, ntx, drop, ndrop, st);
	st->rx += n;
}
