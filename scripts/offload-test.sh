#!/usr/bin/env bash
# TX checksum offload through a real PMD that offers it and real kernels that check what arrives: synproxy on two
# net_tap ports (DPDK 22.11's net_tap offers IPv4, UDP and TCP checksum TX offload and computes them in software when
# a frame asks), once with [[port]] tx_checksum_offload = "auto" and once with "off". Prints one line per check and
# ends with "offload: P passed, F failed"; exits non-zero on any failure. Everything it creates is removed on exit.
# Run as root.
#
#   client ns            proxy ns                                              backend ns
#   c0 ---- veth ---- p0 <=tc mirred=> spxtc (net_tap "clients": synproxy)
#                                      spxtb (net_tap "backends") -> kernel routes -> p1 ---- veth ---- b0 (tc program)
#   c1 <------------------------------ replies, straight from the backend ------------------------------ b1
#
# Who checks what, for real:
# - The SYN-ACK's IPv4 header and TCP checksums: the client's kernel. Frames synproxy writes into spxtc reach c0 with
#   no checksum state (tun, then a veth), so the client's IP and TCP code verify both and drop a bad one (counted
#   IpExtInCsumErrors, TcpInCsumErrors); a connection that completes had a good SYN-ACK. tcpdump -vv on c0 checks the
#   TCP checksum too ("cksum 0x... (correct)").
# - The encapsulated ACK's outer IPv4 header checksum: the proxy namespace's kernel, as a router between spxtb and
#   p1 (ip_rcv drops a bad header before forwarding, counted IpExtInCsumErrors). The backend's tc program strips the
#   outer header before its kernel's IP code would see it, so a router is where the check happens, as on a fabric.
# - That those kernels really check on these paths: a control frame with a bad checksum sent along each of them is
#   counted as a checksum error. Without that, "0 errors" would prove nothing.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export SPX_ID=${SPX_ID:-off$$}
work=$(mktemp -d "${TMPDIR:-/tmp}/synproxy-offload.XXXXXX")
proxy_pid=""
capture_pids=()
passed=0 failed=0
PYTHON=/usr/bin/python3
TAP_CLIENT=spxtc TAP_BACKEND=spxtb
TAP_CLIENT_MAC=02:00:00:00:00:21 TAP_BACKEND_MAC=02:00:00:00:00:31
ROUTER_BACKEND4=203.0.113.2   # the proxy namespace's address toward the backend: it routes the encapsulated packets

stop_proxy() {
  if [ -n "$proxy_pid" ]; then
    kill -TERM "$proxy_pid" 2>/dev/null || true
    wait "$proxy_pid" 2>/dev/null || true
    proxy_pid=""
  fi
}
stop_captures() {
  local pid
  for pid in "${capture_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  capture_pids=()
}
cleanup() {
  set +e
  stop_captures
  stop_proxy
  [ -n "${BACKEND_NS:-}" ] && bash "$here/scripts/backend.sh" detach b0 --netns "$BACKEND_NS" >/dev/null 2>&1
  bash "$here/scripts/e2e/topology.sh" down >/dev/null 2>&1
  rm -rf "/var/run/dpdk/spx-$SPX_ID" "$work"
}
trap cleanup EXIT

eval "$(bash "$here/scripts/e2e/topology.sh" up)"
. "$here/scripts/e2e/common.sh"
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
nstat_of() {  # nstat_of NS COUNTER: its absolute value
  # -s: leaves nstat's history file alone (it is per user, not per namespace).
  inns "$1" nstat -asz "$2" 2>/dev/null | awk -v n="$2" '$1 == n {print $2}' | grep . || echo 0
}

synproxy keygen --out "$work/secret.key" >/dev/null
synproxy keygen --out "$work/backend.key" >/dev/null
attach_backend

# The proxy namespace routes what synproxy sends out of spxtb to the backend: an address on p1, forwarding on (its
# topology keeps it silent otherwise; rp_filter is 0 there: the source is synproxy's encapsulation address).
inns "$PROXY_NS" sysctl -qw net.ipv4.ip_forward=1
inns "$PROXY_NS" ip addr add "$ROUTER_BACKEND4/24" dev p1

write_config() {  # write_config MODE: $work/MODE.toml
  cat > "$work/$1.toml" <<TOML
[cookie]
secret_file = "secret.key"

[[vip]]
address = "$VIP4"
ports = [80]

[[vip]]
address = "$VIP6"
ports = [80]

[encap]
source_v4 = "203.0.113.1"
auth_key_file = "backend.key"
# The proxy namespace's kernel side of spxtb: it routes the encapsulated packets on to the backend.
next_hop_mac = "$TAP_BACKEND_MAC"

[[backend]]
address = "$BACKEND4"

[dataplane]
eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry", "--file-prefix", "spx-$SPX_ID"]
stats_file = "$work/stats-$1"
idle = "backoff"

[[port]]
name = "clients"
device = "net_tap0,iface=$TAP_CLIENT,mac=$TAP_CLIENT_MAC"
tx_checksum_offload = "$1"

[[port]]
name = "backends"
device = "net_tap1,iface=$TAP_BACKEND,mac=$TAP_BACKEND_MAC"
tx_checksum_offload = "$1"

[[worker]]
port = "clients"
core = 0
backend_port = "backends"
TOML
}

# Layer 2 between the client's veth and spxtc, both ways: tc redirects every frame (u32 matching all: this kernel has
# no matchall classifier). spxtc exists only while synproxy runs, so this is done after each start.
wire_client_side() {
  local dev peer
  for dev in p0 "$TAP_CLIENT"; do
    [ "$dev" = p0 ] && peer=$TAP_CLIENT || peer=p0
    inns "$PROXY_NS" tc qdisc del dev "$dev" ingress 2>/dev/null || true
    inns "$PROXY_NS" tc qdisc add dev "$dev" ingress
    inns "$PROXY_NS" tc filter add dev "$dev" ingress protocol all u32 match u32 0 0 \
      action mirred egress redirect dev "$peer"
  done
}

start_proxy() {  # start_proxy MODE
  : > "$work/proxy-$1.log"
  ip netns exec "$PROXY_NS" env SYNPROXY_NO_BUILD=${SYNPROXY_NO_BUILD:-} "$here/scripts/synproxy" run \
    -c "$work/$1.toml" > "$work/proxy-$1.log" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 1 150); do grep -q '^running:' "$work/proxy-$1.log" && break; sleep 0.2; done
  if ! grep -q '^running:' "$work/proxy-$1.log"; then
    cat "$work/proxy-$1.log" >&2
    echo "offload: the proxy ($1) did not start" >&2
    exit 1
  fi
  wire_client_side
}

# Control frames, sent by scapy from the proxy namespace straight onto the last hop each checked path takes: a TCP
# segment with a wrong checksum and an IPv4 header with a wrong checksum to the client (p0 -> c0), and an IPv4 header
# with a wrong checksum to the router (b0 -> p1, from the backend namespace). Each must be counted where it lands.
send_controls() {
  inns "$PROXY_NS" "$PYTHON" - "$CLIENT_MAC" "$VIP4" "$CLIENT4" <<'PY'
import sys
from scapy.all import Ether, IP, TCP, sendp
mac, vip, client = sys.argv[1:4]
sendp(Ether(dst=mac) / IP(src=vip, dst=client) / TCP(sport=80, dport=40999, flags="SA", chksum=0x1234),
      iface="p0", verbose=0)
sendp(Ether(dst=mac) / IP(src=vip, dst=client, chksum=0x1234) / TCP(sport=80, dport=40999, flags="SA"),
      iface="p0", verbose=0)
PY
  inns "$BACKEND_NS" "$PYTHON" - "$PROXY_BACKEND_MAC" "$BACKEND4" "$ROUTER_BACKEND4" <<'PY'
import sys
from scapy.all import Ether, IP, UDP, sendp
mac, backend, router = sys.argv[1:4]
sendp(Ether(dst=mac) / IP(src=backend, dst=router, chksum=0x1234) / UDP(sport=9, dport=9), iface="b0", verbose=0)
PY
}

echo "offload: net_tap ports in $PROXY_NS, a real Linux client in $CLIENT_NS, a real backend in $BACKEND_NS"
# The control frames first, once: the kernels on both paths count checksum errors, so the "0 errors" below mean
# something.
client_tcp_errors=$(nstat_of "$CLIENT_NS" TcpInCsumErrors)
client_ip_errors=$(nstat_of "$CLIENT_NS" IpExtInCsumErrors)
router_ip_errors=$(nstat_of "$PROXY_NS" IpExtInCsumErrors)
send_controls
sleep 0.5
check "control: the client's kernel counts a SYN-ACK with a bad TCP checksum sent to it on this path" \
  [ "$(nstat_of "$CLIENT_NS" TcpInCsumErrors)" -eq $((client_tcp_errors + 1)) ]
check "control: the client's kernel counts an IPv4 header with a bad checksum" \
  [ "$(nstat_of "$CLIENT_NS" IpExtInCsumErrors)" -eq $((client_ip_errors + 1)) ]
check "control: the router (proxy namespace's kernel) counts an IPv4 header with a bad checksum" \
  [ "$(nstat_of "$PROXY_NS" IpExtInCsumErrors)" -eq $((router_ip_errors + 1)) ]

run_mode() {  # run_mode auto|off
  local mode=$1 log
  write_config "$mode"
  start_proxy "$mode"
  log=$work/proxy-$mode.log
  echo "  [$mode] synproxy reports:"
  grep '^port [^ ]*: TX checksum offload' "$log" | sed 's/^/        /' || true
  # What net_tap reported (dev_info.tx_offload_capa, as "the port offers") and what each port took.
  local report what
  if [ "$mode" = auto ]; then
    report='in use: IPv4 header, TCP'
    what="net_tap offers IPv4 header and TCP checksum TX offload, and both are in use on both ports"
  else
    report='not in use, every checksum in software'
    what="with \"off\" no port uses it, though net_tap offers it"
  fi
  report="TX checksum offload $report (the port offers IPv4 header, TCP; tx_checksum_offload = \"$mode\")"
  check "[$mode] $what" [ "$(grep -cxF -e "port clients: $report" -e "port backends: $report" "$log")" -eq 2 ]
  local want=0
  [ "$mode" = auto ] && want=1
  local stats
  stats=$(synproxy stat -f "$work/stats-$mode" --count 1 || true)
  grep -E 'port-(clients|backends) tx-offload' <<<"$stats" | sed 's/^/        stat: /' || true
  check "[$mode] stat shows the offloads per port ($want)" \
    [ "$(grep -cE "port-(clients|backends) tx-offload-(ip|tcp)-checksum +$want\$" <<<"$stats")" -eq 4 ]

  local tcp_errors ip_errors router_errors forwarded
  tcp_errors=$(nstat_of "$CLIENT_NS" TcpInCsumErrors)
  ip_errors=$(nstat_of "$CLIENT_NS" IpExtInCsumErrors)
  router_errors=$(nstat_of "$PROXY_NS" IpExtInCsumErrors)
  forwarded=$(nstat_of "$PROXY_NS" IpForwDatagrams)
  # ip netns exec execs tcpdump: $! is tcpdump's own pid, which stop_captures interrupts (a shell function here
  # would put a subshell between them that SIGINT does not reach through). --immediate-mode: libpcap hands each
  # packet over at once, not when its ring block fills or times out, so none is still in the ring at the interrupt.
  ip netns exec "$CLIENT_NS" tcpdump -i c0 -nn -U --immediate-mode -w "$work/client-$mode.pcap" tcp \
    2>/dev/null &
  capture_pids+=($!)
  ip netns exec "$PROXY_NS" tcpdump -i "$TAP_BACKEND" -nn -U --immediate-mode -w "$work/encap-$mode.pcap" \
    udp port 6080 2>/dev/null &
  capture_pids+=($!)
  sleep 1

  local page page6 got want_sha
  page=$(inns "$CLIENT_NS" curl -s --max-time 10 "http://$VIP4/" || true)
  check "[$mode] curl http://$VIP4/ gets the page (the client took the SYN-ACK, the backend the ACK)" \
    grep -q "$INDEX_MARKER" <<<"$page"
  page6=$(inns "$CLIENT_NS" curl -s --max-time 10 -g "http://[$VIP6]/" || true)
  check "[$mode] curl http://[$VIP6]/ too (IPv6 SYN-ACK: TCP checksum only)" grep -q "$INDEX_MARKER" <<<"$page6"
  want_sha=$(sha256sum < "$WEBROOT/big.bin" | cut -d' ' -f1)
  got=$( (inns "$CLIENT_NS" curl -s --max-time 20 "http://$VIP4/big.bin" || true) | sha256sum | cut -d' ' -f1)
  check "[$mode] 1 MiB download intact" [ "$want_sha" = "$got" ]
  sleep 0.5
  stop_captures

  # tcpdump -vv verifies checksums itself: the TCP one on each SYN-ACK ("(correct)"), the IPv4 header's ("bad cksum"
  # only when wrong).
  local client_text synacks correct
  client_text=$(tcpdump -r "$work/client-$mode.pcap" -nn -vv 2>/dev/null)
  synacks=$(grep -c 'Flags \[S\.E\?\]' <<<"$client_text" || true)
  correct=$(grep -cE 'Flags \[S\.E?\], cksum 0x[0-9a-f]+ \(correct\)' <<<"$client_text" || true)
  grep -E 'Flags \[S\.E?\]' <<<"$client_text" | sed -E 's/^ +//; s/^.*\) ([0-9a-f:.]+ > )/\1/; s/, seq .*//' \
    | head -3 | sed 's/^/        tcpdump c0: /' || true
  check "[$mode] tcpdump -vv on the client: every SYN-ACK's TCP checksum correct ($correct of $synacks, >= 3)" \
    holds "$synacks >= 3 && $correct == $synacks"
  check "[$mode] tcpdump -vv on the client: no IPv4 header with a bad checksum" \
    bash -c '! grep -q "bad cksum" <<<"$1"' _ "$client_text"
  local encap_text encaps
  encap_text=$(tcpdump -r "$work/encap-$mode.pcap" -nn -vv 2>/dev/null)
  encaps=$(grep -c '\.6080: \[no cksum\] UDP' <<<"$encap_text" || true)
  grep -m1 -B1 '\.6080: \[no cksum\] UDP' <<<"$encap_text" | sed -E 's/^ +//; s/^/        tcpdump spxtb: /' || true
  check "[$mode] tcpdump -vv on spxtb: encapsulated packets ($encaps), no outer IPv4 header with a bad checksum" \
    bash -c '[ "$1" -gt 0 ] && ! grep -q "bad cksum" <<<"$2"' _ "$encaps" "$encap_text"
  local forwarded_now
  forwarded_now=$(nstat_of "$PROXY_NS" IpForwDatagrams)
  check "[$mode] the router forwarded them ($((forwarded_now - forwarded))) and counted no bad header" \
    holds "$forwarded_now - $forwarded >= $encaps && $(nstat_of "$PROXY_NS" IpExtInCsumErrors) == $router_errors"
  check "[$mode] the client's kernel counted no TCP or IPv4 checksum error" \
    holds "$(nstat_of "$CLIENT_NS" TcpInCsumErrors) == $tcp_errors \
      && $(nstat_of "$CLIENT_NS" IpExtInCsumErrors) == $ip_errors"
  stats=$(synproxy stat -f "$work/stats-$mode" --count 1 || true)
  grep -E 'worker-0 (syn-ack-sent|ack-valid|encapsulated) ' <<<"$stats" | sed 's/^/        stat: /' || true
  check "[$mode] the proxy answered SYNs and validated handshake ACKs" \
    grep -qE 'worker-0 ack-valid +[1-9]' <<<"$stats"
  stop_proxy
}

run_mode auto
run_mode off

echo "offload: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
