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

#define SP_ABI_VERSION 3

/* One received frame, as the packet engine reads it (io.synproxy.engine.FrameDescriptors). 32 bytes. */
typedef struct sp_frame {
    uint64_t address;   /* first byte of the frame; the engine may move it back (encapsulation) */
    uint32_t length;    /* frame length; the engine may change it */
    uint16_t headroom;  /* bytes writable before address */
    uint16_t tailroom;  /* bytes writable after address + length */
    uint32_t rss_hash;  /* the NIC's RSS hash, 0 if none */
    uint16_t rx_flags;  /* SP_RX_* */
    uint8_t verdict;    /* written by the engine */
    uint8_t reason;     /* written by the engine */
    void *mbuf;         /* the rte_mbuf, opaque to Java */
} sp_frame;

#define SP_RX_IP_CHECKSUM_GOOD 1
#define SP_RX_L4_CHECKSUM_GOOD 2

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

/* Configures rx/tx queues (RSS over the rx queues when there are several) and enables the checksum offloads the port
 * offers; 0 or a negative errno. */
int sp_port_setup(uint16_t port, uint16_t rx_queues, uint16_t tx_queues, uint16_t rx_descriptors,
                  uint16_t tx_descriptors, void *pool);
int sp_port_start(uint16_t port);
int sp_port_stop(uint16_t port);
int sp_port_close(uint16_t port);
int sp_port_promiscuous(uint16_t port, int on);
/* 1 up, 0 down, negative errno. */
int sp_port_link_up(uint16_t port);
int sp_port_stats(uint16_t port, uint64_t *out);

/* Receives up to max frames into frames[0..]; returns how many. */
uint16_t sp_rx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t max);
/* Applies each frame's address and length to its mbuf and transmits frames[0..count); returns how many the port
 * took. The caller keeps the rest (to retry or free). */
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
