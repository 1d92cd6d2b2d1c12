/* synproxy's DPDK shim: see sp_shim.h for why it exists and the rules it follows. */
#define _GNU_SOURCE
#include "sp_shim.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

_Static_assert(sizeof(sp_frame) == 32, "sp_frame is 32 bytes: Java's FrameDescriptors.SIZE");

/* Bursts larger than this are processed in chunks: the mbuf pointer arrays live on the stack. */
#define SP_CHUNK 64

int sp_abi_version(void) { return SP_ABI_VERSION; }

long sp_layout(int item)
{
    switch (item) {
    case SP_LAYOUT_FRAME_SIZE: return sizeof(sp_frame);
    case SP_LAYOUT_FRAME_ADDRESS: return offsetof(sp_frame, address);
    case SP_LAYOUT_FRAME_LENGTH: return offsetof(sp_frame, length);
    case SP_LAYOUT_FRAME_HEADROOM: return offsetof(sp_frame, headroom);
    case SP_LAYOUT_FRAME_TAILROOM: return offsetof(sp_frame, tailroom);
    case SP_LAYOUT_FRAME_RSS_HASH: return offsetof(sp_frame, rss_hash);
    case SP_LAYOUT_FRAME_RX_FLAGS: return offsetof(sp_frame, rx_flags);
    case SP_LAYOUT_FRAME_VERDICT: return offsetof(sp_frame, verdict);
    case SP_LAYOUT_FRAME_REASON: return offsetof(sp_frame, reason);
    case SP_LAYOUT_FRAME_MBUF: return offsetof(sp_frame, mbuf);
    case SP_LAYOUT_STATS_COUNT: return SP_STATS_COUNT;
    default: return -1;
    }
}

int sp_eal_init(int argc, char **argv) { return rte_eal_init(argc, argv); }

int sp_eal_cleanup(void) { return rte_eal_cleanup(); }

int sp_errno(void) { return rte_errno; }

const char *sp_strerror(int errnum) { return rte_strerror(errnum < 0 ? -errnum : errnum); }

int sp_dev_probe(const char *devargs) { return rte_dev_probe(devargs); }

int sp_port_by_name(const char *name)
{
    uint16_t port;
    int rc = rte_eth_dev_get_port_by_name(name, &port);
    return rc < 0 ? rc : port;
}

int sp_port_count(void) { return rte_eth_dev_count_avail(); }

int sp_port_socket(uint16_t port) { return rte_eth_dev_socket_id(port); }

int sp_port_mac(uint16_t port, uint8_t *out)
{
    struct rte_ether_addr mac;
    int rc = rte_eth_macaddr_get(port, &mac);
    if (rc == 0)
        memcpy(out, mac.addr_bytes, RTE_ETHER_ADDR_LEN);
    return rc;
}

void *sp_mempool_create(const char *name, uint32_t count, uint32_t cache, uint16_t data_room, int socket)
{
    return rte_pktmbuf_pool_create(name, count, cache, 0, data_room, socket);
}

void sp_mempool_free(void *pool) { rte_mempool_free(pool); }

uint32_t sp_mempool_available(void *pool) { return rte_mempool_avail_count(pool); }

void *sp_ring_lookup(const char *name) { return rte_ring_lookup(name); }

uint32_t sp_ring_drain(void *ring, uint32_t max)
{
    void *mbufs[SP_CHUNK];
    uint32_t freed = 0;
    while (freed < max) {
        unsigned want = max - freed < SP_CHUNK ? max - freed : SP_CHUNK;
        unsigned got = rte_ring_dequeue_burst(ring, mbufs, want, NULL);
        if (got == 0)
            break;
        rte_pktmbuf_free_bulk((struct rte_mbuf **)mbufs, got);
        freed += got;
    }
    return freed;
}

uint32_t sp_ring_count(void *ring) { return rte_ring_count(ring); }

int sp_port_setup(uint16_t port, uint16_t rx_queues, uint16_t tx_queues, uint16_t rx_descriptors,
                  uint16_t tx_descriptors, void *pool)
{
    struct rte_eth_dev_info info;
    struct rte_eth_conf conf;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc != 0)
        return rc;
    if (rx_queues > info.max_rx_queues || tx_queues > info.max_tx_queues)
        return -EINVAL;
    memset(&conf, 0, sizeof(conf));
    if (rx_queues > 1) {
        /* Spread flows over the workers' queues; a flow's packets stay on one worker. */
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    }
    /* Checksum verification by the NIC spares the engine's software check (SP_RX_* flags). */
    conf.rxmode.offloads = (RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM) & info.rx_offload_capa;
    if (conf.rx_adv_conf.rss_conf.rss_hf != 0)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH & info.rx_offload_capa;
    rc = rte_eth_dev_configure(port, rx_queues, tx_queues, &conf);
    if (rc != 0)
        return rc;
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rx_descriptors, &tx_descriptors);
    if (rc != 0)
        return rc;
    int socket = rte_eth_dev_socket_id(port);
    for (uint16_t q = 0; q < rx_queues; q++) {
        rc = rte_eth_rx_queue_setup(port, q, rx_descriptors, socket, NULL, pool);
        if (rc != 0)
            return rc;
    }
    for (uint16_t q = 0; q < tx_queues; q++) {
        rc = rte_eth_tx_queue_setup(port, q, tx_descriptors, socket, NULL);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int sp_port_start(uint16_t port) { return rte_eth_dev_start(port); }

int sp_port_stop(uint16_t port) { return rte_eth_dev_stop(port); }

int sp_port_close(uint16_t port) { return rte_eth_dev_close(port); }

int sp_port_promiscuous(uint16_t port, int on)
{
    return on ? rte_eth_promiscuous_enable(port) : rte_eth_promiscuous_disable(port);
}

int sp_port_link_up(uint16_t port)
{
    struct rte_eth_link link;
    int rc = rte_eth_link_get_nowait(port, &link);
    return rc < 0 ? rc : link.link_status == RTE_ETH_LINK_UP;
}

int sp_port_stats(uint16_t port, uint64_t *out)
{
    struct rte_eth_stats stats;
    int rc = rte_eth_stats_get(port, &stats);
    if (rc != 0)
        return rc;
    out[SP_STATS_IPACKETS] = stats.ipackets;
    out[SP_STATS_OPACKETS] = stats.opackets;
    out[SP_STATS_IBYTES] = stats.ibytes;
    out[SP_STATS_OBYTES] = stats.obytes;
    out[SP_STATS_IMISSED] = stats.imissed;
    out[SP_STATS_IERRORS] = stats.ierrors;
    out[SP_STATS_OERRORS] = stats.oerrors;
    out[SP_STATS_RX_NOMBUF] = stats.rx_nombuf;
    return 0;
}

static inline uint16_t rx_flags(const struct rte_mbuf *m)
{
    uint16_t flags = 0;
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD)
        flags |= SP_RX_IP_CHECKSUM_GOOD;
    if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
        flags |= SP_RX_L4_CHECKSUM_GOOD;
    return flags;
}

uint16_t sp_rx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t max)
{
    struct rte_mbuf *mbufs[SP_CHUNK];
    uint16_t total = 0;
    while (total < max) {
        uint16_t want = max - total < SP_CHUNK ? max - total : SP_CHUNK;
        uint16_t n = rte_eth_rx_burst(port, queue, mbufs, want);
        for (uint16_t i = 0; i < n; i++) {
            struct rte_mbuf *m = mbufs[i];
            sp_frame *f = &frames[total + i];
            f->address = rte_pktmbuf_mtod(m, uintptr_t);
            /* Frames fit one segment (data room >= MTU, no scatter): the first segment is the frame. */
            f->length = rte_pktmbuf_data_len(m);
            f->headroom = rte_pktmbuf_headroom(m);
            f->tailroom = rte_pktmbuf_tailroom(m);
            f->rss_hash = (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) ? m->hash.rss : 0;
            f->rx_flags = rx_flags(m);
            f->verdict = 0;
            f->reason = 0;
            f->mbuf = m;
        }
        total += n;
        if (n < want)
            break;
    }
    return total;
}

uint16_t sp_tx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t count)
{
    struct rte_mbuf *mbufs[SP_CHUNK];
    uint16_t sent = 0;
    while (sent < count) {
        uint16_t chunk = count - sent < SP_CHUNK ? count - sent : SP_CHUNK;
        for (uint16_t i = 0; i < chunk; i++) {
            sp_frame *f = &frames[sent + i];
            struct rte_mbuf *m = f->mbuf;
            /* The engine moved the frame's start (encapsulation) or its end (SYN-ACK): tell the mbuf. */
            m->data_off = (uint16_t)(f->address - (uintptr_t)m->buf_addr);
            m->data_len = (uint16_t)f->length;
            m->pkt_len = f->length;
            mbufs[i] = m;
        }
        uint16_t n = rte_eth_tx_burst(port, queue, mbufs, chunk);
        sent += n;
        if (n < chunk)
            break;
    }
    return sent;
}

void sp_free(sp_frame *frames, uint16_t count)
{
    struct rte_mbuf *mbufs[SP_CHUNK];
    for (uint16_t done = 0; done < count;) {
        uint16_t chunk = count - done < SP_CHUNK ? count - done : SP_CHUNK;
        for (uint16_t i = 0; i < chunk; i++)
            mbufs[i] = frames[done + i].mbuf;
        rte_pktmbuf_free_bulk(mbufs, chunk);
        done += chunk;
    }
}

int sp_thread_register(void) { return rte_thread_register(); }

int sp_thread_pin(int core)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}
