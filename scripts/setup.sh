#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine (run as root); idempotent and quiet.
set -euo pipefail
packages=(maven make gcc pkg-config dpdk dpdk-dev libdpdk-dev clang llvm libbpf-dev libssl-dev bpftool python3-scapy tshark tcpdump iproute2 ethtool curl bird2 iputils-ping prometheus)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages with daemons (bird2) must not start them in this machine's own namespace: tests start their own.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy=1
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$here/scripts/java-home.sh"
echo "setup: JDK $JAVA_HOME" >&2
