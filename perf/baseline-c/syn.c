/*
 * The SYN lines: an IPv4 SYN to the VIP becomes its SYN-ACK in place (ParseStage.v4 and SynStage.v4, and
 * SynCookie). Both lines run the same checks and write the same bytes; they differ only in when the cookie is hashed:
 * the scalar line hashes each SYN's cookie as it goes, the lanes line parses and writes the whole burst first, hashes
 * its cookies together in SIMD lanes, then writes each SYN-ACK's sequence number, TSval and checksum (as the Java
 * engine's SynLanes does).
 */
#include <rte_branch_prediction.h>
#include <rte_prefetch.h>

#include "baseline.h"

/* The cookie's option bits for a SYN: the client's MSS rounded down into the table, its window scale, SACK, ECN. */
static inline unsigned syn_option_bits(unsigned tcp_flags, const struct tcp_options *o)
{
	const int mss = o->mss < 0 ? DEFAULT_MSS_V4 : o->mss;
	unsigned mss_index = RTE_DIM(MSS_TABLE_V4) - 1;
	/* Below the smallest entry Linux also uses the smallest. */
	while (mss_index > 0 && mss < MSS_TABLE_V4[mss_index])
		mss_index--;
	const unsigned wscale = o->wscale < 0 ? COOKIE_WS_NONE : (unsigned)RTE_MIN(o->wscale, COOKIE_MAX_WS);
	const bool ecn = (tcp_flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR);
	return (mss_index << COOKIE_MSS_SHIFT) | (ecn ? COOKIE_ECN_BIT : 0) | (o->sack ? COOKIE_SACK_BIT : 0) | wscale;
}

static inline bool bits_wscale(unsigned bits)
{
	return (bits & COOKIE_WS_MASK) != COOKIE_WS_NONE;
}

/* Length of the SYN-ACK's option block: MSS, then SACK-permitted and/or timestamps, then window scale. */
static inline unsigned syn_ack_options_length(unsigned bits, bool ts)
{
	const bool sack = (bits & COOKIE_SACK_BIT) != 0;
	return 4 + (ts ? 12 : sack ? 4 : 0) + (bits_wscale(bits) ? 4 : 0);
}

/* Appends one 32-bit option word in wire order and adds it to the checksum sum. */
static inline uint8_t *put_option_word(uint8_t *at, uint32_t host_word, uint64_t *sum)
{
	const uint32_t raw = rte_cpu_to_be_32(host_word);
	store_raw32(at, raw);
	*sum += raw;
	return at + 4;
}

/*
 * Writes the SYN-ACK's options in Linux's order, each 32-bit aligned:
 *   MSS | SACK-permitted + timestamps, or NOP NOP timestamps, or NOP NOP SACK-permitted | NOP window scale
 * @return the unfolded checksum sum of the bytes written
 */
static inline uint64_t write_syn_ack_options(uint8_t *at, unsigned bits, bool ts, uint32_t tsval,
					     uint32_t tsecr_raw)
{
	const bool sack = (bits & COOKIE_SACK_BIT) != 0;
	uint64_t sum = 0;

	at = put_option_word(at, (OPT_MSS << 24) | (4 << 16) | ADVERTISED_MSS_V4, &sum);
	if (ts) {
		const uint32_t head = sack ? (OPT_SACK_PERM << 24) | (2 << 16) | (OPT_TS << 8) | 10
					   : (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_TS << 8) | 10;
		at = put_option_word(at, head, &sum);
		at = put_option_word(at, tsval, &sum);
		store_raw32(at, tsecr_raw);   /* the client's TSval, echoed as it came */
		sum += tsecr_raw;
		at += 4;
	} else if (sack) {
		at = put_option_word(at, (OPT_NOP << 24) | (OPT_NOP << 16) | (OPT_SACK_PERM << 8) | 2, &sum);
	}
	if (bits_wscale(bits))
		put_option_word(at, (OPT_NOP << 24) | (OPT_WS << 16) | (3 << 8) | WINDOW_SCALE, &sum);
	return sum;
}

/* Where a SYN-ACK's TSval sits in its TCP header: after MSS (4) and the SACK/NOP word (4) before the TSval. */
#define SYN_ACK_TSVAL_OFFSET (TCP_MIN_LEN + 8)

/*
 * Writes the SYN-ACK's TCP header and options over the SYN's, all but the sequence number and checksum, and returns
 * the checksum sum of what it wrote. The lanes line passes a TSval of 0 and writes the real one with the cookie.
 *
 * @param ports_raw the SYN's port word in wire order
 * @param pseudo    the unfolded pseudo-header sum (addresses and protocol) without the length
 */
static inline uint64_t write_syn_ack_header(uint8_t *tcp, uint32_t ports_raw, uint32_t isn, unsigned bits, bool ts,
					    uint32_t tsval, uint32_t tsecr_raw, uint64_t pseudo)
{
	const unsigned tcp_length = TCP_MIN_LEN + syn_ack_options_length(bits, ts);
	/* Swapping the word's 16-bit halves swaps the ports whatever the host's byte order. */
	const uint32_t ports = (ports_raw >> 16) | (ports_raw << 16);
	const uint32_t ack = rte_cpu_to_be_32(isn + 1);
	const unsigned flags = TCP_SYN | TCP_ACK | ((bits & COOKIE_ECN_BIT) ? TCP_ECE : 0);
	const uint32_t offset_flags_window = rte_cpu_to_be_32(((tcp_length << 2) << 24) | (flags << 16) | WINDOW);

	store_raw32(tcp, ports);
	store_raw32(tcp + 8, ack);
	store_raw32(tcp + 12, offset_flags_window);
	store_raw16(tcp + 18, 0);   /* urgent pointer */
	const uint64_t options_sum = write_syn_ack_options(tcp + TCP_MIN_LEN, bits, ts, tsval, tsecr_raw);
	return pseudo + rte_cpu_to_be_16(tcp_length) + ports + ack + offset_flags_window + options_sum;
}

/* Writes the cookie as the sequence number and the checksum over everything written. */
static inline void complete_syn_ack(uint8_t *tcp, uint32_t cookie, uint64_t sum)
{
	const uint32_t seq = rte_cpu_to_be_32(cookie);
	store_raw32(tcp + 4, seq);
	store_raw16(tcp + 16, csum_finish(sum + seq));
}

static inline void swap_macs(uint8_t *frame)
{
	uint8_t tmp[6];
	memcpy(tmp, frame, 6);
	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, tmp, 6);
}

/*
 * Martians.v4 and the VIP check of synV4: a SYN-ACK to 0/8, 127/8, multicast, reserved or broadcast, or to our own
 * address, would be a reflection.
 */
static inline bool martian_source(uint32_t source)
{
	const uint32_t first = source >> 24;
	return first == 0 || first == 127 || first >= 224 || source == VIP_ADDRESS;
}

/* A checked SYN, ready for its rewrite. */
struct syn {
	struct v4_tcp f;
	struct tcp_options options;
	uint64_t pseudo;
	unsigned bits;        /* with the epoch parity */
	unsigned tcp_out;     /* the SYN-ACK's TCP header length */
};

/* Every check of the SYN path, in the Java engine's order, and the cookie's option bits. */
static inline enum drop_reason check_syn(const struct engine *e, struct rte_mbuf *m, struct syn *s)
{
	enum drop_reason reason = parse_v4_tcp(m, &s->f);
	if (reason != DROP_NONE)
		return reason;
	const unsigned flags = s->f.flags;
	if ((flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return DROP_NOT_SYN;
	if (flags & TCP_RST)
		return DROP_SYN_RST;
	if (flags & TCP_FIN)
		return DROP_SYN_FIN;
	if (s->f.segment_length != s->f.tcp_length)
		return DROP_SYN_WITH_PAYLOAD;
	uint8_t *const ip = s->f.ip, *const tcp = s->f.tcp;
	if (martian_source(load_be32(ip + 12)))
		return DROP_MARTIAN_SOURCE;
	if (!parse_options(tcp + TCP_MIN_LEN, s->f.tcp_length - TCP_MIN_LEN, &s->options))
		return DROP_BAD_TCP_OPTIONS;
	/* The pseudo header's sum is the same both ways: the reply only swaps the addresses. */
	s->pseudo = (uint64_t)load_raw32(ip + 12) + load_raw32(ip + 16) + rte_cpu_to_be_16(IPPROTO_TCP_);
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD
	    && !csum_verifies(s->pseudo + rte_cpu_to_be_16(s->f.segment_length) + csum_bytes(tcp, s->f.tcp_length)))
		return DROP_BAD_TCP_CHECKSUM;
	s->bits = syn_option_bits(flags, &s->options) | (e->keys.parity << COOKIE_EPOCH_SHIFT);
	s->tcp_out = TCP_MIN_LEN + syn_ack_options_length(s->bits, s->options.ts);
	const unsigned padded = RTE_MAX(ETH_LEN + IPV4_MIN_LEN + s->tcp_out, (unsigned)ETH_MIN_FRAME);
	if (padded > rte_pktmbuf_data_len(m) + rte_pktmbuf_tailroom(m))
		return DROP_NO_ROOM;
	return DROP_NONE;
}

/*
 * Rewrites a checked SYN into its SYN-ACK, all but the sequence number and checksum: MACs swapped, an option-less
 * IPv4 header (so TCP moves up if the SYN's had options), the TCP header and options, padding to 60 bytes.
 * Returns the checksum sum of the TCP header written.
 */
static inline uint64_t rewrite_syn(struct rte_mbuf *m, const struct syn *s, uint32_t tsval)
{
	uint8_t *const frame = rte_pktmbuf_mtod(m, uint8_t *);
	uint8_t *const ip = s->f.ip;
	const uint32_t client_raw = load_raw32(ip + 12);
	const uint32_t vip_raw = load_raw32(ip + 16);
	const uint32_t isn = load_be32(s->f.tcp + 4);
	const uint32_t ports_raw = load_raw32(s->f.tcp);
	const unsigned out_length = ETH_LEN + IPV4_MIN_LEN + s->tcp_out;
	const unsigned padded = RTE_MAX(out_length, (unsigned)ETH_MIN_FRAME);

	swap_macs(frame);
	write_ipv4(ip, 0, IPV4_MIN_LEN + s->tcp_out, IPPROTO_TCP_, vip_raw, client_raw);
	const uint64_t sum = write_syn_ack_header(ip + IPV4_MIN_LEN, ports_raw, isn, s->bits, s->options.ts, tsval,
						  s->options.tsval_raw, s->pseudo);
	if (out_length < ETH_MIN_FRAME)
		memset(frame + out_length, 0, ETH_MIN_FRAME - out_length);
	m->data_len = (uint16_t)padded;
	m->pkt_len = padded;
	return sum;
}

/* The frames of a burst sorted by verdict, in the order received. */
struct verdicts {
	struct rte_mbuf *tx[BURST];
	struct rte_mbuf *drop[BURST];
	uint16_t ntx, ndrop;
};

static inline void verdict(struct verdicts *v, struct rte_mbuf *m, enum drop_reason reason, struct stats *st)
{
	if (likely(reason == DROP_NONE)) {
		v->tx[v->ntx++] = m;
	} else {
		st->drops[reason]++;
		v->drop[v->ndrop++] = m;
	}
}

void syn_burst_scalar(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st)
{
	struct verdicts v = {.ntx = 0, .ndrop = 0};
	const uint64_t k0 = e->keys.salt_k0[SALT_CURRENT], k1 = e->keys.salt_k1[SALT_CURRENT];

	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		struct syn s;
		const enum drop_reason reason = check_syn(e, pkts[i], &s);
		if (likely(reason == DROP_NONE)) {
			/* The cookie, from the SYN as it came: addresses, then ports and ISN, as little-endian words. */
			const uint64_t h = siphash24_3(k0, k1, load_le64(s.f.ip + 12), load_le64(s.f.tcp),
						       cookie_final_block_v4(s.bits));
			const uint32_t tsval = tsval_from_hash(h);
			const uint64_t sum = rewrite_syn(pkts[i], &s, tsval);
			uint8_t *const tcp = s.f.ip + IPV4_MIN_LEN;
			complete_syn_ack(tcp, cookie_from_hash(h, s.bits), sum);
		}
		verdict(&v, pkts[i], reason, st);
	}
	send_and_free(v.tx, v.ntx, v.drop, v.ndrop, st);
	st->rx += n;
}

void syn_burst_lanes(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st)
{
	struct verdicts v = {.ntx = 0, .ndrop = 0};
	/* Static: the batch is about 2 KB that every burst rewrites, so it stays in cache without costing stack setup. */
	static struct sip_batch batch;
	uint8_t *tcp_at[BURST];
	uint64_t sum[BURST];
	unsigned bits[BURST];
	bool ts[BURST];
	unsigned lanes = 0;

	batch.blocks = 3;
	batch.keyed = false;
	batch.key0 = e->keys.salt_k0[SALT_CURRENT];
	batch.key1 = e->keys.salt_k1[SALT_CURRENT];
	/* First pass: every check and every byte but the cookie's; the message taken before the rewrite moves it. */
	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		struct syn s;
		const enum drop_reason reason = check_syn(e, pkts[i], &s);
		if (likely(reason == DROP_NONE)) {
			batch.m[0][lanes] = load_le64(s.f.ip + 12);
			batch.m[1][lanes] = load_le64(s.f.tcp);
			batch.m[2][lanes] = cookie_final_block_v4(s.bits);
			sum[lanes] = rewrite_syn(pkts[i], &s, 0);
			tcp_at[lanes] = s.f.ip + IPV4_MIN_LEN;
			bits[lanes] = s.bits;
			ts[lanes] = s.options.ts;
			lanes++;
		}
		verdict(&v, pkts[i], reason, st);
	}
	/* The burst's cookies together, then each SYN-ACK's sequence number, TSval and checksum. */
	sip_lanes(e->isa, &batch, lanes);
	for (unsigned p = 0; p < lanes; p++) {
		const uint64_t h = batch.out[p];
		uint64_t s = sum[p];
		if (ts[p]) {
			const uint32_t tsval = rte_cpu_to_be_32(tsval_from_hash(h));
			store_raw32(tcp_at[p] + SYN_ACK_TSVAL_OFFSET, tsval);
			s += tsval;
		}
		complete_syn_ack(tcp_at[p], cookie_from_hash(h, bits[p]), s);
	}
	send_and_free(v.tx, v.ntx, v.drop, v.ndrop, st);
	st->rx += n;
}
