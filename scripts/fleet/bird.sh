# shellcheck shell=bash
# Sourced by the fleet's namespace tests: BIRD 2 (2.0.12) configuration writers and control helpers for a fleet of
# synproxy nodes behind an ECMP router. synproxy does not speak BGP: while healthy it keeps one route per VIP in a
# kernel table (100 by default) on its kernel interface spx0; the node's BIRD learns that table and announces exactly
# those routes to the router over eBGP with next hop = the node's host address; the router's BIRD merges the paths
# of all nodes into one multipath kernel route. See config/bird/*.conf for the commented long form of both configs.
#
# Safe under `set -u` (and `set -e`: every function returns its status instead of exiting). Nothing here writes to
# /etc/bird or /run/bird, and nothing starts bird outside a named network namespace: all state (log, pid file, control
# socket) lives next to the paths the caller passes in (log: the config's path with .log for .conf; pid file: the
# socket's path with .pid for .ctl).
#
# Knobs (environment, read when a config is written):
#   BIRD_HOLD=3 BIRD_KEEPALIVE=1      BGP hold and keepalive time, seconds (BIRD's `min hold time` is 3 by default)
#   BIRD_CONNECT_RETRY=1              seconds between connection attempts
#   BIRD_ERROR_WAIT="1, 5"            min, max delay before reconnecting after an error (BIRD's default: 60, 300!)
#   BIRD_SCAN=1                       kernel table scan period on a proxy node, seconds (see bird_proxy_conf)
#   BIRD_BFD=0                        1: BFD on every BGP session (protocol bfd on BIRD_BFD_IFACES)
#   BIRD_BFD_INTERVAL="100 ms" BIRD_BFD_MULTIPLIER=3
#   BIRD_BFD_IFACES                   interface pattern for protocol bfd: "spx0" on a proxy node, "*" on the router
#   BIRD_IFACE=spx0                   a proxy node's kernel interface (only used for BFD and in comments)
#   WAIT_FOR_INTERVAL=0.2             poll period of wait_for, seconds

_bird_timers() {  # the BGP timer lines shared by both ends
  local bfd=off
  [[ ${BIRD_BFD:-0} == 1 ]] && bfd=on
  cat <<EOT
  hold time ${BIRD_HOLD:-3};
  startup hold time 5;          # before OPEN is exchanged (default 240)
  keepalive time ${BIRD_KEEPALIVE:-1};
  connect delay time 1;         # first connection attempt after start-up (default 5)
  connect retry time ${BIRD_CONNECT_RETRY:-1};
  error wait time ${BIRD_ERROR_WAIT:-1, 5};   # default 60, 300: a lost session would stay down for a minute
  error forget time 30;
  graceful restart off;         # a dead node's routes must go at once, not be kept as stale for the restart time
  bfd $bfd;
EOT
}

_bird_bfd() {  # _bird_bfd IFACES: the bfd protocol block when BIRD_BFD=1
  [[ ${BIRD_BFD:-0} == 1 ]] || return 0
  cat <<EOT

protocol bfd {
  interface "$1" {
    interval ${BIRD_BFD_INTERVAL:-100 ms};
    multiplier ${BIRD_BFD_MULTIPLIER:-3};
  };
}
EOT
}

# bird_proxy_conf OUT ROUTER_ID LOCAL_AS PEER_AS LOCAL_V4 PEER_V4 LOCAL_V6 PEER_V6 TABLE
# A proxy node: learns kernel table TABLE (both families) into BIRD tables vip4/vip6 and exports exactly those to the
# router, one eBGP session per family (LOCAL_V6/PEER_V6 empty: no IPv6 session; LOCAL_V4/PEER_V4 empty: no IPv4
# session). LOCAL_* are the node's host addresses (on spx0): they are the sessions' source and the routes' next hop.
bird_proxy_conf() {
  if (( $# != 9 )); then
    echo "usage: bird_proxy_conf OUT ROUTER_ID LOCAL_AS PEER_AS LOCAL_V4 PEER_V4 LOCAL_V6 PEER_V6 TABLE" >&2
    return 2
  fi
  local out=$1 rid=$2 las=$3 pas=$4 l4=$5 p4=$6 l6=$7 p6=$8 table=$9
  local log=${out%.conf}.log
  [[ $log == "$out" ]] && log=$out.log
  {
    cat <<EOT
# Written by scripts/fleet/bird.sh bird_proxy_conf: a synproxy node (long form: config/bird/proxy-node.conf).
log "$log" all;
router id $rid;

ipv4 table vip4;
ipv6 table vip6;

protocol device {
  scan time 1;
}

# Kernel table $table holds one route per VIP on ${BIRD_IFACE:-spx0} while synproxy is healthy: learned into vip4/vip6.
# Deleted routes are notified at once. Those the kernel flushes with a deleted interface are not (IPv4): BIRD rescans
# when it sees an interface go down, and every ${BIRD_SCAN:-1} s anyway.
protocol kernel vip4_kernel {
  kernel table $table;
  learn;
  scan time ${BIRD_SCAN:-1};
  ipv4 { table vip4; import all; export none; };
}

protocol kernel vip6_kernel {
  kernel table $table;
  learn;
  scan time ${BIRD_SCAN:-1};
  ipv6 { table vip6; import all; export none; };
}
EOT
    _bird_bfd "${BIRD_BFD_IFACES:-${BIRD_IFACE:-spx0}}"
    if [[ -n $l4 && -n $p4 ]]; then
      cat <<EOT

protocol bgp router_v4 {
  local $l4 as $las;
  neighbor $p4 as $pas;
  direct;
$(_bird_timers)
  ipv4 { table vip4; import none; export all; next hop self; };
}
EOT
    fi
    if [[ -n $l6 && -n $p6 ]]; then
      cat <<EOT

protocol bgp router_v6 {
  local $l6 as $las;
  neighbor $p6 as $pas;
  direct;
$(_bird_timers)
  ipv6 { table vip6; import none; export all; next hop self; };
}
EOT
    fi
  } > "$out"
}

# bird_router_conf OUT ROUTER_ID LOCAL_AS PEER_AS LOCAL_V4 LOCAL_V6 PEER...
# The upstream router: one IPv4 and one IPv6 eBGP session per PEER ("V4,V6", either may be empty), all of AS PEER_AS;
# installs every VIP in the main kernel table with one next hop per node announcing it (merge paths). LOCAL_V4 or
# LOCAL_V6 may be empty: BIRD then picks the source address of the interface toward the peer.
bird_router_conf() {
  if (( $# < 7 )); then
    echo "usage: bird_router_conf OUT ROUTER_ID LOCAL_AS PEER_AS LOCAL_V4 LOCAL_V6 PEER..." >&2
    return 2
  fi
  local out=$1 rid=$2 las=$3 pas=$4 l4=$5 l6=$6
  shift 6
  local log=${out%.conf}.log
  [[ $log == "$out" ]] && log=$out.log
  local i=0 peer v4 v6
  {
    cat <<EOT
# Written by scripts/fleet/bird.sh bird_router_conf: the ECMP router in front of the fleet (long form:
# config/bird/router.conf). Set net.ipv4.fib_multipath_hash_policy=1 and net.ipv6.fib_multipath_hash_policy=1 so
# that the kernel spreads flows over the paths by their ports too.
log "$log" all;
router id $rid;

protocol device {
  scan time 1;
}

protocol kernel {
  merge paths on limit 16;
  ipv4 { import none; export where source = RTS_BGP; };
}

protocol kernel {
  merge paths on limit 16;
  ipv6 { import none; export where source = RTS_BGP; };
}
EOT
    _bird_bfd "${BIRD_BFD_IFACES:-*}"
    cat <<EOT

template bgp fleet_v4 {
  local ${l4:+$l4 }as $las;
  direct;
$(_bird_timers)
  ipv4 { import all; export none; };
}

template bgp fleet_v6 {
  local ${l6:+$l6 }as $las;
  direct;
$(_bird_timers)
  ipv6 { import all; export none; };
}
EOT
    for peer in "$@"; do
      i=$((i + 1))
      v4=${peer%%,*}
      v6=
      [[ $peer == *,* ]] && v6=${peer#*,}
      [[ -n $v4 ]] && printf '\nprotocol bgp proxy%d_v4 from fleet_v4 {\n  neighbor %s as %s;\n}\n' "$i" "$v4" "$pas"
      [[ -n $v6 ]] && printf '\nprotocol bgp proxy%d_v6 from fleet_v6 {\n  neighbor %s as %s;\n}\n' "$i" "$v6" "$pas"
    done
    true
  } > "$out"
}

_bird_pidfile() { printf '%s.pid\n' "${1%.ctl}"; }

# _bird_pid SOCKET: the pid of the bird behind SOCKET, if it still runs (and is a bird: pid files outlive kill -9)
_bird_pid() {
  local pidf pid
  pidf=$(_bird_pidfile "$1")
  [[ -s $pidf ]] || return 1
  read -r pid < "$pidf" || return 1
  [[ $pid =~ ^[0-9]+$ ]] && [[ $(cat "/proc/$pid/comm" 2>/dev/null) == bird ]] || return 1
  echo "$pid"
}

# bird_start NS CONF SOCKET: checks CONF, starts bird in namespace NS (daemon, pid file next to SOCKET), waits until
# birdc answers on SOCKET (10 s at most).
bird_start() {
  local ns=$1 conf=$2 sock=$3 pidf
  [[ -n $ns ]] || { echo "bird_start: no namespace" >&2; return 2; }
  ip netns exec "$ns" bird -p -c "$conf" || return 1
  pidf=$(_bird_pidfile "$sock")
  rm -f "$pidf"
  ip netns exec "$ns" bird -c "$conf" -s "$sock" -P "$pidf" || return 1
  if ! wait_for 10 timeout 2 birdc -s "$sock" show status >/dev/null 2>&1; then
    echo "bird_start: no answer on $sock" >&2
    return 1
  fi
}

# bird_stop SOCKET: asks the bird behind SOCKET to stop (resuming it first if it was stopped), kills it if it is still
# there after 5 s, removes its pid file and socket. Succeeds if it was not running.
bird_stop() {
  local sock=$1 pid
  if pid=$(_bird_pid "$sock"); then
    kill -CONT "$pid" 2>/dev/null || true  # a stopped bird would hang birdc and never go
    timeout 3 birdc -s "$sock" down >/dev/null 2>&1 || true
    wait_for 5 _bird_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
    wait_for 2 _bird_gone "$pid" || { echo "bird_stop: bird $pid is still there" >&2; return 1; }
  fi
  rm -f "$(_bird_pidfile "$sock")" "$sock"
}
_bird_gone() { [[ $(cat "/proc/$1/comm" 2>/dev/null) != bird ]]; }

# bird_established SOCKET: the number of BGP protocols in state Established (0 if bird does not answer within 2 s)
bird_established() {
  timeout 2 birdc -s "$1" show protocols 2>/dev/null | awk '$2 == "BGP" && / Established/ { n++ } END { print n + 0 }'
}

# route_paths NS PREFIX: the number of next hops of the main-table route for PREFIX (exactly) in NS: 0 if none, 1 for a
# single-path route, one per nexthop line for a multipath one (summed over routes of that prefix). IPv4 or IPv6.
route_paths() {
  local fam=-4
  [[ $2 == *:* ]] && fam=-6
  ip -n "$1" "$fam" route show table main exact "$2" 2>/dev/null | awk '
    function done() { if (route) n += (hops ? hops : 1) }
    /^[^[:space:]]/ { done(); route = ($1 !~ /^(unreachable|blackhole|prohibit|throw)$/); hops = 0; next }
    /^[[:space:]]+nexthop/ { hops++ }
    END { done(); print n + 0 }'
}

# wait_for SECONDS CMD...: runs CMD every WAIT_FOR_INTERVAL (0.2) s until it succeeds; 1 after SECONDS without.
wait_for() {
  local limit=$1 now deadline
  shift
  deadline=$(( ${EPOCHREALTIME/./} + $(awk -v s="$limit" 'BEGIN { printf "%d", s * 1000000 }') ))
  while true; do
    "$@" && return 0
    now=${EPOCHREALTIME/./}
    (( now < deadline )) || return 1
    sleep "${WAIT_FOR_INTERVAL:-0.2}"
  done
}
