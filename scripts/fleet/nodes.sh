# shellcheck shell=bash
# Sourced by the suites that run two synproxy nodes behind a router (scripts/fleet/run.sh, scripts/ops/live.sh): the
# topology drawn in scripts/fleet/run.sh, each node's configuration, starting and stopping nodes, reading their
# counters, and a SYN flood through the router. Uses $here, $work, $ID, $CL, $RT, $P1, $P2, $BE, $VIP4, $VIP6,
# $BACKEND4, $BACKEND6, $PYTHON and the array proxy_pid; PROXY_EXTRA (TOML appended to each node's configuration,
# with @N@ replaced by the node's number).

now_ms() { date +%s%3N; }

cleanup() {
  local ns pid
  for n in 1 2; do stop_proxy "$n" KILL; done
  for sock in "$work"/*.ctl; do [[ -S $sock ]] && bird_stop "$sock"; done
  for ns in $CL $RT $P1 $P2 $BE; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  done
  sleep 0.2
  for ns in $CL $RT $P1 $P2 $BE; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$work" /var/run/dpdk/spx-fl-"$ID"-* "/sys/fs/bpf/synproxy/$BE-b0"
}

topology() {
  local ns n
  for ns in $CL $RT $P1 $P2 $BE; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    sys "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  veth $CL c0 $RT rc
  veth $RT r1 $P1 p0
  veth $RT r2 $P2 p0
  veth $RT rb $BE b0
  sys $RT net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv4.fib_multipath_hash_policy=1 \
    net.ipv6.fib_multipath_hash_policy=1
  inns $RT ip addr add 192.0.2.254/24 dev rc
  inns $RT ip -6 addr add 2001:db8:1::fe/64 dev rc nodad
  inns $RT ip addr add 10.1.1.1/24 dev r1
  inns $RT ip -6 addr add fd00:1::1/64 dev r1 nodad
  inns $RT ip addr add 10.1.2.1/24 dev r2
  inns $RT ip -6 addr add fd00:2::1/64 dev r2 nodad
  inns $RT ip addr add 203.0.113.1/24 dev rb
  inns $RT ip -6 addr add 2001:db8:200::1/64 dev rb nodad
  # The flood's spoofed sources: their SYN-ACKs end here, not in ARP for addresses no one has.
  inns $RT ip route add blackhole 198.18.0.0/15
  inns $CL ip addr add 192.0.2.1/24 dev c0
  inns $CL ip -6 addr add 2001:db8:1::1/64 dev c0 nodad
  inns $CL ip route add default via 192.0.2.254
  inns $CL ip -6 route add default via 2001:db8:1::fe
  inns $BE ip addr add $BACKEND4/24 dev b0
  inns $BE ip -6 addr add $BACKEND6/64 dev b0 nodad
  inns $BE ip addr add $VIP4/32 dev lo
  inns $BE ip -6 addr add $VIP6/128 dev lo
  inns $BE ip route add default via 203.0.113.1
  inns $BE ip -6 route add default via 2001:db8:200::1
  sys $BE net.ipv4.tcp_syncookies=1
  for n in 1 2; do
    local ns=fl-p$n-$ID
    # As with a NIC bound to DPDK, the node's kernel must not take the port's frames itself (net_af_packet gets a copy
    # and the kernel the frame): no IPv6 and no ARP on p0, and a strict reverse-path filter that drops what arrives on
    # p0 from addresses the host reaches through spx0. Everything the host gets comes through the exception path.
    sys "$ns" net.ipv6.conf.p0.disable_ipv6=1 net.ipv4.conf.p0.rp_filter=1
    inns "$ns" ip link set p0 promisc on arp off
  done
}

proxy_config() {  # proxy_config N CORE
  local n=$1 core=$2
  cat > "$work/p$n.toml" <<TOML
[cookie]
secret_file = "secret.key"

[[vip]]
address = "$VIP4"
ports = [9000]

[[vip]]
address = "$VIP6"
ports = [9000]

[encap]
source_v4 = "10.255.0.$n"
source_v6 = "fd00:ff::$n"
auth_key_file = "backend.key"

# No MAC anywhere: the host's routes (a default route via the router) name the next hop, the kernel resolves it.
[[backend]]
address = "$BACKEND4"

[[backend]]
address = "$BACKEND6"

[dataplane]
eal_args = ["-l", "$core", "--no-huge", "-m", "256", "--no-pci", "--no-telemetry", "--file-prefix", "spx-fl-$ID-$n"]
stats_file = "$work/p$n.stats"
idle = "backoff"
drain_seconds = 6

[[port]]
name = "edge"
device = "net_af_packet0,iface=p0"
host_interface = "spx0"
host_addresses = ["10.1.$n.2/24", "fd00:$n::2/64"]

[host]
# The kernel's budget for frames other than control traffic: what this 2-core VM's kernel, beside two data planes,
# three BIRDs, a router and the flood's sender, takes without starving its own BGP and BFD timers.
rate_pps = 5000
burst = 1000
control_peers = ["10.1.$n.1", "fd00:$n::1"]
gateway_v4 = "10.1.$n.1"
gateway_v6 = "fd00:$n::1"

[announce]
table = 100

[[worker]]
port = "edge"
core = $core
TOML
  [[ -z ${PROXY_EXTRA:-} ]] || printf '%s\n' "${PROXY_EXTRA//@N@/$n}" >> "$work/p$n.toml"
}

start_proxy() {  # start_proxy N: runs the node's synproxy in its namespace; waits for spx0
  local n=$1 ns=fl-p$1-$ID i
  ip netns exec "$ns" env SYNPROXY_NO_BUILD=1 "$here/scripts/synproxy" run -c "$work/p$n.toml" \
    >>"$work/p$n.log" 2>&1 &
  proxy_pid[$n]=$!
  for i in $(seq 150); do
    grep -q "VIP routes installed" "$work/p$n.log" && return 0
    kill -0 "${proxy_pid[$n]}" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

stop_proxy() {  # stop_proxy N [SIGNAL]
  local n=$1 sig=${2:-TERM} pid=${proxy_pid[$1]:-}
  [[ -n $pid ]] || return 0
  kill -"$sig" "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  proxy_pid[$n]=""
}

counter() {  # counter N NAME: the node's total of a counter, from its counters file
  synproxy stat -f "$work/p$1.stats" --count 1 2>/dev/null | awk -v k="$2" '
    /totals:/ {t=1} t && $1 == k {gsub(",", "", $2); print $2; found=1} END {if (!found) print 0}'
}

paths() { route_paths $RT "$1"; }
both_paths() { [[ $(paths $VIP4/32) == 2 && $(paths $VIP6/128) == 2 ]]; }
one_path() { [[ $(paths $VIP4/32) == 1 && $(paths $VIP6/128) == 1 ]]; }

flood() {  # flood ADDRESS PORT SECONDS NAME: SYNs from spoofed sources (198.18.0.0/15) through the router, in the
  # background (pid in $flood_pid); "SENT SECONDS" in $work/NAME.count at the end
  local mac
  mac=$(ip -n $RT -br link show rc | awk '{print $3}')
  inns $CL "$PYTHON" - "$mac" "$1" "$2" "$3" "$work/$4.count" <<'PY' &
import random, socket, struct, sys, time
mac, vip, port, seconds, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
def csum(b):
    s = sum(struct.unpack(f"!{len(b)//2}H", b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
dst = bytes.fromhex(mac.replace(":", ""))
frames = []
rnd = random.Random(7)
for i in range(4096):
    src = bytes([198, 18 + rnd.randrange(2), rnd.randrange(256), rnd.randrange(1, 255)])
    tcp = struct.pack("!HHIIBBHHH", rnd.randrange(1024, 65535), port, rnd.getrandbits(32), 0, 5 << 4, 2, 64240, 0, 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0, 0, 64, 6, 0, src, socket.inet_aton(vip))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = src + socket.inet_aton(vip) + struct.pack("!BBH", 0, 6, 20)
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    frames.append(dst + bytes.fromhex("020000000001") + b"\x08\x00" + ip + tcp)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("c0", 0))
sent, start = 0, time.time()
while time.time() - start < seconds:
    for f in frames:
        try:
            s.send(f); sent += 1
        except OSError:
            pass
open(out, "w").write(f"{sent} {time.time() - start:.1f}\n")
PY
  flood_pid=$!
}

