#!/usr/bin/env bash
# End to end, with real parts only (the README's main job runs this through scripts/demo.sh): a real Linux client (curl) in one namespace, synproxy on DPDK (net_af_packet on
# veths) in another, a real backend kernel with synproxy's tc program and an HTTP server in a third, replies going
# straight back to the client. Prints one line per check and ends with "e2e: N passed, N failed"; exits non-zero on
# any failure. Everything it creates is removed on exit. Run as root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export SPX_ID=${SPX_ID:-e2e$$}
work=$(mktemp -d "${TMPDIR:-/tmp}/synproxy-e2e.XXXXXX")
proxy_pid=""
passed=0 failed=0

cleanup() {
  set +e
  [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "${BACKEND_NS:-}" ] && bash "$here/scripts/backend.sh" detach b0 --netns "$BACKEND_NS" >/dev/null 2>&1
  [ -n "${proxy_b_pid:-}" ] && kill -TERM "$proxy_b_pid" 2>/dev/null && wait "$proxy_b_pid" 2>/dev/null
  [ -n "${BACKEND_NS:-}" ] && bash "$here/scripts/backend.sh" detach b2 --netns "$BACKEND_NS" >/dev/null 2>&1
  bash "$here/scripts/e2e/topology.sh" down >/dev/null 2>&1
  ip netns del "spx-rt-$SPX_ID" 2>/dev/null
  ip netns del "spx-p2-$SPX_ID" 2>/dev/null
  rm -rf "/var/run/dpdk/spx-$SPX_ID-b"
  rm -rf "/var/run/dpdk/spx-$SPX_ID" "$work"
}
trap cleanup EXIT
if [ -n "${E2E_KEEP:-}" ]; then trap - EXIT; fi

eval "$(bash "$here/scripts/e2e/topology.sh" up)"
. "$here/scripts/e2e/common.sh"
write_proxy_config
attach_backend
# An echo server beside the web server: data both ways, and the options the backend negotiated, per connection.
touch "$work/echo.log"
ip netns exec "$BACKEND_NS" /usr/bin/python3 "$here/scripts/e2e/echo_server.py" :: 9000 "$work/echo.log" \
  > "$work/echo.out" 2>&1 &
# The proxy runs inside its namespace, where its two veth ends are.
ip netns exec "$PROXY_NS" "$here/scripts/synproxy" run -c "$work/synproxy.toml" > "$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^running:' "$work/proxy.log" && break; sleep 0.2; done
grep -q '^running:' "$work/proxy.log" || { cat "$work/proxy.log" >&2; echo "e2e: the proxy did not start" >&2; exit 1; }

syncookies_before=$(ip netns exec "$BACKEND_NS" nstat -az TcpExtSyncookiesRecv TcpExtSyncookiesSent 2>/dev/null | awk 'NR>1 {s += $2} END {print s+0}')
page=$(ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://$VIP4/" || true)
check "curl http://$VIP4/ gets the page through the proxy" grep -q "spx-e2e-index-page" <<<"$page"
sed 's/^/        curl: /' <<<"$page"
want=$(sha256sum < "$WEBROOT/big.bin" | cut -d' ' -f1)
got=$( (ip netns exec "$CLIENT_NS" curl -s --max-time 20 "http://$VIP4/big.bin" || true) | sha256sum | cut -d' ' -f1)
check "1 MiB download intact" [ "$want" = "$got" ]
page6=$(ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://[$VIP6]/" || true)
check "curl http://[$VIP6]/ gets the page (IPv6 end to end)" grep -q "spx-e2e-index-page" <<<"$page6"

# Every combination of the client's TCP options: the connection works, 1 MiB goes each way intact, and the socket
# the backend's kernel built from the cookie has exactly the options the client asked for (tcpi_options: 1
# timestamps, 2 SACK, 4 window scaling, 8 ECN; ss -ti shows the same).
combos_ok=0 combos=0
for ts in 0 1; do for ws in 0 1; do for sack in 0 1; do for ecn in 0 1; do
  ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.tcp_timestamps=$ts net.ipv4.tcp_window_scaling=$ws \
    net.ipv4.tcp_sack=$sack net.ipv4.tcp_ecn=$ecn
  for family in 4 6; do
    [ "$family" = 4 ] && vip=$VIP4 || vip=$VIP6
    combos=$((combos + 1))
    lines_before=$(wc -l < "$work/echo.log" 2>/dev/null || echo 0)
    result=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$here/scripts/e2e/transfer.py" "$vip" 9000 1048576 20 || true)
    options=$(tail -n +$((lines_before + 1)) "$work/echo.log" 2>/dev/null | head -1 | sed -n 's/.*options=\([0-9]*\).*/\1/p')
    expected=$(( ts * 1 + sack * 2 + ws * 4 + ecn * 8 ))
    # Bits above 8 (ECN seen, SYN data, usec timestamps) depend on timing, not on negotiation.
    [ -n "$options" ] && options=$(( options & 15 ))
    if [ "$result" = "ok 1048576" ] && [ "${options:-x}" = "$expected" ]; then
      combos_ok=$((combos_ok + 1))
    else
      echo "        IPv$family ts=$ts ws=$ws sack=$sack ecn=$ecn: transfer '$result', backend options '${options:-none}' (want $expected)"
    fi
  done
done; done; done; done
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.tcp_timestamps=1 net.ipv4.tcp_window_scaling=1 net.ipv4.tcp_sack=1 \
  net.ipv4.tcp_ecn=2
check "16 option combinations x IPv4/IPv6: 1 MiB each way intact, options as negotiated ($combos_ok/$combos)" \
  [ "$combos_ok" = "$combos" ]
# A bounded SYN flood and forged-ACK flood (spoofed clients, random ports, sequence and ack numbers) from the client
# namespace while real clients connect: every real request succeeds, and the backend creates a socket for each real
# connection and for no forged packet (the forged ACKs reach it unmarked and die at the socket lookup).
backend_counter() { bash "$here/scripts/backend.sh" status b0 --netns "$BACKEND_NS" | awk -v n="$1" '$1 == n {print $2}'; }
assigned_before=$(backend_counter handshake-assigned)
nosocket_before=$(backend_counter no-socket)
flood_count=3000
ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$flood_count" "$PROXY_CLIENT_MAC" "$VIP4" <<'PY' &
import random, sys
from scapy.all import Ether, IP, TCP, sendp
count, mac, vip = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = random.Random(7)
frames = []
for i in range(count):
    src = "192.0.2.%d" % rng.randint(2, 250)
    frames.append(Ether(dst=mac) / IP(src=src, dst=vip) /
                  TCP(sport=rng.randint(1024, 65535), dport=80, flags="S", seq=rng.getrandbits(32)))
    frames.append(Ether(dst=mac) / IP(src=src, dst=vip) /
                  TCP(sport=rng.randint(1024, 65535), dport=80, flags="A", seq=rng.getrandbits(32),
                      ack=rng.getrandbits(32)))
sendp(frames, iface="c0", verbose=0)
PY
flood_pid=$!
real_ok=0
for i in $(seq 1 10); do
  ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://$VIP4/" | grep -q spx-e2e-index-page && real_ok=$((real_ok + 1))
done
wait "$flood_pid"
sleep 1
assigned_delta=$(( $(backend_counter handshake-assigned) - assigned_before ))
nosocket_delta=$(( $(backend_counter no-socket) - nosocket_before ))
check "during a flood of $flood_count SYNs and $flood_count forged ACKs, 10 of 10 real requests succeed ($real_ok)" \
  [ "$real_ok" = 10 ]
check "sockets created during the flood: one per real connection, none for forged packets ($assigned_delta)" \
  [ "$assigned_delta" = 10 ]
check "forged packets died at the backend's socket lookup ($nosocket_delta)" [ "$nosocket_delta" -gt 0 ]

stats=$(synproxy stat -f "$work/stats" --count 1)
check "the proxy counted SYN-ACKs and validated ACKs" grep -qE "worker-0 ack-valid +[1-9]" <<<"$stats"
echo "$stats" | grep -E "worker-0 (rx-frames|syn-ack-sent|ack-valid|ack-not-validated|encapsulated|neighbour|dropped)" \
  | sed 's/^/        proxy A: /'

# Two proxies sharing the secret: a second proxy namespace on its own veths (client c2 <-> q0, q1 <-> b2 backend),
# and the client's egress steered so that SYNs leave by c0 (proxy A) and everything with ACK set by c2 (proxy B).
# B validates the cookies A issued: the connection works, A saw only SYNs, B only ACKs.
PX2=spx-p2-$SPX_ID
ip netns add "$PX2"
ip -n "$CLIENT_NS" link add c2 type veth peer name q0 netns "$PX2"
ip -n "$BACKEND_NS" link add b2 type veth peer name q1 netns "$PX2"
ip -n "$CLIENT_NS" link set c2 address 02:00:00:00:00:c2 up
ip -n "$BACKEND_NS" link set b2 address 02:00:00:00:00:b2 up
for ifc in q0 q1; do
  ip netns exec "$PX2" sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1"
  ip -n "$PX2" link set "$ifc" up promisc on
  ip netns exec "$PX2" ethtool -K "$ifc" tx off tso off >/dev/null 2>&1 || true
done
ip netns exec "$PX2" sysctl -qw net.ipv4.ip_forward=0
ip netns exec "$BACKEND_NS" sysctl -qw net.ipv4.conf.b2.rp_filter=0
ip netns exec "$CLIENT_NS" ethtool -K c2 tx off tso off >/dev/null 2>&1 || true
ip netns exec "$BACKEND_NS" ethtool -K b2 tx off tso off >/dev/null 2>&1 || true
bash "$here/scripts/backend.sh" attach b2 --netns "$BACKEND_NS" --key "$work/backend.key" --address "$BACKEND4" \
  --address "$BACKEND6" --proxy 203.0.113.2 >/dev/null
sed -e 's/source_v4 = "203.0.113.1"/source_v4 = "203.0.113.2"/' \
    -e "s/next_hop_mac = \"$BACKEND_MAC\"/next_hop_mac = \"02:00:00:00:00:b2\"/" \
    -e "s/iface=$PROXY_CLIENT_IF/iface=q0/" -e "s/iface=$PROXY_BACKEND_IF/iface=q1/" \
    -e "s/spx-$SPX_ID/spx-$SPX_ID-b/" -e "s|$work/stats|$work/stats-b|" "$work/synproxy.toml" > "$work/synproxy-b.toml"
ip netns exec "$PX2" "$here/scripts/synproxy" run -c "$work/synproxy-b.toml" > "$work/proxy-b.log" 2>&1 &
proxy_b_pid=$!
for _ in $(seq 1 100); do grep -q '^running:' "$work/proxy-b.log" && break; sleep 0.2; done
ip netns exec "$CLIENT_NS" tc qdisc add dev c0 clsact
# IPv4 without options: TCP flags at byte 33 of the IP packet; 0x10 is ACK.
ip netns exec "$CLIENT_NS" tc filter add dev c0 egress protocol ip u32 match ip protocol 6 0xff \
  match u8 0x10 0x10 at 33 action mirred egress redirect dev c2
proxy_counter() { synproxy stat -f "$1" --count 1 | awk -v n="worker-0 $2" 'index($0, n) == 3 {gsub(",", "", $NF); print $NF}'; }
a_synacks_before=$(proxy_counter "$work/stats" syn-ack-sent)
a_valid_before=$(proxy_counter "$work/stats" ack-valid)
page2=$(ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://$VIP4/" || true)
sleep 0.3
b_valid=$(proxy_counter "$work/stats-b" ack-valid)
a_synacks=$(( $(proxy_counter "$work/stats" syn-ack-sent) - a_synacks_before ))
a_valid=$(( $(proxy_counter "$work/stats" ack-valid) - a_valid_before ))
check "two proxies, one secret: SYN through A, ACK through B, the page arrives" grep -q spx-e2e-index-page <<<"$page2"
check "A answered the SYN ($a_synacks) and validated nothing ($a_valid); B validated the ACKs (${b_valid:-0})" \
  holds "a_synacks >= 1 && a_valid == 0 && ${b_valid:-0} >= 1"
kill -TERM "$proxy_b_pid"; wait "$proxy_b_pid" || true
rm -rf "/var/run/dpdk/spx-$SPX_ID-b"

# Salt rotation, end to end, with a 12 s salt period and grace: both proxies restarted with it, the ACK-bearing
# packets still steered to B, and B started only once the epoch of the SYN is over (this kernel has no netem to
# delay packets): the client's ACK and request are lost and retransmitted until B is up, in the next epoch. The
# client retransmits at least once a second (tcp_rto_max_ms), so B's start-up time (a JVM, on the core proxy A's worker
# spins on: about 5 s here) only has to fit in the epoch. The handshake spans the rotation and must still work. The client's first
# ACK, captured and sent again two epochs later, must be refused: B counts it as not validated and does not mark it.
kill -TERM "$proxy_pid"; wait "$proxy_pid" || true
rm -rf "/var/run/dpdk/spx-$SPX_ID" "/var/run/dpdk/spx-$SPX_ID-b"
for f in synproxy synproxy-b; do
  sed -e 's/^secret_file = "secret.key"/secret_file = "secret.key"\nsalt_period_seconds = 12\ngrace_seconds = 12/' \
    "$work/$f.toml" > "$work/$f-rot.toml"
done
# The backend checks the epoch a marked packet carries against the same schedule.
bash "$here/scripts/backend.sh" attach b2 --netns "$BACKEND_NS" --key "$work/backend.key" --address "$BACKEND4" \
  --address "$BACKEND6" --proxy 203.0.113.2 --salt-period 12 --grace 12 >/dev/null
ip netns exec "$PROXY_NS" "$here/scripts/synproxy" run -c "$work/synproxy-rot.toml" > "$work/proxy-rot.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^running:' "$work/proxy-rot.log" && break; sleep 0.2; done
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.tcp_rto_max_ms=1000
ip netns exec "$CLIENT_NS" timeout 30 tcpdump -i c2 -c 1 -w "$work/first-ack.pcap" \
  "tcp[tcpflags] & (tcp-ack|tcp-syn|tcp-rst) == tcp-ack and tcp dst port 80 and len <= 120" >/dev/null 2>&1 &
dump_pid=$!
sleep 1
/usr/bin/python3 -c 'import time; time.sleep((11.5 - time.time() % 12) % 12)'   # 11.5 s into a 12 s epoch
ip netns exec "$CLIENT_NS" curl -s --max-time 25 "http://$VIP4/" > "$work/page3" 2>/dev/null &
curl_pid=$!
/usr/bin/python3 -c 'import time; time.sleep((0.1 - time.time() % 12) % 12)'   # past the boundary
boundary=$(/usr/bin/python3 -c 'import time; print(int(time.time() // 12 * 12))')
ip netns exec "$PX2" "$here/scripts/synproxy" run -c "$work/synproxy-b-rot.toml" > "$work/proxy-b-rot.log" 2>&1 &
proxy_b_pid=$!
for _ in $(seq 1 150); do grep -q '^running:' "$work/proxy-b-rot.log" && break; sleep 0.1; done
b_started=$(/usr/bin/python3 -c 'import sys, time; print("%.1f" % (time.time() - int(sys.argv[1])))' "$boundary")
wait "$curl_pid" || true
wait "$dump_pid" || true
ip netns exec "$CLIENT_NS" sysctl -qw net.ipv4.tcp_rto_max_ms=120000
check "a handshake spanning a salt rotation succeeds (B up at ${b_started} s into the next epoch)" \
  grep -q spx-e2e-index-page "$work/page3"
/usr/bin/python3 -c 'import time; time.sleep((0.5 - time.time() % 12) % 12)'   # into the epoch after next
refused_before=$(proxy_counter "$work/stats-b" ack-not-validated)
valid_before=$(proxy_counter "$work/stats-b" ack-valid)
ip netns exec "$CLIENT_NS" /usr/bin/python3 -c '
import sys
from scapy.all import rdpcap, sendp
sendp(rdpcap(sys.argv[1]), iface="c2", verbose=0)' "$work/first-ack.pcap"
sleep 1
refused=$(( $(proxy_counter "$work/stats-b" ack-not-validated) - ${refused_before:-0} ))
revalidated=$(( $(proxy_counter "$work/stats-b" ack-valid) - ${valid_before:-0} ))
check "the same ACK replayed after the grace is refused (not validated: $refused, validated: $revalidated)" \
  holds "refused == 1 && revalidated == 0 && ${valid_before:-0} >= 1"
ip netns exec "$CLIENT_NS" tc qdisc del dev c0 clsact
kill -TERM "$proxy_b_pid"; wait "$proxy_b_pid" || true
bash "$here/scripts/backend.sh" detach b2 --netns "$BACKEND_NS" >/dev/null 2>&1 || true

# Mixed families: with IPv4 backends only, an IPv6 client's packets travel in outer IPv4 and the backend's program
# changes the packet's protocol as it decapsulates.
kill -TERM "$proxy_pid"; wait "$proxy_pid" || true
rm -rf "/var/run/dpdk/spx-$SPX_ID"
/usr/bin/python3 - "$work/synproxy.toml" "$work/synproxy-v4only.toml" "$BACKEND6" <<'PY'
import sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(text.replace('[[backend]]\naddress = "%s"\n' % sys.argv[3], ""))
PY
ip netns exec "$PROXY_NS" "$here/scripts/synproxy" run -c "$work/synproxy-v4only.toml" > "$work/proxy-v4only.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^running:' "$work/proxy-v4only.log" && break; sleep 0.2; done
page4=$(ip netns exec "$CLIENT_NS" curl -s --max-time 10 "http://[$VIP6]/" || true)
check "IPv6 client, IPv4-only backends: the page arrives (IPv6 inside IPv4, converted on decapsulation)" \
  grep -q spx-e2e-index-page <<<"$page4"

. "$here/scripts/e2e/hardening.sh"
hardening_phases

counters=$(bash "$here/scripts/backend.sh" status b0 --netns "$BACKEND_NS")
assigned=$(awk '$1 == "handshake-assigned" {print $2}' <<<"$counters")
check "the backend created sockets from validated ACKs ($assigned)" [ "${assigned:-0}" -ge 2 ]
syncookies_after=$(ip netns exec "$BACKEND_NS" nstat -az TcpExtSyncookiesRecv TcpExtSyncookiesSent 2>/dev/null | awk 'NR>1 {s += $2} END {print s+0}')
check "the backend's kernel never handled a SYN cookie of its own" [ "$syncookies_before" = "$syncookies_after" ]

grep -vE " 0$|^filter" <<<"$counters" | sed 's/^/        backend b0: /'
hardening_strict
echo "e2e: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
