#!/usr/bin/env bash
# The test command: installs what it needs, builds, runs every unit, golden, fuzz and DPDK test (Maven), the engine's
# deep fuzz (scripts/fuzz.sh, 2M frames), the backend program's own tests (scripts/bpf-test.sh: golden frames through
# BPF_PROG_TEST_RUN, a mutation fuzz, real tc ingress), the harness's C lines (perf/baseline-c/check.sh: byte for byte
# against the Java engine and each other), the end-to-end test in network namespaces (scripts/e2e/run.sh), TX checksum
# offload through net_tap to real kernels (scripts/offload-test.sh), the fleet (scripts/fleet/run.sh), backends that
# change (scripts/backends/run.sh), then a 2-minute soak (scripts/soak.sh).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
. "$here/scripts/java-home.sh"
cd "$here"
mvn -B verify "$@"
SYNPROXY_NO_BUILD=1 bash scripts/fuzz.sh --frames 2000000
bash scripts/bpf-test.sh
SYNPROXY_NO_BUILD=1 bash perf/baseline-c/check.sh
SYNPROXY_NO_BUILD=1 bash scripts/e2e/run.sh
SYNPROXY_NO_BUILD=1 bash scripts/offload-test.sh
SYNPROXY_NO_BUILD=1 bash scripts/fleet/run.sh
SYNPROXY_NO_BUILD=1 bash scripts/backends/run.sh
SYNPROXY_NO_BUILD=1 bash scripts/ops-test.sh
SYNPROXY_NO_BUILD=1 bash scripts/soak.sh --minutes 2
