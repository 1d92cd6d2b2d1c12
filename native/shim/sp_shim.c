/* synproxy's DPDK shim: see sp_shim.h for why it exists and the rules it follows. */
#define _GNU_SOURCE
#include "sp_shim.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>

#include <rte_bus_vdev.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_telemetry.h>
#include <rte_version.h>

_Static_assert(sizeof(sp_frame) == 32, "sp_frame is 32 bytes: Java's FrameDescriptors.SIZE");
_Static_assert(offsetof(sp_frame, tx_offload) == offsetof(sp_frame, rss_hash), "tx_offload reuses rss_hash's word");

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
    case SP_LAYOUT_FRAME_TX_OFFLOAD: return offsetof(sp_frame, tx_offload);
    case SP_LAYOUT_TX_IP_CHECKSUM: return SP_TX_IP_CHECKSUM;
    case SP_LAYOUT_TX_TCP_CHECKSUM: return SP_TX_TCP_CHECKSUM;
    case SP_LAYOUT_TX_IPV6: return SP_TX_IPV6;
    case SP_LAYOUT_TX_L2_SHIFT: return SP_TX_L2_SHIFT;
    case SP_LAYOUT_TX_L3_SHIFT: return SP_TX_L3_SHIFT;
    case SP_LAYOUT_TX_L4_SHIFT: return SP_TX_L4_SHIFT;
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

/* Per port, the TX checksum offloads its configuration enabled (SP_TX_IP_CHECKSUM | SP_TX_TCP_CHECKSUM): sp_tx_burst
 * reads one entry per burst, so a port without them never looks at a frame's tx_offload word. Written at set-up and
 * close, on the main thread, before the workers start and after they stop. */
static uint8_t tx_checksum_enabled[RTE_MAX_ETHPORTS];

/* The two TX checksum offloads synproxy can use, as SP_TX_* bits, from an rte_eth offload mask. */
static int tx_checksum_bits(uint64_t offloads)
{
    return ((offloads & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) ? SP_TX_IP_CHECKSUM : 0)
        | ((offloads & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) ? SP_TX_TCP_CHECKSUM : 0);
}

int sp_port_tx_checksum_offered(uint16_t port)
{
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    return rc != 0 ? rc : tx_checksum_bits(info.tx_offload_capa);
}

int sp_port_tx_checksum(uint16_t port)
{
    struct rte_eth_conf conf;
    int rc = rte_eth_dev_conf_get(port, &conf);
    return rc != 0 ? rc : tx_checksum_bits(conf.txmode.offloads);
}

int sp_port_setup(uint16_t port, uint16_t rx_queues, uint16_t tx_queues, uint16_t rx_descriptors,
                  uint16_t tx_descriptors, void *pool, int tx_checksum)
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
    /* Checksums the port computes on the way out spare the engine's software sums (the frames that ask say so in
     * their tx_offload word). Port-wide, so every TX queue has them (rte_eth_tx_queue_setup with NULL takes the
     * port's offloads). Never UDP: the encapsulation's outer UDP checksum is 0 by design. */
    if (tx_checksum)
        conf.txmode.offloads = (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM) & info.tx_offload_capa;
    if (port < RTE_MAX_ETHPORTS)
        tx_checksum_enabled[port] = 0;
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
    /* What ethdev took, not what was asked: the engine and sp_tx_burst go by the same answer. */
    rc = sp_port_tx_checksum(port);
    if (rc < 0)
        return rc;
    if (port < RTE_MAX_ETHPORTS)
        tx_checksum_enabled[port] = (uint8_t)rc;
    return 0;
}

int sp_port_start(uint16_t port) { return rte_eth_dev_start(port); }

int sp_port_stop(uint16_t port) { return rte_eth_dev_stop(port); }

int sp_port_close(uint16_t port)
{
    /* A port id is reused by the next device probed: it must not inherit these offloads. */
    if (port < RTE_MAX_ETHPORTS)
        tx_checksum_enabled[port] = 0;
    return rte_eth_dev_close(port);
}

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

/* Hands one frame's TX checksum request to its mbuf, as DPDK's checksum offload API wants it: the flags, and the header
 * lengths the port finds the headers by. Only the bits the port enabled are taken (a flag for an offload the port
 * did not enable is undefined behaviour in DPDK); the engine asks for no others. ol_flags keeps only whether the
 * mbuf's buffer is its own (EXTERNAL/INDIRECT: how it is freed); the RX flags it arrived with mean nothing going
 * out. */
static inline void tx_request(struct rte_mbuf *m, uint32_t request, uint32_t enabled)
{
    uint64_t flags = 0;
    if (request & enabled & SP_TX_IP_CHECKSUM)
        flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    if (request & enabled & SP_TX_TCP_CHECKSUM)
        flags |= RTE_MBUF_F_TX_TCP_CKSUM | ((request & SP_TX_IPV6) ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4);
    m->ol_flags = (m->ol_flags & (RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT)) | flags;
    m->l2_len = (request >> SP_TX_L2_SHIFT) & 0xff;
    m->l3_len = (request >> SP_TX_L3_SHIFT) & 0xff;
    m->l4_len = (request >> SP_TX_L4_SHIFT) & 0xff;
}

uint16_t sp_tx_burst(uint16_t port, uint16_t queue, sp_frame *frames, uint16_t count)
{
    struct rte_mbuf *mbufs[SP_CHUNK];
    uint16_t sent = 0;
    /* Once per burst: on a port without TX checksum offloads no frame's tx_offload word is even read, so its frames go
     * out exactly as they did before the word existed. */
    const uint32_t enabled = port < RTE_MAX_ETHPORTS ? tx_checksum_enabled[port] : 0;
    while (sent < count) {
        uint16_t chunk = count - sent < SP_CHUNK ? count - sent : SP_CHUNK;
        for (uint16_t i = 0; i < chunk; i++) {
            sp_frame *f = &frames[sent + i];
            struct rte_mbuf *m = f->mbuf;
            /* The engine moved the frame's start (encapsulation) or its end (SYN-ACK): tell the mbuf. */
            m->data_off = (uint16_t)(f->address - (uintptr_t)m->buf_addr);
            m->data_len = (uint16_t)f->length;
            m->pkt_len = f->length;
            if (enabled != 0 && f->tx_offload != 0)
                tx_request(m, f->tx_offload, enabled);
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

#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
/* Per lcore, the name of the thread that registered on it: a worker's thread bears the worker's name (AgentRunner names
 * it after PortWorker.roleName; Linux keeps 15 characters), and so do its counters. */
static char lcore_thread[RTE_MAX_LCORE][16];
#endif

int sp_thread_register(void)
{
    int rc = rte_thread_register();
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
    if (rc == 0 && rte_lcore_id() < RTE_MAX_LCORE)
        pthread_getname_np(pthread_self(), lcore_thread[rte_lcore_id()], sizeof(lcore_thread[0]));
#endif
    return rc;
}

int sp_thread_pin(int core)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(core, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* --- DPDK telemetry ---------------------------------------------------------------------------------------------- */

/* Agrona's CountersReader layout (agrona 2.6, org.agrona.concurrent.status.CountersReader): metadata record i at
 * i * 512 (state int32 at 0, label length int32 at 128, the label's bytes after it), value i in the first 8 bytes of
 * the 128-byte slot at i * 128. The first RECORD_UNUSED record ends the list. Agrona writes a record's state last,
 * with a release store, and the values with ordered stores: acquire loads here see whole records and whole values. */
#define AGRONA_METADATA_LENGTH 512
#define AGRONA_COUNTER_LENGTH 128
#define AGRONA_LABEL_OFFSET 128
#define AGRONA_MAX_LABEL_LENGTH 380
#define AGRONA_RECORD_UNUSED 0
#define AGRONA_RECORD_ALLOCATED 1

#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
#define tel_add_u64 rte_tel_data_add_dict_uint /* 23.03 deprecates rte_tel_data_add_dict_u64 */
#else
#define tel_add_u64 rte_tel_data_add_dict_u64
#endif

/* The buffers, replaced or cleared under the lock; each command reads them holding it, so sp_telemetry_detach returning
 * means no reader is left in them. */
static pthread_mutex_t tel_lock = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t *tel_metadata;
static int32_t tel_metadata_length;
static const uint8_t *tel_values;
static int32_t tel_values_length;

typedef int (*tel_counter_fn)(const char *label, int length, int64_t value, void *arg);

/* Calls fn for each allocated counter, label NUL-terminated, until it returns nonzero. The caller holds tel_lock. */
static void tel_each_counter(tel_counter_fn fn, void *arg)
{
    char label[AGRONA_MAX_LABEL_LENGTH + 1];
    for (int64_t id = 0;; id++) {
        int64_t record = id * AGRONA_METADATA_LENGTH;
        int64_t slot = id * AGRONA_COUNTER_LENGTH;
        if (tel_metadata == NULL || record + AGRONA_METADATA_LENGTH > tel_metadata_length
            || slot + (int64_t)sizeof(int64_t) > tel_values_length)
            return;
        const uint8_t *meta = tel_metadata + record;
        int32_t state = __atomic_load_n((const int32_t *)meta, __ATOMIC_ACQUIRE);
        if (state == AGRONA_RECORD_UNUSED)
            return;
        if (state != AGRONA_RECORD_ALLOCATED)
            continue;
        /* A label may be rewritten while we copy it (Agrona's updateLabel): at worst a garbled name, never a read
         * outside the record. */
        int32_t length = __atomic_load_n((const int32_t *)(meta + AGRONA_LABEL_OFFSET), __ATOMIC_RELAXED);
        if (length < 0 || length > AGRONA_MAX_LABEL_LENGTH)
            length = 0;
        memcpy(label, meta + AGRONA_LABEL_OFFSET + sizeof(int32_t), length);
        label[length] = '\0';
        int64_t value = __atomic_load_n((const int64_t *)(tel_values + slot), __ATOMIC_ACQUIRE);
        if (fn(label, length, value, arg) != 0)
            return;
    }
}

/* A telemetry dict name from a counter label. DPDK 22.11 takes only [A-Za-z0-9_/] in names (rte_tel_data_add_dict_*
 * return -EINVAL for any other character) and keeps RTE_TEL_MAX_STRING_LEN - 1 of them. So the space between a
 * label's owner and its counter becomes '/', any other character outside the set '_', and the name is cut to fit:
 * "w0 rx-frames" -> "w0/rx_frames", "port-p0 rx-packets" -> "port_p0/rx_packets", "backend-10.0.0.1 healthy" ->
 * "backend_10_0_0_1/healthy". (Two labels could meet on one name, "a-b" and "a_b": ours do not.) */
static void tel_name(char out[RTE_TEL_MAX_STRING_LEN], const char *label, int length)
{
    int n = length < RTE_TEL_MAX_STRING_LEN - 1 ? length : RTE_TEL_MAX_STRING_LEN - 1;
    for (int i = 0; i < n; i++) {
        char c = label[i];
        out[i] = c == ' ' ? '/' : (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
            || c == '_' || c == '/' ? c : '_';
    }
    out[n] = '\0';
}

/* Counters are signed in Agrona and never negative in practice: a negative one shows as 0, not as 2^64 - n. */
static uint64_t tel_unsigned(int64_t value) { return value < 0 ? 0 : (uint64_t)value; }

struct tel_counters_walk {
    struct rte_tel_data *d;
    const char *prefix;
    size_t prefix_length;
    unsigned shown;
    uint64_t omitted;
};

static int tel_add_counter(const char *label, int length, int64_t value, void *arg)
{
    struct tel_counters_walk *w = arg;
    char name[RTE_TEL_MAX_STRING_LEN];
    tel_name(name, label, length);
    if (strncmp(name, w->prefix, w->prefix_length) != 0)
        return 0;
    /* One entry is kept for "_omitted": a dict holds RTE_TEL_MAX_DICT_ENTRIES. */
    if (w->shown == RTE_TEL_MAX_DICT_ENTRIES - 1 || tel_add_u64(w->d, name, tel_unsigned(value)) != 0)
        w->omitted++;
    else
        w->shown++;
    return 0;
}

static int tel_counters(const char *cmd __rte_unused, const char *params, struct rte_tel_data *d)
{
    struct tel_counters_walk w = {.d = d, .prefix = params != NULL ? params : ""};
    w.prefix_length = strlen(w.prefix);
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&tel_lock);
    tel_each_counter(tel_add_counter, &w);
    pthread_mutex_unlock(&tel_lock);
    if (w.omitted != 0)
        /* More than a dict holds: the count says so, a prefix (",w0/") shows the rest. */
        tel_add_u64(d, "_omitted", w.omitted);
    return 0;
}

/* A worker's load, from the counters PortWorker publishes as "NAME busy-ns", "NAME idle-ns", "NAME load-permille". */
static const char *const tel_load_suffix[] = {" busy-ns", " idle-ns", " load-permille"};
static const char *const tel_load_name[] = {"busy_ns", "idle_ns", "load_permille"};
#define TEL_LOADS 3

struct tel_worker {
    char name[RTE_TEL_MAX_STRING_LEN]; /* the label's NAME, as it is */
    uint64_t value[TEL_LOADS];
    unsigned seen; /* bit per tel_load_suffix */
};

/* Filled by tel_collect_workers under tel_lock (too large for the telemetry thread's stack to take lightly). */
static struct tel_worker tel_workers[RTE_TEL_MAX_DICT_ENTRIES];
static unsigned tel_worker_count;

static int tel_add_load(const char *label, int length, int64_t value, void *arg __rte_unused)
{
    for (int k = 0; k < TEL_LOADS; k++) {
        int suffix = (int)strlen(tel_load_suffix[k]);
        int owner = length - suffix;
        if (owner <= 0 || owner >= RTE_TEL_MAX_STRING_LEN || strcmp(label + owner, tel_load_suffix[k]) != 0)
            continue;
        unsigned i = 0;
        while (i < tel_worker_count
               && (strncmp(tel_workers[i].name, label, owner) != 0 || tel_workers[i].name[owner] != '\0'))
            i++;
        if (i == tel_worker_count) {
            if (i == RTE_DIM(tel_workers))
                return 0;
            memcpy(tel_workers[i].name, label, owner);
            tel_workers[i].name[owner] = '\0';
            tel_workers[i].seen = 0;
            tel_worker_count++;
        }
        tel_workers[i].value[k] = tel_unsigned(value);
        tel_workers[i].seen |= 1u << k;
        return 0;
    }
    return 0;
}

static void tel_collect_workers(void)
{
    tel_worker_count = 0;
    tel_each_counter(tel_add_load, NULL);
}

static int tel_workers_cmd(const char *cmd __rte_unused, const char *params __rte_unused, struct rte_tel_data *d)
{
    int rc = 0;
    rte_tel_data_start_dict(d);
    pthread_mutex_lock(&tel_lock);
    tel_collect_workers();
    for (unsigned i = 0; i < tel_worker_count && rc == 0; i++) {
        struct rte_tel_data *loads = rte_tel_data_alloc();
        char name[RTE_TEL_MAX_STRING_LEN];
        if (loads == NULL) {
            rc = -ENOMEM;
            break;
        }
        rte_tel_data_start_dict(loads);
        for (int k = 0; k < TEL_LOADS; k++)
            if (tel_workers[i].seen & (1u << k))
                tel_add_u64(loads, tel_load_name[k], tel_workers[i].value[k]);
        tel_name(name, tel_workers[i].name, (int)strlen(tel_workers[i].name));
        /* keep 0: telemetry frees the inner dict with the answer. */
        if (rte_tel_data_add_dict_container(d, name, loads, 0) != 0)
            rte_tel_data_free(loads);
    }
    pthread_mutex_unlock(&tel_lock);
    return rc;
}

#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
/* EAL's /eal/lcore/info and rte_lcore_dump show a worker's lcore busy share: its busy and idle nanoseconds as TSC
 * cycles (EAL shows their ratio). -1 (not available) for an lcore no worker registered, or after detach. */
static int tel_lcore_usage(unsigned int lcore_id, struct rte_lcore_usage *usage)
{
    int rc = -1;
    if (lcore_id >= RTE_MAX_LCORE || lcore_thread[lcore_id][0] == '\0')
        return -1;
    pthread_mutex_lock(&tel_lock);
    tel_collect_workers();
    for (unsigned i = 0; i < tel_worker_count; i++) {
        /* A thread name is the worker's name cut to 15 characters. */
        if ((tel_workers[i].seen & 3) == 3
            && strncmp(tel_workers[i].name, lcore_thread[lcore_id], sizeof(lcore_thread[0]) - 1) == 0) {
            double cycles_per_ns = (double)rte_get_tsc_hz() / 1e9;
            usage->busy_cycles = (uint64_t)(tel_workers[i].value[0] * cycles_per_ns);
            usage->total_cycles = (uint64_t)((tel_workers[i].value[0] + tel_workers[i].value[1]) * cycles_per_ns);
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&tel_lock);
    return rc;
}
#endif

int sp_telemetry_register(const void *metadata, int32_t metadata_length, const void *values, int32_t values_length)
{
    /* Bits of the commands DPDK has taken: it keeps duplicates, so each is registered once per process. */
    static unsigned registered;
    int rc = 0;
    if (metadata == NULL || values == NULL || metadata_length < 0 || values_length < 0)
        return -EINVAL;
    pthread_mutex_lock(&tel_lock);
    tel_metadata = metadata;
    tel_metadata_length = metadata_length;
    tel_values = values;
    tel_values_length = values_length;
    if (!(registered & 1) && (rc = rte_telemetry_register_cmd("/synproxy/counters", tel_counters,
            "synproxy's counters, name -> value. Parameter: a name prefix (e.g. w0/)")) == 0)
        registered |= 1;
    if (rc == 0 && !(registered & 2) && (rc = rte_telemetry_register_cmd("/synproxy/workers", tel_workers_cmd,
            "Per synproxy worker: busy_ns, idle_ns, load_permille")) == 0)
        registered |= 2;
#if RTE_VERSION >= RTE_VERSION_NUM(23, 3, 0, 0)
    if (rc == 0 && !(registered & 4)) {
        rte_lcore_register_usage_cb(tel_lcore_usage);
        registered |= 4;
    }
#endif
    pthread_mutex_unlock(&tel_lock);
    return rc;
}

void sp_telemetry_detach(void)
{
    pthread_mutex_lock(&tel_lock);
    tel_metadata = NULL;
    tel_metadata_length = 0;
    tel_values = NULL;
    tel_values_length = 0;
    pthread_mutex_unlock(&tel_lock);
}
