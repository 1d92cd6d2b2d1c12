#!/usr/bin/env bash
# The backend's tc program on its own (native/bpf), through BPF_PROG_TEST_RUN: no proxy, no DPDK, no Maven.
#   - unit checks of its pure headers (replay window, RFC 6040, checksum update) and of the test's reference;
#   - golden cases: frames built with scapy and an independent SipHash / HKDF (native/bpf/test/bpf_test.py), each
#     with its expected verdict, counter and, where it matters, output frame;
#   - a mutation fuzz (native/bpf/test/runner.c): valid frames with random field changes, re-signed or not, each
#     compared with a reference classifier (native/bpf/test/reference.h): exactly one counter moves, by one, the
#     one the reference expects; a socket is never assigned without a valid authenticator;
#   - backend.sh: key file checks, no key in any command line or environment, the maps it writes;
#   - real tc ingress (veth): handshakes, TIME_WAIT reuse, and a hand-over of a chained packet from one backend's
#     program to another's (a second namespace).
# It runs in a network namespace it creates (the VIPs on lo, with a listener, an established connection and a
# TIME_WAIT entry for the program's socket lookups; previous owners behind veth p0 for the hand-over's FIB lookup),
# plus one for backend B, and removes everything on exit. Run as root; needs the Debian
# packages clang llvm libbpf-dev bpftool python3-scapy gcc make pkg-config iproute2.
#
#   bash scripts/bpf-test.sh [--frames N] [--seed S]        (defaults: 1000000 fuzz frames, seed 1)
#
# Prints one line per check and ends with "bpf: P passed, F failed"; exits non-zero on any failure.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
frames=1000000 seed=1
while [ $# -gt 0 ]; do
  case $1 in
    --frames) frames=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) echo "bpf-test.sh: unknown option '$1'; allowed: --frames N, --seed S" >&2; exit 2 ;;
  esac
done
[[ $frames =~ ^[0-9]+$ && $seed =~ ^[0-9]+$ ]] || { echo "bpf-test.sh: --frames and --seed take integers" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bpf-test.sh: run as root (it loads BPF programs and makes a network namespace)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/synproxy-bpf-test.XXXXXX")
ns=spx-bpf-$$ ns_b=spx-bpf-b-$$
name=spx-bpf-test-$$ name_b=spx-bpf-test-b-$$
results=$work/results
: > "$results"
cleanup() {
  set +e
  bash "$here/scripts/backend.sh" detach t0 --netns "$ns" --name "$name" >/dev/null 2>&1
  bash "$here/scripts/backend.sh" detach b0 --netns "$ns_b" --name "$name_b" >/dev/null 2>&1
  ip netns del "$ns" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check NAME COMMAND...: one line, into the results
  local label=$1; shift
  if "$@" >>"$work/checks.log" 2>&1; then echo "  ok    $label"; else echo "  FAIL  $label"; fi | tee -a "$results"
}
summary() {
  local passed failed
  passed=$(grep -c '^  ok ' "$results" || true)
  failed=$(grep -c '^  FAIL ' "$results" || true)
  echo "bpf: $passed passed, $failed failed"
  [ "$failed" = 0 ] && [ "$passed" -gt 0 ]
}

echo "building (native/bpf, clang and gcc)"
build=$work/build
if ! make -s -C "$here/native/bpf" OUT="$build" test >"$work/build.log" 2>&1; then
  sed 's/^/    /' "$work/build.log" | tail -20
  echo "  FAIL  build: the program and its test runner" | tee -a "$results"
  summary || exit 1
fi
echo "  ok    build: the program and its test runner (clang $(clang -dumpversion), libbpf $(pkg-config --modversion libbpf))" | tee -a "$results"
runner=$build/bpf-test-runner obj=$build/synproxy_backend.bpf.o

echo "unit checks"
"$runner" unit | tee -a "$results" || true

# The namespace: the VIPs, the clients and an ICMP-sending router on lo (the runner's lookups see its sockets).
ip netns add "$ns"
ip -n "$ns" link set lo up
for a in 198.51.100.10/32 192.0.2.1/32 192.0.2.254/32; do ip -n "$ns" addr add "$a" dev lo; done
for a in 2001:db8:100::10/128 2001:db8:2::1/128 2001:db8:2::fe/128; do ip -n "$ns" addr add "$a" dev lo nodad; done
ip netns exec "$ns" sysctl -qw net.ipv4.tcp_syncookies=1
# The hand-over's way out (native/bpf/handover.h): previous owners behind veth p0, the runs' ingress interface,
# forwarding on for it alone (bpf_fib_lookup answers only then); routes and permanent neighbour entries, so the
# FIB lookup's answer is known: 10.30.0.5 and 2001:db8:300::5 on the link, 10.40.0.5 via the gateway 10.30.0.254,
# 10.30.0.6 on the link without a neighbour entry, 10.99.0.5 and 2001:db8:999::5 without a route.
ip -n "$ns" link add p0 type veth peer name p1
ip -n "$ns" link set p0 address 02:00:00:00:00:0a
ip -n "$ns" link set p0 up
ip -n "$ns" link set p1 up
ip -n "$ns" addr add 10.30.0.1/24 dev p0
ip -n "$ns" addr add 2001:db8:300::1/64 dev p0 nodad
ip -n "$ns" neigh add 10.30.0.5 lladdr 02:00:00:00:00:0c dev p0 nud permanent
ip -n "$ns" neigh add 10.30.0.254 lladdr 02:00:00:00:00:0d dev p0 nud permanent
ip -n "$ns" neigh add 2001:db8:300::5 lladdr 02:00:00:00:00:0e dev p0 nud permanent
ip -n "$ns" route add 10.40.0.5/32 via 10.30.0.254 dev p0
ip netns exec "$ns" sysctl -qw net.ipv4.conf.p0.forwarding=1 net.ipv6.conf.p0.forwarding=1

echo "golden cases and mutation fuzz ($frames frames, seed $seed), in network namespace $ns"
ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" run --runner "$runner" --obj "$obj" \
  --work "$work" --frames "$frames" --seed "$seed" | tee -a "$results" || true

echo "backend.sh"
ip -n "$ns" link add t0 type veth peer name t1
ip -n "$ns" link set t0 up
ip -n "$ns" link set t1 up
export SYNPROXY_BPF_OUT=$build
pin=/sys/fs/bpf/synproxy/$name
umask 077
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/auth.key"
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/b.key"
echo >> "$work/auth.key"
backend() { bash "$here/scripts/backend.sh" "$@"; }
attach() { backend attach t0 --netns "$ns" --name "$name" "$@"; }
# refused NAME EXPECTED-MESSAGE ATTACH-ARGS...: attach fails with exactly that message (or one containing it)
refused() {
  local label=$1 want=$2 got; shift 2
  if got=$(attach "$@" 2>&1); then echo "  FAIL  $label: attach succeeded" | tee -a "$results"; return; fi
  case $got in
    *"$want"*) echo "  ok    $label" ;;
    *) echo "  FAIL  $label: said '$got'" ;;
  esac | tee -a "$results"
}
chmod 644 "$work/auth.key"
refused "backend.sh refuses a key file readable by group or others, naming file and mode" \
  "backend.sh: $work/auth.key: mode 0644 is readable by group or others; allowed: 0600 or 0400 (chmod 600 $work/auth.key)" \
  --key "$work/auth.key" --address 10.20.0.2 --proxy 203.0.113.1
chmod 620 "$work/auth.key"
refused "backend.sh refuses a key file writable by group" "mode 0620 is open to group or others" \
  --key "$work/auth.key" --address 10.20.0.2 --proxy 203.0.113.1
chmod 600 "$work/auth.key"
mkdir "$work/dir.key"
refused "backend.sh refuses a key that is not a regular file" "$work/dir.key: not a regular file (directory)" \
  --key "$work/dir.key" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses --key with --backend-key" "not both" \
  --key "$work/auth.key" --backend-key "$work/b.key" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses neither --key nor --backend-key" "attach needs --key FILE --address ADDR" \
  --proxy 203.0.113.1
refused "backend.sh refuses --key without --address" "--key needs --address ADDR" \
  --key "$work/auth.key" --proxy 203.0.113.1
refused "backend.sh refuses --address with --backend-key" "--address goes with --key" \
  --backend-key "$work/b.key" --address 10.20.0.2 --proxy 203.0.113.1
printf '0123456789abcdef0123\n' > "$work/short.key"
refused "backend.sh refuses a backend key that is not 128 bits" "a backend key is 32 hex digits (128 bits); this one has 80 bits" \
  --backend-key "$work/short.key" --proxy 203.0.113.1
refused "backend.sh refuses a grace longer than the period" "--grace: '61' is out of range" \
  --backend-key "$work/b.key" --proxy 203.0.113.1 --grace 61
refused "backend.sh refuses a skew beyond the grace" "--max-skew-ms: '500' is out of range" \
  --backend-key "$work/b.key" --proxy 203.0.113.1 --grace 0
refused "backend.sh refuses --strict without --vip" "--strict needs at least one --vip" \
  --backend-key "$work/b.key" --proxy 203.0.113.1 --strict
refused "backend.sh refuses a VIP that is not an address" "--vip: 'vip.example' is not an IPv4 or IPv6 address" \
  --backend-key "$work/b.key" --proxy 203.0.113.1 --vip vip.example
# Key files with issue / accept lines (the top of backend.sh): what is refused, naming file and line.
hex32=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n') hex16=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
key_file() { local file=$work/$1; shift; printf '%s\n' "$@" > "$file"; echo "$file"; }
refused "backend.sh refuses a key file with two issue lines" \
  "$work/two-issue.key: line 3: a second 'issue' line; allowed: one issue line, at most one accept line" \
  --key "$(key_file two-issue.key "# two" "issue $hex32" "issue $hex32")" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses a key file with two accept lines" "line 3: a second 'accept' line" \
  --key "$(key_file two-accept.key "issue $hex32" "accept $hex32" "accept $hex32")" --address 10.20.0.2 \
  --proxy 203.0.113.1
refused "backend.sh refuses a key file with an accept line and no issue line" \
  "$work/no-issue.key: no 'issue' line (the key in use)" \
  --key "$(key_file no-issue.key "accept $hex32")" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses a line that is neither issue, accept nor flow" \
  "$work/word.key: line 2: expected 'issue HEX', 'accept HEX' or 'flow HEX'" \
  --key "$(key_file word.key "issue $hex32" "next $hex32")" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses a bare hex line among issue / accept lines" "line 2: expected 'issue HEX'" \
  --key "$(key_file bare.key "issue $hex32" "$hex32")" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses an accept key shorter than 128 bits" \
  "line 2 (accept): key has 64 bits; at least 128 are needed" \
  --key "$(key_file short-accept.key "issue $hex32" "accept 0123456789abcdef")" --address 10.20.0.2 \
  --proxy 203.0.113.1
refused "backend.sh refuses an accept key that is not hex" "line 2 (accept): a key is hex digits only" \
  --key "$(key_file odd-accept.key "issue $hex32" "accept ${hex32}x")" --address 10.20.0.2 --proxy 203.0.113.1
refused "backend.sh refuses a backend key file's accept key that is not 128 bits" \
  "line 2 (accept): a backend key is 32 hex digits (128 bits); this one has 256 bits" \
  --backend-key "$(key_file long-accept.key "issue $hex16" "accept $hex32")" --proxy 203.0.113.1
refused "backend.sh refuses a key file with no key" "$work/empty.key: no key in it" \
  --key "$(key_file empty.key "# nothing" "")" --address 10.20.0.2 --proxy 203.0.113.1
check "backend.sh refused all of those before loading anything" test ! -e "$pin"

# A bpftool that records its command lines and environment, then runs the real one.
real_bpftool=$(command -v bpftool)
mkdir -p "$work/bin"
# (Map updates on its standard input are copied to a log of their own: the rekey checks read what was written.)
cat > "$work/bin/bpftool" <<EOF
#!/bin/bash
printf '%s\n' "\$*" >> "$work/bpftool-argv.log"
env >> "$work/bpftool-env.log"
if [ "\$*" = "batch file -" ]; then
  tee -a "$work/bpftool-stdin.log" | "$real_bpftool" "\$@"
  exit \${PIPESTATUS[1]}
fi
exec "$real_bpftool" "\$@"
EOF
chmod 755 "$work/bin/bpftool"
: > "$work/bpftool-argv.log"
: > "$work/bpftool-env.log"
if PATH=$work/bin:$PATH attach --key "$work/auth.key" --address 10.20.0.2 --address 2001:db8:200::11 \
    --proxy 203.0.113.1 --proxy 2001:db8:113::1 --vip 198.51.100.10 --vip 2001:db8:100::10 --strict \
    --port 6081 --salt-period 30 --grace 20 --max-skew-ms 250 >>"$work/checks.log" 2>&1; then
  echo "  ok    backend.sh attach --key with two --address, --strict and two --vip" | tee -a "$results"
else
  echo "  FAIL  backend.sh attach --key with two --address, --strict and two --vip (log: below)" | tee -a "$results"
  tail -5 "$work/checks.log"
fi
derive() { ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" derive "$work/auth.key" "$1"; }
kb4=$(derive 10.20.0.2) kb6=$(derive 2001:db8:200::11)
auth_hex=$(tr -d '\n' < "$work/auth.key")
more_keys=()  # the rotation's, below
no_key_in() {  # FILE: none of the keys, in any case, in any spacing
  local flat
  flat=$(tr -d ' \n:' < "$1" | tr 'A-F' 'a-f')
  for k in "$auth_hex" "${auth_hex:0:32}" "$kb4" "$kb6" "$(tr -d '\n' < "$work/b.key")" "${more_keys[@]}"; do
    [[ $flat != *"$k"* ]] || return 1
  done
  # and bpftool saw its map updates through stdin
  grep -q '^batch file -$' "$work/bpftool-argv.log"
}
check "backend.sh: no key in bpftool's command lines (map updates by 'bpftool batch file -')" no_key_in "$work/bpftool-argv.log"
check "backend.sh: no key in bpftool's environment" no_key_in "$work/bpftool-env.log"
check "backend.sh: no key in its own source's bpftool invocations (no 'value hex \$' argument)" \
  bash -c "! grep -nE 'bpftool .*value hex \\$' '$here/scripts/backend.sh'"

# map NAME: {key hex: value hex} of a pinned map
map() { bpftool -j map dump pinned "$pin/maps/$1" | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin):
    print("".join(b[2:] for b in e["key"]), "".join(b[2:] for b in e["value"]))'; }
tai=$(/usr/bin/python3 -c 'import time; print(round((time.clock_gettime_ns(time.CLOCK_TAI) - time.time_ns()) / 1e9) * 10**9)')
config_is() {  # FIRST-HEX SECOND-HEX|- FLAGS PORT PERIOD-MS GRACE-MS SKEW-MS: sp_config as written (config.h)
  map sp_config | /usr/bin/python3 -c '
import struct, sys
first, second, flags, port, period, grace, skew, tai = sys.argv[1:]
value = bytes.fromhex(sys.stdin.read().split()[1])
# struct sp_keys: first, second (all zero when unset), flags (SP_KEYS_SECOND), 7 reserved zero bytes
keys = value[:16].hex(), value[16:32].hex() if value[32] == 1 else "-" if value[16:33] == bytes(17) else "bad"
got = keys, value[33:40] == bytes(7), struct.unpack("<qIIIHBB", value[40:])
want = (first, second), True, (int(tai), int(period), int(grace), int(skew), int(port), 1, int(flags))
print(got, want)
sys.exit(got != want)' "$@" "$tai"
}
keys_hex() {  # FIRST-HEX [SECOND-HEX]: struct sp_keys as the map shows it
  if [ $# -eq 2 ]; then echo "$1${2}01$(printf '0%.0s' {1..14})"; else echo "$1$(printf '0%.0s' {1..48})"; fi
}
check "backend.sh: sp_keys_v4 holds K_b derived (HKDF, RFC 5869-checked) for 10.20.0.2, alone (a legacy key file: one bare hex line)" \
  bash -c "[ \"\$1\" = '0a140002 $(keys_hex "$kb4")' ]" _ "$(map sp_keys_v4)"
check "backend.sh: sp_keys_v6 holds K_b derived for 2001:db8:200::11, alone" \
  bash -c "[ \"\$1\" = '20010db8020000000000000000000011 $(keys_hex "$kb6")' ]" _ "$(map sp_keys_v6)"
check "backend.sh: sp_config: no default key, strict, port 6081, 30000/20000/250 ms, TAI offset, enabled" \
  config_is 00000000000000000000000000000000 - 1 6081 30000 20000 250
check "backend.sh: sp_vips_v4 / sp_vips_v6 and sp_proxies_v4 / sp_proxies_v6 hold the addresses" \
  bash -c "[ \"\$1 \$2 \$3 \$4\" = 'c633640a 01 20010db8010000000000000000000010 01 cb007101 01 20010db8011300000000000000000001 01' ]" \
  _ "$(map sp_vips_v4)" "$(map sp_vips_v6)" "$(map sp_proxies_v4)" "$(map sp_proxies_v6)"
check "backend.sh: the program is on t0's ingress" \
  bash -c "nsenter --net=/var/run/netns/$ns tc filter show dev t0 ingress | grep -q 'direct-action'"
status_names() { backend status t0 --netns "$ns" --name "$name" | awk 'NF == 2 && $2 ~ /^[0-9]+$/ {print $1}'; }
check "backend.sh status: the counter names and order of counters.h (as the runner knows them)" \
  bash -c "[ \"\$1\" = \"\$2\" ]" _ "$(status_names)" "$("$runner" counters)"
# The real thing, as far as one namespace goes: frames into veth t1 reach the program at t0's tc ingress, where
# BPF_PROG_TEST_RUN cannot go (the kfunc wants an skb at tc ingress).
echo "tc ingress (veth t1 -> t0, real sockets)"
ip -n "$ns" addr add 10.20.0.2/24 dev t0
ip -n "$ns" addr add 2001:db8:200::11/64 dev t0 nodad
ip -n "$ns" route add 192.0.2.77/32 dev t0
ip -n "$ns" route add 2001:db8:2::77/128 dev t0
ip -n "$ns" route add 2001:db8:2::78/128 dev t0
ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.t0.rp_filter=0
attach --key "$work/auth.key" --address 10.20.0.2 --address 2001:db8:200::11 --proxy 203.0.113.1 \
  --proxy 2001:db8:113::1 >>"$work/checks.log" 2>&1
ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" ingress --key "$work/auth.key" --dev t1 \
  --backend-dev t0 | tee -a "$results" || true
counter() { backend status t0 --netns "$ns" --name "$name" | awk -v n="$1" '$1 == n {print $2}'; }
check "backend.sh status counts them: handshake-assigned 3, forwarded 3, icmp-passed 3" \
  bash -c "[ \"\$1 \$2 \$3\" = '3 3 3' ]" _ "$(counter handshake-assigned)" "$(counter forwarded)" \
  "$(counter icmp-passed)"

# A 4-tuple reused while the backend holds it in TIME_WAIT (native/bpf/timewait.h): v4 and v6 reopen (RST + copy),
# one refused by the ISN / TSval test, one with tcp_rfc1337=1 whose copy meets TIME_WAIT again.
echo "tc ingress: a handshake over TIME_WAIT"
ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" ingress-timewait --key "$work/auth.key" \
  --dev t1 --backend-dev t0 | tee -a "$results" || true
sleep 0.5
# Handshakes: 4 first connections + 2 copies that reopened; RSTs: v4, v6 and the rfc1337 one; refused: the ISN test
# and the rfc1337 copy (once: no loop); forwarded: the 4 client FINs.
check "backend.sh status: handshake-assigned 9, handshake-over-timewait 3, timewait-refused 2, forwarded 7, timewait-retry-failed 0" \
  bash -c "[ \"\$1 \$2 \$3 \$4 \$5\" = '9 3 2 7 0' ]" _ "$(counter handshake-assigned)" \
  "$(counter handshake-over-timewait)" "$(counter timewait-refused)" "$(counter forwarded)" \
  "$(counter timewait-retry-failed)"

# A hand-over between two backends (native/bpf/handover.h), through real tc ingress hooks: backend B in its own
# namespace (program on b0, VIPs on lo), reached from this one (backend A, program on t0) over veth a0 / b0. B gets
# the flow's socket from a marked ACK sent to it directly; then data for the flow, chained to A naming B, must go
# from A's program (no socket there) out of a0 to B's program and socket. A needs forwarding on t0 (bpf_fib_lookup
# answers only then) and a resolved neighbour for B (here a permanent entry).
echo "tc ingress: a hand-over from backend A (t0) to backend B (b0, namespace $ns_b)"
ip netns add "$ns_b"
ip -n "$ns_b" link set lo up
ip -n "$ns" link add a0 type veth peer name b0 netns "$ns_b"
ip -n "$ns" addr add 10.50.0.1/24 dev a0
ip -n "$ns" addr add 2001:db8:500::1/64 dev a0 nodad
ip -n "$ns_b" addr add 10.50.0.2/24 dev b0
ip -n "$ns_b" addr add 2001:db8:500::2/64 dev b0 nodad
ip -n "$ns" link set a0 up
ip -n "$ns_b" link set b0 up
ip -n "$ns_b" addr add 198.51.100.10/32 dev lo
ip -n "$ns_b" addr add 2001:db8:100::10/128 dev lo nodad
ip -n "$ns_b" route add 192.0.2.77/32 dev b0
ip -n "$ns_b" route add 2001:db8:2::77/128 dev b0
ip netns exec "$ns_b" sysctl -qw net.ipv4.tcp_syncookies=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.b0.rp_filter=0
b_mac=$(ip netns exec "$ns_b" cat /sys/class/net/b0/address)
ip -n "$ns" neigh replace 10.50.0.2 lladdr "$b_mac" dev a0 nud permanent
ip -n "$ns" neigh replace 2001:db8:500::2 lladdr "$b_mac" dev a0 nud permanent
ip netns exec "$ns" sysctl -qw net.ipv4.conf.t0.forwarding=1 net.ipv6.conf.t0.forwarding=1
backend attach b0 --netns "$ns_b" --name "$name_b" --key "$work/auth.key" --address 10.50.0.2 \
  --address 2001:db8:500::2 --proxy 203.0.113.1 --proxy 2001:db8:113::1 >>"$work/checks.log" 2>&1
counter_b() { backend status b0 --netns "$ns_b" --name "$name_b" | awk -v n="$1" '$1 == n {print $2}'; }
ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" ingress-handover --key "$work/auth.key" \
  --dev t1 --backend-dev t0 --link-dev a0 --peer-netns "$ns_b" --peer-mac "$b_mac" | tee -a "$results" || true
check "backend.sh status: A handed-over 2 (handover-failed 0), B handshake-assigned 2 and forwarded 2" \
  bash -c "[ \"\$1 \$2 \$3 \$4\" = '2 0 2 2' ]" _ "$(counter handed-over)" "$(counter handover-failed)" \
  "$(counter_b handshake-assigned)" "$(counter_b forwarded)"

# A rotation of the authentication key (the top of backend.sh), on the live programs: rekey changes their keys and
# nothing else; a handshake under either key becomes a socket, under a third none (bad-auth); a hand-over whose A1
# and A2 are under the accept keys reaches B; once the rotation is over, the old key is refused.
echo "key rotation: backend.sh rekey on the live programs (t0, and B's b0), through tc ingress"
next_hex=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
rotation_key=$(key_file rotation.key "# a rotation, step 1: the key in use and the next one" "" "issue $auth_hex" \
  "accept $next_hex   # the next" "flow $hex32   # the cookie secret's: ignored here")
next_key=$(key_file next.key "issue $next_hex")
third_key=$(key_file third.key "$hex32")
rekey() { PATH=$work/bin:$PATH backend rekey "$@"; }
rekey_t0() { rekey t0 --netns "$ns" --name "$name" "$@"; }
refused_rekey() {  # NAME EXPECTED-MESSAGE REKEY-ARGS...: rekey of t0 fails with that message
  local label=$1 want=$2 got; shift 2
  if got=$(rekey_t0 "$@" 2>&1); then echo "  FAIL  $label: rekey succeeded" | tee -a "$results"; return; fi
  case $got in
    *"$want"*) echo "  ok    $label" ;;
    *) echo "  FAIL  $label: said '$got'" ;;
  esac | tee -a "$results"
}
derive_accept() { ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" derive --accept "$rotation_key" "$1"; }
prog_id() { bpftool -j prog show pinned "$1/prog" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])'; }
ingress_run() {  # bpf_test.py ingress ARGS...: real handshakes into t0, the routes' learnt path MTUs forgotten first
  ip -n "$ns" route flush cache
  ip -n "$ns" -6 route flush cache
  ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" ingress --dev t1 --backend-dev t0 "$@" \
    | tee -a "$results" || true
}
counts() { echo "$(counter handshake-assigned) $(counter forwarded) $(counter icmp-passed) $(counter bad-auth)"; }
plus() {  # "A F I B" dA dF dI dB
  local a f i b; read -r a f i b <<< "$1"; echo "$((a + $2)) $((f + $3)) $((i + $4)) $((b + $5))"
}
kb4n=$(derive_accept 10.20.0.2) kb6n=$(derive_accept 2001:db8:200::11)
more_keys=("$next_hex" "$kb4n" "$kb6n")
id_before=$(prog_id "$pin") before=$(counts)
refused_rekey "backend.sh rekey refuses attach's options" "rekey changes the keys only; --proxy belong to attach" \
  --key "$rotation_key" --address 10.20.0.2 --address 2001:db8:200::11 --proxy 203.0.113.1
refused_rekey "backend.sh rekey refuses an --address list other than attach's, naming attach's" \
  "rekey --address must name the addresses attach gave (10.20.0.2 2001:db8:200::11): attach again to change them" \
  --key "$rotation_key" --address 10.20.0.2
refused_rekey "backend.sh rekey refuses --backend-key on a program attached with --key" \
  "was attached with --key and --address: rekey it with those" --backend-key "$work/b.key"
refused_rekey "backend.sh rekey refuses where nothing is attached" \
  "nothing attached under /sys/fs/bpf/synproxy/spx-none: attach first" --name spx-none --backend-key "$work/b.key"
check "backend.sh rekey refused all of those and changed nothing" \
  bash -c "[ \"\$1\" = '0a140002 $(keys_hex "$kb4")' ]" _ "$(map sp_keys_v4)"
check "backend.sh rekey --key, a key file with issue and accept lines (and comments, a flow line: ignored)" \
  rekey_t0 --key "$rotation_key" --address 10.20.0.2 --address 2001:db8:200::11
check "backend.sh rekey: sp_keys_v4 holds K_b of the issue key first, of the accept key second (its flag set)" \
  bash -c "[ \"\$1\" = '0a140002 $(keys_hex "$kb4" "$kb4n")' ]" _ "$(map sp_keys_v4)"
check "backend.sh rekey: sp_keys_v6 likewise for 2001:db8:200::11" \
  bash -c "[ \"\$1\" = '20010db8020000000000000000000011 $(keys_hex "$kb6" "$kb6n")' ]" _ "$(map sp_keys_v6)"
check "backend.sh rekey: the same program (id $id_before) still attached, its counters kept, nothing else changed" \
  bash -c "[ \"\$1 \$2\" = '$id_before $before' ] && nsenter --net=/var/run/netns/$ns tc filter show dev t0 ingress \
    | grep -q 'id $id_before ' " _ "$(prog_id "$pin")" "$(counts)"
check "backend.sh rekey again with the same file: nothing written" \
  bash -c "bash '$here/scripts/backend.sh' rekey t0 --netns '$ns' --name '$name' --key '$rotation_key' \
    --address 10.20.0.2 --address 2001:db8:200::11 | grep -c ', unchanged' | grep -qx 2"
ingress_run --key "$rotation_key" --use accept --port 8083 --sport 45100 --refused "$third_key" \
  --label "rotation: the proxy on the accept key"
ingress_run --key "$rotation_key" --use issue --port 8084 --sport 45200 --label "rotation: the proxy on the issue key"
check "backend.sh status: under either key handshake-assigned, forwarded, icmp-passed +6 each; the third key bad-auth +1" \
  bash -c "[ \"\$1\" = '$(plus "$before" 6 6 6 1)' ]" _ "$(counts)"
check "backend.sh rekey B (b0) with the same file" \
  rekey b0 --netns "$ns_b" --name "$name_b" --key "$rotation_key" --address 10.50.0.2 --address 2001:db8:500::2
want="$(($(counter handed-over) + 2)) $(($(counter_b handshake-assigned) + 2)) $(($(counter_b forwarded) + 2))"
ip netns exec "$ns" /usr/bin/python3 "$here/native/bpf/test/bpf_test.py" ingress-handover --key "$rotation_key" \
  --use accept --port 8085 --sport 47101 --label "rotation: A1 and A2 under the accept keys" --dev t1 \
  --backend-dev t0 --link-dev a0 --peer-netns "$ns_b" --peer-mac "$b_mac" | tee -a "$results" || true
check "backend.sh status: under the accept keys A handed-over +2, B handshake-assigned +2 and forwarded +2" \
  bash -c "[ \"\$1 \$2 \$3\" = '$want' ]" _ "$(counter handed-over)" "$(counter_b handshake-assigned)" \
  "$(counter_b forwarded)"
before=$(counts)
check "backend.sh rekey --key with the new key alone: the rotation over" \
  rekey_t0 --key "$next_key" --address 10.20.0.2 --address 2001:db8:200::11
check "backend.sh rekey: sp_keys_v4 holds K_b of the new key alone" \
  bash -c "[ \"\$1\" = '0a140002 $(keys_hex "$kb4n")' ]" _ "$(map sp_keys_v4)"
ingress_run --key "$next_key" --port 8086 --sport 45300 --refused "$work/auth.key" \
  --label "rotation over: the proxy on the new key; the old key refused"
check "backend.sh status: under the new key handshake-assigned, forwarded, icmp-passed +3 each; the old key bad-auth +1" \
  bash -c "[ \"\$1\" = '$(plus "$before" 3 3 3 1)' ]" _ "$(counts)"
# reload (what systemctl reload synproxy-backend@IF runs): attach's options, read again.
reload_t0() { PATH=$work/bin:$PATH backend reload t0 --netns "$ns" --name "$name" "$@"; }
t0_options=(--address 10.20.0.2 --address 2001:db8:200::11 --proxy 203.0.113.1 --proxy 2001:db8:113::1)
id_before=$(prog_id "$pin") before=$(counts)
check "backend.sh reload, attach's options with another key file: the keys changed in place (no attach)" \
  bash -c "reload_out=\$(PATH=$work/bin:\$PATH bash '$here/scripts/backend.sh' reload t0 --netns '$ns' --name '$name' \
    --key '$rotation_key' ${t0_options[*]}) && grep -q 'changing the keys in place' <<< \"\$reload_out\" \
    && ! grep -q '^attached to' <<< \"\$reload_out\""
check "backend.sh reload: sp_keys_v4 holds the rotation file's two keys, the same program (id $id_before), counters kept" \
  bash -c "[ \"\$1|\$2 \$3\" = '0a140002 $(keys_hex "$kb4" "$kb4n")|$id_before $before' ]" _ "$(map sp_keys_v4)" \
  "$(prog_id "$pin")" "$(counts)"
check "backend.sh reload with another --port: attached again (a new program), port 6081 in sp_config" \
  bash -c "reload_t0() { PATH=$work/bin:\$PATH bash '$here/scripts/backend.sh' reload t0 --netns '$ns' --name '$name' \"\$@\"; }
    reload_t0 --key '$rotation_key' ${t0_options[*]} --port 6081 | grep -q 'options other than the keys changed' \
    && [ \"\$(bpftool -j prog show pinned '$pin/prog' | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])')\" != '$id_before' ]"
check "backend.sh reload: the new program's sp_config has port 6081 (flags 0: two --proxy, no --strict)" \
  config_is 00000000000000000000000000000000 - 0 6081 60000 60000 500
check "backend.sh reload: the new program's sp_keys_v4 holds the rotation file's two keys" \
  bash -c "[ \"\$1\" = '0a140002 $(keys_hex "$kb4" "$kb4n")' ]" _ "$(map sp_keys_v4)"
check "backend.sh rekey: no key in bpftool's command lines" no_key_in "$work/bpftool-argv.log"
check "backend.sh rekey: no key in bpftool's environment" no_key_in "$work/bpftool-env.log"

check "backend.sh attach --backend-key: the key as the default, no per-address keys" \
  bash -c "bash '$here/scripts/backend.sh' attach t0 --netns '$ns' --name '$name' --backend-key '$work/b.key' \
    --proxy 203.0.113.1 >/dev/null && [ -z \"\$(bpftool -j map dump pinned '$pin/maps/sp_keys_v4' | tr -d '[]')\" ]"
check "backend.sh: sp_config with --backend-key and the defaults (6080, 60 s, grace 60 s, 500 ms)" \
  config_is "$(tr -d '\n' < "$work/b.key")" - 2 6080 60000 60000 500

# --backend-key keys sit in sp_config, rewritten in place: rekey writes them so that the key both the old and the new
# set hold is never in bytes being written (the top of backend.sh). What it wrote, write by write, from the log of
# bpftool's standard input.
b_hex=$(tr -d '\n' < "$work/b.key") b2_hex=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
config_writes() {  # WANT-KEYS-HEX...: the keys part of each sp_config write since the log was emptied, in order
  local got
  got=$(grep 'maps/sp_config ' "$work/bpftool-stdin.log" | sed 's/.*value hex //' | tr -d ' ' | cut -c1-80 | xargs)
  echo "writes: $got"
  [ "$got" = "$*" ]
}
rekey_b() {  # KEY-FILE-LINES...: rekey t0 --backend-key with a file of those lines; its output in rekey.out
  : > "$work/bpftool-stdin.log"
  rekey_t0 --backend-key "$(key_file backend-rotation.key "$@")" > "$work/rekey.out" 2>&1
}
rekey_b "issue $b_hex" "accept $b2_hex"
check "backend.sh rekey --backend-key, issue and accept: one write, the key in use kept in its place" \
  config_writes "$(keys_hex "$b_hex" "$b2_hex")"
check "backend.sh rekey --backend-key: sp_config holds both, its other fields unchanged" \
  config_is "$b_hex" "$b2_hex" 2 6080 60000 60000 500
rekey_b "issue $b2_hex" "accept $b_hex"
check "backend.sh rekey --backend-key, the same two the other way round: nothing written, said so" \
  bash -c "grep -q 'unchanged (the same two keys, kept in the order they were)' '$work/rekey.out' \
    && ! grep -q 'maps/sp_config' '$work/bpftool-stdin.log'"
rekey_b "issue $b2_hex"
check "backend.sh rekey --backend-key, the new key alone: it moves to first place by two writes, in both places first" \
  config_writes "$(keys_hex "$b2_hex" "$b2_hex")" "$(keys_hex "$b2_hex")"
check "backend.sh rekey --backend-key: sp_config holds the new key alone" config_is "$b2_hex" - 2 6080 60000 60000 500
rekey_b "issue $b_hex" "accept $b2_hex"
check "backend.sh rekey --backend-key, the held key moving to second place: in both places first, then the new set" \
  config_writes "$(keys_hex "$b2_hex" "$b2_hex")" "$(keys_hex "$b_hex" "$b2_hex")"
rekey_b "# a legacy file: one bare line" "$b_hex"
check "backend.sh rekey --backend-key, a legacy one-line file: one write, sp_config holds that key alone" \
  bash -c "grep -q 'issue key only' '$work/rekey.out' && [ \"\$(grep -c maps/sp_config '$work/bpftool-stdin.log')\" = 1 ]"
check "backend.sh rekey --backend-key: sp_config holds the legacy file's key alone" \
  config_is "$b_hex" - 2 6080 60000 60000 500
rekey_b "issue $b2_hex"
check "backend.sh rekey --backend-key with no key in common: done, with a note that the old key is refused from now" \
  bash -c "grep -q 'note: default (--backend-key): no key both before and after' '$work/rekey.out' \
    && grep -q 'default (--backend-key): issue key only' '$work/rekey.out'"
more_keys+=("$b2_hex")
check "backend.sh rekey --backend-key: no key in bpftool's command lines" no_key_in "$work/bpftool-argv.log"
check "backend.sh detach removes the program and its pins" \
  bash -c "bash '$here/scripts/backend.sh' detach t0 --netns '$ns' --name '$name' >/dev/null && [ ! -e '$pin' ]"

summary
