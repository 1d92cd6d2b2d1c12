#!/usr/bin/env bash
# The backend side: load synproxy's tc program (native/bpf) on a backend's interface, configure it, show its
# counters, remove it.
#
#   backend.sh attach DEV (--key FILE --address ADDR [--address ADDR ...] | --backend-key FILE)
#                         --proxy ADDR [--proxy ADDR ...] [--port 6080]
#                         [--salt-period 60] [--grace SECONDS] [--max-skew-ms 500]
#                         [--strict] [--vip ADDR ...] [--netns NS] [--name NAME]
#   backend.sh status DEV [--netns NS] [--name NAME]
#   backend.sh detach DEV [--netns NS] [--name NAME]
#
# Keys. The proxies authenticate what they send a backend with K_b, derived from their encap.auth_key_file for the
# backend's encapsulation address (the [[backend]] address they send to):
#     K_b = HKDF-Expand-SHA256(PRK = the key file's bytes, info = "synproxy backend auth v1" || address, L = 16)
#   --key FILE --address ADDR: FILE is the proxies' encap.auth_key_file; K_b is derived here for each --address
#     (every address this backend is listed under, e.g. an IPv4 and an IPv6 one; the program picks the key by the
#     packet's outer destination).
#   --backend-key FILE: K_b already derived (32 hex digits), so the backend never holds the shared key; it serves
#     whatever outer address packets arrive at (a backend listed under two addresses needs --key and --address).
#   Key files must be regular files that group and others cannot access (mode 0600 or 0400). No key ever appears
#   in a command line or in the environment: the map updates reach bpftool on its standard input.
# --proxy: the proxies' encap.source_v4 / source_v6. --port, --salt-period, --grace and --max-skew-ms must equal
#   the proxies' encap.port, cookie.salt_period_seconds, cookie.grace_seconds (default: the period) and
#   cookie.max_clock_skew_ms: a marked (handshake) packet is accepted only while its cookie could still validate,
#   by this machine's clock (keep it synchronised as the proxies' are).
# --strict with --vip ADDR (repeatable, IPv4 or IPv6: the VIPs this backend serves): TCP to a VIP that did not
#   arrive encapsulated from a listed proxy is dropped (counter not-encapsulated), so nobody reaches the service
#   around the proxies. Without --strict it passes as any other traffic does.
# TIME_WAIT: when a client reuses a 4-tuple this backend still holds in TIME_WAIT, the program ends the TIME_WAIT
#   entry with a RST at its rcv_nxt and takes a copy of the handshake ACK again (native/bpf/timewait.h; counters
#   handshake-over-timewait, timewait-refused), if the kernel would let a SYN reopen it (new ISN after the old
#   rcv_nxt, or a newer TSval). Keep net.ipv4.tcp_rfc1337=0 (the default) on backends: with 1 the kernel ignores
#   that RST, and the new connection waits out TIME_WAIT (its ACK dropped, counted timewait-refused) as it did
#   before. The copy carries skb->mark 0x53505254 back through ingress; the program clears it.
# Hand-over (native/bpf/handover.h): after a change of the backend set a proxy may name a flow's previous owner in
#   an unmarked packet (the chained header, native/bpf/encap.h). If no socket here owns the flow, the program
#   rewrites the packet into the plain header the previous owner accepts and sends it there itself: next hop from
#   the kernel's routes and neighbour table (bpf_fib_lookup from DEV), out by bpf_redirect (counters handed-over,
#   handover-refused, handover-failed). The lookup answers only with forwarding enabled on DEV
#   (net.ipv4.conf.DEV.forwarding=1, net.ipv6.conf.DEV.forwarding=1; attach warns when it is off) and only for a
#   next hop whose neighbour entry is resolved (the packet is dropped, not queued, while it is not).
# The program and its maps are pinned under /sys/fs/bpf/synproxy/NAME (default NAME: NS-DEV or DEV).
# SYNPROXY_BPF_OUT: where the program is built (default: target/bpf in the checkout).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "backend.sh: $*" >&2; exit 2; }

# Counter names in the order of enum sp_counter (native/bpf/counters.h); the BPF test suite checks the two agree.
counter_names="not-ours not-encapsulated outer-options outer-fragment unknown-proxy no-key malformed bad-version
bad-auth stale-epoch ce-not-ect mixed-family decap-failed icmp-passed handshake-assigned handshake-existing
handshake-over-timewait timewait-refused
timewait-retry-failed handshake-no-listener handshake-refused forwarded no-socket handed-over handover-refused
handover-failed"

[ $# -ge 2 ] || die "usage: backend.sh attach|status|detach DEV [options] (see the top of this file)"
action=$1 dev=$2; shift 2
key="" backend_key="" port=6080 period=60 grace="" skew=500 strict=0 netns="" name=""
addresses=() proxies=() vips=()
while [ $# -gt 0 ]; do
  case $1 in
    --strict) strict=1; shift; continue ;;
    --key|--backend-key|--address|--proxy|--vip|--port|--salt-period|--grace|--max-skew-ms|--netns|--name)
      [ $# -ge 2 ] || die "$1 needs a value" ;;
    *) die "unknown option '$1'; allowed: --key --address --backend-key --proxy --port --salt-period --grace --max-skew-ms --strict --vip --netns --name" ;;
  esac
  case $1 in
    --key) key=$2 ;;
    --backend-key) backend_key=$2 ;;
    --address) addresses+=("$2") ;;
    --proxy) proxies+=("$2") ;;
    --vip) vips+=("$2") ;;
    --port) port=$2 ;;
    --salt-period) period=$2 ;;
    --grace) grace=$2 ;;
    --max-skew-ms) skew=$2 ;;
    --netns) netns=$2 ;;
    --name) name=$2 ;;
  esac
  shift 2
done
[ -n "$name" ] || name=${netns:+$netns-}$dev
[[ $name =~ ^[A-Za-z0-9._@:-]+$ ]] || die "--name '$name': use letters, digits and . _ @ : - only"
pin=/sys/fs/bpf/synproxy/$name
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding the pinned program in /sys/fs/bpf from tc.
in_ns() { if [ -n "$netns" ]; then nsenter --net="/var/run/netns/$netns" "$@"; else "$@"; fi; }

# A key file: a regular file (a symlink to one is fine) that only its owner can open.
check_key_file() {
  local file=$1 type mode shown what
  [ -e "$file" ] || die "$file: no such file"
  type=$(stat -L -c %F -- "$file")
  [ "$type" = "regular file" ] || die "$file: not a regular file ($type); a key file must be one"
  mode=$(stat -L -c %a -- "$file")
  if (( 8#$mode & 8#077 )); then
    printf -v shown '%04o' "$((8#$mode & 8#7777))"
    if (( 8#$mode & 8#044 )); then what="readable by group or others"; else what="open to group or others"; fi
    die "$file: mode $shown is $what; allowed: 0600 or 0400 (chmod 600 $file)"
  fi
}

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

case $action in
attach)
  if [ -n "$key" ] && [ -n "$backend_key" ]; then
    die "give --key FILE with --address ADDR, or --backend-key FILE, not both"
  elif [ -n "$key" ]; then
    [ ${#addresses[@]} -gt 0 ] \
      || die "--key needs --address ADDR: this backend's encapsulation address (its [[backend]] address on the proxies), to derive its key"
    check_key_file "$key"
  elif [ -n "$backend_key" ]; then
    [ ${#addresses[@]} -eq 0 ] || die "--address goes with --key; --backend-key FILE holds a key already derived"
    check_key_file "$backend_key"
  else
    die "attach needs --key FILE --address ADDR (the proxies' encap.auth_key_file and this backend's address) or --backend-key FILE (its key, already derived)"
  fi
  [ ${#proxies[@]} -gt 0 ] || die "attach needs at least one --proxy ADDR (the proxies' encap source addresses)"
  [ "$strict" = 0 ] || [ ${#vips[@]} -gt 0 ] || die "--strict needs at least one --vip ADDR (the VIPs this backend serves)"
  [ -n "$grace" ] || grace=$period

  # Everything checked and the map updates composed before anything is loaded. Only paths and addresses are
  # arguments here; the keys are read from their files and leave on standard output, for bpftool's standard input.
  updates=$(/usr/bin/python3 - "$pin" "$key" "$backend_key" "$port" "$period" "$grace" "$skew" "$strict" \
      "${addresses[*]-}" "${proxies[*]}" "${vips[*]-}" <<'PY'
import hashlib, hmac, ipaddress, struct, sys, time

pin, key_file, backend_key_file, port, period, grace, skew, strict, addresses, proxies, vips = sys.argv[1:]

def fail(message):
    sys.stderr.write("backend.sh: %s\n" % message)
    sys.exit(2)

def integer(option, text, low, high, what):
    if not text.isdigit() or not low <= int(text) <= high:
        fail("%s: '%s' is out of range; allowed: %s" % (option, text, what))
    return int(text)

def address(option, text):
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        fail("%s: '%s' is not an IPv4 or IPv6 address" % (option, text))

def read_hex(path):
    try:
        text = open(path, encoding="ascii").read().strip()
    except (OSError, UnicodeDecodeError) as e:
        fail("%s: cannot read key file (%s)" % (path, e.__class__.__name__))
    if len(text) % 2 or any(c not in "0123456789abcdefABCDEF" for c in text):
        fail("%s: a key file must hold only hex digits (an even number of them)" % path)
    return bytes.fromhex(text)

port = integer("--port", port, 1, 65535, "1 to 65535")
period = integer("--salt-period", period, 1, 86400, "an integer from 1 to 86400 (seconds)")
grace = integer("--grace", grace, 0, period, "an integer from 0 to the salt period, %d (seconds)" % period)
skew = integer("--max-skew-ms", skew, 0, min(grace * 1000, period * 500),
               "an integer from 0 to min(grace, period / 2) = %d (ms)" % min(grace * 1000, period * 500))
addresses = [address("--address", a) for a in addresses.split()]
proxies = [address("--proxy", a) for a in proxies.split()]
vips = [address("--vip", a) for a in vips.split()]

flags = 0
own_keys = {}
default_key = bytes(16)
if key_file:
    auth_key = read_hex(key_file)
    if len(auth_key) < 16:
        fail("%s: key has %d bits; at least 128 are needed" % (key_file, len(auth_key) * 8))
    for a in addresses:
        info = b"synproxy backend auth v1" + a.packed
        own_keys[a] = hmac.new(auth_key, info + b"\x01", hashlib.sha256).digest()[:16]  # HKDF-Expand, L = 16
else:
    default_key = read_hex(backend_key_file)
    if len(default_key) != 16:
        fail("%s: a backend key is 32 hex digits (128 bits); this one has %d bits" % (backend_key_file, len(default_key) * 8))
    flags |= 0x02  # SP_FLAG_DEFAULT_KEY
if strict == "1":
    flags |= 0x01  # SP_FLAG_STRICT
# bpf_ktime_get_tai_ns is the program's only wall clock: unix time = TAI - this offset (whole seconds).
tai_offset = round((time.clock_gettime_ns(time.CLOCK_TAI) - time.time_ns()) / 1e9) * 10**9

def hexes(data):
    return " ".join("%02x" % b for b in data)

def keys_value(first):
    """struct sp_keys (native/bpf/config.h): first, no second (zero, its flag clear), 7 reserved bytes."""
    return first + bytes(16) + bytes(8)

def family(a):
    return "v6" if a.version == 6 else "v4"

lines = []
for a in proxies:
    lines.append("map update pinned %s/maps/sp_proxies_%s key hex %s value hex 01" % (pin, family(a), hexes(a.packed)))
for a in vips:
    lines.append("map update pinned %s/maps/sp_vips_%s key hex %s value hex 01" % (pin, family(a), hexes(a.packed)))
for a, k in own_keys.items():
    lines.append("map update pinned %s/maps/sp_keys_%s key hex %s value hex %s" % (pin, family(a), hexes(a.packed), hexes(keys_value(k))))
# struct sp_config (native/bpf/config.h), host order; written last: until then the program passes everything.
config = keys_value(default_key) + struct.pack("<qIIIHBB", tai_offset, period * 1000, grace * 1000, skew, port, 1, flags)
lines.append("map update pinned %s/maps/sp_config key hex 00 00 00 00 value hex %s" % (pin, hexes(config)))
print("\n".join(lines))
PY
) || exit 2

  obj=${SYNPROXY_BPF_OUT:-$here/target/bpf}/synproxy_backend.bpf.o
  make -s -C "$here/native/bpf" OUT="$(dirname "$obj")" "$obj" >&2
  [ "$(in_ns sysctl -n net.ipv4.tcp_syncookies)" != 0 ] \
    || die "net.ipv4.tcp_syncookies is 0${netns:+ in $netns}: the kernel would drop the request sockets; set it to 1"
  rm -rf "$pin"
  mkdir -p "$pin"
  log=${TMPDIR:-/tmp}/synproxy-backend-$name.log
  if ! bpftool prog load "$obj" "$pin/prog" type classifier pinmaps "$pin/maps" 2>"$log"; then
    grep -vE "^[0-9]+: |^; " "$log" | tail -5 >&2
    die "the kernel refused the program (log: $log). It needs Linux 6.9+ (bpf_sk_assign_tcp_reqsk) and BTF"
  fi
  # printf is a builtin (no argv of its own) and a pipe is no file: the keys touch neither.
  if ! printf '%s\n' "$updates" | bpftool batch file - >/dev/null; then
    rm -rf "$pin"
    die "configuring the program's maps failed (bpftool's message above)"
  fi
  unset updates
  in_ns tc qdisc add dev "$dev" clsact 2>/dev/null || true
  in_ns tc filter replace dev "$dev" ingress pref 1 handle 1 bpf object-pinned "$pin/prog" da
  echo "attached to $dev${netns:+ in $netns}, pinned at $pin"
  for v in ipv4 ipv6; do
    if [ "$(in_ns sysctl -n "net.$v.conf.$dev.forwarding" 2>/dev/null)" = 0 ]; then
      echo "backend.sh: note: net.$v.conf.$dev.forwarding is 0${netns:+ in $netns}: packets the proxies chain to a previous owner over $v are dropped (handover-failed) until it is 1" >&2
    fi
  done
  ;;
status)
  [ -d "$pin" ] || die "nothing attached under $pin"
  in_ns tc filter show dev "$dev" ingress
  bpftool -j map dump pinned "$pin/maps/sp_counters" | /usr/bin/python3 -c '
import json, sys
names = sys.argv[1].split()
for entry in json.load(sys.stdin):
    key = entry["key"] if isinstance(entry["key"], int) else int.from_bytes(bytes(int(b, 16) for b in entry["key"]), "little")
    total = sum(v["value"] if isinstance(v["value"], int) else int.from_bytes(bytes(int(b, 16) for b in v["value"]), "little") for v in entry["values"])
    print("%-24s %d" % (names[key] if key < len(names) else key, total))' "$counter_names"
  ;;
detach)
  in_ns tc filter del dev "$dev" ingress pref 1 handle 1 bpf 2>/dev/null || true
  in_ns tc qdisc del dev "$dev" clsact 2>/dev/null || true
  rm -rf "$pin"
  echo "detached from $dev${netns:+ in $netns}"
  ;;
*) die "unknown action '$action'; allowed: attach, status, detach" ;;
esac
