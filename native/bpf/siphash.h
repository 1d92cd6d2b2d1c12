/* SipHash-2-4 over 64-bit words: the message already split into little-endian blocks, the last one padded (auth.h). */
#ifndef SP_SIPHASH_H
#define SP_SIPHASH_H

#define SP_ROTL(x, b) (__u64)(((x) << (b)) | ((x) >> (64 - (b))))

#define SP_SIPROUND                                                    \
    do {                                                               \
        v0 += v1; v1 = SP_ROTL(v1, 13); v1 ^= v0; v0 = SP_ROTL(v0, 32); \
        v2 += v3; v3 = SP_ROTL(v3, 16); v3 ^= v2;                      \
        v0 += v3; v3 = SP_ROTL(v3, 21); v3 ^= v0;                      \
        v2 += v1; v1 = SP_ROTL(v1, 17); v1 ^= v2; v2 = SP_ROTL(v2, 32); \
    } while (0)

#define SP_SIPHASH_MAX_BLOCKS 9 /* the longest message: a chained header over an IPv6 packet (auth.h), 68 bytes */

/* words[0..n) are the message blocks, the last of them SipHash's final block (tail bytes | length << 56). */
static __always_inline __u64 sp_siphash(__u64 k0, __u64 k1, const __u64 *words, int n)
{
    __u64 v0 = 0x736f6d6570736575ULL ^ k0;
    __u64 v1 = 0x646f72616e646f6dULL ^ k1;
    __u64 v2 = 0x6c7967656e657261ULL ^ k0;
    __u64 v3 = 0x7465646279746573ULL ^ k1;
    for (int i = 0; i < SP_SIPHASH_MAX_BLOCKS; i++) {
        if (i >= n)
            break;
        __u64 m = words[i];
        v3 ^= m;
        SP_SIPROUND;
        SP_SIPROUND;
        v0 ^= m;
    }
    v2 ^= 0xff;
    SP_SIPROUND;
    SP_SIPROUND;
    SP_SIPROUND;
    SP_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

#endif
