#!/usr/bin/env bash
# The backend side: load synproxy's tc program (native/bpf) on a backend's interface, configure it, change its keys
# while it runs, show its counters, remove it.
#
#   backend.sh attach DEV (--key FILE --address ADDR [--address ADDR ...] | --backend-key FILE)
#                         --proxy ADDR [--proxy ADDR ...] [--port 6080]
#                         [--salt-period 60] [--grace SECONDS] [--max-skew-ms 500]
#                         [--strict] [--vip ADDR ...] [--netns NS] [--name NAME]
#   backend.sh rekey DEV  (--key FILE --address ADDR [--address ADDR ...] | --backend-key FILE)
#                         [--netns NS] [--name NAME]
#   backend.sh reload DEV (attach's options)     systemctl reload: rekey when only the keys can have changed,
#                                                 else attach again
#   backend.sh status DEV [--netns NS] [--name NAME]
#   backend.sh detach DEV [--netns NS] [--name NAME]
#
# Keys. The proxies authenticate what they send a backend with K_b, derived from their encap.auth_key_file for the
# backend's encapsulation address (the [[backend]] address they send to):
#     K_b = HKDF-Expand-SHA256(PRK = the key's bytes, info = "synproxy backend auth v1" || address, L = 16)
#   --key FILE --address ADDR: FILE is the proxies' encap.auth_key_file; K_b is derived here for each --address
#     (every address this backend is listed under, e.g. an IPv4 and an IPv6 one; the program picks the key by the
#     packet's outer destination), for its issue key and for its accept key if it has one.
#   --backend-key FILE: K_b already derived (16 bytes a key), so the backend never holds the shared key; it serves
#     whatever outer address packets arrive at (a backend listed under two addresses needs --key and --address).
#   Key files (all of synproxy's): text, '#' starts a comment, blank lines are ignored; either one line of hex
#   digits alone (one key: the form before key rotation), or lines WORD HEX:
#     issue HEX    exactly one: the key in use (the proxies issue with it)
#     accept HEX   at most one: also accepted, during a rotation (the previous or the next key)
#     flow HEX     the cookie secret's only; ignored here
#   Keys of at least 16 bytes (32 hex digits); --backend-key's (synproxy backend-key writes them) exactly 16.
#   Key files must be regular files that group and others cannot access (mode 0600 or 0400). No key ever appears
#   in a command line or in the environment: the map updates reach bpftool on its standard input.
# Key rotation (the proxies' encap.auth_key_file, or the keys made from it by synproxy backend-key) across a fleet
# without one refused packet:
#   1. each backend accepts both keys: its key file gets 'issue OLD' and 'accept NEW' (or its --backend-key file
#      both backend keys), then, on each backend, the rotation step:
#        backend.sh rekey eth0 --key /etc/synproxy/backend.key --address 203.0.113.11   (attach's key options)
#   2. the proxies switch to issuing with NEW (their key file's issue line);
#   3. each backend drops OLD: its key file 'issue NEW' alone, and rekey again. OLD is refused from then on (counted
#      bad-auth), as any third key always is.
#   rekey changes the keys in the live program's maps and nothing else: the program, its counters, proxies, VIPs and
#   timings stay; it refuses to change from --key to --backend-key or the --address list (attach again for that).
#   The program tries the first key, then the second only if set and the first failed: a key file's issue key is
#   tried first, so keep it the key the proxies issue with. A key that both the old and the new set hold authenticates
#   throughout the change (no window without it): a per-address entry is replaced whole (a hash map element swapped
#   in); the --backend-key keys, which sit in sp_config and are rewritten in place, are written so that the key both
#   sets hold never lies in bytes being written: when it changes place, first it is in both places, then the new
#   set (two writes); the same two keys in the other order keep their places (no write; only the order they are
#   tried in would differ). Writes are 0.1 s apart, far longer than a program run holds a value it read.
#   Re-running attach also leaves no window (the new program takes over, by tc filter replace, only with its maps
#   full), but it loads the program again and its counters start from 0.
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

[ $# -ge 2 ] || die "usage: backend.sh attach|rekey|reload|status|detach DEV [options] (see the top of this file)"
action=$1 dev=$2; shift 2
key="" backend_key="" port=6080 period=60 grace="" skew=500 strict=0 netns="" name=""
addresses=() proxies=() vips=() attach_only=()
while [ $# -gt 0 ]; do
  case $1 in
    --strict) strict=1; attach_only+=("$1"); shift; continue ;;
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
  case $1 in --proxy|--vip|--port|--salt-period|--grace|--max-skew-ms) attach_only+=("$1") ;; esac
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

# --key with --address, or --backend-key: checked alike for attach and rekey.
check_key_options() {
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
    die "$action needs --key FILE --address ADDR (the proxies' encap.auth_key_file and this backend's address) or --backend-key FILE (its key, already derived)"
  fi
}

# The keys and the maps, in Python: `keys attach ...` prints the map updates of a fresh program (for bpftool's
# standard input); `keys rekey ...` changes the keys of the live one itself (bpftool reads each update on its
# standard input). Only paths and addresses are arguments; the keys are read from their files.
keys() {
  /usr/bin/python3 - "$@" <<'PY'
import hashlib, hmac, ipaddress, json, struct, subprocess, sys, time

mode, pin, key_file, backend_key_file, port, period, grace, skew, strict, addresses, proxies, vips = sys.argv[1:]

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

def read_keys(path, exact):
    """A key file (the top of backend.sh): (issue, accept or None). exact: each key that many bytes, else >= 16."""
    try:
        text = open(path, encoding="ascii").read()
    except (OSError, UnicodeDecodeError) as e:
        fail("%s: cannot read key file (%s)" % (path, e.__class__.__name__))
    lines = [(n, line.split("#", 1)[0].split()) for n, line in enumerate(text.split("\n"), 1)]
    lines = [(n, words) for n, words in lines if words]

    def key(where, digits):
        if len(digits) % 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            fail("%s: %sa key is hex digits only (an even number of them)" % (path, where))
        value = bytes.fromhex(digits)
        if exact and len(value) != exact:
            fail("%s: %sa backend key is %d hex digits (%d bits); this one has %d bits"
                 % (path, where, exact * 2, exact * 8, len(value) * 8))
        if len(value) < 16:
            fail("%s: %skey has %d bits; at least 128 are needed" % (path, where, len(value) * 8))
        return value

    if len(lines) == 1 and len(lines[0][1]) == 1:  # one line of hex digits alone: one key
        return key("", lines[0][1][0]), None
    if not lines:
        fail("%s: no key in it" % path)
    found = {}
    for n, words in lines:
        if len(words) != 2 or words[0] not in ("issue", "accept", "flow"):
            fail("%s: line %d: expected 'issue HEX', 'accept HEX' or 'flow HEX' (or the whole file one line of hex "
                 "digits alone)" % (path, n))
        if words[0] in found:
            fail("%s: line %d: a second '%s' line; allowed: one issue line, at most one accept line"
                 % (path, n, words[0]))
        found[words[0]] = words[1] if words[0] == "flow" else key("line %d (%s): " % (n, words[0]), words[1])
    if "issue" not in found:
        fail("%s: no 'issue' line (the key in use)" % path)
    accept = found.get("accept")
    return found["issue"], None if accept == found["issue"] else accept

def derive(auth_key, a):
    info = b"synproxy backend auth v1" + a.packed
    return hmac.new(auth_key, info + b"\x01", hashlib.sha256).digest()[:16]  # HKDF-Expand, L = 16

SP_KEYS_SECOND = 0x01
SP_FLAG_STRICT, SP_FLAG_DEFAULT_KEY = 0x01, 0x02
KEYS_SIZE, CONFIG_SIZE = 40, 64

def keys_value(first, second):
    """struct sp_keys (native/bpf/config.h): first, second (zero when unset), flags, 7 reserved bytes."""
    return first + (second or bytes(16)) + bytes([SP_KEYS_SECOND if second else 0]) + bytes(7)

def hexes(data):
    return " ".join("%02x" % b for b in data)

def family(a):
    return "v6" if a.version == 6 else "v4"

addresses = [address("--address", a) for a in addresses.split()]
own_keys = {}  # address -> (first, second)
default_keys = None
if key_file:
    issue, accept = read_keys(key_file, 0)
    for a in addresses:
        own_keys[a] = (derive(issue, a), derive(accept, a) if accept else None)
else:
    default_keys = read_keys(backend_key_file, 16)

def update(map_name, key, value):
    return "map update pinned %s/maps/%s key hex %s value hex %s" % (pin, map_name, hexes(key), hexes(value))

if mode == "attach":
    port = integer("--port", port, 1, 65535, "1 to 65535")
    period = integer("--salt-period", period, 1, 86400, "an integer from 1 to 86400 (seconds)")
    grace = integer("--grace", grace, 0, period, "an integer from 0 to the salt period, %d (seconds)" % period)
    skew = integer("--max-skew-ms", skew, 0, min(grace * 1000, period * 500),
                   "an integer from 0 to min(grace, period / 2) = %d (ms)" % min(grace * 1000, period * 500))
    proxies = [address("--proxy", a) for a in proxies.split()]
    vips = [address("--vip", a) for a in vips.split()]
    flags = SP_FLAG_STRICT if strict == "1" else 0
    if default_keys:
        flags |= SP_FLAG_DEFAULT_KEY
    # bpf_ktime_get_tai_ns is the program's only wall clock: unix time = TAI - this offset (whole seconds).
    tai_offset = round((time.clock_gettime_ns(time.CLOCK_TAI) - time.time_ns()) / 1e9) * 10**9
    lines = []
    for a in proxies:
        lines.append(update("sp_proxies_" + family(a), a.packed, b"\x01"))
    for a in vips:
        lines.append(update("sp_vips_" + family(a), a.packed, b"\x01"))
    for a, (first, second) in own_keys.items():
        lines.append(update("sp_keys_" + family(a), a.packed, keys_value(first, second)))
    # struct sp_config (native/bpf/config.h), host order; written last: until then the program passes everything.
    config = keys_value(*(default_keys or (bytes(16), None)))
    config += struct.pack("<qIIIHBB", tai_offset, period * 1000, grace * 1000, skew, port, 1, flags)
    assert len(config) == CONFIG_SIZE
    lines.append(update("sp_config", bytes(4), config))
    print("\n".join(lines))
    sys.exit(0)

# rekey: the live program's maps, read (bpftool's output comes through a pipe), then changed one value at a time.
def bpftool_json(*args):
    run = subprocess.run(["bpftool", "-j"] + list(args), capture_output=True, text=True)
    if run.returncode:
        fail("bpftool %s: %s" % (" ".join(args[:2]), run.stderr.strip() or "exit %d" % run.returncode))
    return json.loads(run.stdout)

def dump(map_name):
    return {bytes(int(b, 16) for b in e["key"]): bytes(int(b, 16) for b in e["value"])
            for e in bpftool_json("map", "dump", "pinned", "%s/maps/%s" % (pin, map_name))}

if bpftool_json("map", "show", "pinned", pin + "/maps/sp_config").get("bytes_value") != CONFIG_SIZE:
    fail("the program under %s holds one key per address (an older version, before key rotation): attach it "
         "again (this version), then rekey" % pin)
config = dump("sp_config")[bytes(4)]
live = {}
for f in ("v4", "v6"):
    for k, v in dump("sp_keys_" + f).items():
        live[ipaddress.ip_address(k)] = v
writes = 0

def write(map_name, key, value):
    global writes
    if writes:
        time.sleep(0.1)  # no reader still holds what this write may reuse or overwrite (the top of backend.sh)
    run = subprocess.run(["bpftool", "batch", "file", "-"], input=update(map_name, key, value) + "\n", text=True,
                         capture_output=True)
    if run.returncode:
        fail("a map update failed (bpftool exit %d) after %d done: the keys live are still a set the program can "
             "use; run rekey again" % (run.returncode, writes))
    writes += 1

def described(second):
    return "issue and accept keys" if second else "issue key only"

def key_set(value):
    return {value[0:16]} | ({value[16:32]} if value[32] & SP_KEYS_SECOND else set())

def disjoint_note(what, old_value, new_value):
    if not key_set(old_value) & key_set(new_value):
        sys.stderr.write("backend.sh: note: %s: no key both before and after; what the proxies sent with the keys "
                         "before is refused from now on (a rotation keeps one: the top of backend.sh)\n" % what)

if key_file:
    if config[-1] & SP_FLAG_DEFAULT_KEY:
        fail("the program under %s was attached with --backend-key: rekey it with --backend-key FILE (or attach "
             "again to change)" % pin)
    if set(live) != set(addresses):
        fail("rekey --address must name the addresses attach gave (%s): attach again to change them"
             % " ".join(sorted(map(str, live)) or ["none"]))
    for a in addresses:
        first, second = own_keys[a]
        value = keys_value(first, second)
        if live[a] == value:
            print("%s: %s, unchanged" % (a, described(second)))
            continue
        disjoint_note(str(a), live[a], value)
        write("sp_keys_" + family(a), a.packed, value)
        print("%s: %s" % (a, described(second)))
    sys.exit(0)

if not config[-1] & SP_FLAG_DEFAULT_KEY:
    fail("the program under %s was attached with --key and --address: rekey it with those (or attach again to "
         "change)" % pin)
old = (config[0:16], config[16:32] if config[32] & SP_KEYS_SECOND else None)
new = default_keys
old_set, new_set = {k for k in old if k}, {k for k in new if k}
held = (old_set & new_set).pop() if old_set & new_set else None  # at most one unless the sets are equal
if old_set == new_set:
    steps = []  # the same keys, perhaps the other way round: two keys cannot trade places in place, so they stay
elif held and old.index(held) != new.index(held):
    steps = [(held, held), new]  # the key both hold moves: first in both places, then where the new set has it
else:
    steps = [new]  # the key both hold (if any) keeps its place
if steps:
    disjoint_note("default (--backend-key)", config[:KEYS_SIZE], keys_value(*new))
for first, second in steps:
    write("sp_config", bytes(4), keys_value(first, second) + config[KEYS_SIZE:])
print("default (--backend-key): %s%s" % (described(new[1]), "" if steps else ", unchanged" if old == new else
                                         ", unchanged (the same two keys, kept in the order they were)"))
PY
}

mount | grep -q ' /sys/fs/bpf type bpf' || mount -t bpf bpf /sys/fs/bpf

# What attach was given besides the keys, kept under /run (bpffs holds no plain files): reload compares it with its
# own options to know whether changing the keys in place is all it has to do.
record=${SYNPROXY_BACKEND_RUN:-/run/synproxy}/backend-$name.attach
attach_record() {
  printf '%s\n' "keys=${backend_key:+backend-key}${key:+key}" "address=${addresses[*]-}" "proxy=${proxies[*]-}" \
    "vip=${vips[*]-}" "port=$port" "salt-period=$period" "grace=${grace:-$period}" "max-skew-ms=$skew" "strict=$strict"
}
# reload (systemctl reload synproxy-backend@DEV): attach's options, read again. When only the keys can have changed
# (the step of a key rotation), the live program keeps running with its counters and only its keys are rewritten,
# as rekey does; when any other option changed, or nothing was attached, the program is attached again.
if [ "$action" = reload ]; then
  if [ -d "$pin" ] && [ -f "$record" ] && [ "$(attach_record)" = "$(cat "$record")" ]; then
    echo "reload: the options other than the keys are those attached with: changing the keys in place"
    action=rekey attach_only=()
  else
    if [ -d "$pin" ] && [ -f "$record" ]; then
      echo "reload: options other than the keys changed: attaching again"
    else
      echo "reload: nothing attached under $pin by this tool: attaching"
    fi
    action=attach
  fi
fi

case $action in
attach)
  check_key_options
  [ ${#proxies[@]} -gt 0 ] || die "attach needs at least one --proxy ADDR (the proxies' encap source addresses)"
  [ "$strict" = 0 ] || [ ${#vips[@]} -gt 0 ] || die "--strict needs at least one --vip ADDR (the VIPs this backend serves)"
  [ -n "$grace" ] || grace=$period

  # Everything checked and the map updates composed before anything is loaded; the keys leave on standard output,
  # for bpftool's standard input.
  updates=$(keys attach "$pin" "$key" "$backend_key" "$port" "$period" "$grace" "$skew" "$strict" \
      "${addresses[*]-}" "${proxies[*]}" "${vips[*]-}") || exit 2

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
  mkdir -p "$(dirname "$record")"
  attach_record > "$record"
  echo "attached to $dev${netns:+ in $netns}, pinned at $pin"
  for v in ipv4 ipv6; do
    if [ "$(in_ns sysctl -n "net.$v.conf.$dev.forwarding" 2>/dev/null)" = 0 ]; then
      echo "backend.sh: note: net.$v.conf.$dev.forwarding is 0${netns:+ in $netns}: packets the proxies chain to a previous owner over $v are dropped (handover-failed) until it is 1" >&2
    fi
  done
  ;;
rekey)
  check_key_options
  [ ${#attach_only[@]} -eq 0 ] \
    || die "rekey changes the keys only; ${attach_only[*]} belong to attach (attach again to change them)"
  [ -d "$pin" ] || die "nothing attached under $pin: attach first"
  keys rekey "$pin" "$key" "$backend_key" "" "" "" "" "" "${addresses[*]-}" "" "" || exit 2
  echo "rekeyed $dev${netns:+ in $netns} (the program under $pin, kept)"
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
  rm -f "$record"
  echo "detached from $dev${netns:+ in $netns}"
  ;;
*) die "unknown action '$action'; allowed: attach, rekey, reload, status, detach" ;;
esac
