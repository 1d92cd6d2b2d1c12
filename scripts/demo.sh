#!/usr/bin/env bash
# The main job: the whole system on a built-in topology, in network namespaces on this machine. A real curl (Linux
# TCP) reaches an HTTP server through synproxy running on DPDK; the backend's kernel creates each socket from the
# ACK the proxy validated (tc BPF + bpf_sk_assign_tcp_reqsk); replies go straight back to the client. Then every
# client option combination, IPv6, and a short SYN / forged-ACK flood while real clients connect; the proxy's and the
# backend's counters are shown. Then the fleet (scripts/fleet/run.sh): two nodes behind an ECMP router, VIPs announced
# by BIRD through each node's exception path, a node killed and one drained under 40 transfers, floods, a router MAC
# change. Everything is torn down at the end. Exits 0 only when every check of both passed.
# (The capture-only demo of the packet engine is scripts/demo-replay.sh.)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
. "$here/scripts/java-home.sh"
(cd "$here" && mvn -B -q -DskipTests package >&2)
status=0
SYNPROXY_NO_BUILD=1 bash "$here/scripts/e2e/run.sh" || status=1
SYNPROXY_NO_BUILD=1 bash "$here/scripts/fleet/run.sh" || status=1
SYNPROXY_NO_BUILD=1 bash "$here/scripts/backends/run.sh" || status=1
exit $status
