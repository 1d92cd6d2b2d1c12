/*
 * Start-up only: reading key files, HKDF, the Maglev table. Nothing here runs per packet, so it favours plain code
 * over speed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common.h"
#include "keys.h"

#define KEY_MIN_BYTES 16
#define KEY_MAX_BYTES 64
#define FLOW_SEED_BYTES 16

/* Maglev's fixed public keys (engine/Maglev.java): permutations must be the same on every node, not secret. */
static const uint64_t MAGLEV_OFFSET_K0 = 0x6d61676c65762d6fULL;
static const uint64_t MAGLEV_OFFSET_K1 = 0x66667365742d6b31ULL;
static const uint64_t MAGLEV_SKIP_K0 = 0x6d61676c65762d73ULL;
static const uint64_t MAGLEV_SKIP_K1 = 0x6b69702d6b65792dULL;

uint64_t siphash24_bytes(uint64_t k0, uint64_t k1, const uint8_t *data, size_t len)
{
	/* Full words, then the tail bytes with the length in the top byte: SipHash's padding. */
	const size_t words = len / 8;
	uint64_t m[KEY_MAX_BYTES / 8 + 1];
	uint64_t tail = 0;

	if (words >= RTE_DIM(m))
		return 0;   /* callers hash names and one-byte indexes; nothing this long */
	for (size_t w = 0; w < words; w++)
		m[w] = load_le64(data + 8 * w);
	for (size_t i = words * 8; i < len; i++)
		tail |= (uint64_t)data[i] << (8 * (i - words * 8));
	m[words] = tail | ((uint64_t)(len & 0xff) << 56);
	return siphash24(k0, k1, m, (unsigned)words + 1);
}

/* HKDF-Expand (RFC 5869) with SHA-256 for 16 bytes: one HMAC over info || 0x01 (SaltSchedule.hkdfExpand). */
static bool hkdf_expand16(const uint8_t *prk, size_t prk_len, const uint8_t *info, size_t info_len, uint8_t out[16])
{
	uint8_t message[64];
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned digest_len = 0;

	if (info_len + 1 > sizeof(message))
		return false;
	memcpy(message, info, info_len);
	message[info_len] = 1;
	if (HMAC(EVP_sha256(), prk, (int)prk_len, message, info_len + 1, digest, &digest_len) == NULL
	    || digest_len < 16)
		return false;
	memcpy(out, digest, 16);
	return true;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex digits to bytes; false unless an even number of hex digits only, within the buffer. */
static bool parse_hex(const char *text, uint8_t *out, size_t capacity, size_t *len)
{
	const size_t digits = strlen(text);
	if (digits == 0 || digits % 2 != 0 || digits / 2 > capacity)
		return false;
	for (size_t i = 0; i < digits; i += 2) {
		const int hi = hex_value((unsigned char)text[i]), lo = hex_value((unsigned char)text[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	*len = digits / 2;
	return true;
}

/*
 * Reads a key file as KeyFile.read does: one bare hex line, or "issue HEX", "accept HEX", "flow HEX" lines, '#'
 * comments. The accepted key (a rotation's overlap) is ignored: this program validates with the issued secret only.
 */
struct key_file {
	uint8_t issue[KEY_MAX_BYTES];
	size_t issue_len;
	uint8_t flow[FLOW_SEED_BYTES];
	bool has_flow;
};

static bool read_key_file(const char *path, struct key_file *kf)
{
	FILE *f = fopen(path, "r");
	char line[512];
	unsigned lineno = 0;

	memset(kf, 0, sizeof(*kf));
	if (f == NULL) {
		fprintf(stderr, "baseline: %s: %s\n", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash != NULL)
			*hash = '\0';
		char *words[3];
		unsigned n = 0;
		for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w != NULL && n < 3;
		     w = strtok_r(NULL, " \t\r\n", &save))
			words[n++] = w;
		if (n == 0)
			continue;
		bool ok;
		size_t len = 0;
		if (n == 1 && kf->issue_len == 0) {
			ok = parse_hex(words[0], kf->issue, sizeof(kf->issue), &kf->issue_len);
		} else if (n == 2 && strcmp(words[0], "issue") == 0 && kf->issue_len == 0) {
			ok = parse_hex(words[1], kf->issue, sizeof(kf->issue), &kf->issue_len);
		} else if (n == 2 && strcmp(words[0], "accept") == 0) {
			uint8_t ignored[KEY_MAX_BYTES];
			ok = parse_hex(words[1], ignored, sizeof(ignored), &len);
		} else if (n == 2 && strcmp(words[0], "flow") == 0) {
			ok = parse_hex(words[1], kf->flow, sizeof(kf->flow), &len) && len == FLOW_SEED_BYTES;
			kf->has_flow = ok;
		} else {
			ok = false;
		}
		if (!ok) {
			fprintf(stderr, "baseline: %s line %u: not a key line this program reads (a bare hex key, or "
				"issue/accept/flow HEX)\n", path, lineno);
			fclose(f);
			return false;
		}
	}
	fclose(f);
	if (kf->issue_len < KEY_MIN_BYTES) {
		fprintf(stderr, "baseline: %s: no key of at least %d bytes to issue with\n", path, KEY_MIN_BYTES);
		return false;
	}
	return true;
}

/* The 16-byte salt of an epoch: HKDF-Expand(secret, "synproxy cookie salt v1" || epoch, 8 bytes big-endian). */
static bool salt_of(const struct key_file *kf, int64_t epoch, uint64_t *k0, uint64_t *k1)
{
	static const char label[] = "synproxy cookie salt v1";
	uint8_t info[sizeof(label) - 1 + 8];
	uint8_t salt[16];

	memcpy(info, label, sizeof(label) - 1);
	for (int i = 0; i < 8; i++)
		info[sizeof(label) - 1 + i] = (uint8_t)((uint64_t)epoch >> (56 - 8 * i));
	if (!hkdf_expand16(kf->issue, kf->issue_len, info, sizeof(info), salt))
		return false;
	*k0 = load_le64(salt);
	*k1 = load_le64(salt + 8);
	return true;
}

bool keys_load_cookie(struct keys *k, const char *secret_file, uint64_t period_s, uint64_t now_ms)
{
	struct key_file kf;

	if (period_s == 0 || !read_key_file(secret_file, &kf))
		return false;
	const uint64_t period_ms = period_s * 1000;
	const uint64_t grace_ms = period_ms;                                  /* grace_seconds defaults to the period */
	const uint64_t skew_ms = RTE_MIN((uint64_t)500, period_s * 500);      /* max_clock_skew_ms's default */
	k->epoch = (int64_t)(now_ms / period_ms);
	k->parity = (unsigned)(k->epoch & 1);
	const uint64_t start = (uint64_t)k->epoch * period_ms;
	k->previous_valid = now_ms - start < grace_ms;
	k->next_valid = skew_ms > 0 && start + period_ms - now_ms <= skew_ms;
	if (!salt_of(&kf, k->epoch, &k->salt_k0[SALT_CURRENT], &k->salt_k1[SALT_CURRENT])
	    || !salt_of(&kf, k->epoch - 1, &k->salt_k0[SALT_PREVIOUS], &k->salt_k1[SALT_PREVIOUS])
	    || !salt_of(&kf, k->epoch + 1, &k->salt_k0[SALT_NEXT], &k->salt_k1[SALT_NEXT])) {
		fprintf(stderr, "baseline: HMAC-SHA256 failed\n");
		return false;
	}
	memset(&kf, 0, sizeof(kf));
	return true;
}

/* Maglev.build: each backend claims slots along its own permutation, in turns, until every slot is owned. */
static bool maglev_build(struct keys *k)
{
	uint64_t offset[MAX_BACKENDS], skip[MAX_BACKENDS], next[MAX_BACKENDS];
	const unsigned n = k->backends;

	k->maglev = malloc(sizeof(*k->maglev) * MAGLEV_SIZE);
	if (k->maglev == NULL)
		return false;
	for (unsigned i = 0; i < n; i++) {
		/* The name is the address as text, as BackendTable names its entries. */
		const uint8_t *a = (const uint8_t *)&k->backend_raw[i];
		char name[16];
		const int len = snprintf(name, sizeof(name), "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		offset[i] = siphash24_bytes(MAGLEV_OFFSET_K0, MAGLEV_OFFSET_K1, (const uint8_t *)name, (size_t)len)
			% MAGLEV_SIZE;
		skip[i] = siphash24_bytes(MAGLEV_SKIP_K0, MAGLEV_SKIP_K1, (const uint8_t *)name, (size_t)len)
			% (MAGLEV_SIZE - 1) + 1;
		next[i] = 0;
	}
	for (unsigned s = 0; s < MAGLEV_SIZE; s++)
		k->maglev[s] = -1;
	unsigned filled = 0;
	for (;;) {
		for (unsigned i = 0; i < n; i++) {
			uint64_t slot = (offset[i] + next[i] * skip[i]) % MAGLEV_SIZE;
			while (k->maglev[slot] >= 0) {
				next[i]++;
				slot = (offset[i] + next[i] * skip[i]) % MAGLEV_SIZE;
			}
			k->maglev[slot] = (int32_t)i;
			next[i]++;
			if (++filled == MAGLEV_SIZE)
				return true;
		}
	}
}

static int compare_address(const void *a, const void *b)
{
	/* Wire order compared bytewise is the Java canonical order (unsigned compare of the address's bytes). */
	return memcmp(a, b, sizeof(uint32_t));
}

bool keys_load_encap(struct keys *k, const char *secret_file, const char *auth_file, const uint32_t *backends_raw,
		     unsigned backends)
{
	struct key_file secret, auth;
	uint8_t seed[FLOW_SEED_BYTES];

	if (backends == 0 || backends > MAX_BACKENDS) {
		fprintf(stderr, "baseline: give 1 to %d IPv4 backends\n", MAX_BACKENDS);
		return false;
	}
	if (!read_key_file(secret_file, &secret) || !read_key_file(auth_file, &auth))
		return false;
	/* The flow seed: the secret file's pinned one, else derived from its key (KeyFile.flowSeed). */
	static const char flow_label[] = "synproxy flow hash keys v2";
	if (secret.has_flow)
		memcpy(seed, secret.flow, sizeof(seed));
	else if (!hkdf_expand16(secret.issue, secret.issue_len, (const uint8_t *)flow_label, sizeof(flow_label) - 1,
				seed))
		return false;
	const uint64_t s0 = load_le64(seed), s1 = load_le64(seed + 8);
	for (uint8_t i = 0; i < RTE_DIM(k->flow_k); i++)
		k->flow_k[i] = siphash24_bytes(s0, s1, &i, 1);

	k->backends = backends;
	memcpy(k->backend_raw, backends_raw, sizeof(uint32_t) * backends);
	qsort(k->backend_raw, backends, sizeof(uint32_t), compare_address);
	/* Each backend's own key: HKDF-Expand(auth key, "synproxy backend auth v1" || address), BackendKeys.derive. */
	static const char auth_label[] = "synproxy backend auth v1";
	for (unsigned i = 0; i < backends; i++) {
		uint8_t info[sizeof(auth_label) - 1 + 4];
		uint8_t key[16];
		memcpy(info, auth_label, sizeof(auth_label) - 1);
		memcpy(info + sizeof(auth_label) - 1, &k->backend_raw[i], 4);
		if (!hkdf_expand16(auth.issue, auth.issue_len, info, sizeof(info), key))
			return false;
		k->auth_k0[i] = load_le64(key);
		k->auth_k1[i] = load_le64(key + 8);
	}
	memset(&secret, 0, sizeof(secret));
	memset(&auth, 0, sizeof(auth));
	if (!maglev_build(k)) {
		fprintf(stderr, "baseline: no memory for the Maglev table\n");
		return false;
	}
	return true;
}

void keys_free(struct keys *k)
{
	free(k->maglev);
	k->maglev = NULL;
}
