#!/usr/bin/env bash
# The fleet, proven in network namespaces (nothing leaves them): two synproxy nodes behind a Linux router doing ECMP,
# VIPs announced by BIRD 2 through each node's exception path, next hops resolved by the nodes, a backend with the tc
# program answering straight back to the client through the router.
#
#   fl-cl (client)           fl-rt (router, ECMP)                     fl-p1 / fl-p2 (proxy nodes)
#   c0 192.0.2.1/24   <--->  rc 192.0.2.254/24  2001:db8:1::fe/64
#      2001:db8:1::1/64      r1 10.1.1.1/24     fd00:1::1/64   <--->  p0 (DPDK net_af_packet; the kernel never sees
#                            r2 10.1.2.1/24     fd00:2::1/64   <--->      its frames: tc ingress drop) + spx0 (net_tap:
#                            rb 203.0.113.1/24  2001:db8:200::1/64        10.1.N.2/24 fd00:N::2/64, BGP, SSH, ping)
#                            BIRD AS 65000, multipath routes            BIRD AS 65001 learning table 100
#                                   ^
#   fl-be (backend) b0 203.0.113.11/24 2001:db8:200::11/64, VIPs on lo, synproxy's tc program, an echo server
#
# Usage (as root): bash scripts/fleet/run.sh   (SPX_ID=name to run beside another; FLEET_KEEP=1 keeps it up on exit)
# One line per check; ends with `fleet: P passed, F failed` (exit 0 only when nothing failed).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# BFD on every BGP session (through the exception path, as control traffic): a dead node is gone from the router in
# about a second rather than after the 3 s hold time.
export BIRD_BFD=${BIRD_BFD:-1} BIRD_BFD_INTERVAL=${BIRD_BFD_INTERVAL:-"200 ms"} BIRD_BFD_MULTIPLIER=${BIRD_BFD_MULTIPLIER:-5}
. "$here/scripts/fleet/bird.sh"
. "$here/scripts/fleet/lib.sh"
ID=${SPX_ID:-fl}
CL=fl-cl-$ID RT=fl-rt-$ID P1=fl-p1-$ID P2=fl-p2-$ID BE=fl-be-$ID
work=/run/spx-fleet-$ID
# backend.sh keeps its attach records (what `reload` compares) under here, removed with the rest.
export SYNPROXY_BACKEND_RUN=$work/backend-run
PYTHON=/usr/bin/python3
VIP4=198.51.100.10 VIP6=2001:db8:100::10
BACKEND4=203.0.113.11 BACKEND6=2001:db8:200::11
passed=0 failed=0
declare -A proxy_pid=()

. "$here/scripts/fleet/nodes.sh"

trap cleanup EXIT
cleanup 2>/dev/null
mkdir -p "$work"
echo "fleet: two synproxy nodes behind an ECMP router, BGP by BIRD through the exception path"
topology
synproxy keygen --out "$work/secret.key" >/dev/null
synproxy keygen --out "$work/backend.key" >/dev/null
bash "$here/scripts/backend.sh" attach b0 --netns $BE --key "$work/backend.key" --address $BACKEND4 \
  --address $BACKEND6 --proxy 10.255.0.1 --proxy 10.255.0.2 --proxy fd00:ff::1 --proxy fd00:ff::2 >/dev/null
inns $BE "$PYTHON" "$here/scripts/e2e/echo_server.py" :: 9000 "$work/echo.log" >/dev/null 2>&1 &
disown

bird_router_conf "$work/rt.conf" 10.1.0.254 65000 65001 "" "" "10.1.1.2,fd00:1::2" "10.1.2.2,fd00:2::2"
bird_start $RT "$work/rt.conf" "$work/rt.ctl"
for n in 1 2; do
  proxy_config $n $((n - 1))
  bird_proxy_conf "$work/p$n.conf" 10.1.$n.2 65001 65000 10.1.$n.2 10.1.$n.1 fd00:$n::2 fd00:$n::1 100
done

# --- 1. Up: BGP through the data plane, a two-path route per VIP.
t0=$(now_ms)
for n in 1 2; do
  check "node $n: synproxy up with spx0, VIP routes in table 100" start_proxy $n
  bird_start fl-p$n-$ID "$work/p$n.conf" "$work/p$n.ctl"
done
wait_for 40 both_paths
echo "        BGP up and both paths installed $(( ($(now_ms) - t0) / 1000 )) s after the nodes started"
check "router: 4 BGP sessions established (2 nodes x IPv4, IPv6)" holds "$(bird_established "$work/rt.ctl") == 4"
check "router: a two-path route for $VIP4 and for $VIP6" both_paths
check "node 1: the BGP session came through its exception path (control frames to the kernel)" \
  holds "$(counter 1 to-host-control) > 0"
check "no static MAC in either node's configuration" bash -c "! grep -q mac $work/p1.toml $work/p2.toml"
check "node 1 resolved its next hop through the kernel" grep -q "backend $BACKEND4 via 10.1.1.1: " "$work/p1.log"

# --- 2. kill -9 one node under 40 paced transfers.
paced kill 40 4194304 20
wait_for 30 paced_started kill
sleep 3
a1=$(counter 1 ack-valid) a2=$(counter 2 ack-valid) d1=$(counter 1 ack-not-validated) d2=$(counter 2 ack-not-validated)
echo "        before the kill: node 1 validated $a1 handshakes and forwarded $d1 other segments, node 2 $a2 and $d2"
check "both nodes carry the transfers (validated ACKs and data on each)" holds "a1 > 0 && a2 > 0 && d1 > 0 && d2 > 0"
tk=$(now_ms)
stop_proxy 1 KILL
wait_for 20 one_path
echo "        node 1 killed; the router dropped its path after $(( $(now_ms) - tk )) ms (BFD ${BIRD_BFD_INTERVAL} x ${BIRD_BFD_MULTIPLIER})"
wait "$paced_pid"
echo "        $(cat "$work/kill.out")"
check "kill -9: all 40 transfers intact, 0 connections lost" holds "$(paced_field kill ok) == 40 && $(paced_field kill lost) == 0"

# --- 3. Back again; then SIGTERM the other: withdrawn before it stops.
check "node 1 restarts and announces again" start_proxy 1
wait_for 40 both_paths
check "router: two paths again" both_paths
paced drain 40 4194304 20
wait_for 30 paced_started drain
sleep 3
td=$(now_ms)
synproxy drain -c "$work/p2.toml" >/dev/null
wait_for 20 one_path
tw=$(now_ms)
wait "${proxy_pid[2]}"; proxy_pid[2]=""
te=$(now_ms)
echo "        node 2 drained: withdrawn at the router after $((tw - td)) ms, process ended after $((te - td)) ms"
check "drain: the router withdrew node 2 before it stopped" holds "tw < te"
wait "$paced_pid"
echo "        $(cat "$work/drain.out")"
check "drain: all 40 transfers intact, 0 connections lost" holds "$(paced_field drain ok) == 40 && $(paced_field drain lost) == 0"

# --- 4. A SYN flood to a VIP: the host stays reachable, BGP stays up.
check "node 2 restarts" start_proxy 2
wait_for 40 both_paths
inns $P1 "$PYTHON" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("10.1.1.2", 2222)); s.listen(64)
while True:
    c, _ = s.accept(); c.sendall(b"host-ok\n"); c.close()' &
disown
sent_before=$(counter 1 syn-ack-sent)
flood $VIP4 9000 12 flood
sleep 2
pings=$(inns $CL ping -c 10 -i 0.2 -W 1 10.1.1.2 2>/dev/null | grep -c 'bytes from')
hostok=$(inns $CL "$PYTHON" -c '
import socket; s = socket.create_connection(("10.1.1.2", 2222), timeout=3); print(s.recv(64).decode().strip())' 2>/dev/null)
flaps=0
for i in $(seq 8); do both_paths || flaps=$((flaps + 1)); sleep 1; done
wait "$flood_pid"
read -r fsent fsecs < "$work/flood.count"
synacks=$(( $(counter 1 syn-ack-sent) + $(counter 2 syn-ack-sent) - sent_before ))
echo "        flood: $fsent SYNs in $fsecs s from the client side; the nodes answered $synacks; rate-limited to the host: $(counter 1 to-kernel-rate-limited)"
check "during the flood: the host answers ping through the exception path ($pings of 10)" holds "pings >= 9"
check "during the flood: a TCP connection to the host's own address works" test "$hostok" = host-ok
check "during the flood: BGP stays up, both paths held every second" holds "flaps == 0 && $(bird_established "$work/rt.ctl") == 4"
check "the flood reached the nodes (SYN-ACKs: $synacks)" holds "synacks > 1000"

# --- 5. A flood to the host's own address: cut by the exception path's budget; control traffic (BGP, BFD, ARP) first.
limited_before=$(counter 1 to-kernel-rate-limited)
control_before=$(counter 1 to-kernel-control)
kernel_before=$(counter 1 to-kernel)
full_before=$(counter 1 to-host-queue-full)
flood 10.1.1.2 2222 10 hostflood
flaps=0 seen=""
for i in $(seq 9); do
  both_paths || { flaps=$((flaps + 1)); seen+=" ${i}s:$(paths $VIP4/32)/$(paths $VIP6/128)"; }
  sleep 1
done
[[ -n $seen ]] && echo "        paths not both there at:$seen; sessions: $(bird_established "$work/rt.ctl")"
wait "$flood_pid"
read -r fsent fsecs < "$work/hostflood.count"
limited=$(( $(counter 1 to-kernel-rate-limited) - limited_before ))
control=$(( $(counter 1 to-kernel-control) - control_before ))
kernel=$(( $(counter 1 to-kernel) - kernel_before ))
full=$(( $(counter 1 to-host-queue-full) - full_before ))
echo "        host flood: $fsent SYNs to 10.1.1.2 in $fsecs s; node 1 handed its kernel $kernel frames (budget 5000/s),"
echo "        cut $limited at the budget and $full at a full worker ring; control frames passed meanwhile: $control"
check "host flood: the budget cut it (rate-limited, counted)" holds "limited > 0"
check "host flood: BGP and BFD kept going (both paths held every second, 4 sessions)" \
  holds "flaps == 0 && $(bird_established "$work/rt.ctl") == 4 && control > 0"

# --- 6. The router's MAC changes: node 1 follows, no static entry.
paced mac 10 2097152 12
wait_for 30 paced_started mac
old_mac=$(ip -n $RT -br link show r1 | awk '{print $3}')
tm=$(now_ms)
inns $RT ip link set dev r1 address 02:00:00:00:aa:01
followed=""
for i in $(seq 100); do
  if grep -q "via 10.1.1.1: 02:00:00:00:aa:01" "$work/p1.log"; then followed=$(( $(now_ms) - tm )); break; fi
  sleep 0.2
done
echo "        router r1 $old_mac -> 02:00:00:00:aa:01; node 1 followed after ${followed:-never} ms"
check "node 1 follows the router's new MAC within seconds" holds "${followed:-99999} < 15000"
wait "$paced_pid"
echo "        $(cat "$work/mac.out")"
check "MAC change: all 10 transfers intact" holds "$(paced_field mac ok) == 10 && $(paced_field mac lost) == 0"

for n in 1 2; do stop_proxy $n TERM; done
echo "fleet: $passed passed, $failed failed"
[[ ${FLEET_KEEP:-} == 1 ]] && trap - EXIT
(( failed == 0 ))
