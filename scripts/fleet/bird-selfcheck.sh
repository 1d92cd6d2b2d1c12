#!/usr/bin/env bash
# Proves the fleet's BIRD set-up (scripts/fleet/bird.sh, config/bird/) in network namespaces with plain Linux, no
# synproxy: a router namespace and two proxy-node namespaces on one link (the router's bridge rbr0). In each node the
# host address lives on spx0, the interface that also carries the VIP routes in table 100, and the node's link to the
# router (pv0) has no address: a bridge dp0 copies frames between pv0 and spx0's peer, as synproxy's data plane copies
# the host's frames between its port and its TAP. Deleting spx0 thus cuts the node's BGP session too, as the death of
# synproxy does. Prints one line per check and the time each withdrawal took; cleans up on any exit.
#
#   bash scripts/fleet/bird-selfcheck.sh          BGP timers only (hold 3 s)
#   BSC_BFD=1 bash scripts/fleet/bird-selfcheck.sh    then again with BFD (100 ms x 3)
#   BSC_KEEP=1 ...                                    keeps the generated configs and BIRD's logs
set -euo pipefail

here=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=scripts/fleet/bird.sh
source "$here/scripts/fleet/bird.sh"

for tool in bird birdc ip; do
  if ! command -v "$tool" >/dev/null; then
    echo "bird-selfcheck: $tool is missing (apt-get install bird2 iproute2)" >&2
    exit 1
  fi
done

id=$$
RT=bsc-$id-rt
NODES=(bsc-$id-p1 bsc-$id-p2)
work=$(mktemp -d /tmp/bsc-XXXXXX)
VIP4=198.51.100.10
VIP6=2001:db8:100::10
TABLE=100
RT4=192.0.2.1 RT6=2001:db8:f::1
HOST4=(192.0.2.11 192.0.2.12) HOST6=(2001:db8:f::11 2001:db8:f::12)
RT_AS=65000 NODE_AS=65001
export WAIT_FOR_INTERVAL=0.1  # the measurement's resolution

passed=0 failed=0 summarized=0
cleanup() {
  local rc=$? sock ns
  if (( ! summarized )); then  # a step outside the checks failed (set -e) or the run was interrupted
    echo "  FAIL  aborted (exit status $rc)"
    echo "bird-selfcheck: $passed passed, $((failed + 1)) failed"
  fi
  for sock in "$work"/*.ctl; do [[ -e $sock ]] && { bird_stop "$sock" || true; }; done
  for ns in "$RT" "${NODES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
  if [[ ${BSC_KEEP:-0} == 1 ]]; then echo "bird-selfcheck: configs and logs kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

check() {  # check NAME COMMAND...
  local name=$1
  shift
  if "$@"; then passed=$((passed + 1)); echo "  ok    $name"; else failed=$((failed + 1)); echo "  FAIL  $name"; fi
}
paths_are() { [[ $(route_paths "$RT" "$1") == "$2" ]]; }
both_paths_are() { paths_are "$VIP4" "$1" && paths_are "$VIP6" "$1"; }
established_is() { [[ $(bird_established "$1") == "$2" ]]; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
# timed NAME LIMIT COMMAND...: a check that COMMAND holds within LIMIT s of $t0, with the time it took
timed() {
  local name=$1 limit=$2
  shift 2
  if wait_for "$limit" "$@"; then
    passed=$((passed + 1)); echo "  ok    $name: $(since "$t0") s"
  else
    failed=$((failed + 1)); echo "  FAIL  $name: not within $limit s"
  fi
}
# timed_all LIMIT NAME CMD [NAME CMD]...: like timed for several conditions polled together from $t0 (CMD is eval'd)
timed_all() {
  local limit=$1 i n left now deadline
  shift
  local -a names=() cmds=() took=()
  while (( $# >= 2 )); do names+=("$1"); cmds+=("$2"); took+=(""); shift 2; done
  n=${#names[@]} left=$n
  deadline=$(( ${t0/./} + $(awk -v s="$limit" 'BEGIN { printf "%d", s * 1000000 }') ))
  while (( left > 0 )); do
    for ((i = 0; i < n; i++)); do
      [[ -z ${took[i]} ]] && eval "${cmds[i]}" && { took[i]=$(since "$t0"); left=$((left - 1)); }
    done
    now=${EPOCHREALTIME/./}
    (( left > 0 && now < deadline )) || break
    sleep "$WAIT_FOR_INTERVAL"
  done
  for ((i = 0; i < n; i++)); do
    if [[ -n ${took[i]} ]]; then
      passed=$((passed + 1)); echo "  ok    ${names[i]}: ${took[i]} s"
    else
      failed=$((failed + 1)); echo "  FAIL  ${names[i]}: not within $limit s"
    fi
  done
}
# node_has NODE FAMILY N: the node's BIRD has N routes in its vip4/vip6 table
node_has() {
  local n
  n=$(timeout 2 birdc -s "$work/p$1.ctl" show route table "vip$2" count 2>/dev/null | awk '/routes for/ { print $1 }')
  [[ $n == "$3" ]]
}

# --- topology -------------------------------------------------------------------------------------------------------
ip netns add "$RT"
ip -n "$RT" link set lo up
ip -n "$RT" link add name rbr0 type bridge mcast_snooping 0
ip -n "$RT" addr add "$RT4/24" dev rbr0
ip -n "$RT" addr add "$RT6/64" dev rbr0 nodad
ip -n "$RT" link set rbr0 up

spx_up() {  # spx_up INDEX: the node's spx0 (host addresses) on its data-plane bridge, and its VIP routes
  local ns=${NODES[$1]}
  ip -n "$ns" link add name spx0 type veth peer name spxp
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.spxp.disable_ipv6=1
  ip -n "$ns" link set spxp master dp0 up
  ip -n "$ns" addr add "${HOST4[$1]}/24" dev spx0
  ip -n "$ns" addr add "${HOST6[$1]}/64" dev spx0 nodad
  ip -n "$ns" link set spx0 up
  vips_add "$1"
}
vips_add() {
  ip -n "${NODES[$1]}" route replace "$VIP4/32" dev spx0 table "$TABLE" proto static
  ip -n "${NODES[$1]}" -6 route replace "$VIP6/128" dev spx0 table "$TABLE" proto static
}
vips_del() {
  ip -n "${NODES[$1]}" route del "$VIP4/32" dev spx0 table "$TABLE"
  ip -n "${NODES[$1]}" -6 route del "$VIP6/128" dev spx0 table "$TABLE"
}

for i in 0 1; do
  ns=${NODES[$i]}
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n "$RT" link add name "rv$((i + 1))" type veth peer name pv0 netns "$ns"
  ip netns exec "$RT" sysctl -qw "net.ipv6.conf.rv$((i + 1)).disable_ipv6=1"
  ip -n "$RT" link set "rv$((i + 1))" master rbr0 up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.pv0.disable_ipv6=1
  ip -n "$ns" link add name dp0 type bridge mcast_snooping 0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.dp0.disable_ipv6=1
  ip -n "$ns" link set pv0 master dp0 up
  ip -n "$ns" link set dp0 up
  spx_up "$i"
done

start_all() {
  local i
  bird_router_conf "$work/rt.conf" "$RT4" "$RT_AS" "$NODE_AS" "$RT4" "$RT6" "${HOST4[0]},${HOST6[0]}" \
    "${HOST4[1]},${HOST6[1]}"
  bird_start "$RT" "$work/rt.conf" "$work/rt.ctl"
  for i in 0 1; do
    bird_proxy_conf "$work/p$((i + 1)).conf" "${HOST4[$i]}" "$NODE_AS" "$RT_AS" "${HOST4[$i]}" "$RT4" "${HOST6[$i]}" \
      "$RT6" "$TABLE"
    bird_start "${NODES[$i]}" "$work/p$((i + 1)).conf" "$work/p$((i + 1)).ctl"
  done
}

suite() {  # suite LABEL HOLD_LIMIT: the checks, from all three birds started
  local label=$1 limit=$2
  echo "bird-selfcheck ($label):"
  start_all
  check "4 BGP sessions established on the router" wait_for 20 established_is "$work/rt.ctl" 4
  check "each node has 2 sessions established" \
    wait_for 5 eval 'established_is "$work/p1.ctl" 2 && established_is "$work/p2.ctl" 2'
  if [[ ${BIRD_BFD:-0} == 1 ]]; then
    check "router: 4 BFD sessions up" wait_for 10 eval \
      '[[ $(timeout 2 birdc -s "$work/rt.ctl" show bfd sessions | grep -cw Up) == 4 ]]'
  fi
  check "router: 2 paths to the IPv4 VIP" wait_for 10 paths_are "$VIP4" 2
  check "router: 2 paths to the IPv6 VIP" wait_for 10 paths_are "$VIP6" 2
  check "router: IPv4 next hops are the nodes' host addresses" \
    eval 'ip -n "$RT" route show exact "$VIP4" | grep -q "via ${HOST4[0]} " &&
          ip -n "$RT" route show exact "$VIP4" | grep -q "via ${HOST4[1]} "'
  check "router: IPv6 next hops are the nodes' host addresses" \
    eval 'ip -n "$RT" -6 route show exact "$VIP6" | grep -q "via ${HOST6[0]} " &&
          ip -n "$RT" -6 route show exact "$VIP6" | grep -q "via ${HOST6[1]} "'

  # Drain: node 1 removes its VIP routes; its sessions stay up.
  t0=$EPOCHREALTIME; vips_del 0
  timed "drain node 1 (routes deleted): router down to 1 path, v4 and v6" 5 both_paths_are 1
  check "drain node 1: its sessions stay established" established_is "$work/rt.ctl" 4
  t0=$EPOCHREALTIME; vips_add 0
  timed "undrain node 1: router back to 2 paths, v4 and v6" 5 both_paths_are 2

  # The process dies: spx0 goes, with its address, its routes and the node's path to the router.
  t0=$EPOCHREALTIME; ip -n "${NODES[0]}" link del spx0
  timed_all "$limit" \
    "node 1 spx0 deleted: router down to 1 path, IPv4" 'paths_are "$VIP4" 1' \
    "node 1 spx0 deleted: router down to 1 path, IPv6" 'paths_are "$VIP6" 1' \
    "  (node 1's BIRD dropped the IPv4 VIP from vip4)" 'node_has 1 4 0' \
    "  (node 1's BIRD dropped the IPv6 VIP from vip6)" 'node_has 1 6 0'
  t0=$EPOCHREALTIME; spx_up 0
  timed "node 1 spx0 back: router back to 2 paths (session re-established)" 15 both_paths_are 2

  # The node's BIRD dies.
  t0=$EPOCHREALTIME; kill -KILL "$(_bird_pid "$work/p2.ctl")"
  timed "node 2 bird killed (-9): router down to 1 path, v4 and v6" "$limit" both_paths_are 1
  check "node 2 bird killed: the router's 2 sessions to it are down" wait_for 2 established_is "$work/rt.ctl" 2
  bird_stop "$work/p2.ctl"
  t0=$EPOCHREALTIME; bird_start "${NODES[1]}" "$work/p2.conf" "$work/p2.ctl"
  timed "node 2 bird restarted: router back to 2 paths" 15 both_paths_are 2
  check "router: IPv6 next hops stay the global addresses (the nodes send their link-local ones too)" \
    eval 'ip -n "$RT" -6 route show exact "$VIP6" | grep -q "via ${HOST6[1]} " &&
          timeout 2 birdc -s "$work/rt.ctl" show route all table master6 | grep -q "BGP.next_hop: ${HOST6[1]} fe80:"'

  # The node's BIRD hangs (SIGSTOP): nothing closes the sessions, the router's hold timer (or BFD) must.
  t0=$EPOCHREALTIME; kill -STOP "$(_bird_pid "$work/p2.ctl")"
  timed "node 2 bird frozen (SIGSTOP): router down to 1 path, v4 and v6" "$limit" both_paths_are 1
  kill -CONT "$(_bird_pid "$work/p2.ctl")"
  t0=$EPOCHREALTIME
  timed "node 2 bird resumed: router back to 2 paths" 15 both_paths_are 2

  # Stopping a node's BIRD cleanly withdraws at once (NOTIFICATION).
  t0=$EPOCHREALTIME; timeout 3 birdc -s "$work/p2.ctl" down >/dev/null
  timed "node 2 bird stopped cleanly (birdc down): router down to 1 path" 3 both_paths_are 1
  t0=$EPOCHREALTIME; timeout 3 birdc -s "$work/p1.ctl" down >/dev/null
  timed "node 1 bird stopped too: router has no route to the VIPs" 3 both_paths_are 0

  local sock
  for sock in "$work"/*.ctl; do [[ -e $sock ]] && bird_stop "$sock"; done
  true
}

# example_conf SRC OUT NAME=VALUE...: a config/bird example with its defines set and its log in a file
example_conf() {
  local src=$1 out=$2 kv
  shift 2
  local -a args=(-e "s|^log syslog all;|log \"${out%.conf}.log\" all;|")
  for kv in "$@"; do args+=(-e "s|^define ${kv%%=*} *= [^;]*;|define ${kv%%=*} = ${kv#*=};|"); done
  sed "${args[@]}" "$src" > "$out"
}

examples() {  # the commented examples of config/bird, as they are but for the node's addresses
  local i sock
  echo "bird-selfcheck (config/bird/router.conf and proxy-node.conf):"
  example_conf "$here/config/bird/router.conf" "$work/rt.conf" ROUTER_ID="$RT4" LOCAL4="$RT4" LOCAL6="$RT6" \
    LOCAL_AS="$RT_AS" FLEET_AS="$NODE_AS"
  bird_start "$RT" "$work/rt.conf" "$work/rt.ctl"
  for i in 0 1; do
    example_conf "$here/config/bird/proxy-node.conf" "$work/p$((i + 1)).conf" ROUTER_ID="${HOST4[$i]}" \
      HOST4="${HOST4[$i]}" HOST6="${HOST6[$i]}" ROUTER4="$RT4" ROUTER6="$RT6" LOCAL_AS="$NODE_AS" \
      ROUTER_AS="$RT_AS" VIP_TABLE="$TABLE"
    bird_start "${NODES[$i]}" "$work/p$((i + 1)).conf" "$work/p$((i + 1)).ctl"
  done
  check "examples: 4 BGP sessions established on the router" wait_for 20 established_is "$work/rt.ctl" 4
  check "examples: router has 2 paths to the IPv4 VIP" wait_for 10 paths_are "$VIP4" 2
  check "examples: router has 2 paths to the IPv6 VIP" wait_for 10 paths_are "$VIP6" 2
  t0=$EPOCHREALTIME; vips_del 1
  timed "examples: drain node 2: router down to 1 path, v4 and v6" 5 both_paths_are 1
  vips_add 1
  check "examples: undrain node 2: router back to 2 paths" wait_for 5 both_paths_are 2
  for sock in "$work"/*.ctl; do [[ -e $sock ]] && bird_stop "$sock"; done
  true
}

BIRD_BFD=0 suite "BGP hold time 3 s, no BFD" 5
examples
if [[ ${BSC_BFD:-0} == 1 ]]; then
  BIRD_BFD=1 suite "BFD 100 ms x 3" 2
fi

summarized=1
echo "bird-selfcheck: $passed passed, $failed failed"
(( failed == 0 ))
