#!/usr/bin/env bash
# Installs a disassembler for HotSpot's -XX:+PrintAssembly into the JDK 25 (see hsdis_shim.c), e.g. then:
#   java -jar perf/target/benchmarks.jar EngineBenchmark.burst -p scenario=syn-v4 -jvmArgsAppend \
#     "<the fork's options> -XX:+UnlockDiagnosticVMOptions -XX:CompileCommand=print,io.synproxy.engine.SynStage::v4"
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/java-home.sh"
dpkg -s libhsdis0-fcml >/dev/null 2>&1 || apt-get install -y libhsdis0-fcml
gcc -O2 -shared -fPIC -Wall -o "$JAVA_HOME/lib/server/hsdis-amd64.so" "$here/hsdis_shim.c" -ldl
echo "installed $JAVA_HOME/lib/server/hsdis-amd64.so"
