# shellcheck shell=bash
# Sourced by the namespace suites that run synproxy nodes behind a router (scripts/fleet/run.sh,
# scripts/backends/run.sh): checks, namespace helpers, veths, and paced transfers through the VIPs.
# Uses $here, $work, $CL (the client namespace), $VIP4, $VIP6, $passed, $failed; PACED_TIMEOUT (default 40).

check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "  ok    $name"; else failed=$((failed + 1)); echo "  FAIL  $name"; fi
}
holds() { (( $1 )); }
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
sys() { local ns=$1; shift; local kv; for kv in "$@"; do ip netns exec "$ns" sysctl -q -w "$kv" >/dev/null; done; }
synproxy() { SYNPROXY_NO_BUILD=1 "$here/scripts/synproxy" "$@"; }

veth() {  # veth NS_A A NS_B B: checksums filled in by the sender (af_packet sends what it is given)
  ip -n "$1" link add name "$2" type veth peer name "$4" netns "$3"
  inns "$1" ethtool -K "$2" tx off tso off >/dev/null
  inns "$3" ethtool -K "$4" tx off tso off >/dev/null
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
}

paced() {  # paced NAME CONNECTIONS SIZE SECONDS: transfers through both VIPs in the background; pid in $paced_pid
  rm -f "$work/$1.started"
  inns "$CL" /usr/bin/python3 "$here/scripts/fleet/paced.py" --target "$VIP4:9000" --target "[$VIP6]:9000" \
    --connections "$2" --size "$3" --duration "$4" --timeout "${PACED_TIMEOUT:-40}" --json "$work/$1.json" \
    --start-file "$work/$1.started" >"$work/$1.out" 2>"$work/$1.err" &
  paced_pid=$!
}
paced_started() { [[ -f $work/$1.started ]]; }
paced_field() { grep -o "$2=[0-9]*" "$work/$1.out" | cut -d= -f2; }
