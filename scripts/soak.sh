#!/usr/bin/env bash
# The soak: the e2e topology (scripts/e2e/topology.sh: a client namespace, synproxy on DPDK net_af_packet, a real
# backend kernel with synproxy's tc program) under a SYN flood from spoofed sources for N minutes (by default 150k
# SYNs a second: about 75% of what one worker on net_af_packet takes here, so the proxy runs near its limit without
# its RX ring overflowing; a flood beyond that loses real clients' packets in the ring as much as the flood's, which
# tests the ring, not the proxy), while real Linux clients connect and move data through the proxy the whole time. Checks: every real connection completes intact; the workers see no GC and allocate nothing after the
# warm-up; the proxy's resident memory, sampled every 10 s, stays flat (the slope is printed); the counters add up
# (frames received = SYN-ACKs + neighbour replies + encapsulated + dropped). One line per check, closing with
# "soak: P passed, F failed"; non-zero exit on any failure. Everything it creates is removed on exit. Run as root.
#
#   bash scripts/soak.sh [--minutes N] [--rate SYNS_PER_SECOND]   (defaults 2 and 150000; 0: as fast as it sends)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=2 rate=150000
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "soak.sh: unknown option '$1'; allowed: --minutes N, --rate SYNS_PER_SECOND" >&2; exit 2 ;;
  esac
done
[[ $minutes =~ ^[0-9]+$ && $minutes -ge 1 ]] || { echo "soak.sh: --minutes takes a whole number >= 1" >&2; exit 2; }
[[ $rate =~ ^[0-9]+$ ]] || { echo "soak.sh: --rate takes a whole number of SYNs a second (0: unlimited)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "soak.sh: run as root (network namespaces)" >&2; exit 2; }

export SPX_ID=${SPX_ID:-soak$$}
work=$(mktemp -d "${TMPDIR:-/tmp}/synproxy-soak.XXXXXX")
proxy_pid="" flood_pid="" clients_pid="" sampler_pid=""
passed=0 failed=0

cleanup() {
  set +e
  for pid in $flood_pid $clients_pid $sampler_pid; do kill "$pid" 2>/dev/null; done
  [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "${BACKEND_NS:-}" ] && bash "$here/scripts/backend.sh" detach b0 --netns "$BACKEND_NS" >/dev/null 2>&1
  bash "$here/scripts/e2e/topology.sh" down >/dev/null 2>&1
  rm -rf "/var/run/dpdk/spx-$SPX_ID" "$work"
}
trap cleanup EXIT

eval "$(bash "$here/scripts/e2e/topology.sh" up)"
. "$here/scripts/e2e/common.sh"
write_proxy_config
attach_backend
ip netns exec "$BACKEND_NS" /usr/bin/python3 "$here/scripts/e2e/echo_server.py" :: 9000 "$work/echo.log" \
  > "$work/echo.out" 2>&1 &
seconds=$((minutes * 60))
warmup=20
ip netns exec "$PROXY_NS" "$here/scripts/synproxy" run -c "$work/synproxy.toml" --warmup "$warmup" \
  --duration $((seconds + warmup + 30)) > "$work/proxy.log" 2>&1 &
proxy_pid=$!
for _ in $(seq 1 100); do grep -q '^running:' "$work/proxy.log" && break; sleep 0.2; done
grep -q '^running:' "$work/proxy.log" || { cat "$work/proxy.log" >&2; echo "soak: the proxy did not start" >&2; exit 1; }
java_pid=$(pgrep -P "$proxy_pid" java || echo "$proxy_pid")
echo "soak: ${minutes} min, SYN flood ($([ "$rate" = 0 ] && echo "unlimited" || echo "$rate a second")) + real clients through the proxy (warm-up ${warmup} s first)"

# The flood: SYNs from spoofed client addresses and ports, prebuilt (4096 of them), sent in a loop from a raw socket
# on the client's veth for the soak's length. It counts what it sent.
ip netns exec "$CLIENT_NS" /usr/bin/python3 - "$PROXY_CLIENT_MAC" "$VIP4" $((seconds + warmup)) "$work/flood.count" \
  "$rate" <<'PY' &
import random, socket, struct, sys, time
mac, vip, seconds, out, rate = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], int(sys.argv[5])

def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

rng = random.Random(7)
dst_mac = bytes.fromhex(mac.replace(":", ""))
vip_b = socket.inet_aton(vip)
frames = []
for i in range(4096):
    src = socket.inet_aton("192.0.2.%d" % rng.randint(2, 250))
    sport, seq = rng.randint(1024, 65535), rng.getrandbits(32)
    tcp = struct.pack("!HHIIBBHHH", sport, 80, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + vip_b + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0x4000, 64, 6, 0, src, vip_b)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frames.append(dst_mac + bytes.fromhex("020000000001") + b"\x08\x00" + ip + tcp)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("c0", 0))
start = time.time()
sent, end = 0, start + seconds
while time.time() < end:
    for i in range(0, len(frames), 256):
        for f in frames[i:i + 256]:
            try:
                s.send(f)
                sent += 1
            except OSError:
                pass  # a full queue: the flood is as fast as the veth takes it
        if rate:
            ahead = sent / rate - (time.time() - start)
            if ahead > 0:
                time.sleep(ahead)
with open(out, "w") as f:
    f.write("%d %.1f\n" % (sent, seconds))
PY
flood_pid=$!

# Real clients the whole time: 64 KiB each way with the echo server, and a page over HTTP, one after the other.
ip netns exec "$CLIENT_NS" bash -c '
  ok=0 bad=0; end=$(( $(date +%s) + '"$((seconds + warmup))"' ))
  while [ "$(date +%s)" -lt "$end" ]; do
    r=$(/usr/bin/python3 '"$here"'/scripts/e2e/transfer.py '"$VIP4"' 9000 65536 20 || true)
    [ "$r" = "ok 65536" ] && ok=$((ok + 1)) || { bad=$((bad + 1)); echo "transfer: $r" >> '"$work"'/clients.failures; }
    if curl -s --max-time 20 http://'"$VIP4"'/ | grep -q '"$INDEX_MARKER"'; then ok=$((ok + 1)); else
      bad=$((bad + 1)); echo "curl failed" >> '"$work"'/clients.failures; fi
    echo "$ok $bad" > '"$work"'/clients.count
  done' &
clients_pid=$!

# Resident memory of the proxy's JVM every 10 s, after the warm-up.
sleep "$warmup"
(
  start=$(date +%s)
  while kill -0 "$java_pid" 2>/dev/null; do
    echo "$(( $(date +%s) - start )) $(awk '/^VmRSS/ {print $2}' "/proc/$java_pid/status")" >> "$work/rss"
    sleep 10
  done
) &
sampler_pid=$!
for ((i = 0; i < seconds / 60; i++)); do
  sleep 60
  echo "        $((i + 1)) min: clients ok/failed $(cat "$work/clients.count" 2>/dev/null || echo '0 0'), RSS $(tail -1 "$work/rss" | awk '{print $2}') kB"
done
wait "$flood_pid" || true; flood_pid=""
wait "$clients_pid" || true; clients_pid=""

# Links: the veth under the data plane goes down under traffic and comes back; the worker keeps polling, the change
# is counted and shown, and traffic resumes by itself.
port_counter() { synproxy stat -f "$work/stats" --count 1 | awk -v n="port-clients $1" \
  'index($0, n) == 3 {gsub(",", "", $NF); v = $NF} END {print v + 0}'; }
link_changes=$(port_counter link-changes)
ip netns exec "$CLIENT_NS" /usr/bin/python3 "$here/scripts/e2e/transfer.py" "$VIP4" 9000 4194304 30 > "$work/link.transfer" &
link_transfer=$!
sleep 1
ip -n "$PROXY_NS" link set "$PROXY_CLIENT_IF" down
sleep 3
link_down_shown=$(port_counter link-up)
rx_while_down=$(synproxy stat -f "$work/stats" --count 1 | awk 'index($0, "worker-0 rx-frames") == 3 {gsub(",", "", $NF); print $NF}')
ip -n "$PROXY_NS" link set "$PROXY_CLIENT_IF" up
wait "$link_transfer"
after=0
for i in 1 2 3; do
  r=$(ip netns exec "$CLIENT_NS" /usr/bin/python3 "$here/scripts/e2e/transfer.py" "$VIP4" 9000 65536 20 || true)
  [ "$r" = "ok 65536" ] && after=$((after + 1))
done
sleep 1.5
link_changes=$(( $(port_counter link-changes) - link_changes ))
link_up_again=$(port_counter link-up)
echo "        link: port down 3 s under a 4 MiB transfer ($(cat "$work/link.transfer")), $link_changes link changes counted, shown down: $([ "$link_down_shown" = 0 ] && echo yes || echo no), $after of 3 transfers after it came back"
check "links: down and up counted (link-changes $link_changes) and shown in stat (link-up 0, then 1)" \
  holds "link_changes == 2 && link_down_shown == 0 && link_up_again == 1"
links_resumed() { (( after == 3 )) && grep -q "^ok " "$work/link.transfer"; }
check "links: traffic resumes by itself: the transfer across the outage and 3 after it intact" links_resumed
sleep 1
stats=$(synproxy stat -f "$work/stats" --count 1)
counter() { awk -v n="worker-0 $1" 'index($0, n) == 3 {gsub(",", "", $NF); print $NF}' <<<"$stats"; }
kill -TERM "$proxy_pid"; wait "$proxy_pid" || true; proxy_pid=""
kill "$sampler_pid" 2>/dev/null || true; sampler_pid=""

read -r sent flood_seconds < "$work/flood.count"
read -r clients_ok clients_bad < "$work/clients.count"
rx=$(counter rx-frames) synacks=$(counter syn-ack-sent) replies=$(counter neighbour-replies)
encapsulated=$(counter encapsulated) dropped=$(counter dropped)
host_control=$(counter to-host-control) host_other=$(counter to-host-other)
to_host=$(( ${host_control:-0} + ${host_other:-0} ))
echo "        flood: $sent SYNs sent in $flood_seconds s ($(( sent / ${flood_seconds%.*} )) per second); proxy: $rx frames in, $synacks SYN-ACKs, $encapsulated encapsulated, $dropped dropped"
check "every real connection completed intact ($clients_ok ok, $clients_bad failed)" \
  holds "clients_ok >= 2 && clients_bad == 0"
[ -f "$work/clients.failures" ] && sed 's/^/        /' "$work/clients.failures" | head -5
gc=$(sed -n 's/^report: gc_collections=\([0-9]*\) .*/\1/p' "$work/proxy.log")
allocated=$(sed -n 's/^report: gc_collections=[0-9]* worker_allocated_bytes=\([0-9]*\).*/\1/p' "$work/proxy.log")
grep '^report:' "$work/proxy.log" | sed 's/^/        /'
window_frames=$(sed -n 's/^report: window_seconds=[0-9.]* frames=\([0-9]*\) .*/\1/p' "$work/proxy.log")
# No GC at all, and nothing allocated per frame (a few bytes once, e.g. when the JIT deoptimises a rare path and
# rebuilds an object it had kept in registers, are not a leak; the per-frame path allocating would show megabytes).
check "after the warm-up: ${gc:-?} GC collections; the worker allocated ${allocated:-?} bytes over ${window_frames:-?} frames" \
  holds "${gc:-1} == 0 && ${allocated:-1} * 1000 < ${window_frames:-0}"
slope=$(/usr/bin/python3 - "$work/rss" <<'PY'
import sys
points = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if len(line.split()) == 2]
points = points[1:]  # the first sample right after the warm-up
n = len(points)
if n < 3:
    print("nan 0 0"); sys.exit()
mx = sum(p[0] for p in points) / n; my = sum(p[1] for p in points) / n
sxx = sum((p[0] - mx) ** 2 for p in points)
slope = sum((p[0] - mx) * (p[1] - my) for p in points) / sxx * 60  # kB per minute
print("%.1f %d %d" % (slope, min(p[1] for p in points), max(p[1] for p in points)))
PY
)
read -r kb_per_min rss_min rss_max <<<"$slope"
# Flat: growing by less than 1 MiB a minute (the JIT and the GC's own heap sizing move it by that much at most).
check "resident memory flat: slope ${kb_per_min} kB/min over $(wc -l < "$work/rss") samples (${rss_min}-${rss_max} kB)" \
  /usr/bin/python3 -c "import sys; sys.exit(0 if abs(float('$kb_per_min')) < 1024 else 1)"
check "the counters add up: frames in ($rx) = SYN-ACKs + neighbour replies + encapsulated + to the host + dropped" \
  holds "${rx:-0} > 0 && rx == synacks + replies + encapsulated + to_host + dropped"
missed=$(awk '$1 == "port-clients" && $2 == "rx-missed" {gsub(",", "", $NF); print $NF}' <<<"$stats")
echo "        the clients' port counted ${missed:-0} frames missed (DPDK rx-missed); $((sent - ${rx:-0})) more SYNs were sent than frames arrived (lost in the veth and the kernel's packet socket before DPDK)"
check "the flood reached the proxy: SYN-ACKs sent ($synacks) for most of the $sent SYNs" holds "synacks * 2 > sent"
echo "soak: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
