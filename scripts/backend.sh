#!/usr/bin/env bash
# The backend side: load synproxy's tc program (native/bpf) on a backend's interface, configure it, show its
# counters, remove it.
#
#   backend.sh attach DEV --key FILE --proxy ADDR [--proxy ADDR ...] [--port 6080] [--mss-v4 A,B,C,D]
#                         [--mss-v6 A,B,C,D] [--netns NS] [--name NAME]
#   backend.sh status DEV [--netns NS] [--name NAME]
#   backend.sh detach DEV [--netns NS] [--name NAME]
#
# --key is the proxies' encap.auth_key_file; --proxy the proxies' encap.source_v4/_v6; --port and the MSS tables
# must match the proxies' configuration (the defaults do). The program and its maps are pinned under
# /sys/fs/bpf/synproxy/NAME (default NAME: NS-DEV or DEV).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "backend.sh: $*" >&2; exit 2; }

[ $# -ge 2 ] || die "usage: backend.sh attach|status|detach DEV [options] (see the top of this file)"
action=$1 dev=$2; shift 2
key="" port=6080 mss4=536,1300,1440,1460 mss6=1220,1420,1440,8940 netns="" name="" proxies=()
while [ $# -gt 0 ]; do
  case $1 in
    --key) key=$2; shift 2 ;;
    --proxy) proxies+=("$2"); shift 2 ;;
    --port) port=$2; shift 2 ;;
    --mss-v4) mss4=$2; shift 2 ;;
    --mss-v6) mss6=$2; shift 2 ;;
    --netns) netns=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    *) die "unknown option '$1'; allowed: --key --proxy --port --mss-v4 --mss-v6 --netns --name" ;;
  esac
done
[ -n "$name" ] || name=${netns:+$netns-}$dev
pin=/sys/fs/bpf/synproxy/$name
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding the pinned program in /sys/fs/bpf from tc.
in_ns() { if [ -n "$netns" ]; then nsenter --net="/var/run/netns/$netns" "$@"; else "$@"; fi; }

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

case $action in
attach)
  [ -n "$key" ] || die "attach needs --key FILE (the proxies' encap.auth_key_file)"
  [ ${#proxies[@]} -gt 0 ] || die "attach needs at least one --proxy ADDR (the proxies' encap source addresses)"
  obj=$here/target/bpf/synproxy_backend.bpf.o
  make -s -C "$here/native/bpf" OUT="$here/target/bpf" >&2
  [ "$(in_ns sysctl -n net.ipv4.tcp_syncookies)" != 0 ] \
    || die "net.ipv4.tcp_syncookies is 0${netns:+ in $netns}: the kernel would drop the request sockets; set it to 1"
  rm -rf "$pin"
  mkdir -p "$pin"
  if ! bpftool prog load "$obj" "$pin/prog" type classifier pinmaps "$pin/maps" 2>"${TMPDIR:-/tmp}/synproxy-backend-$name.log"; then
    grep -vE "^[0-9]+: |^; " "${TMPDIR:-/tmp}/synproxy-backend-$name.log" | tail -5 >&2
    die "the kernel refused the program (log: ${TMPDIR:-/tmp}/synproxy-backend-$name.log). It needs Linux 6.9+ (bpf_sk_assign_tcp_reqsk) and BTF"
  fi
  # struct sp_config (native/bpf/maps.h), host order: key words, port, MSS tables, enabled, padding.
  value=$(/usr/bin/python3 - "$key" "$port" "$mss4" "$mss6" <<'PY'
import struct, sys
key = bytes.fromhex(open(sys.argv[1]).read().strip())
if len(key) < 16:
    sys.exit("key file has fewer than 128 bits")
mss4 = [int(x) for x in sys.argv[3].split(",")]
mss6 = [int(x) for x in sys.argv[4].split(",")]
value = key[:16] + struct.pack("<H4H4HH", int(sys.argv[2]), *mss4, *mss6, 1) + bytes(4)
print(" ".join("%02x" % b for b in value))
PY
)
  for proxy in "${proxies[@]}"; do
    addr=$(/usr/bin/python3 -c 'import ipaddress,sys; print(" ".join("%02x" % b for b in ipaddress.ip_address(sys.argv[1]).packed))' "$proxy")
    case $proxy in
      *:*) bpftool map update pinned "$pin/maps/sp_proxies_v6" key hex $addr value hex 01 ;;
      *) bpftool map update pinned "$pin/maps/sp_proxies_v4" key hex $addr value hex 01 ;;
    esac
  done
  bpftool map update pinned "$pin/maps/sp_config" key hex 00 00 00 00 value hex $value
  in_ns tc qdisc add dev "$dev" clsact 2>/dev/null || true
  in_ns tc filter replace dev "$dev" ingress pref 1 handle 1 bpf object-pinned "$pin/prog" da
  echo "attached to $dev${netns:+ in $netns}, pinned at $pin"
  ;;
status)
  [ -d "$pin" ] || die "nothing attached under $pin"
  in_ns tc filter show dev "$dev" ingress
  bpftool -j map dump pinned "$pin/maps/sp_counters" | /usr/bin/python3 -c '
import json, sys
names = ["not-ours", "malformed", "unknown-proxy", "bad-auth", "mixed-family", "decap-failed", "handshake-assigned",
         "handshake-existing", "handshake-no-listener", "handshake-refused", "forwarded", "no-socket"]
for entry in json.load(sys.stdin):
    key = entry["key"] if isinstance(entry["key"], int) else int.from_bytes(bytes(int(b, 16) for b in entry["key"]), "little")
    total = sum(v["value"] if isinstance(v["value"], int) else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in entry["values"])
    print("%-24s %d" % (names[key] if key < len(names) else key, total))'
  ;;
detach)
  in_ns tc filter del dev "$dev" ingress pref 1 handle 1 bpf 2>/dev/null || true
  in_ns tc qdisc del dev "$dev" clsact 2>/dev/null || true
  rm -rf "$pin"
  echo "detached from $dev${netns:+ in $netns}"
  ;;
*) die "unknown action '$action'; allowed: attach, status, detach" ;;
esac
