/*
 * The key material and backend table of the proxy, derived at start from the same key files the Java proxy reads, so
 * that cookies the Java generator issued validate here and our authenticators are the ones a backend accepts. The
 * derivations are the Java code's (cookie/SaltSchedule.java, cookie/KeyFile.java, engine/BackendKeys.java,
 * engine/FlowHash.java, engine/Maglev.java); HMAC-SHA256 comes from OpenSSL's libcrypto, which DPDK's development
 * package already depends on.
 */
#ifndef BASELINE_KEYS_H
#define BASELINE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAX_BACKENDS 16
/* The Java default maglev.table_size: a prime, about 65536 slots. */
#define MAGLEV_SIZE 65537

/* Index of a salt in struct keys: the cookie's epoch parity names the current salt or one of its neighbours. */
enum salt_index {
	SALT_CURRENT,
	SALT_PREVIOUS,
	SALT_NEXT,
	SALTS
};

struct keys {
	/* Cookies: the salts of the epoch at start and its neighbours, as SipHash's two key words. */
	int64_t epoch;
	unsigned parity;                  /* epoch & 1: the bit the current salt's cookies carry */
	uint64_t salt_k0[SALTS];
	uint64_t salt_k1[SALTS];
	bool previous_valid;              /* within the grace after the epoch's start */
	bool next_valid;                  /* within the clock-skew bound before its end */
	/* The flow hash (Lemire-Kaser multilinear): the IPv4 tuple uses its first four keys. */
	uint64_t flow_k[4];
	/* IPv4 backends in the Java canonical order (by address bytes), each with its own authentication key. */
	unsigned backends;
	uint32_t backend_raw[MAX_BACKENDS];   /* wire order */
	uint64_t auth_k0[MAX_BACKENDS];
	uint64_t auth_k1[MAX_BACKENDS];
	/* Maglev: slot -> index into the backends above, int32 entries as the Java table's int[]. */
	int32_t *maglev;
	uint32_t encap_source_raw;        /* wire order */
	uint8_t next_hop_mac[6];
	uint16_t encap_port;
};

/*
 * The cookie salts of the epoch containing now_ms: `period_s` is cookie.salt_period_seconds; grace and clock skew are
 * the Java defaults for that period (grace = period, skew = min(500 ms, period / 2)). Messages go to stderr.
 */
bool keys_load_cookie(struct keys *k, const char *secret_file, uint64_t period_s, uint64_t now_ms);

/*
 * The encapsulation's keys and table: the flow hash from the cookie secret file (its pinned `flow` seed or the one
 * derived from its key), each backend's key from the authentication key file, and the Maglev table over the backends
 * (IPv4 addresses in wire order, any order: they are sorted as Java sorts them).
 */
bool keys_load_encap(struct keys *k, const char *secret_file, const char *auth_file, const uint32_t *backends_raw,
		     unsigned backends);

/* Releases the Maglev table. */
void keys_free(struct keys *k);

/* SipHash-2-4 of any byte string (start-up derivations only: the fast path hashes fixed-size words). */
uint64_t siphash24_bytes(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len);

/* Maglev.slot: the slot of a 64-bit hash, a multiply and shift of its top 32 bits (no division). */
static inline uint32_t maglev_slot(uint64_t hash)
{
	return (uint32_t)(((hash >> 32) * MAGLEV_SIZE) >> 32);
}

#endif
