/*
 * baseline: the SYN -> SYN-ACK cookie work of the Java proxy, written in plain C on DPDK.
 *
 * It is the "what would C do" line of the line-rate harness: the same parsing, checks, SipHash-2-4 cookie and
 * in-place SYN-ACK rewrite as PacketEngine.processV4 (IPv4 SYNs only), on one lcore, with nothing else around it.
 * Port 0 is read, port 1 written; after a warm-up the program counts frames for a fixed time and prints one line of
 * JSON on stdout. Every other message goes to stderr.
 *
 *   baseline [EAL args] -- --seconds N --warmup W
 *
 * The engine's configuration is hard-coded to the Java defaults: VIP 198.51.100.10:80, MSS table
 * {536, 1300, 1440, 1460}, advertised MSS 1420, window 65535, window scale 7, SACK, timestamps and ECN enabled.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_branch_prediction.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>

/* ---------------------------------------------------------------------------------------------------------------- */
/* Configuration (the Java engine's defaults)                                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

#define RX_PORT 0
#define TX_PORT 1
#define BURST 32
#define NUM_MBUFS 8191
#define MBUF_CACHE 256
#define RX_DESCRIPTORS 1024
#define TX_DESCRIPTORS 1024

/* The one VIP, in host order; the check is a compare of the packet's fields after a byte swap. */
#define VIP_ADDRESS RTE_IPV4(198, 51, 100, 10)
#define VIP_PORT 80

static const uint16_t MSS_TABLE_V4[4] = {536, 1300, 1440, 1460};
#define DEFAULT_MSS_V4 536   /* RFC 1122: what a SYN without the MSS option implies */
#define ADVERTISED_MSS_V4 1420
#define WINDOW 65535
#define WINDOW_SCALE 7
#define TTL 64

/* The salt a real proxy rotates; a fixed key and epoch here (the cost is the same). */
static const uint64_t KEY0 = 0x0706050403020100ULL;
static const uint64_t KEY1 = 0x0f0e0d0c0b0a0908ULL;
static const unsigned EPOCH_PARITY = 0;

/* ---------------------------------------------------------------------------------------------------------------- */
/* Protocol constants                                                                                               */
/* ---------------------------------------------------------------------------------------------------------------- */

#define ETH_LEN 14
#define ETH_MIN_FRAME 60    /* without the FCS */
#define IPV4_MIN_LEN 20
#define IPPROTO_TCP_ 6
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define TCP_MIN_LEN 20

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
#define COOKIE_EPOCH_BIT (1u << 8)
#define COOKIE_MSS_SHIFT 6
#define COOKIE_ECN_BIT (1u << 5)
#define COOKIE_SACK_BIT (1u << 4)
#define COOKIE_WS_MASK 0xfu
#define COOKIE_WS_NONE 0xfu
#define COOKIE_MAX_WS 14
#define COOKIE_MSG_LEN_V4 18

/* Why a frame was dropped; the names are the Java DropReason constants this program can produce. */
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
	DROP_NOT_SYN,         /* the Java engine forwards these to a backend; the baseline has none */
	DROP_SYN_RST,
	DROP_SYN_FIN,
	DROP_SYN_WITH_PAYLOAD,
	DROP_BAD_TCP_OPTIONS,
	DROP_BAD_TCP_CHECKSUM,
	DROP_NO_ROOM,
	DROP_MULTI_SEGMENT,   /* the Java data plane linearises such frames first; the baseline does not */
	DROP_REASONS
};

static const char *const DROP_NAMES[DROP_REASONS] = {
	"none", "truncated", "not_unicast", "not_ip", "bad_ip_header", "bad_ip_length", "bad_ip_checksum",
	"fragment", "not_tcp", "not_vip", "bad_data_offset", "not_syn", "syn_rst", "syn_fin", "syn_with_payload",
	"bad_tcp_options", "bad_tcp_checksum", "no_room", "multi_segment",
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
/* SipHash-2-4 (Aumasson and Bernstein), for the fixed three-block message of an IPv4 cookie                        */
/* ---------------------------------------------------------------------------------------------------------------- */

#define ROTL64(x, b) (((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND(v0, v1, v2, v3) do { \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
	} while (0)

/*
 * SipHash-2-4 of a message of two full little-endian words m0, m1 plus SipHash's final block `last` (the tail bytes
 * in its low bits, the message length in bytes in its top byte): a 16..23-byte message, all in registers.
 */
static inline uint64_t siphash24_3(uint64_t k0, uint64_t k1, uint64_t m0, uint64_t m1, uint64_t last)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	const uint64_t m[3] = {m0, m1, last};

	for (int b = 0; b < 3; b++) {
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

/* The reference vector of the SipHash paper for bytes 00..11 under key 00..0f: a wrong hash fails loudly at start. */
static bool siphash_self_test(void)
{
	const uint64_t expected = 0x4bc1b3f0968dd39cULL;
	return siphash24_3(0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL, 0x0706050403020100ULL,
			   0x0f0e0d0c0b0a0908ULL, 0x1110ULL | ((uint64_t)18 << 56)) == expected;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* SYN cookie (io.synproxy.cookie.SynCookie)                                                                        */
/* ---------------------------------------------------------------------------------------------------------------- */

static inline unsigned cookie_option_bits(unsigned mss_index, bool ecn, bool sack, unsigned wscale)
{
	return (mss_index << COOKIE_MSS_SHIFT) | (ecn ? COOKIE_ECN_BIT : 0) | (sack ? COOKIE_SACK_BIT : 0) | wscale;
}

/*
 * The cookie for an IPv4 SYN: top 23 bits of SipHash-2-4 over the 18-byte message
 *   source address | destination address | source port | destination port | client ISN | option bits (2, LE)
 * with every multi-byte field but the option bits in network order, exactly as it sits in the packet. That makes the
 * first two message words plain little-endian loads of the IPv4 addresses and of the TCP header's first 8 bytes.
 *
 * @param addresses the 8 address bytes at IPv4 offset 12, read little-endian
 * @param ports_isn the first 8 bytes of the TCP header (ports, sequence number), read little-endian
 * @param options   cookie_option_bits(), without the epoch bit
 */
static inline uint32_t cookie_issue_v4(uint64_t addresses, uint64_t ports_isn, unsigned options)
{
	const unsigned bits = options | (EPOCH_PARITY << 8);
	const uint64_t h = siphash24_3(KEY0, KEY1, addresses, ports_isn, bits | ((uint64_t)COOKIE_MSG_LEN_V4 << 56));
	return ((uint32_t)(h >> (64 - COOKIE_MAC_BITS)) << COOKIE_MAC_SHIFT) | bits;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* TCP options of a SYN (io.synproxy.packet.TcpOptions)                                                             */
/* ---------------------------------------------------------------------------------------------------------------- */

struct syn_options {
	int mss;              /* -1: absent (an MSS of 0 counts as absent, as in Linux) */
	int wscale;           /* the shift as sent, or -1: absent */
	bool sack;
	bool ts;
	uint32_t tsval_raw;   /* the client's TSval in wire order: echoed byte for byte */
};

/* Linux's SYN options (MSS, SACK-permitted, timestamps, NOP, window scale): the common case, matched at once. */
#define LINUX_LAYOUT_LEN 20
#define LINUX_HEAD_MASK 0xffff0000ffffffffULL
#define LINUX_HEAD 0x020400000402080aULL
#define LINUX_TAIL 0x01030300u

static inline bool parse_linux_layout(const uint8_t *p, struct syn_options *o)
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
	return true;
}

/*
 * Parses len bytes of options. Like Linux, a known option with an unexpected length is ignored and unknown options
 * are skipped by their length; a list that cannot be walked (a length below 2, or an option running past the header)
 * is malformed.
 *
 * @return false if the option list is malformed
 */
static inline bool parse_syn_options(const uint8_t *p, unsigned len, struct syn_options *o)
{
	if (len == LINUX_LAYOUT_LEN && parse_linux_layout(p, o))
		return true;
	o->mss = -1;
	o->wscale = -1;
	o->sack = false;
	o->ts = false;
	o->tsval_raw = 0;
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
			}
			break;
		default:
			break;   /* unknown options are skipped by their length and never reflected */
		}
		i += olen;
	}
	return true;
}

/* The cookie's option bits for a SYN: the client's MSS rounded down into the table, its window scale, SACK, ECN. */
static inline unsigned syn_option_bits(unsigned tcp_flags, const struct syn_options *o)
{
	const int mss = o->mss < 0 ? DEFAULT_MSS_V4 : o->mss;
	unsigned mss_index = RTE_DIM(MSS_TABLE_V4) - 1;
	/* Below the smallest entry Linux also uses the smallest. */
	while (mss_index > 0 && mss < MSS_TABLE_V4[mss_index])
		mss_index--;
	const unsigned wscale = o->wscale < 0 ? COOKIE_WS_NONE : (unsigned)RTE_MIN(o->wscale, COOKIE_MAX_WS);
	const bool ecn = (tcp_flags & (TCP_ECE | TCP_CWR)) == (TCP_ECE | TCP_CWR);
	return cookie_option_bits(mss_index, ecn, o->sack, wscale);
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

/* ---------------------------------------------------------------------------------------------------------------- */
/* The rewrite                                                                                                      */
/* ---------------------------------------------------------------------------------------------------------------- */

static inline void swap_macs(uint8_t *frame)
{
	uint8_t tmp[6];
	memcpy(tmp, frame, 6);
	memcpy(frame, frame + 6, 6);
	memcpy(frame + 6, tmp, 6);
}

/*
 * Writes an option-less IPv4 header (id 0, DF, TTL 64, TCP) and its checksum, summed from the words in hand.
 * src_raw and dst_raw are addresses in wire order.
 */
static inline void write_ipv4(uint8_t *ip, unsigned total_length, uint32_t src_raw, uint32_t dst_raw)
{
	const uint32_t w0 = rte_cpu_to_be_32((0x45u << 24) | total_length);          /* version, IHL, TOS 0, length */
	const uint32_t w1 = rte_cpu_to_be_32(IPV4_DF);                                /* id 0, DF, offset 0 */
	const uint32_t w2 = rte_cpu_to_be_32(((uint32_t)TTL << 24) | (IPPROTO_TCP_ << 16)); /* checksum 0 for now */
	const uint16_t checksum = csum_finish((uint64_t)w0 + w1 + w2 + src_raw + dst_raw);

	store_raw32(ip, w0);
	store_raw32(ip + 4, w1);
	store_raw32(ip + 8, w2);
	store_raw16(ip + 10, checksum);
	store_raw32(ip + 12, src_raw);
	store_raw32(ip + 16, dst_raw);
}

/*
 * Writes the SYN-ACK's TCP header and options over the SYN's, and its checksum.
 *
 * @param ports_raw the SYN's port word in wire order
 * @param pseudo    the unfolded pseudo-header sum (addresses and protocol) without the length
 */
static inline void write_syn_ack(uint8_t *tcp, uint32_t ports_raw, uint32_t cookie, uint32_t isn, unsigned bits,
				 bool ts, uint32_t tsval, uint32_t tsecr_raw, uint64_t pseudo)
{
	const unsigned tcp_length = TCP_MIN_LEN + syn_ack_options_length(bits, ts);
	/* Swapping the word's 16-bit halves swaps the ports whatever the host's byte order. */
	const uint32_t ports = (ports_raw >> 16) | (ports_raw << 16);
	const uint32_t seq = rte_cpu_to_be_32(cookie);
	const uint32_t ack = rte_cpu_to_be_32(isn + 1);
	const unsigned flags = TCP_SYN | TCP_ACK | ((bits & COOKIE_ECN_BIT) ? TCP_ECE : 0);
	const uint32_t offset_flags_window = rte_cpu_to_be_32(((tcp_length << 2) << 24) | (flags << 16) | WINDOW);

	store_raw32(tcp, ports);
	store_raw32(tcp + 4, seq);
	store_raw32(tcp + 8, ack);
	store_raw32(tcp + 12, offset_flags_window);
	const uint64_t options_sum = write_syn_ack_options(tcp + TCP_MIN_LEN, bits, ts, tsval, tsecr_raw);
	const uint64_t sum = pseudo + rte_cpu_to_be_16(tcp_length) + ports + seq + ack + offset_flags_window
		+ options_sum;
	store_raw16(tcp + 16, csum_finish(sum));
	store_raw16(tcp + 18, 0);   /* urgent pointer */
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Per-frame processing (PacketEngine.processFrame / processV4, the SYN branch)                                     */
/* ---------------------------------------------------------------------------------------------------------------- */

static inline enum drop_reason check_syn(unsigned flags, unsigned segment_length, unsigned tcp_length)
{
	if (flags & TCP_RST)
		return DROP_SYN_RST;
	if (flags & TCP_FIN)
		return DROP_SYN_FIN;
	if (segment_length != tcp_length)
		return DROP_SYN_WITH_PAYLOAD;
	return DROP_NONE;
}

/*
 * Turns an IPv4 SYN to the VIP into its SYN-ACK, in place; anything else is a drop reason.
 *
 * @param now_ms a millisecond clock, only for our TSval
 */
static inline enum drop_reason process_frame(struct rte_mbuf *m, uint32_t now_ms)
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
	uint8_t *const tcp_in = ip + ihl;
	const unsigned segment_length = total_length - ihl;
	if (segment_length < TCP_MIN_LEN)
		return DROP_TRUNCATED;
	if (load_be32(ip + 16) != VIP_ADDRESS || load_be16(tcp_in + 2) != VIP_PORT)
		return DROP_NOT_VIP;
	const unsigned tcp_length = (tcp_in[12] >> 4) * 4;
	if (tcp_length < TCP_MIN_LEN || tcp_length > segment_length)
		return DROP_BAD_DATA_OFFSET;
	const unsigned flags = tcp_in[13];
	if ((flags & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return DROP_NOT_SYN;
	const enum drop_reason reason = check_syn(flags, segment_length, tcp_length);
	if (reason != DROP_NONE)
		return reason;
	struct syn_options options;
	if (!parse_syn_options(tcp_in + TCP_MIN_LEN, tcp_length - TCP_MIN_LEN, &options))
		return DROP_BAD_TCP_OPTIONS;
	const uint32_t client_raw = load_raw32(ip + 12);
	const uint32_t vip_raw = load_raw32(ip + 16);
	/* The pseudo header's sum is the same both ways: the reply only swaps the addresses. */
	const uint64_t pseudo = (uint64_t)client_raw + vip_raw + rte_cpu_to_be_16(IPPROTO_TCP_);
	if ((ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) != RTE_MBUF_F_RX_L4_CKSUM_GOOD
	    && !csum_verifies(pseudo + rte_cpu_to_be_16(segment_length) + csum_bytes(tcp_in, tcp_length)))
		return DROP_BAD_TCP_CHECKSUM;

	/* The cookie, from the SYN as it came. */
	const uint32_t isn = load_be32(tcp_in + 4);
	const uint32_t ports_raw = load_raw32(tcp_in);
	const unsigned bits = syn_option_bits(flags, &options);
	const uint32_t cookie = cookie_issue_v4(load_le64(ip + 12), load_le64(tcp_in), bits);

	/* The SYN-ACK: option-less IPv4 header, so TCP moves up if the SYN's IP header had options. */
	const unsigned tcp_out = TCP_MIN_LEN + syn_ack_options_length(bits, options.ts);
	const unsigned out_length = ETH_LEN + IPV4_MIN_LEN + tcp_out;
	const unsigned padded = RTE_MAX(out_length, (unsigned)ETH_MIN_FRAME);
	if (padded > length + rte_pktmbuf_tailroom(m))
		return DROP_NO_ROOM;
	swap_macs(frame);
	write_ipv4(ip, IPV4_MIN_LEN + tcp_out, vip_raw, client_raw);
	/* Our TSval only has to be stable for the connection: the backend sets its clock offset from the echo. */
	write_syn_ack(ip + IPV4_MIN_LEN, ports_raw, cookie, isn, bits, options.ts, now_ms + cookie,
		      options.tsval_raw, pseudo);
	if (out_length < ETH_MIN_FRAME)
		memset(frame + out_length, 0, ETH_MIN_FRAME - out_length);
	m->data_len = (uint16_t)padded;
	m->pkt_len = padded;
	return DROP_NONE;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* The polling loop                                                                                                 */
/* ---------------------------------------------------------------------------------------------------------------- */

struct stats {
	uint64_t rx;
	uint64_t tx;
	uint64_t tx_failed;
	uint64_t drops[DROP_REASONS];
};

struct run {
	uint64_t warmup_cycles;
	uint64_t measure_cycles;
	/* Results */
	uint64_t measured_packets;
	uint64_t measured_cycles;
	struct stats total;
};

static volatile bool stop_requested;

static void on_signal(int signum)
{
	(void)signum;
	stop_requested = true;
}

/* Processes one received burst: SYN-ACKs out of the TX port, everything else (and what it refuses) freed. */
static inline void handle_burst(struct rte_mbuf **pkts, uint16_t n, uint32_t now_ms, struct stats *st)
{
	struct rte_mbuf *tx[BURST];
	struct rte_mbuf *drop[BURST];
	uint16_t ntx = 0, ndrop = 0;

	for (uint16_t i = 0; i < n; i++) {
		if (i + 1 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		const enum drop_reason reason = process_frame(pkts[i], now_ms);
		if (likely(reason == DROP_NONE)) {
			tx[ntx++] = pkts[i];
		} else {
			st->drops[reason]++;
			drop[ndrop++] = pkts[i];
		}
	}
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
	st->rx += n;
}

/* Polls for the warm-up, then for the measured period, timing it with the TSC. */
static int poll_loop(void *arg)
{
	struct run *run = arg;
	struct rte_mbuf *pkts[BURST];
	struct stats st;
	const uint64_t tsc_per_ms = RTE_MAX(rte_get_tsc_hz() / 1000, (uint64_t)1);
	bool measuring = false;
	uint64_t start = rte_rdtsc();
	uint64_t deadline = start + run->warmup_cycles;
	uint64_t rx_at_start = 0;

	memset(&st, 0, sizeof(st));
	fprintf(stderr, "baseline: polling on lcore %u, warm-up %.1f s\n", rte_lcore_id(),
		(double)run->warmup_cycles / rte_get_tsc_hz());
	for (;;) {
		const uint64_t now = rte_rdtsc();
		if (unlikely(now >= deadline || stop_requested)) {
			if (measuring || stop_requested) {
				if (measuring) {
					run->measured_packets = st.rx - rx_at_start;
					run->measured_cycles = now - start;
				}
				break;
			}
			measuring = true;
			start = now;
			deadline = now + run->measure_cycles;
			rx_at_start = st.rx;
		}
		const uint16_t n = rte_eth_rx_burst(RX_PORT, 0, pkts, BURST);
		if (n == 0)
			continue;
		handle_burst(pkts, n, (uint32_t)(now / tsc_per_ms), &st);
	}
	run->total = st;
	return 0;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Setup                                                                                                            */
/* ---------------------------------------------------------------------------------------------------------------- */

static int port_init(uint16_t port, struct rte_mempool *pool)
{
	struct rte_eth_conf conf;
	struct rte_eth_dev_info info;
	uint16_t nb_rx = RX_DESCRIPTORS, nb_tx = TX_DESCRIPTORS;
	int rc;

	memset(&conf, 0, sizeof(conf));
	if (!rte_eth_dev_is_valid_port(port)) {
		fprintf(stderr, "baseline: port %u does not exist (give two ports: RX then TX)\n", port);
		return -ENODEV;
	}
	rc = rte_eth_dev_info_get(port, &info);
	if (rc != 0)
		return rc;
	fprintf(stderr, "baseline: port %u is %s (%s)\n", port, rte_dev_name(info.device), info.driver_name);
	rc = rte_eth_dev_configure(port, 1, 1, &conf);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rx, &nb_tx);
	if (rc != 0)
		return rc;
	const int socket = rte_eth_dev_socket_id(port);
	const unsigned queue_socket = socket < 0 ? rte_socket_id() : (unsigned)socket;
	rc = rte_eth_rx_queue_setup(port, 0, nb_rx, queue_socket, NULL, pool);
	if (rc != 0)
		return rc;
	rc = rte_eth_tx_queue_setup(port, 0, nb_tx, queue_socket, NULL);
	if (rc != 0)
		return rc;
	rc = rte_eth_dev_start(port);
	if (rc != 0)
		return rc;
	/* Promiscuous: the test traffic's destination MAC is not the port's. Not every PMD supports it. */
	rc = rte_eth_promiscuous_enable(port);
	if (rc != 0 && rc != -ENOTSUP)
		fprintf(stderr, "baseline: port %u: promiscuous mode: %s\n", port, rte_strerror(-rc));
	return 0;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [EAL args] -- --seconds N --warmup W\n", prog);
}

/* Parses the application's arguments (after EAL's "--"). */
static bool parse_args(int argc, char **argv, double *seconds, double *warmup)
{
	for (int i = 1; i < argc; i++) {
		double *target;
		if (strcmp(argv[i], "--seconds") == 0)
			target = seconds;
		else if (strcmp(argv[i], "--warmup") == 0)
			target = warmup;
		else
			return false;
		if (i + 1 >= argc)
			return false;
		char *end;
		*target = strtod(argv[++i], &end);
		if (*end != '\0' || *target < 0)
			return false;
	}
	return *seconds > 0;
}

int main(int argc, char **argv)
{
	double seconds = 10, warmup = 1;
	struct run run;
	int rc = rte_eal_init(argc, argv);

	if (rc < 0) {
		fprintf(stderr, "baseline: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	if (!parse_args(argc, argv, &seconds, &warmup)) {
		usage(argv[0]);
		rte_eal_cleanup();
		return 2;
	}
	if (!siphash_self_test()) {
		fprintf(stderr, "baseline: SipHash-2-4 self-test failed\n");
		rte_eal_cleanup();
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	struct rte_mempool *pool = rte_pktmbuf_pool_create("baseline_mbufs", NUM_MBUFS, MBUF_CACHE, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "baseline: mbuf pool: %s\n", rte_strerror(rte_errno));
		rte_eal_cleanup();
		return 1;
	}
	int status = 1;
	if ((rc = port_init(RX_PORT, pool)) != 0 || (rc = port_init(TX_PORT, pool)) != 0) {
		fprintf(stderr, "baseline: port setup: %s\n", rte_strerror(-rc));
		goto out;
	}

	memset(&run, 0, sizeof(run));
	const uint64_t hz = rte_get_tsc_hz();
	run.warmup_cycles = (uint64_t)(warmup * (double)hz);
	run.measure_cycles = (uint64_t)(seconds * (double)hz);
	/* One lcore polls: the first worker if there is one, so the main lcore stays out of its way. */
	const unsigned worker = rte_get_next_lcore(-1, 1, 0);
	if (worker < RTE_MAX_LCORE) {
		rte_eal_remote_launch(poll_loop, &run, worker);
		rte_eal_wait_lcore(worker);
	} else {
		poll_loop(&run);
	}

	const struct stats *st = &run.total;
	fprintf(stderr, "baseline: rx %" PRIu64 ", tx %" PRIu64 ", tx failed %" PRIu64 "\n", st->rx, st->tx,
		st->tx_failed);
	for (int r = 1; r < DROP_REASONS; r++)
		if (st->drops[r] != 0)
			fprintf(stderr, "baseline: dropped %s: %" PRIu64 "\n", DROP_NAMES[r], st->drops[r]);
	if (run.measured_cycles == 0) {
		fprintf(stderr, "baseline: stopped before the measured period ended\n");
		goto out;
	}
	const double measured_s = (double)run.measured_cycles / (double)hz;
	const uint64_t packets = run.measured_packets;
	printf("{\"mpps\": %.3f, \"packets\": %" PRIu64 ", \"seconds\": %.3f, \"cycles_per_packet\": %.1f}\n",
	       (double)packets / measured_s / 1e6, packets, measured_s,
	       packets == 0 ? 0.0 : (double)run.measured_cycles / (double)packets);
	fflush(stdout);
	status = 0;
out:
	/* Stopping and closing the ports flushes a pcap TX file. */
	for (uint16_t port = 0; port < 2; port++) {
		if (rte_eth_dev_is_valid_port(port)) {
			rte_eth_dev_stop(port);
			rte_eth_dev_close(port);
		}
	}
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return status;
}
