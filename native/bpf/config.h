/* The program's configuration, shared with user space (scripts/backend.sh writes it, the test runner too). */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

/* A SipHash-2-4 key as SipHash reads it: k0 = the first 8 key bytes little-endian, k1 = the next 8. */
struct sp_key {
    __u64 k0;
    __u64 k1;
};

#define SP_KEYS_SECOND 0x01 /* sp_keys.second is set */

/* The keys an authenticator may be made with: the value of sp_keys_v4 / sp_keys_v6 (one address) and sp_config.keys
 * (any address). Outside a rotation of the proxies' authentication key only first is set; during one, second holds
 * the other key (the key file's `accept` line: the key the proxies are moving to or from), so that the proxies can
 * switch from one to the other without a refused packet. first is tried first, second only when it is set and first
 * failed: the common path hashes once. 40 bytes, host order; an unset second is all zero. */
struct sp_keys {
    struct sp_key first;  /* the key file's `issue` key (backend.sh rekey may keep the other in place: see there) */
    struct sp_key second; /* the `accept` key, with SP_KEYS_SECOND */
    __u8 flags;           /* SP_KEYS_* */
    __u8 reserved[7];     /* 0 */
};

#define SP_FLAG_STRICT 0x01      /* TCP to a VIP address must arrive encapsulated from a listed proxy */
#define SP_FLAG_DEFAULT_KEY 0x02 /* keys below authenticate packets to any address without its own in sp_keys_* */

/* sp_config[0], 64 bytes, every field in host order. Written last by backend.sh: until enabled is set, the
 * program passes everything untouched. An ARRAY value is rewritten in place (a reader may see a field half
 * written): backend.sh rekey changes keys so that a key in use never sits in bytes being written. */
struct sp_config {
    struct sp_keys keys;     /* K_b given as --backend-key (with SP_FLAG_DEFAULT_KEY); unused with --address */
    __s64 tai_offset_ns;     /* CLOCK_TAI - CLOCK_REALTIME at attach, whole seconds: unix time = TAI - this */
    __u32 salt_period_ms;    /* the proxies' cookie.salt_period_seconds * 1000 */
    __u32 grace_ms;          /* cookie.grace_seconds * 1000 */
    __u32 max_skew_ms;       /* cookie.max_clock_skew_ms */
    __u16 encap_port;        /* outer UDP destination port */
    __u8 enabled;
    __u8 flags;              /* SP_FLAG_* */
};

#endif
