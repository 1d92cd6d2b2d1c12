/*
 * synproxy's DPDK shim: the few DPDK calls the Java data plane needs, as plain exported functions.
 *
 * DPDK's fast-path calls (rte_eth_rx_burst, rte_eth_tx_burst, rte_pktmbuf_*) are static inline, so no FFM binding
 * can reach them; and rte_mbuf's layout (unions, bitfields) changes between releases, so Java must never read it.
 * This shim crosses the boundary once per burst and speaks only sp_frame, a flat descriptor Java owns.
 *
 * Every function is prefixed sp_. Bump SP_ABI_VERSION on any change to a signature or to sp_frame: the Java
 * bindings refuse to run against a shim of another version.
 */
#ifndef SP_SHIM_H
#define SP_SHIM_H

#include <stdint.h>

#define SP_ABI_VERSION 4

/*
 * One frame, as the packet engine reads it on the way in and describes it on the way out
 * (io.synproxy.engine.FrameDescriptors). 32 bytes, native byte order:
 *
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 address (64 bits)                 [in/out]    |  0
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 length                            [in/out]    |  8
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     headroom          [in]    |     tailroom          [in]    | 12
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |  in: rss_hash / out: tx_offload (see below)                   | 16
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |     rx_flags          [in]    | verdict [out] | reason [out]  | 20
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                 mbuf (opaque to Java)                         | 24
 * +                                                               +
 * |                                                               |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * The word at 16 has two lives: sp_rx_burst writes the NIC's RSS hash there, and a frame going out needs no RSS hash
 * (nor its RX flags), so the same 4 bytes carry the engine's TX checksum request to sp_tx_burst (32 bytes have no
 * free field, and growing the descriptor would cost every burst a cache line in two):
 *
 *   tx_offload (uint32, as a number):
 *    31          24 23          16 15           8 7     3 2 1 0
 *   +--------------+--------------+--------------+-------+-+-+-+
 *   |    l4_len    |    l3_len    |    l2_len    |   0   |6|T|I|
 *   +--------------+--------------+--------------+-------+-+-+-+
 *   I = SP_TX_IP_CHECKSUM   the port computes the IPv4 header checksum (the field holds 0)
 *   T = SP_TX_TCP_CHECKSUM  the port computes the TCP checksum (the field holds the pseudo-header sum, folded and not
 *                           complemented, as rte_ipv4_phdr_cksum / rte_ipv6_phdr_cksum give it)
 *   6 = SP_TX_IPV6          the L3 header is IPv6 (else IPv4)
 *   l2_len, l3_len, l4_len  the header lengths the port finds the headers by (Ethernet with its VLAN tag, IP, TCP);
 *                           DPDK's API needs l4_len for TSO only, and net_tap 22.11.11 finds the TCP header itself
 *                           (scripts/offload-test.sh passes with l4_len 0), but older net_tap versions computed the
 *                           checksums in a copy of exactly l2_len + l3_len + l4_len bytes: it is known, so it is set
 *
 * sp_tx_burst reads the word only on a port whose TX checksum offloads it enabled (sp_port_tx_checksum), and takes
 * only the bits that port enabled; on any other port a frame goes out exactly as before this word existed, whatever
 * it holds. For a port that reads it, the engine writes it with every TX verdict (0: no request, the frame goes out
 * as it is), and whoever transmits a frame it received without the engine (the exception path) clears it.
 */
typedef struct sp_frame {
    uint64_t address;   /* first byte of the frame; the engine may move it back (encapsulation) */
    uint32_t length;    /* frame length; the engine may change it */
    uint16_t headroom;  /* bytes writable before address */
    uint16_t tailroom;  /* bytes writable after address + length */
    union {
        uint32_t rss_hash;   /* in: the NIC's RSS hash, 0 if none */
        uint32_t tx_offload; /* out: SP_TX_* | l2_len << 8 | l3_len << 16 | l4_len << 24, 0: none */
    };
    uint16_t rx_flags;  /* SP_RX_* */
    uint8_t verdict;    /* written by the engine */
    uint8_t reason;     /* written by the engine */
    void *mbuf;         /* the rte_mbuf, opaque to Java */
} sp_frame;

#define SP_RX_IP_CHECKSUM_GOOD 1
#define SP_RX_L4_CHECKSUM_GOOD 2

/* tx_offload's request bits, and what sp_port_tx_checksum reports a port has enabled (SP_TX_IP_CHECKSUM,
 * SP_TX_TCP_CHECKSUM). */
#define SP_TX_IP_CHECKSUM 1
#define SP_TX_TCP_CHECKSUM 2
#define SP_TX_IPV6 4
#define SP_TX_L2_SHIFT 8
#define SP_TX_L3_SHIFT 16
#define SP_TX_L4_SHIFT 24

/* Indexes for sp_layout(): what the Java bindings check at start-up. */
enum sp_layout_item {
    SP_LAYOUT_FRAME_SIZE = 0,
    SP_LAYOUT_FRAME_ADDRESS,
    SP_LAYOUT_FRAME_LENGTH,
    SP_LAYOUT_FRAME_HEADROOM,
    SP_LAYOUT_FRAME_TAILROOM,
    SP_LAYOUT_FRAME_RSS_HASH,
    SP_LAYOUT_FRAME_RX_FLAGS,
    SP_LAYOUT_FRAME_VERDICT,
    SP_LAYOUT_FRAME_REASON,
    SP_LAYOUT_FRAME_MBUF,
    SP_LAYOUT_STATS_COUNT,
    SP_LAYOUT_FRAME_TX_OFFLOAD, /* the same offset as SP_LAYOUT_FRAME_RSS_HASH: one word, two lives */
    /* tx_offload's encoding: Java builds the word, so its bits are part of the layout too. */
    SP_LAYOUT_TX_IP_CHECKSUM,
    SP_LAYOUT_TX_TCP_CHECKSUM,
    SP_LAYOUT_TX_IPV6,
    SP_LAYOUT_TX_L2_SHIFT,
    SP_LAYOUT_TX_L3_SHIFT,
    SP_LAYOUT_TX_L4_SHIFT,
    SP_LAYOUT_ITEMS
};

/* Port statistics, in this order, as uint64_t[SP_STATS_COUNT]. */
enum sp_stats_item {
    SP_STATS_IPACKETS = 0, SP_STATS_OPACKETS, SP_STATS_IBYTES, SP_STATS_OBYTES, SP_STATS_IMISSED,
    SP_STATS_IERRORS, SP_STATS_OERRORS, SP_STATS_RX_NOMBUF, SP_STATS_COUNT
};

int sp_abi_version(void);
/* A size or offset of the shim's structures (enum sp_layout_item), or -1 for an unknown item. */
long sp_layout(int item);

/* EAL. sp_eal_init returns the number of arguments consumed, or -1 with sp_errno() set. */
int sp_eal_init(int argc, char **argv);
int sp_eal_cleanup(void);
/* rte_errno of the calling thread, and DPDK's text for an error number. */
int sp_errno(void);
const char *sp_strerror(int errnum);

/* Hot-plugs a virtual device ("net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"); 0 or a negative errno. */
int sp_dev_probe(const char *devargs);
/* The port id of a device name, or a negative errno. */
int sp_port_by_name(const char *name);
int sp_port_count(void);
int sp_port_socket(uint16_t port);
/* Writes the port's MAC address into out[6]; 0 or a negative errno. */
int sp_port_mac(uint16_t port, uint8_t *out);

/* A packet mempool; NULL with sp_errno() set on failure. */
void *sp_mempool_create(const char *name, uint32_t count, uint32_t cache, uint16_t data_room, int socket);
void sp_mempool_free(void *pool);
/* Mbufs of the pool not in use. */
uint32_t sp_mempool_available(void *pool);

/* Configures rx/tx queues (RSS over the rx queues when there are several) and enables the RX checksum offloads the
 * port offers; with tx_checksum nonzero also the TX ones it offers of IPv4 header and TCP checksum (never UDP: the
 * encapsulation's UDP checksum is 0). 0 or a negative errno. */
int sp_port_setup(uint16_t port, uint16_t rx_queues, uint16_t tx_queues, uint16_t rx_descriptors,
                  uint16_t tx_descriptors, void *pool, int tx_checksum);
/* The TX checksum offloads of IPv4 header and TCP a port offers (dev_info.tx_offload_capa) as SP_TX_IP_CHECKSUM |
 * SP_TX_TCP_CHECKSUM, or a negative errno. */
int sp_port_tx_checksum_offered(uint16_t port);
/* Those the configured port has enabled (its ethdev configuration's txmode.offloads), in the same bits, or a negative
 * errno: what the engine may ask sp_tx_burst for. */
int sp_port_tx_checksum(uint16_t port);
int sp_port_start(uint16_t port);
int sp_port_stop(uint16_t port);
int sp_port_close(uint16_t port);
int sp_port_promiscuous(uint16_t port, int on);
/* 1 up, 0 down, negative errno. */
int sp_port_link_up(uint16_t port);
int sp_port_stats(uint16_t port, uint64_t *out);

/* Receives up to max frames into frames[0..]; returns how many. */
uint16_t sp_rx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t max);
/* Applies each frame's address and length (and on a port with TX checksum offloads enabled, its tx_offload request:
 * ol_flags, l2_len, l3_len, l4_len) to its mbuf and transmits frames[0..count); returns how many the port took. The
 * caller keeps the rest (to retry or free). */
uint16_t sp_tx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t count);
/* Frees the mbufs of frames[0..count). */
void sp_free(sp_frame *frames, uint16_t count);

/* An rte_ring by name (e.g. one net_ring created with nodeaction=NAME:SOCKET:CREATE, "ETH_RXTX0_NAME"), NULL if none:
 * how a test plays a port that is slower than the traffic. sp_ring_drain frees up to max mbufs waiting in it and
 * returns how many; sp_ring_count says how many wait. */
void *sp_ring_lookup(const char *name);
uint32_t sp_ring_drain(void *ring, uint32_t max);
uint32_t sp_ring_count(void *ring);

/* Registers the calling non-EAL thread with EAL (per-lcore mempool caches) and pins it to one core. */
int sp_thread_register(void);
int sp_thread_pin(int core);

/* DPDK telemetry (dpdk-telemetry.py -f PREFIX): the counters of synproxy's counters file, read where Java mapped it.
 * metadata and values are the two buffers of its Agrona CountersManager (io.synproxy.dataplane.StatsFile), of these
 * lengths in bytes; nothing past them is read. The first successful call registers the commands
 *   /synproxy/counters[,PREFIX]  every allocated counter, name -> value (only names starting with PREFIX, if given)
 *   /synproxy/workers            per worker: busy_ns, idle_ns, load_permille
 * (DPDK cannot unregister a command, so later calls only point them at other buffers). Returns 0 or a negative errno
 * from rte_telemetry_register_cmd. With EAL's --no-telemetry it still succeeds: DPDK keeps the commands, but no socket
 * serves them. sp_telemetry_detach makes the commands answer empty: call it before the buffers are unmapped. */
int sp_telemetry_register(const void *metadata, int32_t metadata_length, const void *values, int32_t values_length);
void sp_telemetry_detach(void);

#endif
