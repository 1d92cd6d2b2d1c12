/* The backend program's maps: its configuration, the proxies it trusts, and its counters. */
#ifndef SP_MAPS_H
#define SP_MAPS_H

/* Set by scripts/backend.sh (bpftool map update); all multi-byte fields in host order. */
struct sp_config {
    __u64 auth_k0;      /* the proxy-backend key, as SipHash reads it: first 8 bytes little-endian */
    __u64 auth_k1;
    __u16 encap_port;   /* outer UDP destination port */
    __u16 mss_v4[4];    /* the proxies' cookie MSS tables */
    __u16 mss_v6[4];
    __u16 enabled;      /* 0 until configured: everything passes untouched */
};

enum sp_counter {
    SP_NOT_OURS = 0,       /* passed untouched */
    SP_MALFORMED,          /* our port, but not a well-formed encapsulated TCP packet */
    SP_UNKNOWN_PROXY,      /* our port, from an address not in the proxy list */
    SP_BAD_AUTH,           /* authenticator does not verify */
    SP_MIXED_FAMILY,       /* inner and outer IP versions differ and the protocol change failed */
    SP_DECAP_FAILED,
    SP_HANDSHAKE_ASSIGNED, /* request socket created from a validated ACK */
    SP_HANDSHAKE_EXISTING, /* validated ACK for a connection that already has a socket: passed */
    SP_HANDSHAKE_NO_LISTENER,
    SP_HANDSHAKE_REFUSED,  /* the kfunc said no (MSS, window scale, or an option a sysctl disables) */
    SP_FORWARDED,          /* unmarked, an established socket owns it: passed */
    SP_NO_SOCKET,          /* unmarked and no established socket: dropped */
    SP_COUNTERS
};

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sp_config);
} sp_config SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32);      /* IPv4 address, network order */
    __type(value, __u8);
} sp_proxies_v4 SEC(".maps");

struct sp_in6 {
    __u8 bytes[16];
};

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct sp_in6);
    __type(value, __u8);
} sp_proxies_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, SP_COUNTERS);
    __type(key, __u32);
    __type(value, __u64);
} sp_counters SEC(".maps");

static __always_inline void sp_count(__u32 counter)
{
    __u64 *value = bpf_map_lookup_elem(&sp_counters, &counter);
    if (value)
        *value += 1;
}

#endif
