#!/usr/bin/env bash
# The demo, until the DPDK data plane exists: one TCP handshake per fixture SYN, played entirely through pcap files
# (no traffic on any network). The proxy answers the SYNs with cookie SYN-ACKs, scapy plays the clients' ACKs (plus
# forged ones), the proxy validates them and encapsulates them to the backends, and tshark checks the result.
# Ends with "demo: N checks passed" (exit 0) or "demo: FAILED: ..." (exit 1). Run as root on Debian 12.
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# What the fixtures and the reference config promise (src/test/resources/fixtures/README.md, config/synproxy.toml).
fixture="$here/src/test/resources/fixtures/all_inputs.pcap"
expected_synacks=15          # the scapy SYNs to answer in all_inputs.pcap (one carries data)
client_isn_plus_1=0x11223345 # every scapy SYN has ISN 0x11223344
client_mac=02:00:00:00:00:01
proxy_mac=02:00:00:00:00:02
encap_port=6080
forged_delta=12345           # make_acks.py's forged ACKs: the valid ack + 12345
unknown_ack=0x5eed1234       # make_acks.py's ACK for a flow the proxy never saw

bash "$here/scripts/setup.sh"

# A tool failing (as opposed to a check) still ends with the demo's verdict line; reported by the main shell only,
# so a failure inside a pipeline is not reported twice.
trap 'rc=$?; [ "$BASHPID" != $$ ] || echo "demo: FAILED: line $LINENO: $BASH_COMMAND exited $rc" >&2' ERR
work=$(mktemp -d "${TMPDIR:-/tmp}/synproxy-demo.XXXXXX")
trap 'rm -rf "$work"' EXIT

synproxy() { "$here/scripts/synproxy" "$@"; }
# tshark, verifying checksums (off by default), with the sequence analysis that flags our deliberately repeated
# 4-tuple as retransmissions turned off. Only its "running as root" warning is hidden: real errors still show.
ts() {
  tshark -n -r "$1" -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE \
    -o tcp.analyze_sequence_numbers:FALSE -o tcp.relative_sequence_numbers:FALSE "${@:2}" \
    2> >(grep -v '^Running as user' >&2 || true)
}
# The value of one counter in the verdict counts `synproxy replay` prints (-1 when it is missing).
counter() { awk -v name="$2" '$1 == name { v = $2 } END { print (v == "" ? -1 : v) }' "$1"; }
section() { printf '\n== %s\n' "$*"; }

passed=0
failed=()
# check NAME COMMAND...: runs COMMAND, records the outcome under NAME.
check() {
  local name=$1; shift
  if "$@"; then
    passed=$((passed + 1)); echo "  ok    $name"
  else
    failed+=("$name"); echo "  FAIL  $name"
  fi
}
# holds EXPR: true when the bash arithmetic expression EXPR is.
holds() { (( $1 )); }
# all_equal WANT VALUE...: true when there is at least one value and every value is WANT.
all_equal() {
  local want=$1; shift
  [ $# -gt 0 ] || return 1
  local v
  for v in "$@"; do [ "$v" = "$want" ] || return 1; done
}

# ---------------------------------------------------------------- 1. keys and config
section "1. keys and configuration ($work)"
synproxy keygen --out "$work/secret.key"   # the cookie master secret
synproxy keygen --out "$work/backend.key"  # authenticates what we encapsulate to the backends
cp "$here/config/synproxy.toml" "$work/"   # its key paths are relative to the config file: they find the keys above
synproxy check -c "$work/synproxy.toml"

# ---------------------------------------------------------------- 2. SYNs -> SYN-ACKs
# --clock capture (the default, spelled out): the salt epoch comes from each frame's capture time, so the ACKs
# below, stamped 1 ms after their SYN-ACK, validate in the same epoch however long ago the fixture was made.
section "2. replay $(basename "$fixture") (SYNs, frames to drop, an established ACK, a RST)"
synproxy replay -c "$work/synproxy.toml" --in "$fixture" --out "$work/synacks.pcap" --clock capture \
  | tee "$work/synacks.counts"

# ---------------------------------------------------------------- 3. the clients answer
section "3. the clients' ACKs (scapy)"
/usr/bin/python3 "$here/scripts/fixtures/make_acks.py" "$work/synacks.pcap" "$work/acks.pcap"

# ---------------------------------------------------------------- 4. ACKs -> backends
section "4. replay acks.pcap"
synproxy replay -c "$work/synproxy.toml" --in "$work/acks.pcap" --out "$work/encap.pcap" --clock capture \
  | tee "$work/encap.counts"

# ---------------------------------------------------------------- 5. what the proxy sent
section "5. a few SYN-ACKs the proxy sent (plain, ECN, VLAN, IPv6)"
synack_filter="tcp.flags.syn == 1 && tcp.flags.ack == 1"
mapfile -t synack_numbers < <(ts "$work/synacks.pcap" -Y "$synack_filter" -T fields -e frame.number)
if [ ${#synack_numbers[@]} -ge 12 ]; then
  # all_inputs.pcap order: no options, ..., ECN (7th), ..., VLAN (10th), ..., IPv6 Linux (12th).
  ts "$work/synacks.pcap" -Y "frame.number in {${synack_numbers[0]}, ${synack_numbers[6]}, ${synack_numbers[9]},
    ${synack_numbers[11]}}"
else
  ts "$work/synacks.pcap" -Y "$synack_filter" -c 4
fi

# One line per SYN-ACK: flags, seq (the cookie), ack, checksum statuses, MACs.
# Checksum status values (tshark 4.0, verified by corrupting a byte): 0 bad, 1 good, 2 not verified (checking off).
mapfile -t synacks < <(ts "$work/synacks.pcap" -Y "$synack_filter" -T fields -E separator=' ' \
  -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw -e tcp.checksum.status -e eth.src -e eth.dst)
mapfile -t ip_checksums < <(ts "$work/synacks.pcap" -Y "ip && $synack_filter" -T fields -e ip.checksum.status)
synack_flags=() synack_seqs=() synack_acks=() tcp_checksums=() synack_macs=()
for line in "${synacks[@]}"; do
  read -r flags seq ack tcp_status src dst <<<"$line"
  synack_flags+=("$flags"); synack_seqs+=("$seq"); synack_acks+=("$ack"); tcp_checksums+=("$tcp_status")
  synack_macs+=("$src>$dst")
done
n_synacks=${#synacks[@]}
# Exactly one SYN asked for ECN (SYN|ECE|CWR): its SYN-ACK is SYN|ACK|ECE (RFC 3168), every other one SYN|ACK.
n_ece=0 n_plain=0
for f in "${synack_flags[@]}"; do
  case $f in 0x0012) n_plain=$((n_plain + 1)) ;; 0x0052) n_ece=$((n_ece + 1)) ;; esac
done

# Decode encap.pcap by hand (tshark 4.0 has no dissector for our 16-byte header): one line per frame with the outer
# addresses and checksum status, the header's first bytes and flags, and the inner TCP ack.
mapfile -t encap_raw < <(ts "$work/encap.pcap" -T fields -E separator=' ' -e frame.number -e ip.src -e ip.dst \
  -e ip.checksum.status -e udp.dstport -e udp.payload)
encap_bad_header=() marked_flags=()
n_handshake_marked=0 n_handshake_unmarked=0 n_forged_marked=0 n_forged_unmarked=0
n_unknown_marked=0 n_unknown_unmarked=0 n_other=0 n_outer_bad=0
declare -A synack_seq_count=()
for s in "${synack_seqs[@]}"; do synack_seq_count[$s]=$(( ${synack_seq_count[$s]:-0} + 1 )); done
decoded=()
for line in "${encap_raw[@]}"; do
  read -r number outer_src outer_dst outer_status dport payload <<<"$line"
  [ "$outer_status" = 1 ] && [ "$dport" = "$encap_port" ] || n_outer_bad=$((n_outer_bad + 1))
  byte0=${payload:0:2} proto=$((16#${payload:2:2})) flags=$((16#${payload:4:4}))
  inner=${payload:32}
  # The inner packet starts right after the header: IPv4 (IHL words) or IPv6 (40 bytes, next header TCP).
  if [ "$proto" = 4 ] && [ "${inner:0:1}" = 4 ] && [ "${inner:18:2}" = 06 ]; then
    tcp_at=$(( 16#${inner:1:1} * 8 ))
  elif [ "$proto" = 41 ] && [ "${inner:0:1}" = 6 ] && [ "${inner:12:2}" = 06 ]; then
    tcp_at=80
  else
    encap_bad_header+=("frame $number: byte0 $byte0 proto $proto inner ${inner:0:2}"); continue
  fi
  [ "$byte0" = 03 ] || encap_bad_header+=("frame $number: byte0 $byte0")
  [ $(( (flags >> 12) & 7 )) = 1 ] || encap_bad_header+=("frame $number: version $(( (flags >> 12) & 7 ))")
  ack=$((16#${inner:tcp_at+16:8}))
  marked=$(( (flags & 0x8000) != 0 ))
  [ "$marked" = 1 ] && marked_flags+=("$(printf '0x%04x' "$flags")")
  # Classify by the inner ack against the SYN-ACKs' cookies: handshake, forged (+12345), the unknown flow.
  if [ -n "${synack_seq_count[$(( (ack - 1) & 0xffffffff ))]:-}" ]; then
    kind=handshake; [ "$marked" = 1 ] && n_handshake_marked=$((n_handshake_marked + 1)) \
      || n_handshake_unmarked=$((n_handshake_unmarked + 1))
  elif [ -n "${synack_seq_count[$(( (ack - 1 - forged_delta) & 0xffffffff ))]:-}" ]; then
    kind=forged; [ "$marked" = 1 ] && n_forged_marked=$((n_forged_marked + 1)) \
      || n_forged_unmarked=$((n_forged_unmarked + 1))
  elif [ "$ack" = $((unknown_ack)) ]; then
    kind=unknown-flow; [ "$marked" = 1 ] && n_unknown_marked=$((n_unknown_marked + 1)) \
      || n_unknown_unmarked=$((n_unknown_unmarked + 1))
  else
    kind=other; n_other=$((n_other + 1))
  fi
  decoded+=("$(printf '%4s  %s -> %-13s  inner IPv%s  flags 0x%04x  ack 0x%08x  %s' "$number" "$outer_src" \
    "$outer_dst" "$([ "$proto" = 4 ] && echo 4 || echo 6)" "$flags" "$ack" "$kind")")
done

section "encapsulated to the backends (UDP $encap_port; first 6 and the last)"
ts "$work/encap.pcap" -c 2
printf '%s\n' "${decoded[@]:0:6}" "  ..." "${decoded[@]: -1}"
# Which flags the marked ACKs carried: 0x8000, version 1 (0x1000), the cookie's epoch (bits 11-4), the window scale.
printf 'marked flags (0x8000 | version | epoch | window scale): %s\n' "$(printf '%s\n' "${marked_flags[@]}" | sort | uniq -c | awk '{ printf "%s x%s  ", $2, $1 }')"

# ---------------------------------------------------------------- checks
section "checks"
synack_counter=$(counter "$work/synacks.counts" syn-ack-sent)
ack_valid_counter=$(counter "$work/encap.counts" ack-valid)
check "synacks.pcap: $expected_synacks SYN-ACKs (got $n_synacks)" holds "n_synacks == expected_synacks"
check "synacks.pcap: SYN-ACK count = the proxy's syn-ack-sent ($synack_counter)" holds "n_synacks == synack_counter"
check "synacks.pcap: every IPv4 header checksum good (${#ip_checksums[@]} IPv4 SYN-ACKs)" \
  all_equal 1 "${ip_checksums[@]}"
check "synacks.pcap: every TCP checksum good" all_equal 1 "${tcp_checksums[@]}"
check "synacks.pcap: flags SYN|ACK ($n_plain) or SYN|ACK|ECE for the one ECN SYN ($n_ece)" \
  holds "n_plain == n_synacks - 1 && n_ece == 1"
check "synacks.pcap: ack = client ISN + 1 ($client_isn_plus_1)" all_equal $((client_isn_plus_1)) "${synack_acks[@]}"
check "synacks.pcap: sent from the proxy's MAC to the client's" all_equal "$proxy_mac>$client_mac" "${synack_macs[@]}"
check "encap.pcap: outer IPv4 checksum good and UDP port $encap_port ($n_outer_bad bad)" holds "n_outer_bad == 0"
check "encap.pcap: header byte0 0x03, version 1, proto 4/41 matching the inner packet (${#encap_bad_header[@]} bad)" \
  holds "${#encap_bad_header[@]} == 0"
check "encap.pcap: frames marked 0x8000 (${#marked_flags[@]}) = SYN-ACKs ($n_synacks)" \
  holds "${#marked_flags[@]} == n_synacks"
check "encap.pcap: every handshake ACK present and marked ($n_handshake_marked marked, $n_handshake_unmarked not)" \
  holds "n_handshake_marked == n_synacks && n_handshake_unmarked == 0"
check "encap.pcap: forged ACKs present, none marked ($n_forged_unmarked unmarked, $n_forged_marked marked)" \
  holds "n_forged_unmarked == n_synacks && n_forged_marked == 0"
check "encap.pcap: unknown-flow ACK present, not marked" holds "n_unknown_unmarked == 1 && n_unknown_marked == 0"
check "encap.pcap: nothing unexpected ($n_other other frames)" holds "n_other == 0"
check "encap.pcap: the proxy's ack-valid ($ack_valid_counter) = SYN-ACKs" holds "ack_valid_counter == n_synacks"
for bad in "${encap_bad_header[@]}"; do echo "        $bad"; done

echo
if [ ${#failed[@]} -eq 0 ]; then
  echo "demo: $passed checks passed"
else
  printf -v list '\n  %s' "${failed[@]}"
  echo "demo: FAILED: ${#failed[@]} of $((passed + ${#failed[@]})) checks:$list"
  exit 1
fi
