/* The program's configuration, shared with user space (scripts/backend.sh writes it, the test runner too). */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

/* A SipHash-2-4 key as SipHash reads it: k0 = the first 8 key bytes little-endian, k1 = the next 8. */
struct sp_key {
    __u64 k0;
    __u64 k1;
};

#define SP_FLAG_STRICT 0x01      /* TCP to a VIP address must arrive encapsulated from a listed proxy */
#define SP_FLAG_DEFAULT_KEY 0x02 /* key below authenticates packets to any address without its own in sp_keys_* */

/* sp_config[0], 40 bytes, every field in host order. Written last by backend.sh: until enabled is set, the
 * program passes everything untouched. */
struct sp_config {
    struct sp_key key;       /* K_b given as --backend-key (with SP_FLAG_DEFAULT_KEY); unused with --address */
    __s64 tai_offset_ns;     /* CLOCK_TAI - CLOCK_REALTIME at attach, whole seconds: unix time = TAI - this */
    __u32 salt_period_ms;    /* the proxies' cookie.salt_period_seconds * 1000 */
    __u32 grace_ms;          /* cookie.grace_seconds * 1000 */
    __u32 max_skew_ms;       /* cookie.max_clock_skew_ms */
    __u16 encap_port;        /* outer UDP destination port */
    __u8 enabled;
    __u8 flags;              /* SP_FLAG_* */
};

#endif
