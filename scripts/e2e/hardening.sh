# Sourced by run.sh: the end-to-end checks of the hardening issue, as two functions run.sh calls after its other
# phases (hardening_phases) and after its final backend counters (hardening_strict: it re-attaches the backend's
# program, which starts its counters anew). They use run.sh's check, holds, proxy_counter, backend_counter, $work,
# $here and the topology's variables, and leave the proxy running.

hardening_phases() {

proxy_start() {  # proxy_start CONFIG LOG: the proxy in its namespace, until it says it runs
  ip netns exec "$PROXY_NS" "$here/scripts/synproxy" run -c "$1" > "$2" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 100); do grep -q '^running:' "$2" && break; sleep 0.2; done
  grep -q '^running:' "$2" || { cat "$2" >&2; echo "e2e: the proxy did not start" >&2; exit 1; }
}

# The proxy again with every backend (the mixed-family phase left it with IPv4 backends only).
kill -TERM "$proxy_pid"; wait "$proxy_pid" || true
rm -rf "/var/run/dpdk/spx-$SPX_ID"
proxy_start "$work/synproxy.toml" "$work/proxy-hardening.log"

# Path MTU discovery. The backend's replies go to the client through a router whose link toward the client has an
# MTU of 1280: it answers the backend's 1500-byte packets with "fragmentation needed" / "packet too big", addressed
# to the VIP, so they reach the proxy (here through the client namespace, which forwards them to its VIP route). The
# proxy must send each to the backend that owns the quoted flow, whose kernel then lowers the connection's MSS.
# Without that, the download stalls at its first full-size segment.
RT=spx-rt-$SPX_ID
ip netns add "$RT"
ip -n "$RT" link set lo up
ip netns exec "$RT" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.conf.all.rp_filter=0 \
  net.ipv4.conf.default.rp_filter=0
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
ip -n "$BACKEND_NS" link add b3 address 02:00:00:00:00:b3 type veth peer name r0 address 02:00:00:00:00:a0 netns "$RT"
ip -n "$RT" link add r1 address 02:00:00:00:00:a1 mtu 1280 type veth peer name c3 address 02:00:00:00:00:c3 mtu 1280 \
  netns "$CLIENT_NS"
for pair in "$BACKEND_NS b3" "$RT r0" "$RT r1" "$CLIENT_NS c3"; do
  set -- $pair
  ip netns exec "$1" ethtool -K "$2" tx off tso off gso off gro off >/dev/null 2>&1 || true
  ip -n "$1" link set "$2" up
done
ip -n "$RT" addr add 198.18.0.254/32 dev r0
ip -n "$RT" -6 addr add 2001:db8:fe::1/128 dev r0 nodad
for dest in "$CLIENT4" "$VIP4"; do
  ip -n "$RT" route add "$dest/32" dev r1
  ip -n "$RT" neigh add "$dest" lladdr 02:00:00:00:00:c3 dev r1 nud permanent
done
for dest in "$CLIENT6" "$VIP6"; do
  ip -n "$RT" -6 route add "$dest/128" dev r1
  ip -n "$RT" -6 neigh add "$dest" lladdr 02:00:00:00:00:c3 dev r1 nud permanent
done
ip -n "$BACKEND_NS" route replace "$CLIENT4/32" dev b3
ip -n "$BACKEND_NS" neigh replace "$CLIENT4" lladdr 02:00:00:00:00:a0 dev b3 nud permanent
ip -n "$BACKEND_NS" -6 route replace "$CLIENT6/128" dev b3
ip -n "$BACKEND_NS" -6 neigh replace "$CLIENT6" lladdr 02:00:00:00:00:a0 dev b3 nud permanent
ip -n "$BACKEND_NS" route flush cache
ip -n "$BACKEND_NS" -6 route flush cache
icmp_before=$(proxy_counter "$work/stats" icmp-forwarded)
passed_before=$(backend_counter icmp-passed)
want=$(sha256sum < "$WEBROOT/big.bin" | cut -d' ' -f1)
got4=$( (ip netns exec "$CLIENT_NS" curl -s --max-time 30 "http://$VIP4/big.bin" || true) | sha256sum | cut -d' ' -f1)
check "path MTU: 1 MiB over IPv4 through a 1280-byte hop on the way back, intact" [ "$want" = "$got4" ]
got6=$( (ip netns exec "$CLIENT_NS" curl -s --max-time 30 "http://[$VIP6]/big.bin" || true) | sha256sum | cut -d' ' -f1)
check "path MTU: 1 MiB over IPv6 through a 1280-byte hop on the way back, intact" [ "$want" = "$got6" ]
icmp_forwarded=$(( $(proxy_counter "$work/stats" icmp-forwarded) - ${icmp_before:-0} ))
icmp_passed=$(( $(backend_counter icmp-passed) - ${passed_before:-0} ))
check "the router's ICMP errors went through the proxy ($icmp_forwarded) to the backend's kernel ($icmp_passed)" \
  holds "icmp_forwarded >= 2 && icmp_passed >= 2"
ip -n "$BACKEND_NS" route replace "$CLIENT4/32" dev b1
ip -n "$BACKEND_NS" neigh replace "$CLIENT4" lladdr 02:00:00:00:00:c1 dev b1 nud permanent
ip -n "$BACKEND_NS" -6 route replace "$CLIENT6/128" dev b1
ip -n "$BACKEND_NS" -6 neigh replace "$CLIENT6" lladdr 02:00:00:00:00:c1 dev b1 nud permanent
ip netns del "$RT"
ip -n "$BACKEND_NS" route flush cache
ip -n "$BACKEND_NS" -6 route flush cache
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0

# IPv6 extension headers: every packet of the client's connection carries a destination-options header. The proxy
# skips it to find TCP and validates the ACK; the backend's program must walk the same header, or it drops the ACK.
result=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$here/scripts/e2e/transfer.py" "$VIP6" 9000 1048576 20 \
  --dstopts || true)
check "IPv6 with a destination-options header on every packet: 1 MiB each way intact ($result)" \
  [ "$result" = "ok 1048576" ]

# A 4-tuple reused while the backend's side of the last connection is in TIME_WAIT: the web server closes first, the
# client comes back from the same port at once (as NAT or fixed-port clients do). The marked ACK of the new handshake
# finds the TIME_WAIT socket; the backend's program ends it (an RST at its rcv_nxt, as a SYN over TIME_WAIT would) and
# lets a copy of the ACK create the new socket.
# The first connection only sets the scene: if it did not complete (a lost first SYN-ACK after the routing changes
# above can outlast curl's wait), it is made again after its own TIME_WAIT-free failure, from the same port.
for attempt in 1 2 3; do
  first=$(ip netns exec "$CLIENT_NS" curl -sS --max-time 10 --local-port 45000 "http://$VIP4/" 2>&1 || true)
  grep -q spx-e2e-index-page <<<"$first" && break
  echo "        first connection from port 45000 did not complete (attempt $attempt: $(head -c 120 <<<"$first" \
    | tr '\n' ' ')); again"
  sleep 1
done
tw_sockets=0
for i in 1 2 3 4 5 6 7 8 9 10; do
  tw_sockets=$(ip netns exec "$BACKEND_NS" ss -Htan state time-wait "( dport = :45000 )" | wc -l)
  (( tw_sockets > 0 )) && break
  sleep 0.1
done
# The backend enters TIME_WAIT when it sends its last ACK; the client's socket lives until that ACK arrives (LAST_ACK),
# and until then curl cannot bind port 45000 again. Wait for the client's side to be gone, not just the backend's.
client_left=0
for i in $(seq 1 40); do
  client_left=$(ip netns exec "$CLIENT_NS" ss -Htan "( sport = :45000 )" | wc -l)
  (( client_left == 0 )) && break
  sleep 0.05
done
tw_before=$(backend_counter handshake-over-timewait)
second=$(ip netns exec "$CLIENT_NS" curl -sS --max-time 10 --local-port 45000 "http://$VIP4/" 2>&1 || true)
tw_handled=$(( $(backend_counter handshake-over-timewait) - ${tw_before:-0} ))
pages="$(grep -c spx-e2e-index-page <<<"$first" || true) $(grep -c spx-e2e-index-page <<<"$second" || true)"
[ "$pages" = "1 1" ] || echo "        second connection: $(head -c 200 <<<"$second" | tr '\n' ' ')"
check "the same client port again during the backend's TIME_WAIT ($tw_sockets entry, client's side gone: $(( client_left == 0 ))): the pages arrive ($pages), TIME_WAIT ended ($tw_handled)" \
  holds "$(grep -c spx-e2e-index-page <<<"$first") == 1 && $(grep -c spx-e2e-index-page <<<"$second") == 1 && tw_sockets == 1 && tw_handled == 1"
}

hardening_strict() {
# Strict mode: TCP to a VIP that reaches the backend without coming through a proxy is dropped. A SYN sent straight to
# the backend's interface (from the proxy's side of the link, as anyone on that segment could) passes without
# --strict and is dropped with it; traffic through the proxy still works.
bypass_syn() {
  ip netns exec "$PROXY_NS" /usr/bin/python3 - "$BACKEND_MAC" "$PROXY_BACKEND_MAC" "$CLIENT4" "$VIP4" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, sendp
backend_mac, own_mac, client, vip = sys.argv[1:5]
sendp(Ether(dst=backend_mac, src=own_mac) / IP(src=client, dst=vip) / TCP(sport=46000, dport=80, flags="S", seq=1),
      iface="p1", verbose=0)
PY
}
not_ours_before=$(backend_counter not-ours)
bypass_syn
sleep 0.3
not_ours=$(( $(backend_counter not-ours) - ${not_ours_before:-0} ))
attach_backend --strict --vip "$VIP4" --vip "$VIP6"
bypass_syn
sleep 0.3
not_encapsulated=$(backend_counter not-encapsulated)
page5=$(ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://$VIP4/" || true)
check "strict: a SYN around the proxy passes without --strict ($not_ours) and is dropped with it (${not_encapsulated:-0}); the proxy's traffic still flows" \
  holds "not_ours >= 1 && ${not_encapsulated:-0} == 1 && $(grep -c spx-e2e-index-page <<<"$page5") == 1"
}
