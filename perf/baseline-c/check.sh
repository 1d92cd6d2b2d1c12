#!/usr/bin/env bash
# Builds the C baseline and checks its three lines on captures the Java generator makes, one line per check, ending
# with "c-lines: P passed, F failed"; exits 1 if any failed. Part of the test command (scripts/test.sh). About 15 s.
# It takes no lock of its own: a test run inside a command that holds one (flock /tmp/heavy.lock scripts/test.sh, as
# on a shared machine) would wait for itself forever.
#
#   perf/baseline-c/check.sh
#
# The runs use --no-huge (no hugepages needed) and finite net_pcap captures: each run reads the capture once and
# writes what it sends to a tx_pcap, which the checks compare (scalar and SIMD lines byte for byte, record timestamps
# aside: net_pcap stamps each frame with the time it was sent) or parse (pcap_check.py).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d /tmp/c-lines-check.XXXXXX)
trap "rm -rf \"\$work\" /var/run/dpdk/c-lines-check-$$" EXIT
passed=0
failed=0

# check NAME COMMAND...: one line, ok or FAIL (then the command's last lines of output, indented).
check() {
  local name=$1
  shift
  if "$@" >"$work/check.log" 2>&1; then
    echo "ok   $name"
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    tail -n 5 "$work/check.log" | sed 's/^/       /'
    failed=$((failed + 1))
  fi
}

finish() {
  echo "c-lines: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit
}

# --- Build: the C program, and the Java CLI if this checkout has no jar yet (the captures come from it). ---
baseline="$root/target/baseline-c/baseline"
check "build (make, -Wall -Wextra -Werror)" make -s -C "$here" OUT="$root/target/baseline-c"
[ -x "$baseline" ] || finish
. "$root/scripts/java-home.sh"
if [ ! -f "$root/target/synproxy-0.1.0-SNAPSHOT.jar" ]; then
  check "build the Java CLI (mvn package)" bash -c "cd '$root' && mvn -B -q -DskipTests package"
fi
export SYNPROXY_NO_BUILD=1
synproxy="$root/scripts/synproxy"

# --- Inputs: the line-rate harness's keys, configuration and captures. ---
setup() {
  "$synproxy" keygen --out "$work/secret.key" && "$synproxy" keygen --out "$work/backend.key" \
    && python3 -c "import sys; sys.path.insert(0, '$root/perf'); import linerate; \
linerate.write_config('$work', '$work/unused.pcap', 1, 1)" \
    && for scenario in syn-v4 mix ack-valid-v4 ack-invalid-v4; do
      "$synproxy" gen -c "$work/bench.toml" --scenario "$scenario" --count 1024 --out "$work/$scenario.pcap" || return 1
    done
}
check "inputs: keys, the harness's configuration, syn-v4/mix/ack-valid-v4/ack-invalid-v4 captures" setup
[ -f "$work/ack-invalid-v4.pcap" ] || finish

# c_run NAME CAPTURE ARGS...: one pass of the capture through the baseline; $work/NAME.pcap (stamps zeroed),
# NAME.json (its JSON line) and NAME.err (stderr).
c_run() {
  local name=$1 capture=$2
  shift 2
  "$baseline" -l 0 --no-huge -m 256 --no-pci --no-telemetry --file-prefix "c-lines-check-$$" \
    --vdev "net_pcap0,rx_pcap=$capture" --vdev "net_pcap1,tx_pcap=$work/$name.raw.pcap" \
    -- --seconds 0.3 --warmup 0 --secret-file "$work/secret.key" --salt-period 86400 "$@" \
    >"$work/$name.json" 2>"$work/$name.err" \
    && python3 "$here/pcap_check.py" strip "$work/$name.raw.pcap" "$work/$name.pcap"
}

# json_is NAME EXPR: the run's JSON line satisfies a Python expression over its fields (d).
json_is() {
  python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2], {"d": d})
print(("" if ok else "not ") + sys.argv[2] + ": " + json.dumps(d))
sys.exit(0 if ok else 1)' "$work/$1.json" "$2"
}

same_as_scalar() {
  cmp "$work/syn-scalar.pcap" "$work/$1.pcap" && echo "identical"
}

# --- SYN lines ---
c_run syn-scalar "$work/syn-v4.pcap" --mode scalar
check "siphash self-test (reference vectors through scalar and every SIMD width this CPU runs)" \
  grep "self-test" "$work/syn-scalar.err"
check "syn scalar: 1024 SYN-ACKs from 1024 SYNs" json_is syn-scalar 'd["tx"] == 1024 and d["dropped"] == 0'
check "syn scalar: SYN-ACKs byte-identical to the Java engine's (synproxy replay)" bash -c \
  "'$synproxy' replay -c '$work/bench.toml' --in '$work/syn-v4.pcap' --out '$work/java-syn.pcap' >/dev/null 2>&1 \
   && python3 '$here/pcap_check.py' same '$work/syn-scalar.pcap' '$work/java-syn.pcap'"
c_run syn-simd "$work/syn-v4.pcap" --mode simd
isa=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["isa"])' "$work/syn-simd.json" 2>/dev/null)
check "syn simd (isa chosen at run time: ${isa:-?}): output identical to scalar (cmp)" same_as_scalar syn-simd
if grep -qw avx2 /proc/cpuinfo; then
  c_run syn-simd-avx2 "$work/syn-v4.pcap" --mode simd --isa avx2
  check "syn simd, --isa avx2 forced: output identical to scalar (cmp)" same_as_scalar syn-simd-avx2
fi
c_run syn-simd-scalar "$work/syn-v4.pcap" --mode simd --isa scalar
check "syn simd, --isa scalar forced (lanes hashed one by one): output identical to scalar (cmp)" \
  same_as_scalar syn-simd-scalar
# The mix capture drops a tenth of each burst (ACKs, data): partial groups and scalar tails in the lanes.
c_run mix-scalar "$work/mix.pcap" --mode scalar
c_run mix-simd "$work/mix.pcap" --mode simd
check "mix capture (partial bursts: vector groups and scalar tails): simd output identical to scalar (cmp)" \
  cmp "$work/mix-scalar.pcap" "$work/mix-simd.pcap"

# --- ACK line ---
c_run ack "$work/ack-valid-v4.pcap" --mode ack --auth-key-file "$work/backend.key"
check "ack: all 1024 handshake ACKs validate (0 cookie failures) and are encapsulated" \
  json_is ack 'd["ack_not_validated"] == 0 and d["dropped"] == 0 and d["tx"] == 1024'
check "ack: outer IPv4 checksum, UDP, encapsulation header and inner IPv4 valid in every frame" \
  python3 "$here/pcap_check.py" encap "$work/ack.pcap"
check "ack: frames byte-identical to the Java engine's (synproxy replay)" bash -c \
  "'$synproxy' replay -c '$work/bench.toml' --in '$work/ack-valid-v4.pcap' --out '$work/java-ack.pcap' >/dev/null 2>&1 \
   && python3 '$here/pcap_check.py' same '$work/ack.pcap' '$work/java-ack.pcap'"
if grep -qw avx2 /proc/cpuinfo; then
  c_run ack-avx2 "$work/ack-valid-v4.pcap" --mode ack --isa avx2 --auth-key-file "$work/backend.key"
  check "ack, --isa avx2 forced: output identical (cmp)" cmp "$work/ack.pcap" "$work/ack-avx2.pcap"
fi
c_run ack-forged "$work/ack-invalid-v4.pcap" --mode ack --auth-key-file "$work/backend.key"
check "ack: every forged cookie of ack-invalid-v4 counted as ack_not_validated (1024) and nothing sent" \
  json_is ack-forged 'd["ack_not_validated"] == 1024 and d["tx"] == 0'
finish
