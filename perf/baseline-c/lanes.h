/*
 * SipHash-2-4 of a burst's messages together, one message per SIMD lane, as the Java engine's SipHashLanes does: the
 * instruction set is chosen at run time (AVX-512: 8 lanes, AVX2: 4), with scalar SipHash for the lanes left over
 * and on a CPU without AVX2.
 */
#ifndef BASELINE_LANES_H
#define BASELINE_LANES_H

#include <stdbool.h>
#include <stdint.h>

enum isa {
	ISA_SCALAR,
	ISA_AVX2,
	ISA_AVX512,
};

/* The widest instruction set this CPU runs. */
enum isa isa_best(void);

/* Whether this CPU runs `isa` (a forced choice is checked, not trusted). */
bool isa_supported(enum isa isa);

/* "scalar", "avx2", "avx512": what --isa takes and the JSON line says. */
const char *isa_name(enum isa isa);

/* Parses an --isa argument; false if it names none. */
bool isa_parse(const char *text, enum isa *out);

/* The most messages one batch holds: a burst. */
#define LANES_CAPACITY 32

/*
 * One batch of messages of the same length: block b of message i is m[b][i], the last block used being SipHash's
 * final block. Arrays are padded to the capacity, so a vector load of a full group never leaves them.
 */
struct sip_batch {
	unsigned blocks;                      /* 3 (a cookie) or 4 (an authenticator) */
	bool keyed;                           /* true: message i's key is k0[i], k1[i]; false: key0, key1 for all */
	uint64_t key0, key1;
	uint64_t k0[LANES_CAPACITY];
	uint64_t k1[LANES_CAPACITY];
	uint64_t m[4][LANES_CAPACITY];
	uint64_t out[LANES_CAPACITY];
};

/* out[i] = SipHash-2-4 of message i, for i < count, with the given instruction set. */
void sip_lanes(enum isa isa, struct sip_batch *batch, unsigned count);

/* The SipHash paper's reference vector through every path this CPU runs (vector groups and scalar tails). */
bool sip_self_test(void);

#endif
