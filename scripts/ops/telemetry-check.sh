#!/usr/bin/env bash
# DPDK telemetry, end to end: `synproxy run` on one net_pcap port (the 31-frame fixture) with telemetry on (no
# --no-telemetry in its EAL arguments), asked through Debian's dpdk-telemetry.py -f PREFIX, which reads commands on
# stdin when stdin is no terminal and prints one JSON line per command.
#
# As root, on a built checkout: target/ must hold the jar and the shim (`mvn -o -q -DskipTests package`);
# SYNPROXY_NO_BUILD= (empty) lets scripts/synproxy build them itself. One line per check, `  ok    NAME` or
# `  FAIL  NAME` (with the reason and the replies under it), then `telemetry: P passed, F failed`; the status is 0
# only if all passed; SYNPROXY_TELEMETRY_VERBOSE=1 also prints the replies. The proxy is stopped and
# /var/run/dpdk/PREFIX and the temp dir removed whatever happens.
#
# Standalone: bash scripts/ops/telemetry-check.sh. Sourced (scripts/ops-test.sh): call telemetry_check, which runs in a
# subshell (its own traps, helpers and counts) and returns the same status.

telemetry_check() (
  set -uo pipefail
  local here tmp prefix rundir pid="" passed=0 failed=0 replies
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  [ "$(id -u)" = 0 ] || { echo "telemetry-check: run as root (EAL, /var/run/dpdk)" >&2; return 2; }
  command -v dpdk-telemetry.py >/dev/null \
    || { echo "telemetry-check: no dpdk-telemetry.py: apt-get install dpdk-dev" >&2; return 2; }
  export SYNPROXY_NO_BUILD=${SYNPROXY_NO_BUILD-1}
  if [ -n "$SYNPROXY_NO_BUILD" ] && { ! compgen -G "$here/target/synproxy-*.jar" >/dev/null \
      || [ ! -f "$here/target/native/libsynproxy_shim.so" ]; }; then
    echo "telemetry-check: build first (mvn -o -q -DskipTests package), or let it build: SYNPROXY_NO_BUILD=" >&2
    return 2
  fi

  tmp=$(mktemp -d /tmp/synproxy-telemetry.XXXXXX)
  prefix=spx-tel-$$
  rundir=/var/run/dpdk/$prefix
  cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null; sleep 0.5; kill -TERM "$pid" 2>/dev/null
      for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
    fi
    rm -rf "$rundir" "$tmp"
  }
  trap cleanup EXIT
  trap 'exit 130' INT TERM

  # check NAME FUNCTION [ARGS]: its output is shown only when it fails; `say` gives a reason and fails it.
  check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then
      printf '  ok    %s\n' "$name"
      passed=$((passed + 1))
    else
      printf '  FAIL  %s\n' "$name"
      printf '%s\n' "$out" | tail -n 15 | sed 's/^/          /'
      failed=$((failed + 1))
    fi
  }
  say() { echo "!! $*"; return 1; }

  # ask COMMAND...: the replies, one JSON line each, in order (the script's own "/" on connecting is not printed).
  ask() { printf '%s\n' "$@" | timeout 20 /usr/bin/python3 "$(command -v dpdk-telemetry.py)" -f "$prefix"; }
  # holds REPLY_LINE PYTHON_EXPR: the expression, over r (the reply's value), is true.
  holds() {
    /usr/bin/python3 -c 'import json, sys
r = next(iter(json.loads(sys.argv[1]).values()))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
  }

  local keygen
  keygen=$("$here/scripts/synproxy" keygen --out "$tmp/secret.key" 2>&1 \
    && "$here/scripts/synproxy" keygen --out "$tmp/backend.key" 2>&1) \
    || { printf '%s\n' "$keygen" >&2; echo "telemetry-check: synproxy keygen failed" >&2; return 2; }
  cat > "$tmp/telemetry.toml" <<EOF
[cookie]
secret_file = "secret.key"

[[vip]]
address = "198.51.100.10"
ports = [80, 443]

[[vip]]
address = "2001:db8:100::10"
ports = [80]

[encap]
source_v4 = "203.0.113.1"
source_v6 = "2001:db8:200::1"
auth_key_file = "backend.key"
next_hop_mac = "02:00:00:00:00:fe"

[[backend]]
address = "203.0.113.11"

[dataplane]
eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci", "--file-prefix", "$prefix"]
stats_file = "$tmp/stats"
idle = "backoff"

[[port]]
name = "edge"
device = "net_pcap0,rx_pcap=$here/src/test/resources/fixtures/all_inputs.pcap,tx_pcap=$tmp/out.pcap"

[[worker]]
port = "edge"
core = 0
EOF
  "$here/scripts/synproxy" run -c "$tmp/telemetry.toml" > "$tmp/run.log" 2>&1 &
  pid=$!

  starts() {
    local i
    for i in $(seq 600); do
      grep -q '^running:' "$tmp/run.log" && [ -S "$rundir/dpdk_telemetry.v2" ] && return 0
      kill -0 "$pid" 2>/dev/null || { cat "$tmp/run.log"; say "synproxy run exited"; return 1; }
      sleep 0.1
    done
    cat "$tmp/run.log"
    say "no 'running:' line and telemetry socket $rundir/dpdk_telemetry.v2 within 60 s"
  }
  check "synproxy run starts with telemetry on (socket $rundir/dpdk_telemetry.v2)" starts
  if [ "$failed" != 0 ]; then
    echo "telemetry: $passed passed, $failed failed"
    return 1
  fi

  check "run log says where to query: dpdk-telemetry.py -f $prefix" \
    grep -q "^telemetry: /synproxy/counters and /synproxy/workers; query them with dpdk-telemetry.py -f $prefix\$" \
    "$tmp/run.log"

  # The worker publishes its counters every 100 ms when idle: the capture's 31 frames show up within a second or so.
  counted() {
    local i reply
    for i in $(seq 50); do
      reply=$(ask /synproxy/counters) && holds "$reply" 'r.get("worker_0/rx_frames") == 31' && return 0
      sleep 0.2
    done
    echo "$reply"
    say "no worker_0/rx_frames = 31 in /synproxy/counters within 10 s"
  }
  check "/synproxy/counters: worker_0/rx_frames reaches 31 (the capture's frames, live)" counted

  replies=$(ask / /synproxy/counters /synproxy/counters,worker_0/ /synproxy/workers)
  printf '%s\n' "$replies" > "$tmp/replies"
  reply() { sed -n "$1p" "$tmp/replies"; }

  lists() {
    holds "$(reply 1)" '"/synproxy/counters" in r and "/synproxy/workers" in r' || { reply 1; say "/ lacks them"; }
  }
  check "/ lists /synproxy/counters and /synproxy/workers" lists

  names() {
    local bad=0
    holds "$(reply 2)" 'r.get("worker_0/syn_ack_sent") == 15 and "worker_0/tx_dropped" in r' \
      || say "no worker_0/syn_ack_sent = 15 or worker_0/tx_dropped" || bad=1
    holds "$(reply 2)" '"port_edge/link_up" in r and "backend_203_0_113_11/member" in r' \
      || say "no port_edge/link_up or backend_203_0_113_11/member" || bad=1
    holds "$(reply 2)" 'all(k.replace("_", "a").replace("/", "a").isalnum() for k in r)' \
      || say "a name outside [A-Za-z0-9_/]" || bad=1
    holds "$(reply 2)" 'all(isinstance(v, int) and v >= 0 for v in r.values())' || say "a value that is no count" \
      || bad=1
    [ "$bad" = 0 ] || { reply 2; return 1; }
  }
  check "/synproxy/counters names a label 'OWNER COUNTER' OWNER/COUNTER, other characters as '_'" names

  prefixed() {
    holds "$(reply 3)" 'len(r) > 10 and all(k.startswith("worker_0/") for k in r)' \
      || { reply 3; say "not only worker_0/"; }
  }
  check "/synproxy/counters,worker_0/ shows only worker_0/ names" prefixed

  # PortWorker's busy-ns, idle-ns and load-permille counters come in another change: until they are there, the
  # answer must be an empty dict, and the check's name says so.
  workers() {
    holds "$(reply 4)" "$1" || { reply 4; say "not so"; }
  }
  if holds "$(reply 2)" '"worker_0/busy_ns" in r'; then
    check "/synproxy/workers: worker_0 has busy_ns, idle_ns, load_permille (at most 1000)" workers \
      'set(r.get("worker_0", {})) == {"busy_ns", "idle_ns", "load_permille"} and r["worker_0"]["load_permille"] <= 1000'
  else
    check "/synproxy/workers: {} (this build has no worker_0/busy_ns counter to show)" workers 'r == {}'
  fi

  # Stopped here, not inside check (a subshell cannot wait for it). SIGTERM, as systemd stops it (SIGINT is ignored
  # by a background job of a script): with no VIP routes to withdraw there is nothing to drain, it stops at once.
  local i rc
  kill -TERM "$pid"
  for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null && echo "telemetry-check: synproxy run did not stop within 30 s: killed" >&2
  wait "$pid"
  rc=$?
  pid=""
  stopped() {
    [ "$rc" = 0 ] || { tail -n 20 "$tmp/run.log"; say "exit status $rc"; return 1; }
    grep -q '^stopped: 31 frames received' "$tmp/run.log" \
      || { tail -n 20 "$tmp/run.log"; say "no 'stopped: 31 frames received'"; }
  }
  check "synproxy run stops on SIGTERM (exit 0, 31 frames received)" stopped

  if [ "${SYNPROXY_TELEMETRY_VERBOSE:-}" ]; then
    sed 's/^/          /' "$tmp/replies"
  fi
  echo "telemetry: $passed passed, $failed failed"
  [ "$failed" = 0 ]
)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  telemetry_check
fi
