#!/usr/bin/env bash
# JMH benchmark of the packet engine (ns/packet, bursts of 32) with the GC profiler (B/op must be 0).
# Extra arguments go to JMH, e.g. `scripts/bench-engine.sh -p scenario=syn-v4 -f 3`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
. "$here/scripts/java-home.sh"
cd "$here"
mvn -B -q -DskipTests install
mvn -B -q -f perf/pom.xml package
exec java -jar perf/target/benchmarks.jar EngineBenchmark -prof gc "$@"
