/* The replay bound of marked packets: a handshake ACK is accepted only while the cookie that the proxy validated
 * could still validate, so a captured marked packet cannot be replayed to the backend later. Pure arithmetic, also
 * built into the test runner (checked there against a brute-force search). */
#ifndef SP_EPOCH_H
#define SP_EPOCH_H

/*
 * True when some salt epoch e with e = epoch (mod 256) satisfies
 *     start(e) - skew <= now <= start(e) + period + grace + skew,   start(e) = e * period   (all in ms)
 * i.e. the proxy could have issued a cookie in e (its clock up to skew ahead of ours) and could still accept it
 * (grace into e + 1, its clock up to skew behind). The right end grows with e, so the candidate to test is the
 * latest e whose start (less the skew) has been reached: hi = floor((now + skew) / period), then back to the
 * nearest e <= hi with the right low 8 bits. The window spans fewer than 256 epochs (grace <= period,
 * 2 * skew <= period), so no other candidate can qualify.
 */
static __always_inline bool sp_epoch_fresh(__u64 now_ms, __u8 epoch, __u32 period_ms, __u32 grace_ms,
                                           __u32 skew_ms)
{
    if (period_ms == 0)
        return false;
    __u64 latest = (now_ms + skew_ms) / period_ms;
    __u64 back = (latest - epoch) & 0xff;
    if (back > latest)
        return false; /* before epoch 0: a clock that is not set */
    __u64 e = latest - back;
    return e * period_ms + period_ms + grace_ms + skew_ms >= now_ms;
}

#endif
