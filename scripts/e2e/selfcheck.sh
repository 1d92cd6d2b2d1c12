#!/usr/bin/env bash
# Proves the end-to-end topology (topology.sh) without the proxy, in two phases:
#
#  A. As topology.sh leaves it, the proxy namespace's own kernel must stay silent: the client's ARP/ND for the VIP
#     and its SYNs reach p0, and nothing at all leaves p0 or p1 (a DPDK proxy on them would be the only sender).
#  B. A plain Linux router stands in for the proxy (addresses on p0/p1, forwarding on, the client routing the VIP via
#     p0 instead of on-link): HTTP over both families must work, with every reply coming back by direct server
#     return over b1 -> c1 and none through the proxy; 1 MiB arrives intact; the backend sees the client's real
#     address (no NAT anywhere).
#
# Usage (as root):  [SPX_ID=name] scripts/e2e/selfcheck.sh      (SPX_ID defaults to "selfcheck")
# It starts from `down`, builds with `up`, and always ends with `down`: nothing to restore afterwards.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export SPX_ID=${SPX_ID:-selfcheck}
topo() { "$here/topology.sh" "$@"; }

[[ $(id -u) -eq 0 ]] || { echo "selfcheck: must run as root" >&2; exit 1; }
command -v tcpdump >/dev/null || { echo "selfcheck: tcpdump not found (apt-get install -y tcpdump)" >&2; exit 1; }

WORK=$(mktemp -d)
declare -A CAP_PID=()
failures=0

cleanup() {
    local name
    for name in "${!CAP_PID[@]}"; do kill -INT "${CAP_PID[$name]}" 2>/dev/null || true; done
    wait 2>/dev/null || true
    topo down || true
    rm -rf -- "$WORK"
}
trap cleanup EXIT

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() { local what=$1; shift; if "$@"; then pass "$what"; else fail "$what"; fi; }

# cap_start NAME NS IF DIRECTION FILTER: capture frames in one direction (-Q in|out, as seen from that namespace).
# -Z root: Debian's tcpdump otherwise drops to user tcpdump before opening the file. Not through a function for the
# background job: `ip netns exec` execs tcpdump, so $! is tcpdump itself and kill -INT reaches it.
cap_start() {
    local name=$1 ns=$2 dev=$3 dir=$4 filter=$5 i
    ip netns exec "$ns" tcpdump -i "$dev" -Q "$dir" -Z root -U -n -w "$WORK/$name.pcap" ${filter:+"$filter"} 2>"$WORK/$name.log" &
    CAP_PID[$name]=$!
    # Wait until the packet socket is open, or the first frames are missed.
    for i in $(seq 100); do
        grep -q 'listening on' "$WORK/$name.log" && return 0
        kill -0 "${CAP_PID[$name]}" 2>/dev/null || break
        sleep 0.05
    done
    cat "$WORK/$name.log" >&2
    echo "selfcheck: tcpdump $name did not start" >&2
    exit 1
}
cap_stop() {
    kill -INT "${CAP_PID[$1]}" 2>/dev/null || true
    wait "${CAP_PID[$1]}" 2>/dev/null || true
    unset "CAP_PID[$1]"
}
# cap_lines NAME [FILTER]: the capture's frames as text, one a line, -e so the frame length comes first.
cap_lines() { local name=$1; shift; tcpdump -r "$WORK/$name.pcap" -e -n "$@" 2>/dev/null || true; }
cap_count() { cap_lines "$@" | wc -l; }
# The frame length is the first "length N" of a line (later ones are IP payload lengths).
cap_maxlen() { cap_lines "$@" | awk 'match($0, /length [0-9]+/) { print substr($0, RSTART + 7, RLENGTH - 7) }' |
    sort -n | tail -1; }

in_cl() { ip netns exec "$CLIENT_NS" "$@"; }
in_px() { ip netns exec "$PROXY_NS" "$@"; }
fetch() { in_cl curl -s -g --noproxy '*' --max-time "$@"; }
has_index() { fetch 5 "$1" | grep -q "$INDEX_MARKER"; }

topo down
facts=$(topo up)
echo "$facts" | sed 's/^/  /' >&2
# Only well-formed KEY=VALUE lines become variables.
while IFS='=' read -r key value; do
    [[ $key =~ ^[A-Z][A-Z0-9_]*$ ]] && printf -v "$key" '%s' "$value"
done <<<"$facts"

echo "== A: proxy namespace kernel silent (no proxy running)"
cap_start px_out_p0 "$PROXY_NS" p0 out ""
cap_start px_out_p1 "$PROXY_NS" p1 out ""
cap_start px_in_p0 "$PROXY_NS" p0 in ""
# Nobody answers for the VIP yet: these must time out, after ARP/ND and (v6 later) nothing else.
fetch 2 -o /dev/null "http://$VIP4/" && fail "curl to $VIP4 answered without a proxy" || true
fetch 2 -o /dev/null "http://[$VIP6]/" && fail "curl to [$VIP6] answered without a proxy" || true
in_cl ping -c 1 -W 1 "$VIP4" >/dev/null 2>&1 || true
cap_stop px_out_p0; cap_stop px_out_p1; cap_stop px_in_p0
expect "client ARPs for $VIP4 on p0" \
    test "$(cap_count px_in_p0 "arp and arp[24:4] = 0xc633640a")" -gt 0
expect "client solicits $VIP6 on p0" \
    test "$(cap_count px_in_p0 "icmp6 and ip6[40] = 135")" -gt 0
expect "proxy namespace sent nothing on p0 ($(cap_count px_out_p0) frames)" test "$(cap_count px_out_p0)" -eq 0
expect "proxy namespace sent nothing on p1 ($(cap_count px_out_p1) frames)" test "$(cap_count px_out_p1)" -eq 0

echo "== B: plain Linux router in the proxy namespace, direct server return"
# The router's addresses are outside everything topology.sh hands out (.254 / ::fe).
in_px sysctl -q -w net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0 \
    net.ipv6.conf.p0.disable_ipv6=0 net.ipv6.conf.p1.disable_ipv6=0 >/dev/null
in_px ip addr add 192.0.2.254/24 dev p0
in_px ip -6 addr add 2001:db8::fe/64 dev p0 nodad
in_px ip addr add 203.0.113.254/24 dev p1
in_px ip -6 addr add 2001:db8:200::fe/64 dev p1 nodad
in_px sysctl -q -w net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null
in_px ip route add "$VIP4/32" via "$BACKEND4" dev p1
in_px ip -6 route add "$VIP6/128" via "$BACKEND6" dev p1
in_cl ip route replace "$VIP4/32" via 192.0.2.254 dev c0
in_cl ip -6 route replace "$VIP6/128" via 2001:db8::fe dev c0

cap_start ret_c1 "$CLIENT_NS" c1 in "src host $VIP4 or src host $VIP6"
cap_start ret_p1 "$PROXY_NS" p1 in "src host $VIP4 or src host $VIP6"
cap_start fwd_p1 "$PROXY_NS" p1 out "dst host $VIP4 or dst host $VIP6"
for url in "http://$VIP4" "http://[$VIP6]"; do
    expect "GET $url/ returns the index page" has_index "$url/"
    sum=$(fetch 20 "$url/big.bin" | sha256sum | awk '{print $1}')
    expect "GET $url/big.bin sha256 $sum" test "$sum" = "$BIG_SHA256"
done
cap_stop ret_c1; cap_stop ret_p1; cap_stop fwd_p1
expect "requests went client -> router -> backend ($(cap_count fwd_p1) frames on p1)" test "$(cap_count fwd_p1)" -gt 0
expect "replies came back over b1 -> c1 ($(cap_count ret_c1) frames)" test "$(cap_count ret_c1)" -gt 1000
expect "no reply came back through the proxy namespace" test "$(cap_count ret_p1)" -eq 0
maxlen=$(cap_maxlen ret_c1)
expect "largest frame on c1 is $maxlen bytes (no super-packets)" test "${maxlen:-0}" -le 1514
log=/run/spx-e2e-$SPX_ID/http.log
expect "backend saw the client's real IPv4 address" grep -q "$CLIENT4 " "$log"
expect "backend saw the client's real IPv6 address" grep -q "$CLIENT6 " "$log"

if [[ $failures -eq 0 ]]; then
    echo "selfcheck: all passed"
else
    echo "selfcheck: $failures failed"
    exit 1
fi
