/*
 * The three lines of the C baseline and what they share at run time. Each line turns one received burst into frames
 * sent from the TX port (freeing the rest and counting why):
 *   scalar  IPv4 SYN -> SYN-ACK, each frame finished before the next (its cookie hashed on its own);
 *   simd    the same SYNs, the burst's cookies hashed together in SIMD lanes (PacketEngine + SynLanes);
 *   ack     IPv4 handshake ACK -> cookie check in lanes, flow hash, Maglev, encapsulation to the backend with the
 *           authenticators hashed in lanes (PacketEngine + AckLanes + AuthLanes).
 */
#ifndef BASELINE_H
#define BASELINE_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "common.h"
#include "keys.h"
#include "lanes.h"

enum mode {
	MODE_SCALAR,
	MODE_SIMD,
	MODE_ACK,
};

struct engine {
	enum mode mode;
	enum isa isa;            /* the lanes' instruction set (simd, ack) */
	struct keys keys;        /* the SYN lines use the current salt and parity only */
};

void syn_burst_scalar(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st);
void syn_burst_lanes(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st);
void ack_burst(const struct engine *e, struct rte_mbuf **pkts, uint16_t n, struct stats *st);

#endif
