#!/usr/bin/env bash
# Backends that change under load, in network namespaces (nothing leaves them): one synproxy node (exception path,
# next hops resolved) behind a router, backends with the tc program on links of their own, long transfers running
# while a backend is added, one drained and then removed once empty, one failing its health check and recovering.
# The proxy keeps no per-connection state: flows whose Maglev slot changed hands carry their previous owner in the
# encapsulation header, and the new owner's program hands over what it has no socket for (daisy chaining).
#
#   bc-cl (client) c0 --- rc  bc-rt (router)  r1 --- p0 bc-px (proxy: DPDK on p0, spx0 10.1.1.2/24 fd00:1::2/64)
#                              rbN --- b0 bc-bN (backend N: 10.2.N.11/24 fd02:N::11/64, VIPs on lo, echo :9000,
#                                                health listener :8080), N = 1..4
#
# Usage (as root): bash scripts/backends/run.sh   (SPX_ID=name to run beside another)
# One line per check; ends with `backend-changes: P passed, F failed` (exit 0 only when nothing failed).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$here/scripts/fleet/bird.sh"   # wait_for
. "$here/scripts/fleet/lib.sh"
PACED_TIMEOUT=30
ID=${SPX_ID:-bc}
CL=bc-cl-$ID RT=bc-rt-$ID PX=bc-px-$ID
work=/run/spx-backends-$ID
# backend.sh keeps its attach records (what `reload` compares) under here, removed with the rest.
export SYNPROXY_BACKEND_RUN=$work/backend-run
PYTHON=/usr/bin/python3
VIP4=198.51.100.10 VIP6=2001:db8:100::10
passed=0 failed=0 proxy_pid=""

be() { echo "bc-b$1-$ID"; }

cleanup() {
  local ns pid
  [[ -n $proxy_pid ]] && kill -KILL "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  for ns in $CL $RT $PX $(be 1) $(be 2) $(be 3) $(be 4); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  sleep 0.2
  for n in 1 2 3 4; do rm -rf "/sys/fs/bpf/synproxy/$(be $n)-b0"; done
  for ns in $CL $RT $PX $(be 1) $(be 2) $(be 3) $(be 4); do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work" /var/run/dpdk/spx-bc-"$ID"
}

topology() {
  local ns n
  for ns in $CL $RT $PX $(be 1) $(be 2) $(be 3) $(be 4); do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    sys "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  veth $CL c0 $RT rc
  veth $RT r1 $PX p0
  sys $RT net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  inns $RT ip addr add 192.0.2.254/24 dev rc
  inns $RT ip -6 addr add 2001:db8:1::fe/64 dev rc nodad
  inns $RT ip addr add 10.1.1.1/24 dev r1
  inns $RT ip -6 addr add fd00:1::1/64 dev r1 nodad
  inns $RT ip route add $VIP4/32 via 10.1.1.2
  inns $RT ip -6 route add $VIP6/128 via fd00:1::2
  inns $CL ip addr add 192.0.2.1/24 dev c0
  inns $CL ip -6 addr add 2001:db8:1::1/64 dev c0 nodad
  inns $CL ip route add default via 192.0.2.254
  inns $CL ip -6 route add default via 2001:db8:1::fe
  sys $PX net.ipv6.conf.p0.disable_ipv6=1 net.ipv4.conf.p0.rp_filter=1
  inns $PX ip link set p0 promisc on arp off
  for n in 1 2 3 4; do
    ns=$(be $n)
    veth $RT rb$n "$ns" b0
    inns $RT ip addr add 10.2.$n.1/24 dev rb$n
    inns $RT ip -6 addr add fd02:$n::1/64 dev rb$n nodad
    inns "$ns" ip addr add 10.2.$n.11/24 dev b0
    inns "$ns" ip -6 addr add fd02:$n::11/64 dev b0 nodad
    inns "$ns" ip addr add $VIP4/32 dev lo
    inns "$ns" ip -6 addr add $VIP6/128 dev lo
    inns "$ns" ip route add default via 10.2.$n.1
    inns "$ns" ip -6 route add default via fd02:$n::1
    # Forwarding on b0: the program's hand-over asks the kernel's FIB for the previous owner's next hop
    # (bpf_fib_lookup answers only where forwarding is on).
    sys "$ns" net.ipv4.tcp_syncookies=1 net.ipv4.conf.b0.forwarding=1 net.ipv6.conf.b0.forwarding=1
    bash "$here/scripts/backend.sh" attach b0 --netns "$ns" --key "$work/backend.key" --address 10.2.$n.11 \
      --address fd02:$n::11 --proxy 10.255.0.1 --proxy fd00:ff::1 >/dev/null
    inns "$ns" "$PYTHON" "$here/scripts/e2e/echo_server.py" :: 9000 "$work/echo$n.log" >/dev/null 2>&1 &
    disown
    start_health $n
  done
}

start_health() {  # a listener on :8080 the proxy's health checks connect to
  ip netns exec "$(be $1)" "$PYTHON" -c '
import socket
s = socket.socket(socket.AF_INET6); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("::", 8080)); s.listen(64)
while True:
    c, _ = s.accept(); c.close()' >/dev/null 2>&1 &
  echo $! > "$work/health$1.pid"
  disown
}
stop_health() { kill "$(cat "$work/health$1.pid")" 2>/dev/null; }

# proxy_config BACKENDS...: each N or N:draining
proxy_config() {
  {
    cat <<TOML
[cookie]
secret_file = "secret.key"

[[vip]]
address = "$VIP4"
ports = [9000]

[[vip]]
address = "$VIP6"
ports = [9000]

[encap]
source_v4 = "10.255.0.1"
source_v6 = "fd00:ff::1"
auth_key_file = "backend.key"

[maglev]
chain_seconds = 600
drain_limit_seconds = 3600

[health]
type = "tcp"
port = 8080
interval_ms = 500
timeout_ms = 400
rise = 2
fall = 2
TOML
    local b n state
    for b in "$@"; do
      n=${b%%:*}; state=active; [[ $b == *:draining ]] && state=draining
      printf '\n[[backend]]\naddress = "10.2.%s.11"\nstate = "%s"\n\n[[backend]]\naddress = "fd02:%s::11"\nstate = "%s"\n' \
        "$n" "$state" "$n" "$state"
    done
    cat <<TOML

[dataplane]
eal_args = ["-l", "0", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry", "--file-prefix", "spx-bc-$ID"]
stats_file = "$work/stats"
idle = "backoff"

[[port]]
name = "edge"
device = "net_af_packet0,iface=p0"
host_interface = "spx0"
host_addresses = ["10.1.1.2/24", "fd00:1::2/64"]

[host]
control_peers = ["10.1.1.1", "fd00:1::1"]
gateway_v4 = "10.1.1.1"
gateway_v6 = "fd00:1::1"

[announce]
table = 0

[[worker]]
port = "edge"
core = 0
TOML
  } > "$work/proxy.toml.new"
  mv "$work/proxy.toml.new" "$work/proxy.toml"
}

reload() {  # reload WHY BACKENDS...: rewrites the file, SIGHUP, waits for the proxy's line about it
  local why=$1; shift
  local before
  before=$(grep -c "backends: reload" "$work/proxy.log")
  proxy_config "$@"
  kill -HUP "$proxy_pid"
  wait_for 10 bash -c "(( \$(grep -c 'backends: reload' $work/proxy.log) > $before ))" || return 1
  local line
  line=$(grep "backends: reload" "$work/proxy.log" | tail -1)
  echo "        $why: ${line#*: reload: }"
}

backend_counters() {  # the hand-over counters of each backend, for the log
  local n
  for n in 1 2 3 4; do
    echo "        b$n: $(bash "$here/scripts/backend.sh" status b0 --netns "$(be $n)" 2>/dev/null | awk '
      $1 ~ /^(handed-over|handover-refused|handover-failed|no-socket|forwarded|handshake-assigned|bad-auth|malformed)$/ {printf "%s %s  ", $1, $2}')"
  done
}

handovers() {  # the backends' hand-overs, summed
  local n total=0 v
  for n in 1 2 3 4; do
    v=$(bash "$here/scripts/backend.sh" status b0 --netns "$(be $n)" 2>/dev/null | awk '$1 == "handed-over" {print $2}')
    total=$((total + ${v:-0}))
  done
  echo $total
}

established() {  # established connections to the VIPs on backend N
  inns "$(be $1)" ss -Htn state established '( sport = :9000 )' | wc -l
}

spread() {  # spread: established connections per backend, e.g. "b1 8 b2 11 b3 11 b4 0"
  local n out=""
  for n in 1 2 3 4; do out+="b$n $(established $n) "; done
  echo "$out"
}
transfers_ok() {  # transfers_ok NAME N
  [[ $(paced_field "$1" ok) == "$2" && $(paced_field "$1" lost) == 0 ]]
}

trap cleanup EXIT
cleanup 2>/dev/null
mkdir -p "$work"
echo "backend-changes: one node, backends added, drained, removed and failing health checks under long transfers"
synproxy keygen --out "$work/secret.key" >/dev/null
synproxy keygen --out "$work/backend.key" >/dev/null
topology
proxy_config 1 2 3
ip netns exec $PX env SYNPROXY_NO_BUILD=1 "$here/scripts/synproxy" run -c "$work/proxy.toml" >"$work/proxy.log" 2>&1 &
proxy_pid=$!
check "the proxy runs with three backends, next hops resolved" \
  wait_for 60 grep -q "backend fd02:3:0:0:0:0:0:11 via fd00:1:0:0:0:0:0:1: " "$work/proxy.log"
wait_for 20 inns $CL "$PYTHON" -c "import socket; socket.create_connection(('$VIP4', 9000), timeout=1).close()"
h0=$(handovers)

# --- 1. Add a fourth backend under 32 long transfers.
paced add 32 3145728 16
wait_for 30 paced_started add
sleep 2
echo "        before: $(spread)"
check "1. add: the fourth backend takes its share of the slots" reload "add backend 4" 1 2 3 4
sleep 2
echo "        after:  $(spread)"
wait "$paced_pid"
echo "        $(cat "$work/add.out"); hand-overs so far: $(( $(handovers) - h0 ))"
check "1. add: all 32 transfers intact (moved flows handed back to their owners)" transfers_ok add 32
check "1. add: the moved flows were handed over (hand-overs counted)" holds "$(handovers) > h0"

# --- 2. Drain backend 1 under 32 long transfers, then remove it once it is empty.
h1=$(handovers)
paced drain 32 3145728 16
wait_for 30 paced_started drain
sleep 2
b1_before=$(established 1)
check "2. drain: backend 1 set draining" reload "drain backend 1" 1:draining 2 3 4
sleep 3
new_on_b1=0
inns $CL "$PYTHON" "$here/scripts/fleet/paced.py" --target "$VIP4:9000" --target "[$VIP6]:9000" --connections 24 \
  --size 65536 --duration 1 --timeout 20 >"$work/newconn.out" 2>&1 || true
echo "        backend 1 had $b1_before connections when draining began; 24 new connections: $(cat "$work/newconn.out")"
echo "        during the drain: $(spread)"
check "2. drain: new connections avoid backend 1 (its connections did not grow)" holds "$(established 1) <= b1_before"
wait "$paced_pid"
echo "        $(cat "$work/drain.out")"
check "2. drain: all 32 transfers intact" transfers_ok drain 32
b1_empty() { (( $(established 1) == 0 )); }
check "2. drain: backend 1 empties" wait_for 20 b1_empty
check "2. remove: backend 1 removed once empty" reload "remove backend 1" 2 3 4
check "2. the draining backend's flows were handed back to it" holds "$(handovers) > h1"

# --- 3. A backend fails its health check, then recovers, under 32 long transfers.
h2=$(handovers)
paced health 32 3145728 16
wait_for 30 paced_started health
sleep 2
echo "        before: $(spread)"
stop_health 3
check "3. health: backend 3 taken out after failing its checks" wait_for 10 grep -q "backend 10.2.3.11 is down" \
  "$work/proxy.log"
sleep 3
start_health 3
check "3. health: backend 3 back after passing them again" wait_for 10 grep -q "backend 10.2.3.11 is up again" \
  "$work/proxy.log"
wait "$paced_pid"
echo "        $(cat "$work/health.out"); hand-overs during the outage: $(( $(handovers) - h2 ))"
check "3. health: all 32 transfers intact (backend 3 still served its own through the chain)" transfers_ok health 32
grep "backends: \|health: " "$work/proxy.log" | sed 's/^/        proxy: /'
backend_counters
synproxy stat -f "$work/stats" --count 1 | grep -E ' (chained|encapsulated|ack-valid|drop-no-backend) |backend-' \
  | sed 's/^/        /' | head -20

kill -TERM "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; proxy_pid=""
echo "backend-changes: $passed passed, $failed failed"
(( failed == 0 ))
