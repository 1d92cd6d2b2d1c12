/*
 * SipHash-2-4 in SIMD lanes. The vector functions carry their own target attribute, so the program runs on any x86-64
 * CPU whatever -march it was built with; isa_best() picks the widest the CPU has at start. Lanes are 64-bit: SipHash's
 * state is four 64-bit words, so each lane holds one message's state and every round is the scalar round applied to
 * 4 (AVX2) or 8 (AVX-512) messages at once.
 */
#include <string.h>

#include <immintrin.h>

#include "common.h"
#include "lanes.h"

enum isa isa_best(void)
{
	if (isa_supported(ISA_AVX512))
		return ISA_AVX512;
	if (isa_supported(ISA_AVX2))
		return ISA_AVX2;
	return ISA_SCALAR;
}

bool isa_supported(enum isa isa)
{
	__builtin_cpu_init();
	switch (isa) {
	case ISA_AVX512:
		/* The AVX-512 path hands its leftover group of 4 to the AVX2 one. */
		return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2");
	case ISA_AVX2:
		return __builtin_cpu_supports("avx2");
	default:
		return true;
	}
}

const char *isa_name(enum isa isa)
{
	switch (isa) {
	case ISA_AVX512:
		return "avx512";
	case ISA_AVX2:
		return "avx2";
	default:
		return "scalar";
	}
}

bool isa_parse(const char *text, enum isa *out)
{
	for (enum isa isa = ISA_SCALAR; isa <= ISA_AVX512; isa++) {
		if (strcmp(text, isa_name(isa)) == 0) {
			*out = isa;
			return true;
		}
	}
	return false;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* AVX2: 4 lanes                                                                                                    */
/* ---------------------------------------------------------------------------------------------------------------- */

/* AVX2 has no 64-bit rotate: two shifts and an OR, except where whole bytes move (a byte shuffle is one op). */
#define ROTL_AVX2(x, b) _mm256_or_si256(_mm256_slli_epi64((x), (b)), _mm256_srli_epi64((x), 64 - (b)))
/* Rotating by 32 swaps each lane's 32-bit halves. */
#define ROTL32_AVX2(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
/* Rotating by 16 moves every byte up two places within its lane: result byte j is source byte (j - 2) mod 8. */
#define ROTL16_AVX2(x, mask) _mm256_shuffle_epi8((x), (mask))

#define SIPROUND_AVX2(v0, v1, v2, v3, mask16) do { \
		v0 = _mm256_add_epi64(v0, v1); v1 = ROTL_AVX2(v1, 13); v1 = _mm256_xor_si256(v1, v0); \
		v0 = ROTL32_AVX2(v0); \
		v2 = _mm256_add_epi64(v2, v3); v3 = ROTL16_AVX2(v3, mask16); v3 = _mm256_xor_si256(v3, v2); \
		v0 = _mm256_add_epi64(v0, v3); v3 = ROTL_AVX2(v3, 21); v3 = _mm256_xor_si256(v3, v0); \
		v2 = _mm256_add_epi64(v2, v1); v1 = ROTL_AVX2(v1, 17); v1 = _mm256_xor_si256(v1, v2); \
		v2 = ROTL32_AVX2(v2); \
	} while (0)

/*
 * Messages i..i+3. Always inlined into sip_avx2 with a constant `blocks`, so the block loop unrolls; it shares its
 * caller's target, as GCC requires of an always-inline function using that target's intrinsics.
 */
static inline __attribute__((always_inline, target("avx2")))
void sip_group_avx2(struct sip_batch *b, unsigned i, unsigned blocks)
{
	const __m256i mask16 = _mm256_setr_epi8(6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13,
						6, 7, 0, 1, 2, 3, 4, 5, 14, 15, 8, 9, 10, 11, 12, 13);
	const __m256i k0 = b->keyed ? _mm256_loadu_si256((const __m256i *)(b->k0 + i)) : _mm256_set1_epi64x(
		(long long)b->key0);
	const __m256i k1 = b->keyed ? _mm256_loadu_si256((const __m256i *)(b->k1 + i)) : _mm256_set1_epi64x(
		(long long)b->key1);
	__m256i v0 = _mm256_xor_si256(k0, _mm256_set1_epi64x((long long)SIP_C0));
	__m256i v1 = _mm256_xor_si256(k1, _mm256_set1_epi64x((long long)SIP_C1));
	__m256i v2 = _mm256_xor_si256(k0, _mm256_set1_epi64x((long long)SIP_C2));
	__m256i v3 = _mm256_xor_si256(k1, _mm256_set1_epi64x((long long)SIP_C3));

	for (unsigned blk = 0; blk < blocks; blk++) {
		const __m256i m = _mm256_loadu_si256((const __m256i *)(b->m[blk] + i));
		v3 = _mm256_xor_si256(v3, m);
		SIPROUND_AVX2(v0, v1, v2, v3, mask16);
		SIPROUND_AVX2(v0, v1, v2, v3, mask16);
		v0 = _mm256_xor_si256(v0, m);
	}
	v2 = _mm256_xor_si256(v2, _mm256_set1_epi64x(0xff));
	SIPROUND_AVX2(v0, v1, v2, v3, mask16);
	SIPROUND_AVX2(v0, v1, v2, v3, mask16);
	SIPROUND_AVX2(v0, v1, v2, v3, mask16);
	SIPROUND_AVX2(v0, v1, v2, v3, mask16);
	const __m256i h = _mm256_xor_si256(_mm256_xor_si256(v0, v1), _mm256_xor_si256(v2, v3));
	_mm256_storeu_si256((__m256i *)(b->out + i), h);
}

/* Hashes whole groups of 4 from `from`; returns where the groups stopped. */
static __attribute__((target("avx2"))) unsigned sip_avx2(struct sip_batch *b, unsigned from, unsigned count)
{
	unsigned i = from;
	if (b->blocks == 3) {
		for (; i + 4 <= count; i += 4)
			sip_group_avx2(b, i, 3);
	} else {
		for (; i + 4 <= count; i += 4)
			sip_group_avx2(b, i, 4);
	}
	return i;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* AVX-512: 8 lanes                                                                                                 */
/* ---------------------------------------------------------------------------------------------------------------- */

/* AVX-512F rotates 64-bit lanes in one instruction. */
#define SIPROUND_AVX512(v0, v1, v2, v3) do { \
		v0 = _mm512_add_epi64(v0, v1); v1 = _mm512_rol_epi64(v1, 13); v1 = _mm512_xor_si512(v1, v0); \
		v0 = _mm512_rol_epi64(v0, 32); \
		v2 = _mm512_add_epi64(v2, v3); v3 = _mm512_rol_epi64(v3, 16); v3 = _mm512_xor_si512(v3, v2); \
		v0 = _mm512_add_epi64(v0, v3); v3 = _mm512_rol_epi64(v3, 21); v3 = _mm512_xor_si512(v3, v0); \
		v2 = _mm512_add_epi64(v2, v1); v1 = _mm512_rol_epi64(v1, 17); v1 = _mm512_xor_si512(v1, v2); \
		v2 = _mm512_rol_epi64(v2, 32); \
	} while (0)

/* Messages i..i+7; inlined with a constant `blocks` for the same reasons as sip_group_avx2. */
static inline __attribute__((always_inline, target("avx512f")))
void sip_group_avx512(struct sip_batch *b, unsigned i, unsigned blocks)
{
	const __m512i k0 = b->keyed ? _mm512_loadu_si512(b->k0 + i) : _mm512_set1_epi64((long long)b->key0);
	const __m512i k1 = b->keyed ? _mm512_loadu_si512(b->k1 + i) : _mm512_set1_epi64((long long)b->key1);
	__m512i v0 = _mm512_xor_si512(k0, _mm512_set1_epi64((long long)SIP_C0));
	__m512i v1 = _mm512_xor_si512(k1, _mm512_set1_epi64((long long)SIP_C1));
	__m512i v2 = _mm512_xor_si512(k0, _mm512_set1_epi64((long long)SIP_C2));
	__m512i v3 = _mm512_xor_si512(k1, _mm512_set1_epi64((long long)SIP_C3));

	for (unsigned blk = 0; blk < blocks; blk++) {
		const __m512i m = _mm512_loadu_si512(b->m[blk] + i);
		v3 = _mm512_xor_si512(v3, m);
		SIPROUND_AVX512(v0, v1, v2, v3);
		SIPROUND_AVX512(v0, v1, v2, v3);
		v0 = _mm512_xor_si512(v0, m);
	}
	v2 = _mm512_xor_si512(v2, _mm512_set1_epi64(0xff));
	SIPROUND_AVX512(v0, v1, v2, v3);
	SIPROUND_AVX512(v0, v1, v2, v3);
	SIPROUND_AVX512(v0, v1, v2, v3);
	SIPROUND_AVX512(v0, v1, v2, v3);
	_mm512_storeu_si512(b->out + i, _mm512_xor_si512(_mm512_xor_si512(v0, v1), _mm512_xor_si512(v2, v3)));
}

/* Hashes whole groups of 8 from `from`; returns where the groups stopped. */
static __attribute__((target("avx512f"))) unsigned sip_avx512(struct sip_batch *b, unsigned from, unsigned count)
{
	unsigned i = from;
	if (b->blocks == 3) {
		for (; i + 8 <= count; i += 8)
			sip_group_avx512(b, i, 3);
	} else {
		for (; i + 8 <= count; i += 8)
			sip_group_avx512(b, i, 4);
	}
	return i;
}

/* ---------------------------------------------------------------------------------------------------------------- */
/* Dispatch                                                                                                         */
/* ---------------------------------------------------------------------------------------------------------------- */

void sip_lanes(enum isa isa, struct sip_batch *b, unsigned count)
{
	unsigned i = 0;

	if (isa == ISA_AVX512)
		i = sip_avx512(b, i, count);
	/* What AVX-512 leaves (0..7 messages) may still hold a group of 4. */
	if (isa >= ISA_AVX2)
		i = sip_avx2(b, i, count);
	for (; i < count; i++) {
		const uint64_t m[4] = {b->m[0][i], b->m[1][i], b->m[2][i], b->m[3][i]};
		const uint64_t k0 = b->keyed ? b->k0[i] : b->key0;
		const uint64_t k1 = b->keyed ? b->k1[i] : b->key1;
		b->out[i] = b->blocks == 3 ? siphash24(k0, k1, m, 3) : siphash24(k0, k1, m, 4);
	}
}

/*
 * SipHash-2-4's reference vectors (key 00..0f, message 00 01 02 ...) for the lengths our batches hash: 18 bytes (3
 * blocks, 0x4bc1b3f0968dd39c) and 31 bytes (4 blocks, 0x32d892fad841c342), each in every lane of a batch of 32 and of
 * 31 (so the vector groups, the AVX2 group after AVX-512 and the scalar tail all run), with one key and per-lane keys:
 * a wrong lane fails loudly at start.
 */
bool sip_self_test(void)
{
	static const uint64_t expected[2] = {0x4bc1b3f0968dd39cULL, 0x32d892fad841c342ULL};
	static struct sip_batch b;
	const uint64_t k0 = 0x0706050403020100ULL, k1 = 0x0f0e0d0c0b0a0908ULL;

	for (enum isa isa = ISA_SCALAR; isa <= ISA_AVX512; isa++) {
		if (!isa_supported(isa))
			continue;
		for (unsigned t = 0; t < 2; t++) {
			for (unsigned count = LANES_CAPACITY - 1; count <= LANES_CAPACITY; count++) {
				for (unsigned keyed = 0; keyed < 2; keyed++) {
					memset(&b, 0, sizeof(b));
					b.blocks = t == 0 ? 3 : 4;
					b.keyed = keyed;
					b.key0 = k0;
					b.key1 = k1;
					for (unsigned i = 0; i < count; i++) {
						b.k0[i] = k0;
						b.k1[i] = k1;
						b.m[0][i] = 0x0706050403020100ULL;
						b.m[1][i] = 0x0f0e0d0c0b0a0908ULL;
						if (t == 0) {
							b.m[2][i] = 0x1110ULL | (18ULL << 56);
						} else {
							b.m[2][i] = 0x1716151413121110ULL;
							b.m[3][i] = 0x1e1d1c1b1a1918ULL | (31ULL << 56);
						}
					}
					sip_lanes(isa, &b, count);
					for (unsigned i = 0; i < count; i++)
						if (b.out[i] != expected[t])
							return false;
				}
			}
		}
	}
	return true;
}
