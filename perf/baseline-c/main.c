/*
 * baseline: the Java proxy's per-packet work written in plain C on DPDK, the "what would C do" lines of the line-rate
 * harness. One of three lines runs (baseline.h): the scalar SYN line (the default), the SYN line with the burst's
 * cookies hashed in SIMD lanes, or the handshake-ACK encapsulation line. Port 0 is read, port 1 written; after a
 * warm-up the program counts frames for a fixed time and prints one line of JSON on stdout. Every other message goes
 * to stderr.
 *
 *   baseline [EAL args] -- --seconds N --warmup W [--mode scalar|simd|ack] [--isa avx512|avx2|scalar]
 *            [--secret-file F] [--auth-key-file F] [--salt-period S] [--backend A.B.C.D]... [--encap-source A.B.C.D]
 *            [--next-hop-mac M] [--encap-port P]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mempool.h>

#include "baseline.h"

#define NUM_MBUFS 8191
#define MBUF_CACHE 256
#define RX_DESCRIPTORS 1024
#define TX_DESCRIPTORS 1024

/* Without a secret file the SYN lines use a fixed key and epoch parity 0: hashing costs the same under any key. */
static const uint64_t FIXED_KEY0 = 0x0706050403020100ULL;
static const uint64_t FIXED_KEY1 = 0x0f0e0d0c0b0a0908ULL;

static const char *const MODE_NAMES[] = {"scalar", "simd", "ack"};

typedef void (*burst_fn)(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st);

struct run {
	const struct engine *engine;
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

/* Polls for the warm-up, then for the measured period, timing it with the TSC. */
static int poll_loop(void *arg)
{
	struct run *run = arg;
	const struct engine *e = run->engine;
	/* Chosen once: the loop pays one indirect call a burst, whichever line runs. */
	const burst_fn burst = e->mode == MODE_ACK ? ack_burst : e->mode == MODE_SIMD ? syn_burst_lanes
		: syn_burst_scalar;
	struct rte_mbuf *pkts[BURST];
	struct stats st;
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
		burst(e, pkts, n, &st);
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
	fprintf(stderr, "usage: %s [EAL args] -- --seconds N --warmup W [--mode scalar|simd|ack]\n"
		"         [--isa avx512|avx2|scalar] [--secret-file F] [--auth-key-file F] [--salt-period S]\n"
		"         [--backend A.B.C.D]... [--encap-source A.B.C.D] [--next-hop-mac M] [--encap-port P]\n", prog);
}

struct args {
	double seconds;
	double warmup;
	enum mode mode;
	bool isa_forced;
	enum isa isa;
	const char *secret_file;
	const char *auth_key_file;
	uint64_t salt_period;
	uint32_t backends[MAX_BACKENDS];
	unsigned nbackends;
	uint32_t encap_source;
	uint8_t next_hop_mac[6];
	uint16_t encap_port;
};

static bool parse_number(const char *text, double min, double max, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(text, &end);
	return errno == 0 && end != text && *end == '\0' && *out >= min && *out <= max;
}

static bool parse_ipv4(const char *text, uint32_t *raw)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return false;
	*raw = a.s_addr;   /* wire order */
	return true;
}

static bool parse_mac(const char *text, uint8_t mac[6])
{
	unsigned b[6];
	char extra;
	if (sscanf(text, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &extra) != 6)
		return false;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xff)
			return false;
		mac[i] = (uint8_t)b[i];
	}
	return true;
}

/* Parses the application's arguments (after EAL's "--"); the defaults are the line-rate harness's configuration. */
static bool parse_args(int argc, char **argv, struct args *a)
{
	bool backends_given = false;

	a->seconds = 10;
	a->warmup = 1;
	a->mode = MODE_SCALAR;
	a->isa_forced = false;
	a->salt_period = 60;      /* cookie.salt_period_seconds's default */
	a->nbackends = 1;
	parse_ipv4("203.0.113.11", &a->backends[0]);
	parse_ipv4("203.0.113.1", &a->encap_source);
	parse_mac("02:00:00:00:00:fe", a->next_hop_mac);
	a->encap_port = 6080;     /* EncapHeader.DEFAULT_PORT, GUE's */
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		if (i + 1 >= argc)
			return false;
		const char *val = argv[++i];
		double number;
		if (strcmp(opt, "--seconds") == 0) {
			if (!parse_number(val, 1e-3, 1e6, &a->seconds))
				return false;
		} else if (strcmp(opt, "--warmup") == 0) {
			if (!parse_number(val, 0, 1e6, &a->warmup))
				return false;
		} else if (strcmp(opt, "--mode") == 0) {
			unsigned m = 0;
			while (m < RTE_DIM(MODE_NAMES) && strcmp(val, MODE_NAMES[m]) != 0)
				m++;
			if (m == RTE_DIM(MODE_NAMES))
				return false;
			a->mode = (enum mode)m;
		} else if (strcmp(opt, "--isa") == 0) {
			if (!isa_parse(val, &a->isa))
				return false;
			a->isa_forced = true;
		} else if (strcmp(opt, "--secret-file") == 0) {
			a->secret_file = val;
		} else if (strcmp(opt, "--auth-key-file") == 0) {
			a->auth_key_file = val;
		} else if (strcmp(opt, "--salt-period") == 0) {
			if (!parse_number(val, 1, 86400, &number))
				return false;
			a->salt_period = (uint64_t)number;
		} else if (strcmp(opt, "--backend") == 0) {
			/* The first --backend replaces the default list. */
			if (!backends_given)
				a->nbackends = 0;
			backends_given = true;
			if (a->nbackends == MAX_BACKENDS || !parse_ipv4(val, &a->backends[a->nbackends++]))
				return false;
		} else if (strcmp(opt, "--encap-source") == 0) {
			if (!parse_ipv4(val, &a->encap_source))
				return false;
		} else if (strcmp(opt, "--next-hop-mac") == 0) {
			if (!parse_mac(val, a->next_hop_mac))
				return false;
		} else if (strcmp(opt, "--encap-port") == 0) {
			if (!parse_number(val, 1, 65535, &number))
				return false;
			a->encap_port = (uint16_t)number;
		} else {
			return false;
		}
	}
	return true;
}

static uint64_t wall_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The keys and, for the ACK line, the backend table; the instruction set of the lanes. */
static bool engine_init(struct engine *e, const struct args *a)
{
	memset(e, 0, sizeof(*e));
	e->mode = a->mode;
	if (a->mode == MODE_ACK && (a->secret_file == NULL || a->auth_key_file == NULL)) {
		fprintf(stderr, "baseline: --mode ack needs --secret-file and --auth-key-file (the capture's cookies were "
			"issued under them)\n");
		return false;
	}
	if (a->secret_file != NULL) {
		if (!keys_load_cookie(&e->keys, a->secret_file, a->salt_period, wall_clock_ms()))
			return false;
		fprintf(stderr, "baseline: cookie salt of epoch %" PRId64 " (period %" PRIu64 " s)\n", e->keys.epoch,
			a->salt_period);
	} else {
		e->keys.salt_k0[SALT_CURRENT] = FIXED_KEY0;
		e->keys.salt_k1[SALT_CURRENT] = FIXED_KEY1;
	}
	if (a->mode == MODE_ACK) {
		if (!keys_load_encap(&e->keys, a->secret_file, a->auth_key_file, a->backends, a->nbackends))
			return false;
		e->keys.encap_source_raw = a->encap_source;
		memcpy(e->keys.next_hop_mac, a->next_hop_mac, 6);
		e->keys.encap_port = a->encap_port;
	}
	/* The scalar line hashes one SYN at a time whatever the CPU has; the others take the widest lanes it runs. */
	if (a->mode == MODE_SCALAR) {
		e->isa = ISA_SCALAR;
	} else if (a->isa_forced) {
		if (!isa_supported(a->isa)) {
			fprintf(stderr, "baseline: --isa %s: this CPU does not run it\n", isa_name(a->isa));
			return false;
		}
		e->isa = a->isa;
	} else {
		e->isa = isa_best();
	}
	fprintf(stderr, "baseline: mode %s, isa %s%s (this CPU runs up to %s)\n", MODE_NAMES[e->mode],
		isa_name(e->isa), a->isa_forced && a->mode != MODE_SCALAR ? ", forced" : "", isa_name(isa_best()));
	return true;
}

int main(int argc, char **argv)
{
	struct args args;
	struct engine engine;
	struct run run;
	int rc = rte_eal_init(argc, argv);

	if (rc < 0) {
		fprintf(stderr, "baseline: EAL initialisation failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= rc;
	argv += rc;
	memset(&args, 0, sizeof(args));
	if (!parse_args(argc, argv, &args)) {
		usage(argv[0]);
		rte_eal_cleanup();
		return 2;
	}
	if (!sip_self_test()) {
		fprintf(stderr, "baseline: SipHash-2-4 self-test failed\n");
		rte_eal_cleanup();
		return 1;
	}
	fprintf(stderr, "baseline: SipHash-2-4 self-test passed (scalar and every SIMD width this CPU runs)\n");
	if (!engine_init(&engine, &args)) {
		keys_free(&engine.keys);
		rte_eal_cleanup();
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	struct rte_mempool *pool = rte_pktmbuf_pool_create("baseline_mbufs", NUM_MBUFS, MBUF_CACHE, 0,
							   RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
	if (pool == NULL) {
		fprintf(stderr, "baseline: mbuf pool: %s\n", rte_strerror(rte_errno));
		keys_free(&engine.keys);
		rte_eal_cleanup();
		return 1;
	}
	int status = 1;
	if ((rc = port_init(RX_PORT, pool)) != 0 || (rc = port_init(TX_PORT, pool)) != 0) {
		fprintf(stderr, "baseline: port setup: %s\n", rte_strerror(-rc));
		goto out;
	}

	memset(&run, 0, sizeof(run));
	run.engine = &engine;
	const uint64_t hz = rte_get_tsc_hz();
	run.warmup_cycles = (uint64_t)(args.warmup * (double)hz);
	run.measure_cycles = (uint64_t)(args.seconds * (double)hz);
	/* One lcore polls: the first worker if there is one, so the main lcore stays out of its way. */
	const unsigned worker = rte_get_next_lcore(-1, 1, 0);
	if (worker < RTE_MAX_LCORE) {
		rte_eal_remote_launch(poll_loop, &run, worker);
		rte_eal_wait_lcore(worker);
	} else {
		poll_loop(&run);
	}

	const struct stats *st = &run.total;
	uint64_t dropped = 0;
	fprintf(stderr, "baseline: rx %" PRIu64 ", tx %" PRIu64 ", tx failed %" PRIu64 "\n", st->rx, st->tx,
		st->tx_failed);
	for (int r = 1; r < DROP_REASONS; r++) {
		dropped += st->drops[r];
		if (st->drops[r] != 0)
			fprintf(stderr, "baseline: dropped %s: %" PRIu64 "\n", DROP_NAMES[r], st->drops[r]);
	}
	if (run.measured_cycles == 0) {
		fprintf(stderr, "baseline: stopped before the measured period ended\n");
		goto out;
	}
	const double measured_s = (double)run.measured_cycles / (double)hz;
	const uint64_t packets = run.measured_packets;
	/* The first four keys are the scalar-only program's, so its callers keep reading the same line. */
	printf("{\"mpps\": %.3f, \"packets\": %" PRIu64 ", \"seconds\": %.3f, \"cycles_per_packet\": %.1f, "
	       "\"mode\": \"%s\", \"isa\": \"%s\", \"rx\": %" PRIu64 ", \"tx\": %" PRIu64 ", \"dropped\": %" PRIu64
	       ", \"ack_not_validated\": %" PRIu64 "}\n",
	       (double)packets / measured_s / 1e6, packets, measured_s,
	       packets == 0 ? 0.0 : (double)run.measured_cycles / (double)packets, MODE_NAMES[engine.mode],
	       isa_name(engine.isa), st->rx, st->tx, dropped, st->drops[DROP_ACK_NOT_VALIDATED]);
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
	keys_free(&engine.keys);
	rte_eal_cleanup();
	return status;
}
