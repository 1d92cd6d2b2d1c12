#!/usr/bin/env bash
# End-to-end test topology in three network namespaces; no packet leaves them.
#
# Usage (as root):  [SPX_ID=name] scripts/e2e/topology.sh up|down|status
#
#   spx-cl-ID (client)                spx-px-ID (proxy)            spx-be-ID (backend)
#   c0 02:..:01 192.0.2.1/24   <---->  p0 02:..:02  (no address)
#      2001:db8::1/64                  p1 02:..:03  (no address) <----> b0 02:..:0b 203.0.113.11/24
#                                                                          2001:db8:200::11/64
#                                                                       lo 198.51.100.10/32
#                                                                          2001:db8:100::10/128 (VIPs)
#   c1 02:..:c1 (no address)  <------------------------------------->  b1 02:..:b1 (no address)
#
# Client -> VIP goes through the proxy (a DPDK program on p0/p1 through net_af_packet, which answers ARP/ND for the
# VIP itself); backend -> client comes straight back over b1/c1 (direct server return).
#
# `up` prints the facts a test needs as KEY=VALUE lines on stdout and nothing else there; logs go to stderr.
# SPX_ID (default "e2e") suffixes the namespaces and the run directory, so parallel runs and leftovers never collide;
# interface names need no suffix because each lives in its own namespace and is created there directly.

set -euo pipefail

ID=${SPX_ID:-e2e}
# The ID ends up in namespace names and paths: keep it to characters that are safe in both.
if [[ ! $ID =~ ^[A-Za-z0-9_-]{1,32}$ ]]; then
    echo "topology: SPX_ID must be 1-32 of [A-Za-z0-9_-], got '$ID'" >&2
    exit 2
fi

CL=spx-cl-$ID
PX=spx-px-$ID
BE=spx-be-$ID
RUN=/run/spx-e2e-$ID
WEBROOT=$RUN/www
PIDFILE=$RUN/http.pid
LOGFILE=$RUN/http.log

CLIENT_MAC=02:00:00:00:00:01
PROXY_CLIENT_MAC=02:00:00:00:00:02
PROXY_BACKEND_MAC=02:00:00:00:00:03
BACKEND_MAC=02:00:00:00:00:0b
CLIENT_RETURN_MAC=02:00:00:00:00:c1
BACKEND_RETURN_MAC=02:00:00:00:00:b1
CLIENT4=192.0.2.1
CLIENT6=2001:db8::1
VIP4=198.51.100.10
VIP6=2001:db8:100::10
BACKEND4=203.0.113.11
BACKEND6=2001:db8:200::11
INDEX_MARKER=spx-e2e-index-page
BIG_SIZE=1048576
PYTHON=/usr/bin/python3   # the Debian one: the pyenv shim on PATH may not exist for root's other shells

log() { echo "topology[$ID]: $*" >&2; }
die() { log "$*"; exit 1; }

inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
# -q: sysctl -w echoes "key = value" on stdout, which must carry only KEY=VALUE facts.
sys() { local ns=$1; shift; local kv; for kv in "$@"; do ip netns exec "$ns" sysctl -q -w "$kv" >/dev/null; done; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

preflight() {
    [[ $(id -u) -eq 0 ]] || die "must run as root (network namespaces)"
    local tool
    for tool in ip ethtool sysctl curl; do
        command -v "$tool" >/dev/null || die "$tool not found (apt-get install -y iproute2 ethtool procps curl)"
    done
    [[ -x $PYTHON ]] || die "$PYTHON not found"
}

# Kill every process still living in one of our namespaces (the HTTP server, a proxy a test left behind):
# `ip netns delete` only drops the name, a process inside would keep the namespace and its veths alive.
kill_ns_pids() {
    local ns=$1 pids pid i
    ns_exists "$ns" || return 0
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [[ -n $pids ]] || return 0
    for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
    for i in $(seq 50); do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -n $pids ]] || return 0
        sleep 0.1
    done
    log "processes in $ns ignored SIGTERM, killing: $pids"
    for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
}

do_down() {
    local ns
    if [[ -f $PIDFILE ]]; then
        local pid
        pid=$(<"$PIDFILE")
        # Only our server: the pid may have been reused if the server died long ago.
        if [[ $pid =~ ^[0-9]+$ ]] && grep -qs http.server "/proc/$pid/cmdline"; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    fi
    for ns in "$CL" "$PX" "$BE"; do
        kill_ns_pids "$ns"
        if ns_exists "$ns"; then
            ip netns delete "$ns"
            log "deleted namespace $ns"
        fi
    done
    rm -rf -- "$RUN"
}

# A veth pair created straight into two namespaces: the root namespace never sees either end.
veth() {
    local ns_a=$1 a=$2 mac_a=$3 ns_b=$4 b=$5 mac_b=$6
    ip -n "$ns_a" link add "$a" address "$mac_a" mtu 1500 type veth \
        peer name "$b" address "$mac_b" mtu 1500 netns "$ns_b"
    # Checksum offload off: captures then show real checksums. TSO off by name as well: on 6.18 `tx off` leaves
    # tx-tcp-accecn-segmentation on. Then a program reading a veth through af_packet sees wire-sized frames, never
    # 64 KiB super-packets.
    inns "$ns_a" ethtool -K "$a" tx off tso off >/dev/null
    inns "$ns_b" ethtool -K "$b" tx off tso off >/dev/null
}

make_webroot() {
    mkdir -p "$WEBROOT"
    printf '<html><body>\n%s\n</body></html>\n' "$INDEX_MARKER" >"$WEBROOT/index.html"
    # SHA-256 in counter mode: deterministic, and no two 32-byte blocks repeat, so a test catches data delivered at
    # the wrong offset (a file of one repeated byte would not).
    "$PYTHON" - "$WEBROOT/big.bin" "$BIG_SIZE" <<'EOF'
import hashlib, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"".join(hashlib.sha256(b"spx-e2e-%d" % i).digest() for i in range((size + 31) // 32))[:size])
EOF
}

start_server() {
    # `--bind ::` makes http.server a dual-stack socket (IPV6_V6ONLY=0): one process serves both VIPs.
    # setsid: the server must outlive this script and not get the caller's terminal signals.
    # `ip netns exec` and setsid both exec, so $! is the server's own pid.
    ip netns exec "$BE" setsid "$PYTHON" -m http.server 80 --bind :: --directory "$WEBROOT" \
        </dev/null >"$LOGFILE" 2>&1 &
    echo $! >"$PIDFILE"
    local i
    for i in $(seq 50); do
        if inns "$BE" curl -s --noproxy '*' --max-time 1 "http://$VIP4/" 2>/dev/null | grep -q "$INDEX_MARKER" &&
           inns "$BE" curl -s --noproxy '*' --max-time 1 -g "http://[$VIP6]/" 2>/dev/null | grep -q "$INDEX_MARKER"; then
            return 0
        fi
        sleep 0.1
    done
    die "HTTP server in $BE did not answer on $VIP4 and [$VIP6] port 80 (log: $LOGFILE)"
}

do_up() {
    local ns
    for ns in "$CL" "$PX" "$BE"; do
        ns_exists "$ns" && die "namespace $ns exists already: run 'SPX_ID=$ID $0 down' first"
    done
    [[ -e $RUN ]] && die "$RUN exists already: run 'SPX_ID=$ID $0 down' first"

    # Half a topology is worse than none: undo everything if any step fails (set -e exits, die exits; EXIT sees both).
    trap 'log "up failed, tearing down"; do_down' EXIT
    mkdir -p "$RUN"

    for ns in "$CL" "$PX" "$BE"; do
        ip netns add "$ns"
        ip -n "$ns" link set lo up
        # Set before any veth exists, so new interfaces inherit it. The return path is asymmetric by design (client
        # sends via c0, receives via c1; backend receives via b0, sends via b1): strict reverse-path filtering would
        # drop it. A fresh namespace starts from kernel defaults (0), not the host's; set it anyway, explicitly.
        sys "$ns" net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
    done
    # The proxy namespace's kernel must stay silent: af_packet shows it every frame, and with an address, forwarding
    # or IPv6 it would answer ARP/ND, forward, or send ICMP errors and router solicitations of its own.
    sys "$PX" net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0 \
        net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    sys "$BE" net.ipv4.tcp_syncookies=1

    veth "$CL" c0 "$CLIENT_MAC"        "$PX" p0 "$PROXY_CLIENT_MAC"
    veth "$PX" p1 "$PROXY_BACKEND_MAC" "$BE" b0 "$BACKEND_MAC"
    veth "$CL" c1 "$CLIENT_RETURN_MAC" "$BE" b1 "$BACKEND_RETURN_MAC"
    sys "$CL" net.ipv4.conf.c0.rp_filter=0 net.ipv4.conf.c1.rp_filter=0
    sys "$BE" net.ipv4.conf.b0.rp_filter=0 net.ipv4.conf.b1.rp_filter=0
    sys "$PX" net.ipv6.conf.p0.disable_ipv6=1 net.ipv6.conf.p1.disable_ipv6=1
    # The return veths only carry replies: no link-local address, so they send no ND/MLD noise of their own.
    inns "$CL" ip link set c1 addrgenmode none
    inns "$BE" ip link set b1 addrgenmode none

    # Client: the VIP is on-link via c0, so the client ARPs/solicits for it and the proxy answers.
    inns "$CL" ip addr add "$CLIENT4/24" dev c0
    inns "$CL" ip -6 addr add "$CLIENT6/64" dev c0 nodad
    inns "$CL" ip link set c0 up
    inns "$CL" ip link set c1 up
    inns "$CL" ip route add "$VIP4/32" dev c0
    inns "$CL" ip -6 route add "$VIP6/128" dev c0

    # Proxy: up and promiscuous as a NIC under DPDK would be (the proxy may answer ARP with a MAC that is not the
    # port's own), no addresses.
    inns "$PX" ip link set p0 promisc on up
    inns "$PX" ip link set p1 promisc on up

    # Backend: the VIPs on lo (the encapsulated traffic is addressed to b0, the inner packets to the VIP); replies go
    # out b1 to the client's c1 MAC, pinned so the return path needs no ARP/ND (the client has no address on c1).
    inns "$BE" ip addr add "$BACKEND4/24" dev b0
    inns "$BE" ip -6 addr add "$BACKEND6/64" dev b0 nodad
    inns "$BE" ip addr add "$VIP4/32" dev lo
    inns "$BE" ip -6 addr add "$VIP6/128" dev lo
    inns "$BE" ip link set b0 up
    inns "$BE" ip link set b1 up
    inns "$BE" ip route add "$CLIENT4/32" dev b1
    inns "$BE" ip -6 route add "$CLIENT6/128" dev b1
    inns "$BE" ip neigh add "$CLIENT4" lladdr "$CLIENT_RETURN_MAC" dev b1 nud permanent
    inns "$BE" ip -6 neigh add "$CLIENT6" lladdr "$CLIENT_RETURN_MAC" dev b1 nud permanent

    make_webroot
    start_server
    trap - EXIT
    log "up"

    local big_sha
    big_sha=$(sha256sum "$WEBROOT/big.bin" | awk '{print $1}')
    cat <<EOF
CLIENT_NS=$CL
PROXY_NS=$PX
BACKEND_NS=$BE
CLIENT_IF=c0
CLIENT_RETURN_IF=c1
PROXY_CLIENT_IF=p0
PROXY_BACKEND_IF=p1
BACKEND_IF=b0
BACKEND_RETURN_IF=b1
CLIENT_MAC=$CLIENT_MAC
PROXY_CLIENT_MAC=$PROXY_CLIENT_MAC
PROXY_BACKEND_MAC=$PROXY_BACKEND_MAC
BACKEND_MAC=$BACKEND_MAC
VIP4=$VIP4
VIP6=$VIP6
BACKEND4=$BACKEND4
BACKEND6=$BACKEND6
CLIENT4=$CLIENT4
CLIENT6=$CLIENT6
WEBROOT=$WEBROOT
INDEX_MARKER=$INDEX_MARKER
BIG_SIZE=$BIG_SIZE
BIG_SHA256=$big_sha
HTTP_PID=$(<"$PIDFILE")
EOF
}

do_status() {
    local ns
    for ns in "$CL" "$PX" "$BE"; do
        if ! ns_exists "$ns"; then
            echo "== $ns: absent"
            continue
        fi
        echo "== $ns"
        inns "$ns" ip -br link
        inns "$ns" ip -br addr
        inns "$ns" ip route
        inns "$ns" ip -6 route
        inns "$ns" ip neigh show nud permanent
    done
    local pid=
    [[ -f $PIDFILE ]] && pid=$(<"$PIDFILE")
    if [[ -n $pid ]] && grep -qs http.server "/proc/$pid/cmdline"; then
        echo "== http server: running, pid $pid, webroot $WEBROOT"
    else
        echo "== http server: not running"
    fi
}

preflight
case ${1:-} in
    up) do_up ;;
    down) do_down ;;
    status) do_status ;;
    *) echo "usage: [SPX_ID=name] $0 up|down|status" >&2; exit 2 ;;
esac
