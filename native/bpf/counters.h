/* Where a frame ends: every frame the program sees lands in exactly one of these (sp_counters, per CPU). In the
 * order a frame meets them. scripts/backend.sh status prints the same names (the test suite checks the two lists). */
#ifndef SP_COUNTERS_H
#define SP_COUNTERS_H

enum sp_counter {
    SP_NOT_OURS = 0,            /* passed untouched: not UDP to our port (or the program not configured yet) */
    SP_NOT_ENCAPSULATED,        /* --strict: TCP to a VIP address that did not come through a proxy: dropped */
    SP_OUTER_OPTIONS,           /* UDP to our port with IPv4 options: the proxy never sends them: dropped */
    SP_OUTER_FRAGMENT,          /* UDP to our port, a first fragment: the proxy never fragments: dropped */
    SP_UNKNOWN_PROXY,           /* UDP to our port from an address not in the proxy list: dropped */
    SP_NO_KEY,                  /* to an outer address this backend holds no key for (see --address): dropped */
    SP_MALFORMED,               /* not a well-formed encapsulated TCP or ICMP packet: dropped */
    SP_BAD_VERSION,             /* header version other than 1: dropped */
    SP_BAD_AUTH,                /* authenticator does not verify: dropped */
    SP_STALE_EPOCH,             /* marked, but its salt epoch is outside the replay window: dropped */
    SP_CE_NOT_ECT,              /* outer CE over a not-ECT inner packet (RFC 6040): dropped */
    SP_MIXED_FAMILY,            /* inner and outer IP versions differ and the protocol change failed: dropped */
    SP_DECAP_FAILED,            /* bpf_skb_adjust_room or the EtherType rewrite failed: dropped */
    SP_ICMP_PASSED,             /* ICMP / ICMPv6 (path MTU discovery) decapsulated and passed */
    SP_HANDSHAKE_ASSIGNED,      /* request socket created from a validated ACK: passed */
    SP_HANDSHAKE_EXISTING,      /* validated ACK for a connection that already has a socket: passed */
    SP_HANDSHAKE_OVER_TIMEWAIT, /* validated ACK over a TIME_WAIT socket that may reopen (timewait.h): a copy back
                                 * to ingress, and this one made the RST that ends TIME_WAIT: passed */
    SP_TIMEWAIT_REFUSED,        /* validated ACK over TIME_WAIT that may not reopen it (ISN / TSval test), or our
                                 * copy meeting TIME_WAIT again (tcp_rfc1337=1): dropped */
    SP_TIMEWAIT_RETRY_FAILED,   /* the copy to ingress or the RST rewrite failed: dropped */
    SP_HANDSHAKE_NO_LISTENER,   /* validated ACK, nothing listens on its address and port: dropped */
    SP_HANDSHAKE_REFUSED,       /* the kfunc said no (MSS, window scale, an option a sysctl disables): dropped */
    SP_FORWARDED,               /* unmarked, a non-listening socket owns it: passed */
    SP_NO_SOCKET,               /* unmarked and no socket owns it: dropped */
    /* The chained header (encap.h, handover.h), added after the others so that their indexes keep their meaning. */
    SP_HANDED_OVER,             /* chained, no socket owns it: rewritten for the previous owner and redirected */
    SP_HANDOVER_REFUSED,        /* chained, no socket, and the previous owner is of the other family or ourselves,
                                 * the outer TTL / hop limit would reach 0, or the outer lengths disagree with the
                                 * frame: dropped */
    SP_HANDOVER_FAILED,         /* chained, no socket, and no way to the previous owner (bpf_fib_lookup: no route,
                                 * no neighbour, forwarding off on the ingress interface, MTU), or a rewrite
                                 * helper failed: dropped */
    SP_COUNTERS
};

#endif
