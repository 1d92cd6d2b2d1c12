/*
 * What every line of the C baseline shares: the Java engine's defaults, protocol constants, drop reasons, unaligned
 * loads and stores, the Internet checksum, scalar SipHash-2-4, TCP option parsing and the IPv4 header writer.
 * Everything here is static inline: the per-packet code in syn.c and ack.c must compile it into its own loops, as the
 * single-file program did, or the split would add call overhead the Java engine does not pay.
 */
#ifndef BASELINE_COMMON_H
#define BASELINE_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

/* ---------------------------------------------------------------------------------------------------------------- */
/* Configuration (the Java engine's defaults)                                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

#define RX_PORT 0
#define TX_PORT 1
#define BURST 32

/* The one VIP, in host order; the check is a compare of the packet's fields after a byte swap. */
#define VIP_ADDRESS RTE_IPV4(198, 51, 100, 10)
#define VIP_PORT 80

static const uint16_t MSS_TABLE_V4[4] = {536, 1300, 1440, 1460};
#define DEFAULT_MSS_V4 536   /* RFC 1122: what a SYN without the MSS option implies */
/*
 * ProxyConfig.advertisedMss for the harness's configuration: backend MTU 1500 less the worst-case outer headers (an
 * IPv6 backend is configured and daisy chaining is on: IPv6 40 + UDP 8 + chained header 40) and inner IPv4 + TCP (40).
 */
#define ADVERTISED_MSS_V4 1372
#define WINDOW 65535
#define WINDOW_SCALE 7
#define TTL 64

/* ---------------------------------------------------------------------------------------------------------------- */
/* Protocol constants                                                                                               */
/* ---------------------------------------------------------------------------------------------------------------- */

#define ETH_LEN 14
#define ETH_MIN_FRAME 60    /* without the FCS */
#define IPV4_MIN_LEN 20
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define TCP_MIN_LEN 20
#define UDP_LEN 8

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define OPT_EOL 0
#define OPT_NOP 1
#define OPT_MSS 2
#define OPT_WS 3
#define OPT_SACK_PERM 4
#define OPT_TS 8

/* Cookie layout: MAC (23) | epoch (1) | MSS index (2) | ECN (1) | SACK (1) | window scale (4). */
#define COOKIE_MAC_BITS 23
#define COOKIE_MAC_SHIFT 9
#define COOKIE_OPTION_MASK ((1u << COOKIE_MAC_SHIFT) - 1)
#define COOKIE_EPOCH_SHIFT 8
#define COOKIE_MSS_SHIFT 6
#define COOKIE_ECN_BIT (1u << 5)
#define COOKIE_SACK_BIT (1u << 4)
#define COOKIE_WS_MASK 0xfu
#define COOKIE_WS_NONE 0xfu
#define COOKIE_MAX_WS 14
#define COOKIE_MSG_LEN_V4 18

/* Why a frame was dropped; the names are the Java DropReason constants where the Java engine has one. */
enum drop_reason {
	DROP_NONE,
	DROP_TRUNCATED,
	DROP_NOT_UNICAST,
	DROP_NOT_IP,
	DROP_BAD_IP_HEADER,
	DROP_BAD_IP_LENGTH,
	DROP_BAD_IP_CHECKSUM,
	DROP_FRAGMENT,
	DROP_NOT_TCP,
	DROP_NOT_VIP,
	DROP_BAD_DATA_OFFSET,
	DROP_NOT_SYN,         /* SYN lines: the Java engine forwards these to a backend; these lines have none */
	DROP_SYN_RST,
	DROP_SYN_FIN,
	DROP_SYN_WITH_PAYLOAD,
	DROP_MARTIAN_SOURCE,
	DROP_BAD_TCP_OPTIONS,
	DROP_BAD_TCP_CHECKSUM,
	DROP_NO_ROOM,
	DROP_MULTI_SEGMENT,   /* the Java data plane linearises such frames first; the baseline does not */
	DROP_NOT_HANDSHAKE_ACK, /* ack line: a SYN, RST or other TCP the Java engine answers or forwards unmarked */
	DROP_ACK_NOT_VALIDATED, /* ack line: the cookie failed; Java forwards it unmarked, here it is counted */
	DROP_REASONS
};

static const char *const DROP_NAMES[DROP_REASONS] = {
	"none", "truncated", "not_unicast", "not_ip", "bad_ip_header", "bad_ip_length", "bad_ip_checksum",
	"fragment", "not_tcp", "not_vip", "bad_data_offset", "not_syn", "syn_rst", "syn_fin", "syn_with_payload",
	"martian_source", "bad_tcp_options", "bad_tcp_checksum", "no_room", "multi_segment", "not_handshake_ack",
	"ack_not_validated",
};

struct stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_failed;
	uint64_t drops[DROP_REASONS];
};

/* ---------------------------------------------------------------------------------------------------------------- */
/* Unaligned loads and stores: headers sit at any 2-byte offset in the buffer.                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

static inline uint16_t load_be16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_16(v);
}

static inline uint32_t load_be32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_32(v);
}

static inline uint64_t load_be64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return rte_be_to_cpu_64(v);
}

static inline uint32_t load_le32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_32(v);
}

static inline uint64_t load_le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return rte_le_to_cpu_64(v);
}

/* Raw (wire-order) 32-bit word: what the checksum sums and what the rewrite copies. */
static inline uint32_t load_raw32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static inline void store_raw16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void store_raw32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static inline void store_raw64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Internet checksum (RFC 1071)                                                                                     */
/*                                                                                                                  */
/* Sums are carried unfolded in 64 bits, adding 32-bit words in memory (native) order, and folded once. The        */
/* ones'-complement sum is byte-order independent (RFC 1071 section 2B): the folded native-order sum, stored as-is, */
/* is the checksum in network order. Words already in hand are added instead of re-reading what was just written.   */
/* ---------------------------------------------------------------------------------------------------------------- */

static inline uint64_t csum_bytes(const uint8_t *p, unsigned len)
{
	uint64_t sum = 0;
	unsigned i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, sizeof(w));
		sum += (w >> 32) + (uint32_t)w;
	}
	if (i + 4 <= len) {
		sum += load_raw32(p + i);
		i += 4;
	}
	if (i + 2 <= len) {
		uint16_t w;
		memcpy(&w, p + i, sizeof(w));
		sum += w;
		i += 2;
	}
	if (i < len) {
		uint16_t w = 0;   /* an odd last byte is padded with a zero byte after it */
		memcpy(&w, p + i, 1);
		sum += w;
	}
	return sum;
}

static inline uint16_t csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffULL) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The checksum field's (wire-order) value for data whose sum, with the field zero, is sum. */
static inline uint16_t csum_finish(uint64_t sum)
{
	return (uint16_t)~csum_fold(sum);
}

/* Data that includes its checksum field is intact when it sums to 0xffff (either byte order). */
static inline bool csum_verifies(uint64_t sum)
{
	return csum_fold(sum) == 0xffff;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* SipHash-2-4 (Aumasson and Bernstein), one message at a time                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

#define SIP_C0 0x736f6d6570736575ULL
#define SIP_C1 0x646f72616e646f6dULL
#define SIP_C2 0x6c7967656e657261ULL
#define SIP_C3 0x7465646279746573ULL

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3) do { \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
	} while (0)

/*
 * SipHash-2-4 of `blocks` little-endian words, the last of them SipHash's final block (the tail bytes in its low
 * bits, the message length in bytes in its top byte). Callers pass a constant `blocks`, so the loop unrolls and the
 * state stays in registers.
 */
static inline uint64_t siphash24(uint64_t k0, uint64_t k1, const uint64_t *m, unsigned blocks)
{
	uint64_t v0 = SIP_C0 ^ k0;
	uint64_t v1 = SIP_C1 ^ k1;
	uint64_t v2 = SIP_C2 ^ k0;
	uint64_t v3 = SIP_C3 ^ k1;

	for (unsigned b = 0; b < blocks; b++) {
		v3 ^= m[b];
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= m[b];
	}
	v2 ^= 0xff;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* A 16..23-byte message (an IPv4 cookie's) as its two full words and the final block, all in registers. */
static inline uint64_t siphash24_3(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1, uint64_t last)
{
	const uint64_t m[3] = {m0, m1, last};
	return siphash24(k0, k1, m, 3);
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* SYN cookie (io.synproxy.cookie.SynCookie)                                                                        */
/* ---------------------------------------------------------------------------------------------------------------- */

/* The cookie's last SipHash block: the option bits (2 bytes, LE) and the message length (18) in the top byte. */
static inline uint64_t cookie_final_block_v4(unsigned bits_with_parity)
{
	return bits_with_parity | ((uint64_t)COOKIE_MSG_LEN_V4 << 56);
}

/* The cookie from its message's SipHash: the top 23 bits as MAC over the option bits. */
static inline uint32_t cookie_from_hash(uint64_t h, unsigned bits_with_parity)
{
	return ((uint32_t)(h >> (64 - COOKIE_MAC_BITS)) << COOKIE_MAC_SHIFT) | bits_with_parity;
}

/* Our SYN-ACK's TSval (and what an ACK must echo): the low 32 bits of the same hash, which the MAC does not use. */
static inline uint32_t tsval_from_hash(uint64_t h)
{
	return (uint32_t)h;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* TCP options (io.synproxy.packet.TcpOptions)                                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

struct tcp_options {
	int mss;              /* -1: absent (an MSS of 0 counts as absent, as in Linux) */
	int wscale;           /* the shift as sent, or -1: absent */
	bool sack;
	bool ts;
	uint32_t tsval_raw;   /* the sender's TSval in wire order: a SYN's is echoed byte for byte */
	uint32_t tsecr;       /* the sender's TSecr, host order: an ACK's must be our TSval */
};

/* Linux's SYN options (MSS, SACK-permitted, timestamps, NOP, window scale): the common case, matched at once. */
#define LINUX_LAYOUT_LEN 20
#define LINUX_HEAD_MASK 0xffff0000ffffffffULL
#define LINUX_HEAD 0x020400000402080aULL
#define LINUX_TAIL 0x01030300u

static inline bool parse_linux_layout(const uint8_t *p, struct tcp_options *o)
{
	const uint64_t head = load_be64(p);
	const uint32_t tail = load_be32(p + 16);

	if ((head & LINUX_HEAD_MASK) != LINUX_HEAD || (tail & 0xffffff00u) != LINUX_TAIL)
		return false;
	const int mss = (int)((head >> 32) & 0xffff);
	o->mss = mss == 0 ? -1 : mss;
	o->wscale = (int)(tail & 0xff);
	o->sack = true;
	o->ts = true;
	o->tsval_raw = load_raw32(p + 8);
	o->tsecr = load_be32(p + 12);
	return true;
}

/*
 * Parses len bytes of options. Like Linux, a known option with an unexpected length is ignored and unknown options
 * are skipped by their length; a list that cannot be walked (a length below 2, or an option running past the header)
 * is malformed.
 *
 * @return false if the option list is malformed
 */
static inline bool parse_options(const uint8_t *p, unsigned len, struct tcp_options *o)
{
	if (len == LINUX_LAYOUT_LEN && parse_linux_layout(p, o))
		return true;
	o->mss = -1;
	o->wscale = -1;
	o->sack = false;
	o->ts = false;
	o->tsval_raw = 0;
	o->tsecr = 0;
	unsigned i = 0;
	while (i < len) {
		const unsigned kind = p[i];
		if (kind == OPT_EOL)
			break;
		if (kind == OPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return false;
		const unsigned olen = p[i + 1];
		if (olen < 2 || i + olen > len)
			return false;
		switch (kind) {
		case OPT_MSS:
			if (olen == 4) {
				const int mss = load_be16(p + i + 2);
				o->mss = mss == 0 ? -1 : mss;
			}
			break;
		case OPT_WS:
			if (olen == 3)
				o->wscale = p[i + 2];
			break;
		case OPT_SACK_PERM:
			o->sack |= olen == 2;
			break;
		case OPT_TS:
			if (olen == 10) {
				o->ts = true;
				o->tsval_raw = load_raw32(p + i + 2);
				o->tsecr = load_be32(p + i + 6);
			}
			break;
		default:
			break;   /* unknown options are skipped by their length and never reflected */
		}
		i += olen;
	}
	return true;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Shared parsing and writing                                                                                       */
/* ---------------------------------------------------------------------------------------------------------------- */

/*
 * Writes an option-less IPv4 header (id 0, DF, TTL 64) and its checksum, summed from the words in hand.
 * src_raw and dst_raw are addresses in wire order.
 */
static inline void write_ipv4(uint8_t *ip, unsigned tos, unsigned total_length, unsigned protocol, uint32_t src_raw,
			      uint32_t dst_raw)
{
	const uint32_t w0 = rte_cpu_to_be_32((0x45u << 24) | (tos << 16) | total_length); /* version, IHL, TOS, length */
	const uint32_t w1 = rte_cpu_to_be_32(IPV4_DF);                                    /* id 0, DF, offset 0 */
	const uint32_t w2 = rte_cpu_to_be_32(((uint32_t)TTL << 24) | (protocol << 16));   /* checksum 0 for now */
	const uint16_t checksum = csum_finish((uint64_t)w0 + w1 + w2 + src_raw + dst_raw);

	store_raw32(ip, w0);
	store_raw32(ip + 4, w1);
	store_raw32(ip + 8, w2);
	store_raw16(ip + 10, checksum);
	store_raw32(ip + 12, src_raw);
	store_raw32(ip + 16, dst_raw);
}

/* What the IPv4 checks of a frame to the VIP found (ParseStage.v4 up to the TCP flags). */
struct v4_tcp {
	uint8_t *ip;
	uint8_t *tcp;
	unsigned ihl;
	unsigned total_length;
	unsigned segment_length;
	unsigned tcp_length;
	unsigned flags;
};

/*
 * Ethernet, IPv4 and the TCP header's fixed checks of a frame, in the Java engine's order, down to its flags: what
 * every line does before it looks at SYN or ACK.
 */
static inline enum drop_reason parse_v4_tcp(struct rte_mbuf *m, struct v4_tcp *out)
{
	if (unlikely(m->nb_segs != 1))
		return DROP_MULTI_SEGMENT;
	uint8_t *const frame = rte_pktmbuf_mtod(m, uint8_t *);
	const unsigned length = rte_pktmbuf_data_len(m);
	const uint64_t ol_flags = m->ol_flags;

	/* Ethernet: TCP is only ever for us when sent to our MAC. */
	if (length < ETH_LEN)
		return DROP_TRUNCATED;
	if (frame[0] & 1)
		return DROP_NOT_UNICAST;
	if (load_be16(frame + 12) != RTE_ETHER_TYPE_IPV4)
		return DROP_NOT_IP;

	/* IPv4 */
	uint8_t *const ip = frame + ETH_LEN;
	if (length < ETH_LEN + IPV4_MIN_LEN)
		return DROP_TRUNCATED;
	const unsigned ihl = (ip[0] & 0xf) * 4;
	if ((ip[0] >> 4) != 4 || ihl < IPV4_MIN_LEN)
		return DROP_BAD_IP_HEADER;
	if (length < ETH_LEN + ihl)
		return DROP_TRUNCATED;
	const unsigned total_length = load_be16(ip + 2);
	if (total_length < ihl)
		return DROP_BAD_IP_LENGTH;
	if (ETH_LEN + total_length > length)
		return DROP_TRUNCATED;
	/* A NIC that verified the checksum saves the sum (the Java engine honours the same flag). */
	if ((ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD
	    && !csum_verifies(csum_bytes(ip, ihl)))
		return DROP_BAD_IP_CHECKSUM;
	if (load_be16(ip + 6) & (IPV4_MF | IPV4_OFFSET_MASK))
		return DROP_FRAGMENT;
	if (ip[9] != IPPROTO_TCP_)
		return DROP_NOT_TCP;

	/* TCP */
	uint8_t *const tcp = ip + ihl;
	const unsigned segment_length = total_length - ihl;
	if (segment_length < TCP_MIN_LEN)
		return DROP_TRUNCATED;
	if (load_be32(ip + 16) != VIP_ADDRESS || load_be16(tcp + 2) != VIP_PORT)
		return DROP_NOT_VIP;
	const unsigned tcp_length = (tcp[12] >> 4) * 4;
	if (tcp_length < TCP_MIN_LEN || tcp_length > segment_length)
		return DROP_BAD_DATA_OFFSET;
	out->ip = ip;
	out->tcp = tcp;
	out->ihl = ihl;
	out->total_length = total_length;
	out->segment_length = segment_length;
	out->tcp_length = tcp_length;
	out->flags = tcp[13];
	return DROP_NONE;
}

/*
 * Sends what a burst turned into frames out of the TX port and frees the rest; a frame the TX ring refuses is freed
 * and counted, as the Java data plane does.
 */
static inline void send_and_free(struct rte_mbuf **tx, uint16_t ntx, struct rte_mbuf **drop, uint16_t ndrop,
				 struct stats *st)
{
	if (ntx > 0) {
		const uint16_t sent = rte_eth_tx_burst(TX_PORT, 0, tx, ntx);
		st->tx += sent;
		if (unlikely(sent < ntx)) {
			st->tx_failed += ntx - sent;
			rte_pktmbuf_free_bulk(tx + sent, ntx - sent);
		}
	}
	if (ndrop > 0)
		rte_pktmbuf_free_bulk(drop, ndrop);
}

#endif
