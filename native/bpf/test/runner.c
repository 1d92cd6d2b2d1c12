/*
 * Runs the backend program (synproxy_backend.bpf.o) through BPF_PROG_TEST_RUN: golden cases, a mutation fuzz, and
 * unit checks of its pure headers. Prints one line per check ("  ok    NAME" / "  FAIL  NAME: why"); exits 1 on any
 * failure. Socket lookups happen in the network namespace it runs in (scripts/bpf-test.sh sets one up).
 *
 *   runner unit
 *   runner counters                             the counter names, one per line, in enum order
 *   runner golden OBJ FILE [OUTPUTS]            config lines and cases (written by native/bpf/test/bpf_test.py);
 *                                               OUTPUTS: where to write "NAME RET HEX" of every case's output frame
 *   runner fuzz OBJ FILE [--frames N] [--seed S] config lines and seed frames, mutated N times
 *
 * FILE lines (fields separated by one space):
 *   config default-key KEYS | key ADDR KEYS | proxy ADDR | vip ADDR | port N | period-ms N | grace-ms N |
 *          skew-ms N | strict 0|1 | enabled 0|1       (applied to the maps before the next case; a key line
 *                                                      replaces the address's earlier one)
 *          KEYS: FIRST-HEX32 [SECOND-HEX32 [FLAGS]]   struct sp_keys (config.h); FLAGS defaults to
 *                                                      SP_KEYS_SECOND when SECOND is given, else 0
 *          | mark N                                   (golden: skb->mark of the next cases' skbs)
 *          | ifindex N                                (skb->ingress_ifindex of the runs: the hand-over's FIB lookup)
 *          | neighbour ADDR DMAC SMAC                 (the reference: a previous owner the namespace reaches, with
 *                                                      the Ethernet addresses bpf_fib_lookup answers, hex12 each)
 *   case NAME RET COUNTER INPUT-HEX OUTPUT            RET: ok, shot, redirect or a number; OUTPUT: hex, "="
 *                                                      (untouched) or "-" (not checked)
 *   seed NAME HEX
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "counters.h"
#include "ecn.h"
#include "epoch.h"
#include "test/reference.h"

static const char *const counter_names[] = {
    "not-ours",           "not-encapsulated",   "outer-options",     "outer-fragment",
    "unknown-proxy",      "no-key",             "malformed",         "bad-version",
    "bad-auth",           "stale-epoch",        "ce-not-ect",        "mixed-family",
    "decap-failed",       "icmp-passed",        "handshake-assigned", "handshake-existing",
    "handshake-over-timewait", "timewait-refused", "timewait-retry-failed", "handshake-no-listener",
    "handshake-refused", "forwarded",
    "no-socket",          "handed-over",        "handover-refused",  "handover-failed",
};
_Static_assert(sizeof(counter_names) / sizeof(counter_names[0]) == SP_COUNTERS, "a name per counter");

static int passed, failed;

static void check(bool ok, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void check(bool ok, const char *name, const char *fmt, ...)
{
    if (ok) {
        passed++;
        printf("  ok    %s\n", name);
        return;
    }
    failed++;
    printf("  FAIL  %s: ", name);
    va_list args;
    va_start(args, fmt);
    vprintf(fmt, args);
    va_end(args);
    printf("\n");
}

static int counter_index(const char *name)
{
    for (int i = 0; i < SP_COUNTERS; i++)
        if (!strcmp(counter_names[i], name))
            return i;
    return -1;
}

/* ---- randomness: xorshift64*, reproducible from --seed ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint32_t below(uint32_t n)
{
    return n ? (uint32_t)(rnd() % n) : 0;
}

/* ---- time, as the program sees it ---- */

static uint64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CLOCK_TAI - CLOCK_REALTIME rounded to whole seconds, as backend.sh measures it. */
static int64_t tai_offset_ns(void)
{
    struct timespec tai, real;
    clock_gettime(CLOCK_TAI, &tai);
    clock_gettime(CLOCK_REALTIME, &real);
    double diff = (double)(tai.tv_sec - real.tv_sec) + (tai.tv_nsec - real.tv_nsec) / 1e9;
    return (int64_t)(diff >= 0 ? diff + 0.5 : diff - 0.5) * 1000000000LL;
}

/* ---- hex and addresses ---- */

static size_t from_hex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = strlen(hex) / 2;
    if (n > max)
        n = max;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return (size_t)-1;
        out[i] = (uint8_t)v;
    }
    return n;
}

static bool parse_address(const char *text, struct ref_address *a)
{
    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, text, a->bytes) == 1) {
        a->family = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, a->bytes) == 1) {
        a->family = 6;
        return true;
    }
    return false;
}

/* ---- the program and its maps ---- */

struct program {
    struct bpf_object *object;
    int prog, config, counters, proxies4, proxies6, keys4, keys6, vips4, vips6;
    int cpus;
};

static int map_fd(struct bpf_object *object, const char *name)
{
    struct bpf_map *map = bpf_object__find_map_by_name(object, name);
    if (!map) {
        fprintf(stderr, "runner: no map %s in the object\n", name);
        exit(2);
    }
    return bpf_map__fd(map);
}

static void load(struct program *p, const char *path)
{
    p->object = bpf_object__open_file(path, NULL);
    if (!p->object || libbpf_get_error(p->object)) {
        fprintf(stderr, "runner: cannot open %s\n", path);
        exit(2);
    }
    struct bpf_program *prog = bpf_object__find_program_by_name(p->object, "synproxy_backend");
    if (!prog) {
        fprintf(stderr, "runner: no program synproxy_backend in %s\n", path);
        exit(2);
    }
    if (bpf_object__load(p->object)) {
        fprintf(stderr, "runner: the kernel refused %s\n", path);
        exit(2);
    }
    p->prog = bpf_program__fd(prog);
    p->config = map_fd(p->object, "sp_config");
    p->counters = map_fd(p->object, "sp_counters");
    p->proxies4 = map_fd(p->object, "sp_proxies_v4");
    p->proxies6 = map_fd(p->object, "sp_proxies_v6");
    p->keys4 = map_fd(p->object, "sp_keys_v4");
    p->keys6 = map_fd(p->object, "sp_keys_v6");
    p->vips4 = map_fd(p->object, "sp_vips_v4");
    p->vips6 = map_fd(p->object, "sp_vips_v6");
    p->cpus = libbpf_num_possible_cpus();
}

static void key_words(const uint8_t key[16], struct sp_key *out)
{
    out->k0 = ref_le64(key);
    out->k1 = ref_le64(key + 8);
}

static void keys_value(const uint8_t first[16], const uint8_t second[16], uint8_t flags, struct sp_keys *out)
{
    memset(out, 0, sizeof(*out));
    key_words(first, &out->first);
    key_words(second, &out->second);
    out->flags = flags;
}

static void apply_config(const struct program *p, const struct ref_config *c)
{
    struct sp_config config = {0};
    if (c->has_default_key)
        keys_value(c->default_key, c->default_second, c->default_keys_flags, &config.keys);
    config.tai_offset_ns = tai_offset_ns();
    config.salt_period_ms = c->period_ms;
    config.grace_ms = c->grace_ms;
    config.max_skew_ms = c->skew_ms;
    config.encap_port = c->port;
    config.enabled = c->enabled;
    config.flags = (c->strict ? SP_FLAG_STRICT : 0) | (c->has_default_key ? SP_FLAG_DEFAULT_KEY : 0);
    uint8_t one = 1;
    for (int i = 0; i < c->proxy_count; i++)
        bpf_map_update_elem(c->proxies[i].family == 4 ? p->proxies4 : p->proxies6, c->proxies[i].bytes, &one, 0);
    for (int i = 0; i < c->vip_count; i++)
        bpf_map_update_elem(c->vips[i].family == 4 ? p->vips4 : p->vips6, c->vips[i].bytes, &one, 0);
    for (int i = 0; i < c->key_count; i++) {
        struct sp_keys keys;
        keys_value(c->keys[i].key, c->keys[i].second, c->keys[i].keys_flags, &keys);
        bpf_map_update_elem(c->keys[i].family == 4 ? p->keys4 : p->keys6, c->keys[i].bytes, &keys, 0);
    }
    __u32 zero = 0;
    if (bpf_map_update_elem(p->config, &zero, &config, 0)) {
        fprintf(stderr, "runner: cannot write sp_config: %s\n", strerror(errno));
        exit(2);
    }
}

/* All counters, summed over CPUs, in one syscall. */
static void read_counters(const struct program *p, uint64_t totals[SP_COUNTERS])
{
    static __u32 keys[SP_COUNTERS];
    static uint64_t values[SP_COUNTERS * 256];
    __u32 count = SP_COUNTERS, out_batch;
    DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int err = bpf_map_lookup_batch(p->counters, NULL, &out_batch, keys, values, &count, &opts);
    if ((err && errno != ENOENT) || count != SP_COUNTERS) {
        fprintf(stderr, "runner: cannot read sp_counters: %s\n", strerror(errno));
        exit(2);
    }
    for (int i = 0; i < SP_COUNTERS; i++) {
        totals[keys[i]] = 0;
        for (int cpu = 0; cpu < p->cpus; cpu++)
            totals[keys[i]] += values[i * p->cpus + cpu];
    }
}

/* One run: the verdict, the output frame, and which counter moved (-1: none or more than one, -2: by more than 1). */
struct run {
    int ret;
    uint8_t out[4096];
    uint32_t out_length;
    int counter;
    int error; /* errno when BPF_PROG_TEST_RUN refused the frame */
};

/* skb->mark of the runs (config mark N): the program's retry of a handshake over TIME_WAIT carries one. */
static uint32_t run_mark;
/* skb->ingress_ifindex of the runs (config ifindex N): BPF_PROG_TEST_RUN leaves it 0 unless told, and the
 * hand-over's bpf_fib_lookup starts from it, as it does at a real tc ingress. */
static uint32_t run_ifindex;

static bool run_once(const struct program *p, const uint8_t *frame, size_t length, struct run *result)
{
    uint64_t before[SP_COUNTERS], after[SP_COUNTERS];
    read_counters(p, before);
    struct __sk_buff ctx = {.mark = run_mark, .ingress_ifindex = run_ifindex};
    bool with_ctx = run_mark || run_ifindex;
    DECLARE_LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (__u32)length,
                        .data_out = result->out, .data_size_out = sizeof(result->out), .repeat = 1,
                        .ctx_in = with_ctx ? &ctx : NULL, .ctx_size_in = with_ctx ? sizeof(ctx) : 0);
    if (bpf_prog_test_run_opts(p->prog, &opts)) {
        result->error = errno;
        return false;
    }
    read_counters(p, after);
    result->ret = (int)opts.retval;
    result->out_length = opts.data_size_out;
    result->counter = -1;
    int moved = 0;
    for (int i = 0; i < SP_COUNTERS; i++) {
        if (after[i] == before[i])
            continue;
        moved++;
        result->counter = after[i] - before[i] == 1 ? i : -2;
    }
    if (moved != 1)
        result->counter = -1;
    return true;
}

/* ---- the input file ---- */

/* KEYS (FIRST [SECOND [FLAGS]]) from the line's remaining tokens, after FIRST (given). */
static bool keys_tokens(const char *first_hex, uint8_t first[16], uint8_t second[16], uint8_t *flags)
{
    char *second_hex = strtok(NULL, " "), *flags_text = strtok(NULL, " ");
    memset(second, 0, 16);
    *flags = 0;
    if (from_hex(first_hex, first, 16) != 16)
        return false;
    if (!second_hex)
        return true;
    if (from_hex(second_hex, second, 16) != 16)
        return false;
    *flags = flags_text ? (uint8_t)strtoul(flags_text, NULL, 10) : SP_KEYS_SECOND;
    return true;
}

static bool config_line(struct ref_config *c, char *rest)
{
    char *key = strtok(rest, " "), *a = strtok(NULL, " ");
    if (!key || !a)
        return false;
    struct ref_address address;
    if (!strcmp(key, "default-key")) {
        c->has_default_key = keys_tokens(a, c->default_key, c->default_second, &c->default_keys_flags);
        return c->has_default_key;
    }
    char *b = strtok(NULL, " ");
    if (!strcmp(key, "key") && b && parse_address(a, &address)) {
        if (!keys_tokens(b, address.key, address.second, &address.keys_flags))
            return false;
        struct ref_address *same = (struct ref_address *)ref_find(c->keys, c->key_count, address.family,
                                                                  address.bytes);
        if (same)
            *same = address;
        else if (c->key_count < REF_MAX_ENTRIES)
            c->keys[c->key_count++] = address;
        else
            return false;
        return true;
    }
    if (!strcmp(key, "proxy") && parse_address(a, &address) && c->proxy_count < REF_MAX_ENTRIES) {
        c->proxies[c->proxy_count++] = address;
        return true;
    }
    if (!strcmp(key, "vip") && parse_address(a, &address) && c->vip_count < REF_MAX_ENTRIES) {
        c->vips[c->vip_count++] = address;
        return true;
    }
    if (!strcmp(key, "neighbour") && b && parse_address(a, &address) && c->neighbour_count < REF_MAX_ENTRIES) {
        char *smac = strtok(NULL, " ");
        struct ref_neighbour *n = &c->neighbours[c->neighbour_count];
        n->address = address;
        if (!smac || from_hex(b, n->dmac, 6) != 6 || from_hex(smac, n->smac, 6) != 6)
            return false;
        c->neighbour_count++;
        return true;
    }
    unsigned long v = strtoul(a, NULL, 10);
    if (!strcmp(key, "port"))
        c->port = (uint16_t)v;
    else if (!strcmp(key, "period-ms"))
        c->period_ms = (uint32_t)v;
    else if (!strcmp(key, "grace-ms"))
        c->grace_ms = (uint32_t)v;
    else if (!strcmp(key, "skew-ms"))
        c->skew_ms = (uint32_t)v;
    else if (!strcmp(key, "strict"))
        c->strict = v != 0;
    else if (!strcmp(key, "enabled"))
        c->enabled = v != 0;
    else if (!strcmp(key, "mark"))
        run_mark = (uint32_t)v;
    else if (!strcmp(key, "ifindex"))
        run_ifindex = (uint32_t)v;
    else
        return false;
    return true;
}

struct frame {
    char name[64];
    uint8_t bytes[4096];
    size_t length;
};

/* ---- golden ---- */

static void hex_dump(const char *label, const uint8_t *bytes, size_t length)
{
    printf("        %s (%zu):", label, length);
    for (size_t i = 0; i < length; i++)
        printf("%s%02x", i % 32 ? "" : "\n          ", bytes[i]);
    printf("\n");
}

static int golden(const char *object, const char *path, const char *outputs_path)
{
    struct program p;
    load(&p, object);
    FILE *in = fopen(path, "r");
    if (!in) {
        perror(path);
        return 2;
    }
    FILE *outputs = outputs_path ? fopen(outputs_path, "w") : NULL;
    if (outputs_path && !outputs) {
        perror(outputs_path);
        return 2;
    }
    struct ref_config c = {.enabled = true};
    static char line[65536];
    static struct frame input, output;
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "config ", 7)) {
            if (!config_line(&c, line + 7)) {
                fprintf(stderr, "runner: bad line: %s\n", line);
                return 2;
            }
            continue;
        }
        if (strncmp(line, "case ", 5))
            continue;
        char *name = strtok(line + 5, " "), *ret = strtok(NULL, " "), *counter = strtok(NULL, " ");
        char *hex = strtok(NULL, " "), *out = strtok(NULL, " ");
        int expected_counter = counter ? counter_index(counter) : -1;
        if (!out || expected_counter < 0) {
            fprintf(stderr, "runner: bad case line (name %s)\n", name ? name : "?");
            return 2;
        }
        input.length = from_hex(hex, input.bytes, sizeof(input.bytes));
        apply_config(&p, &c);
        struct run r;
        char check_name[160];
        snprintf(check_name, sizeof(check_name), "golden %s -> %s, %s", name, ret, counter);
        if (!run_once(&p, input.bytes, input.length, &r)) {
            check(false, check_name, "BPF_PROG_TEST_RUN: %s", strerror(r.error));
            continue;
        }
        if (outputs) {
            fprintf(outputs, "%s %d ", name, r.ret);
            for (uint32_t i = 0; i < r.out_length; i++)
                fprintf(outputs, "%02x", r.out[i]);
            fprintf(outputs, "\n");
        }
        int want_ret = !strcmp(ret, "ok")         ? 0
                       : !strcmp(ret, "shot")     ? 2
                       : !strcmp(ret, "redirect") ? 7 /* TC_ACT_REDIRECT */
                                                  : atoi(ret);
        if (r.ret != want_ret) {
            check(false, check_name, "returned %d", r.ret);
            continue;
        }
        if (r.counter != expected_counter) {
            check(false, check_name, "counter %s", r.counter >= 0 ? counter_names[r.counter]
                                                   : r.counter == -2 ? "moved by more than 1" : "none or several");
            continue;
        }
        const uint8_t *want = NULL;
        size_t want_length = 0;
        if (!strcmp(out, "=")) {
            want = input.bytes;
            want_length = input.length;
        } else if (strcmp(out, "-")) {
            output.length = from_hex(out, output.bytes, sizeof(output.bytes));
            want = output.bytes;
            want_length = output.length;
        }
        if (want && (r.out_length != want_length || memcmp(r.out, want, want_length))) {
            check(false, check_name, "output frame differs");
            hex_dump("expected", want, want_length);
            hex_dump("got", r.out, r.out_length);
            continue;
        }
        check(true, check_name, " ");
    }
    fclose(in);
    if (outputs)
        fclose(outputs);
    bpf_object__close(p.object);
    return 0;
}

/* ---- the mutation fuzz ---- */

static void set_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* Inserts n bytes (random, or zero) at offset; false when it would not fit. */
static bool insert(struct frame *f, size_t offset, size_t n, bool random_bytes)
{
    if (offset > f->length || f->length + n > 3000) /* BPF_PROG_TEST_RUN takes up to a page less the skb's room */
        return false;
    memmove(f->bytes + offset + n, f->bytes + offset, f->length - offset);
    for (size_t i = 0; i < n; i++)
        f->bytes[offset + i] = random_bytes ? (uint8_t)rnd() : 0;
    f->length += n;
    return true;
}

/* Where the seed's encapsulation pieces are (seeds are well-formed): outer IP, our header, inner IP. */
struct layout {
    bool outer_v6, inner_v6, chained;
    size_t outer, header, inner;
};

static bool layout_of(const struct frame *f, struct layout *l)
{
    if (f->length < 14 + 20)
        return false;
    uint16_t type = ref_be16(f->bytes + 12);
    if (type != 0x0800 && type != 0x86dd)
        return false;
    l->outer = 14;
    l->outer_v6 = type == 0x86dd;
    l->header = 14 + (l->outer_v6 ? 40 : (f->bytes[14] & 0xf) * 4) + 8;
    if (l->header + 16 > f->length)
        return false;
    l->chained = f->bytes[l->header] == 0x09;
    l->inner = l->header + (l->chained ? 40 : 16);
    if (l->inner + 20 > f->length)
        return false;
    l->inner_v6 = f->bytes[l->header + 1] == 41;
    return true;
}

static void fix_ipv4_checksum_of(uint8_t *header);

/* The outer IP and UDP lengths made to agree with the frame (IPv4's checksum made right too): after a mutation
 * that moved bytes, so that a chained frame can still reach the hand-over (which refuses disagreeing lengths). */
static void fix_outer_lengths(struct frame *f)
{
    struct layout l;
    if (!layout_of(f, &l))
        return;
    size_t udp = l.header - 8;
    if (l.outer_v6) {
        if (f->bytes[20] != 17)
            return;
        set_be16(f->bytes + 18, (uint16_t)(f->length - 54));
        set_be16(f->bytes + udp + 4, (uint16_t)(f->length - 54));
    } else {
        set_be16(f->bytes + 16, (uint16_t)(f->length - 14));
        set_be16(f->bytes + udp + 4, (uint16_t)(f->length - udp));
        fix_ipv4_checksum_of(f->bytes + 14);
    }
}

/* The chained header's previous owner (16 bytes at 24): kind 0 one the namespace reaches (config neighbour), 1 the
 * outer destination (ourselves), 2 one of the other family. */
static void set_previous(struct frame *f, const struct layout *l, const struct ref_config *c, uint32_t kind)
{
    uint8_t *previous = f->bytes + l->header + 24;
    int family = l->outer_v6 ? 6 : 4;
    const uint8_t *bytes = NULL;
    if (kind == 1) {
        bytes = f->bytes + (l->outer_v6 ? 38 : 30);
    } else {
        if (kind == 2)
            family = 10 - family;
        for (int tries = 0; tries < 8 && !bytes && c->neighbour_count; tries++) {
            const struct ref_neighbour *n = &c->neighbours[below((uint32_t)c->neighbour_count)];
            if (n->address.family == family)
                bytes = n->address.bytes;
        }
        if (!bytes)
            return;
    }
    memset(previous, 0, 16);
    if (family == 4) {
        previous[10] = previous[11] = 0xff;
        memmove(previous + 12, bytes, 4);
    } else {
        memmove(previous, bytes, 16);
    }
}

static const uint8_t interesting[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0f, 0x10, 0x11, 0x29, 0x2c,
                                      0x3a, 0x3c, 0x40, 0x45, 0x46, 0x60, 0x7f, 0x80, 0xc0, 0xfe, 0xff};

static void mutate(struct frame *f, const struct ref_config *c, uint64_t now_ms)
{
    struct layout l = {0};
    bool structured = layout_of(f, &l);
    size_t span = f->length < 200 ? f->length : 200;
    switch (below(structured ? 17 : 6)) {
    case 0: /* a bit anywhere in the headers */
        f->bytes[below((uint32_t)span)] ^= (uint8_t)(1u << below(8));
        break;
    case 1: /* a byte: random */
        f->bytes[below((uint32_t)span)] = (uint8_t)rnd();
        break;
    case 2: /* a byte: a value parsers care about */
        f->bytes[below((uint32_t)span)] = interesting[below(sizeof(interesting))];
        break;
    case 3: /* truncated at any length (a tc program never sees less than Ethernet) */
        f->length = 14 + below((uint32_t)(f->length - 14 + 1));
        break;
    case 4: /* trailing bytes */
        insert(f, f->length, 1 + below(64), true);
        break;
    case 5: /* random frame, IP EtherType half the time */
        f->length = 14 + below(300);
        for (size_t i = 0; i < f->length; i++)
            f->bytes[i] = (uint8_t)rnd();
        if (below(2))
            set_be16(f->bytes + 12, below(2) ? 0x0800 : 0x86dd);
        break;
    case 6: { /* our flags: version, H, epoch near now or anywhere, window scale */
        uint8_t *h = f->bytes + l.header;
        uint16_t flags = ref_be16(h + 2);
        switch (below(4)) {
        case 0:
            flags = (uint16_t)((flags & ~0x7000) | (below(8) << 12));
            break;
        case 1:
            flags ^= 0x8000;
            break;
        case 2: {
            uint64_t epoch = c->period_ms ? now_ms / c->period_ms : 0;
            epoch += below(2) ? (uint64_t)below(7) - 3 : rnd();
            flags = (uint16_t)((flags & ~0x0ff0) | ((epoch & 0xff) << 4));
            break;
        }
        default:
            flags = (uint16_t)((flags & ~0xf) | below(16));
        }
        set_be16(h + 2, flags);
        break;
    }
    case 7: /* first byte, inner protocol */
        f->bytes[l.header + below(2)] = below(2) ? interesting[below(sizeof(interesting))] : (uint8_t)rnd();
        break;
    case 8: /* MSS and reserved word */
        f->bytes[l.header + 4 + below(4)] = (uint8_t)rnd();
        break;
    case 9: /* outer IPv4 options, or outer fragment bits */
        if (!l.outer_v6 && below(2)) {
            size_t words = 1 + below(10);
            if (insert(f, 14 + 20, words * 4, true))
                f->bytes[14] = (uint8_t)(0x40 | (5 + words));
        } else if (!l.outer_v6) {
            set_be16(f->bytes + 20, (uint16_t)(below(2) ? 0x2000 : below(0x10000)));
        } else if (insert(f, 54, 8, true)) { /* an IPv6 fragment header in front of the UDP header */
            f->bytes[54] = f->bytes[20];
            f->bytes[20] = 44;
            if (below(2))
                set_be16(f->bytes + 56, (uint16_t)(below(2) ? 1 : rnd()));
            else
                set_be16(f->bytes + 56, 0);
        }
        break;
    case 10: /* inner IPv4 options */
        if (!l.inner_v6) {
            size_t words = 1 + below(10);
            size_t ihl = f->bytes[l.inner] & 0xf;
            if (ihl + words <= 15 && insert(f, l.inner + ihl * 4, words * 4, true))
                f->bytes[l.inner] = (uint8_t)(0x40 | (ihl + words));
            break;
        }
        /* fall through */ /* IPv6 gets extension headers */
        __attribute__((fallthrough));
    case 11: /* inner IPv6 extension headers: any kind, any count, any length */
        if (l.inner_v6) {
            static const uint8_t kinds[] = {0, 43, 60, 44, 60, 0};
            int count = 1 + (int)below(6);
            for (int i = 0; i < count; i++) {
                uint8_t kind = kinds[below(sizeof(kinds))];
                size_t units = kind == 44 ? 0 : below(4);
                size_t at = l.inner + 40;
                if (!insert(f, at, (units + 1) * 8, true))
                    break;
                f->bytes[at] = f->bytes[l.inner + 6];
                f->bytes[at + 1] = (uint8_t)units;
                f->bytes[l.inner + 6] = kind;
            }
        }
        break;
    case 12: /* ECN, outer and inner */
        if (below(2)) {
            size_t at = 15; /* IPv4 TOS, or the IPv6 traffic class's low nibble */
            uint8_t e = (uint8_t)below(4);
            if (l.outer_v6)
                f->bytes[at] = (uint8_t)((f->bytes[at] & ~0x30) | (e << 4));
            else
                f->bytes[at] = (uint8_t)((f->bytes[at] & ~0x3) | e);
        } else {
            uint8_t e = (uint8_t)below(4);
            size_t at = l.inner + 1;
            if (l.inner_v6)
                f->bytes[at] = (uint8_t)((f->bytes[at] & ~0x30) | (e << 4));
            else
                f->bytes[at] = (uint8_t)((f->bytes[at] & ~0x3) | e);
        }
        break;
    case 13: /* inner version, IHL, fragment bits, protocol */
        if (l.inner_v6)
            f->bytes[l.inner + (below(2) ? 0 : 6)] = interesting[below(sizeof(interesting))];
        else
            f->bytes[l.inner + (size_t[]){0, 6, 7, 9}[below(4)]] = interesting[below(sizeof(interesting))];
        break;
    case 14: { /* the L4 header: TCP data offset and flags, ICMP type */
        size_t l4 = l.inner + (l.inner_v6 ? 40 : (f->bytes[l.inner] & 0xf) * 4);
        if (l4 + 14 <= f->length)
            f->bytes[l4 + 12 + below(2)] = (uint8_t)rnd();
        break;
    }
    case 15: /* the outer addresses: another proxy, another backend address */
        f->bytes[l.outer + (l.outer_v6 ? 8 + below(32) : 12 + below(8))] ^= (uint8_t)(1u << below(8));
        break;
    default: { /* the chained header (encap.h): its form, its previous owner, A2, the TTL, the 24 bytes in or out */
        uint8_t *h = f->bytes + l.header;
        switch (below(8)) {
        case 0:
            h[0] = h[0] == 0x09 ? 0x03 : 0x09;
            break;
        case 1:
            h[6] ^= 0x80;
            break;
        case 2:
            if (l.chained)
                h[24 + below(16)] ^= (uint8_t)(1u << below(8));
            break;
        case 3:
            if (l.chained)
                h[16 + below(8)] = (uint8_t)rnd();
            break;
        case 4:
            if (l.chained)
                set_previous(f, &l, c, below(3));
            break;
        case 5: /* the outer TTL or hop limit near its end */
            f->bytes[l.outer_v6 ? 21 : 22] = (uint8_t)below(4);
            break;
        case 6: /* plain to chained: 24 bytes in, a previous owner the namespace reaches, the lengths right */
            if (!l.chained && insert(f, l.header + 16, 24, true)) {
                h = f->bytes + l.header;
                h[0] = 0x09;
                h[4] = h[5] = h[7] = 0;
                h[6] = 0x80;
                l.chained = true;
                set_previous(f, &l, c, 0);
                fix_outer_lengths(f);
            }
            break;
        default: /* chained to plain: the 24 bytes out */
            if (l.chained) {
                memmove(h + 16, h + 40, f->length - (l.header + 40));
                f->length -= 24;
                h[0] = 0x03;
                h[6] &= 0x7f;
                fix_outer_lengths(f);
            }
        }
        break;
    }
    }
}

static void refresh_epoch(struct frame *f, const struct ref_config *c, uint64_t now_ms)
{
    struct layout l;
    if (!layout_of(f, &l) || !(f->bytes[l.header + 2] & 0x80))
        return;
    uint16_t flags = ref_be16(f->bytes + l.header + 2);
    flags = (uint16_t)((flags & ~0x0ff0) | (((now_ms / c->period_ms) & 0xff) << 4));
    set_be16(f->bytes + l.header + 2, flags);
    ref_sign(f->bytes, f->length, c, below(2));
}

static void fix_ipv4_checksum_of(uint8_t *header)
{
    size_t length = (header[0] & 0xf) * 4;
    header[10] = header[11] = 0;
    uint16_t sum = ref_ip_checksum(header, length);
    set_be16(header + 10, sum);
}

/* The frame a decapsulated, passed packet must become: Ethernet addresses kept, the inner EtherType, the inner
 * packet with RFC 6040 applied. IPv4's checksum is compared separately (valid in, valid out). */
static void expected_decap(const uint8_t *in, size_t length, const struct ref_result *r, struct frame *out)
{
    memcpy(out->bytes, in, 12);
    set_be16(out->bytes + 12, r->inner_v6 ? 0x86dd : 0x0800);
    memcpy(out->bytes + 14, in + r->inner, length - r->inner);
    out->length = 14 + length - r->inner;
    uint8_t *ip = out->bytes + 14;
    uint8_t inner_ecn = r->inner_v6 ? (ip[1] >> 4) & 3 : ip[1] & 3;
    int ecn = ref_ecn_table[inner_ecn][r->outer_ecn];
    if (r->inner_v6)
        ip[1] = (uint8_t)((ip[1] & ~0x30) | (ecn << 4));
    else
        ip[1] = (uint8_t)((ip[1] & ~0x3) | ecn);
}

/* The frame a chained packet handed over must become (handover.h): Ethernet addresses from the FIB lookup, the
 * outer IP header with the previous owner as destination, TTL / hop limit one less and its length 24 bytes less,
 * UDP ports kept with its length 24 less and no checksum, the plain header (0x03, Proto, flags, word 1 zero, A2),
 * the inner packet as it came. IPv4's header checksum is left out here (compared as valid in, valid out). */
static void expected_handover(const uint8_t *in, size_t length, const struct ref_result *r, struct frame *out)
{
    const uint8_t *h = in + r->header, *previous = h + 24;
    size_t ip_length = r->outer_v6 ? 40 : 20;
    memcpy(out->bytes, r->next_hop->dmac, 6);
    memcpy(out->bytes + 6, r->next_hop->smac, 6);
    memcpy(out->bytes + 12, in + 12, 2 + ip_length);
    uint8_t *ip = out->bytes + 14;
    if (r->outer_v6) {
        set_be16(ip + 4, (uint16_t)(ref_be16(ip + 4) - 24));
        ip[7]--;
        memcpy(ip + 24, previous, 16);
    } else {
        set_be16(ip + 2, (uint16_t)(ref_be16(ip + 2) - 24));
        ip[8]--;
        memcpy(ip + 16, previous + 12, 4);
        ip[10] = in[24];
        ip[11] = in[25];
    }
    uint8_t *udp = ip + ip_length;
    memcpy(udp, in + 14 + ip_length, 4);
    set_be16(udp + 4, (uint16_t)(ref_be16(in + 14 + ip_length + 4) - 24));
    udp[6] = udp[7] = 0;
    uint8_t *plain = udp + 8;
    plain[0] = 0x03;
    memcpy(plain + 1, h + 1, 3);
    memset(plain + 4, 0, 4);
    memcpy(plain + 8, h + 16, 8);
    memcpy(plain + 16, in + r->inner, length - r->inner);
    out->length = length - 24;
}

/* One's complement sum of bytes [from, length) of a frame, folded (0 and 0xffff, both zero, as 0). */
static uint16_t ones_sum(const uint8_t *bytes, size_t from, size_t length)
{
    uint32_t sum = 0;
    for (size_t i = from; i < length; i += 2)
        sum += (uint32_t)(bytes[i] << 8) | (i + 1 < length ? bytes[i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return sum == 0xffff ? 0 : (uint16_t)sum;
}

/* The decapsulated ACK (want) made the RST the program sends TIME_WAIT (native/bpf/timewait.h): seq its
 * rcv_nxt (the socket's, taken from the program's output), ack 0, flags RST alone, options NOPs; the rest as it
 * was. The TCP checksum must stay as valid as it was: the segment's sum (checksum field included) unchanged. */
static bool expected_rst(struct frame *want, const struct ref_result *r, const struct run *got)
{
    size_t tcp = 14 + (r->l4 - r->inner);
    if (got->out_length != want->length || tcp + 20 > want->length)
        return false;
    uint16_t sum_before = ones_sum(want->bytes, tcp, want->length);
    size_t options = (size_t)(want->bytes[tcp + 12] >> 4) * 4;
    memcpy(want->bytes + tcp + 4, got->out + tcp + 4, 4);
    memset(want->bytes + tcp + 8, 0, 4);
    want->bytes[tcp + 12] &= 0xf0;
    want->bytes[tcp + 13] = 0x04;
    memcpy(want->bytes + tcp + 16, got->out + tcp + 16, 2);
    for (size_t i = 20; i < options && tcp + i < want->length; i++)
        want->bytes[tcp + i] = 0x01;
    return ones_sum(got->out, tcp, got->out_length) == sum_before;
}

static int fuzz(const char *object, const char *path, long frames, uint64_t seed)
{
    struct program p;
    load(&p, object);
    FILE *in = fopen(path, "r");
    if (!in) {
        perror(path);
        return 2;
    }
    struct ref_config c = {.enabled = true};
    static char line[65536];
    static struct frame seeds[128];
    int seed_count = 0;
    while (fgets(line, sizeof(line), in)) {
        line[strcspn(line, "\n")] = 0;
        if (!strncmp(line, "config ", 7)) {
            if (!config_line(&c, line + 7)) {
                fprintf(stderr, "runner: bad line: %s\n", line);
                return 2;
            }
        } else if (!strncmp(line, "seed ", 5) && seed_count < 128) {
            char *name = strtok(line + 5, " "), *hex = strtok(NULL, " ");
            if (!name || !hex)
                continue;
            struct frame *s = &seeds[seed_count++];
            snprintf(s->name, sizeof(s->name), "%s", name);
            s->length = from_hex(hex, s->bytes, sizeof(s->bytes));
        }
    }
    fclose(in);
    if (!seed_count) {
        fprintf(stderr, "runner: no seed frames in %s\n", path);
        return 2;
    }
    rng_state = seed ? seed : 1;
    /* The fuzz's own replay window: short, so that mutated epochs land on both sides of its edges. */
    c.period_ms = 1000;
    c.grace_ms = 1000;
    c.skew_ms = 250;

    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long ran = 0, bad = 0, counted[SP_COUNTERS] = {0}, signed_frames = 0, by_second = 0;
    static struct frame f, want;
    static struct run r;
    char first_failure[512] = "";
    for (long i = 0; i < frames; i++) {
        if (i % 50000 == 0) { /* half the run with --strict, half without */
            c.strict = (i / 50000) % 2;
            apply_config(&p, &c);
        }
        const struct frame *s = &seeds[below((uint32_t)seed_count)];
        f = *s;
        uint64_t now = realtime_ms();
        /* Most marked seeds get the current epoch of the fuzz's short period first (and a new authenticator):
         * otherwise nearly all would stop at stale-epoch, and the handshake path would go unexercised. */
        if (below(4))
            refresh_epoch(&f, &c, now);
        int mutations = 1 + (int)below(3);
        for (int m = 0; m < mutations; m++)
            mutate(&f, &c, now);
        if (!below(4))
            fix_outer_lengths(&f);
        /* BPF_PROG_TEST_RUN (6.18) refuses an IPv4 frame shorter than its fixed IP header, and IPv6 likewise
         * (it pulls the network header), though a real tc ingress hook can see one: shorter truncations are
         * lengthened to that minimum here, and the program's bounds checks below it are not exercised. */
        size_t least = 14;
        if (f.length >= 14 && ref_be16(f.bytes + 12) == 0x0800)
            least = 14 + 20;
        else if (f.length >= 14 && ref_be16(f.bytes + 12) == 0x86dd)
            least = 14 + 40;
        if (f.length < least)
            f.length = least;
        /* Half the frames signed again, as a proxy with the key would: the mutation then reaches what lies behind
         * the authenticator (decapsulation, ECN, epochs, sockets) instead of stopping at bad-auth. Where the
         * address has two keys (a rotation), with either, half the time each. */
        if (below(2) && ref_sign(f.bytes, f.length, &c, below(2)))
            signed_frames++;
        struct ref_result before_run, after_run;
        ref_classify(f.bytes, f.length, &c, realtime_ms(), &before_run);
        char why[256] = "";
        if (!run_once(&p, f.bytes, f.length, &r)) {
            snprintf(why, sizeof(why), "BPF_PROG_TEST_RUN: %s", strerror(r.error));
            r.counter = -3;
        }
        ref_classify(f.bytes, f.length, &c, realtime_ms(), &after_run);
        ran++;
        /* An epoch edge passed during the run: either side is right. */
        uint32_t allowed = before_run.allowed | after_run.allowed;
        if (why[0])
            ;
        else if (r.counter < 0)
            snprintf(why, sizeof(why), "%s", r.counter == -2 ? "a counter moved by more than one"
                                                            : "not exactly one counter moved");
        else if (!(allowed & REF_BIT(r.counter)))
            snprintf(why, sizeof(why), "counter %s, reference allows 0x%x", counter_names[r.counter], allowed);
        else if (r.counter == SP_HANDSHAKE_ASSIGNED && !after_run.authentic)
            snprintf(why, sizeof(why), "a socket was assigned without a valid authenticator");
        else if (r.counter >= SP_STALE_EPOCH && !after_run.authentic)
            snprintf(why, sizeof(why), "%s without a valid authenticator", counter_names[r.counter]);
        else {
            bool passes = r.counter == SP_NOT_OURS || r.counter == SP_ICMP_PASSED ||
                          r.counter == SP_HANDSHAKE_ASSIGNED || r.counter == SP_HANDSHAKE_EXISTING ||
                          r.counter == SP_HANDSHAKE_OVER_TIMEWAIT || r.counter == SP_FORWARDED;
            int want_ret = r.counter == SP_HANDED_OVER ? 7 : passes ? 0 : 2;
            if (r.ret != want_ret)
                snprintf(why, sizeof(why), "returned %d with counter %s", r.ret, counter_names[r.counter]);
            else if (r.counter == SP_HANDED_OVER) {
                expected_handover(f.bytes, f.length, &after_run, &want);
                bool same = r.out_length == want.length && !memcmp(r.out, want.bytes, 24) &&
                            !memcmp(r.out + 26, want.bytes + 26, want.length - 26);
                if (after_run.outer_v6)
                    same = r.out_length == want.length && !memcmp(r.out, want.bytes, want.length);
                if (!same)
                    snprintf(why, sizeof(why), "handed-over frame differs from the reference's");
                else if (!after_run.outer_v6 &&
                         (ref_ip_checksum(f.bytes + 14, 20) == 0) != (ref_ip_checksum(r.out + 14, 20) == 0))
                    snprintf(why, sizeof(why), "outer IPv4 checksum validity changed by the hand-over");
            } else if (r.counter == SP_NOT_OURS &&
                     (r.out_length != f.length || memcmp(r.out, f.bytes, f.length)))
                snprintf(why, sizeof(why), "a frame not ours was changed");
            else if (passes && r.counter != SP_NOT_OURS) {
                expected_decap(f.bytes, f.length, &after_run, &want);
                if (r.counter == SP_HANDSHAKE_OVER_TIMEWAIT && !expected_rst(&want, &after_run, &r))
                    snprintf(why, sizeof(why), "the RST over TIME_WAIT differs from the reference's, or its TCP "
                             "checksum broke");
                bool same_length = r.out_length == want.length;
                bool v4 = !after_run.inner_v6;
                bool same = same_length && (v4 ? !memcmp(r.out, want.bytes, 24) &&
                                                     !memcmp(r.out + 26, want.bytes + 26, want.length - 26)
                                               : !memcmp(r.out, want.bytes, want.length));
                if (why[0]) {
                    ;
                } else if (!same) {
                    snprintf(why, sizeof(why), "decapsulated frame differs from the reference's");
                } else if (v4) {
                    size_t ihl = (want.bytes[14] & 0xf) * 4;
                    uint8_t original[60];
                    memcpy(original, f.bytes + after_run.inner, ihl);
                    bool valid_in = ref_ip_checksum(original, ihl) == 0;
                    bool valid_out = ref_ip_checksum(r.out + 14, ihl) == 0;
                    if (valid_in && !valid_out)
                        snprintf(why, sizeof(why), "inner IPv4 checksum broken by the ECN rewrite");
                }
            }
        }
        if (r.counter >= 0)
            counted[r.counter]++;
        if (r.counter > SP_BAD_AUTH && after_run.by_second)
            by_second++;
        if (why[0]) {
            bad++;
            if (!first_failure[0]) {
                int n = snprintf(first_failure, sizeof(first_failure), "frame %ld (seed %s, %zu bytes): %s; ", i,
                                 s->name, f.length, why);
                for (size_t b = 0; b < f.length && b < 120 && n < (int)sizeof(first_failure) - 3; b++)
                    n += snprintf(first_failure + n, sizeof(first_failure) - n, "%02x", f.bytes[b]);
            }
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf("        fuzz: %ld frames in %.1f s (%.0f/s), seed %llu, %d seed frames, %ld re-signed, %ld past the "
           "authenticator under a second key\n", ran, seconds, ran / seconds, (unsigned long long)seed, seed_count,
           signed_frames, by_second);
    printf("        fuzz: where they ended:");
    for (int i = 0; i < SP_COUNTERS; i++)
        printf("%s %s %ld", i ? "," : "", counter_names[i], counted[i]);
    printf("\n");
    char name[128];
    snprintf(name, sizeof(name), "fuzz: %ld mutated frames, each in exactly one counter, as the reference says", ran);
    check(bad == 0 && ran == frames, name, "%ld bad; first: %s", bad, first_failure);
    /* Every counter a well-formed mutation can reach was reached (decap-failed, mixed-family and
     * timewait-retry-failed need a kernel failure; handshake-assigned needs tc ingress). */
    int missing = 0;
    char list[512] = "";
    for (int i = 0; i < SP_COUNTERS; i++) {
        if (i == SP_DECAP_FAILED || i == SP_MIXED_FAMILY || i == SP_HANDSHAKE_ASSIGNED ||
            i == SP_TIMEWAIT_RETRY_FAILED || counted[i])
            continue;
        missing++;
        strncat(list, counter_names[i], sizeof(list) - strlen(list) - 2);
        strncat(list, " ", sizeof(list) - strlen(list) - 1);
    }
    if (frames >= 100000)
        check(missing == 0, "fuzz: every reachable counter reached", "never reached: %s", list);
    if (frames >= 100000)
        check(by_second > 1000, "fuzz: frames authenticated by a rotation's second key went on past the authenticator",
              "%ld did", by_second);
    check(counted[SP_HANDSHAKE_ASSIGNED] == 0, "fuzz: no socket assigned under BPF_PROG_TEST_RUN (not tc ingress)",
          "%ld assigned", counted[SP_HANDSHAKE_ASSIGNED]);
    bpf_object__close(p.object);
    return 0;
}

/* ---- unit checks of the pure headers (epoch.h, ecn.h) and of the reference itself ---- */

static int unit(void)
{
    /* The SipHash paper's test vector (appendix A): key 00..0f, message 00..0e. */
    uint8_t key[16], message[15];
    for (int i = 0; i < 16; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 15; i++)
        message[i] = (uint8_t)i;
    uint64_t h = ref_siphash(key, message, 15);
    check(h == 0xa129ca6149be45e5ULL, "unit: reference SipHash-2-4 matches the paper's vector",
          "got %016llx", (unsigned long long)h);

    /* epoch.h against a brute-force search: around boundaries, with and without grace and skew. */
    const uint32_t shapes[][3] = {{60000, 60000, 500}, {60000, 0, 0}, {1000, 1000, 250}, {1000, 500, 500},
                                  {86400000, 86400000, 43200000}, {1000, 0, 0}, {3000, 1500, 1500}};
    long mismatches = 0, tried = 0;
    char first[160] = "";
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        uint32_t period = shapes[s][0], grace = shapes[s][1], skew = shapes[s][2];
        for (int k = 0; k < 20000; k++) {
            uint64_t base = 1700000000000ULL + below(1000000) * (uint64_t)period;
            uint64_t now = k % 2 ? base + below(3 * period) : base + period + grace + skew - 2 + below(5);
            if (k % 4 == 2)
                now = base - skew - 2 + below(5);
            uint8_t epoch = (uint8_t)((now / period) + below(8) - 4);
            if (k % 16 == 0)
                epoch = (uint8_t)rnd();
            tried++;
            bool want = ref_epoch_fresh(now, epoch, period, grace, skew);
            bool got = sp_epoch_fresh(now, epoch, period, grace, skew);
            if (want != got && !mismatches++)
                snprintf(first, sizeof(first), "period %u grace %u skew %u now %llu epoch %u: want %d", period,
                         grace, skew, (unsigned long long)now, epoch, want);
        }
    }
    check(mismatches == 0, "unit: epoch.h agrees with a brute-force search at and around every window edge",
          "%ld of %ld differ; first: %s", mismatches, tried, first);
    check(!sp_epoch_fresh(1000, 0xff, 1000, 1000, 0), "unit: epoch.h: no epoch before 0", "accepted");
    check(!sp_epoch_fresh(123456, 7, 0, 0, 0), "unit: epoch.h: period 0 accepts nothing", "accepted");

    /* ecn.h against RFC 6040's table. */
    int wrong = 0;
    for (int inner = 0; inner < 4; inner++)
        for (int outer = 0; outer < 4; outer++) {
            __u8 e = (__u8)inner;
            bool keep = sp_ecn_decap((__u8)outer, &e);
            int want = ref_ecn_table[inner][outer];
            if (keep != (want >= 0) || (keep && e != want))
                wrong++;
        }
    check(wrong == 0, "unit: ecn.h follows RFC 6040's decapsulation table (16 combinations)", "%d differ", wrong);

    /* sp_csum_replace16 against a whole recomputation, over random IPv4 headers with a valid checksum. */
    int broken = 0;
    for (int k = 0; k < 100000; k++) {
        uint8_t header[20];
        for (int i = 0; i < 20; i++)
            header[i] = (uint8_t)rnd();
        header[0] = 0x45;
        fix_ipv4_checksum_of(header);
        uint16_t old = ref_be16(header);
        header[1] = (uint8_t)((header[1] & ~3) | below(4));
        uint16_t sum = sp_csum_replace16(ref_be16(header + 10), old, ref_be16(header));
        set_be16(header + 10, sum);
        if (ref_ip_checksum(header, 20) != 0)
            broken++;
    }
    check(broken == 0, "unit: ecn.h's incremental checksum keeps 100000 random IPv4 headers valid", "%d broken",
          broken);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "unit")) {
        unit();
    } else if (argc >= 2 && !strcmp(argv[1], "counters")) {
        for (int i = 0; i < SP_COUNTERS; i++)
            printf("%s\n", counter_names[i]);
        return 0;
    } else if (argc >= 4 && !strcmp(argv[1], "golden")) {
        int rc = golden(argv[2], argv[3], argc >= 5 ? argv[4] : NULL);
        if (rc)
            return rc;
    } else if (argc >= 4 && !strcmp(argv[1], "fuzz")) {
        long frames = 1000000;
        uint64_t seed = 1;
        for (int i = 4; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--frames"))
                frames = strtol(argv[i + 1], NULL, 10);
            else if (!strcmp(argv[i], "--seed"))
                seed = strtoull(argv[i + 1], NULL, 10);
        }
        int rc = fuzz(argv[2], argv[3], frames, seed);
        if (rc)
            return rc;
    } else {
        fprintf(stderr, "usage: runner unit | counters | golden OBJ FILE [OUTPUTS] | fuzz OBJ FILE [--frames N] "
                        "[--seed S]\n");
        return 2;
    }
    return failed ? 1 : 0;
}
