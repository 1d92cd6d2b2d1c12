/* The timestamps of a handshake ACK's TCP options (kfunc attrs rcv_tsval / rcv_tsecr): the proxy's SYN-ACK carried
 * the client's TSval back, and the ACK now echoes the proxy's; the new socket takes its timestamp offset from it. */
#ifndef SP_TCP_OPTIONS_H
#define SP_TCP_OPTIONS_H

#define SP_TCP_OPTIONS_MAX 40
#define SP_TCPOPT_EOL 0
#define SP_TCPOPT_NOP 1
#define SP_TCPOPT_TIMESTAMP 8
#define SP_TCPOLEN_TIMESTAMP 10

static __always_inline void sp_set_timestamps(struct bpf_tcp_req_attrs *attrs, const __u8 *ts)
{
    attrs->tstamp_ok = 1;
    attrs->rcv_tsval = ((__u32)ts[0] << 24) | ((__u32)ts[1] << 16) | ((__u32)ts[2] << 8) | ts[3];
    attrs->rcv_tsecr = ((__u32)ts[4] << 24) | ((__u32)ts[5] << 16) | ((__u32)ts[6] << 8) | ts[7];
}

struct sp_option_walk {
    __u8 buf[64];
    __u8 ts[8];
    __u32 off;
    __u32 length;
    __u32 found;
};

/* One option of the walk (a bpf_loop callback): returns 1 to stop. Every index is masked into the buffer. */
static long sp_option_step(__u32 index, void *data)
{
    struct sp_option_walk *walk = data;
    __u32 off = walk->off;
    if (off >= walk->length || off >= SP_TCP_OPTIONS_MAX)
        return 1;
    __u8 kind = walk->buf[off & 63];
    if (kind == SP_TCPOPT_EOL)
        return 1;
    if (kind == SP_TCPOPT_NOP) {
        walk->off = off + 1;
        return 0;
    }
    __u8 size = walk->buf[(off + 1) & 63];
    if (size < 2 || off + size > walk->length)
        return 1;
    if (kind == SP_TCPOPT_TIMESTAMP && size == SP_TCPOLEN_TIMESTAMP) {
        for (int i = 0; i < 8; i++)
            walk->ts[i] = walk->buf[(off + 2 + i) & 63];
        walk->found = 1;
        return 1;
    }
    walk->off = off + size;
    return 0;
}

/* Sets the timestamps in attrs when the options (length bytes at offset) carry them. Walked in one stack copy:
 * the program's stack is near its 512-byte limit, so there is no second. */
static __always_inline void sp_parse_timestamps(struct __sk_buff *skb, __u32 offset, __u32 length,
                                                struct bpf_tcp_req_attrs *attrs)
{
    struct sp_option_walk walk = {.length = length};
    const __u8 *buf = walk.buf;
    if (length == 0 || length > SP_TCP_OPTIONS_MAX)
        return;
    if (bpf_skb_load_bytes(skb, offset, walk.buf, length & 0x3f) < 0)
        return;
    /* Linux and most stacks send NOP NOP TS, or TS first: take those without walking (constant indexes). */
    if (length >= 12 && buf[0] == SP_TCPOPT_NOP && buf[1] == SP_TCPOPT_NOP && buf[2] == SP_TCPOPT_TIMESTAMP &&
        buf[3] == SP_TCPOLEN_TIMESTAMP) {
        sp_set_timestamps(attrs, buf + 4);
        return;
    }
    if (length >= 10 && buf[0] == SP_TCPOPT_TIMESTAMP && buf[1] == SP_TCPOLEN_TIMESTAMP) {
        sp_set_timestamps(attrs, buf + 2);
        return;
    }
    /* Anything else: walked with bpf_loop, whose callback the verifier checks once (an open-coded loop over every
     * option layout exceeds its budget with clang 14). */
    bpf_loop(SP_TCP_OPTIONS_MAX, sp_option_step, &walk, 0);
    if (walk.found)
        sp_set_timestamps(attrs, walk.ts);
}

#endif
