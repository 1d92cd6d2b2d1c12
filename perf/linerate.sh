#!/usr/bin/env bash
# The line-rate harness, one command: hugepages, builds (proxy, C baseline), then perf/linerate.py (see there).
# Arguments go to linerate.py: --scenarios syn-v4,... --seconds 10 --warmup 10 --repeat 3 --workers 1|2
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
. "$here/scripts/java-home.sh"
mkdir -p /dev/hugepages
mount | grep -q ' /dev/hugepages type hugetlbfs' || mount -t hugetlbfs nodev /dev/hugepages
[ "$(cat /proc/sys/vm/nr_hugepages)" -ge 512 ] || echo 512 > /proc/sys/vm/nr_hugepages
(cd "$here" && mvn -B -q -DskipTests package >&2)
if [ -f "$here/perf/baseline-c/Makefile" ]; then
  make -s -C "$here/perf/baseline-c" OUT="$here/target/baseline-c" >&2
fi
exec /usr/bin/python3 "$here/perf/linerate.py" "$@"
