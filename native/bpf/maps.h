/* The backend program's maps: its configuration, the proxies it trusts, its keys, the VIPs, and its counters. */
#ifndef SP_MAPS_H
#define SP_MAPS_H

#include "config.h"
#include "counters.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct sp_config);
} sp_config SEC(".maps");

struct sp_in6 {
    __u8 bytes[16];
};

/* The proxies' encapsulation source addresses (their encap.source_v4 / source_v6). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, __u32); /* IPv4 address, network order */
    __type(value, __u8);
} sp_proxies_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 64);
    __type(key, struct sp_in6);
    __type(value, __u8);
} sp_proxies_v6 SEC(".maps");

/* K_b per encapsulation address of this backend (the outer destination): the proxies derive one key per backend
 * address, and one backend may be listed under an IPv4 and an IPv6 address. Two during a key rotation (config.h,
 * struct sp_keys); backend.sh rekey replaces a value whole (a HASH update swaps the element in). */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, __u32);
    __type(value, struct sp_keys);
} sp_keys_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 16);
    __type(key, struct sp_in6);
    __type(value, struct sp_keys);
} sp_keys_v6 SEC(".maps");

/* The VIP addresses this backend serves (--vip): with SP_FLAG_STRICT, TCP to them must come encapsulated. */
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, __u32);
    __type(value, __u8);
} sp_vips_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 256);
    __type(key, struct sp_in6);
    __type(value, __u8);
} sp_vips_v6 SEC(".maps");

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
