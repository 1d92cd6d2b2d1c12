#!/bin/bash
# /usr/lib/synproxy/backend.sh, also /usr/bin/synproxy-backend (the synproxy Debian package): the backend tool,
# scripts/backend.sh of the repository installed as /usr/lib/synproxy/scripts/backend.sh, so that it finds the
# program's sources and Makefile in /usr/lib/synproxy/native/bpf.
#
#   synproxy-backend attach DEV (--key FILE --address ADDR [--address ADDR ...] | --backend-key FILE)
#                               --proxy ADDR [--proxy ADDR ...] [--port 6080] [--salt-period 60] [--grace SECONDS]
#                               [--max-skew-ms 500] [--strict] [--vip ADDR ...] [--netns NS] [--name NAME]
#   synproxy-backend rekey DEV (--key FILE --address ADDR [--address ADDR ...] | --backend-key FILE)
#                              [--netns NS] [--name NAME]      the step of a key rotation: the live program's keys
#   synproxy-backend status DEV [--netns NS] [--name NAME]
#   synproxy-backend detach DEV [--netns NS] [--name NAME]
#
# attach builds the tc program with clang against the running kernel's BTF (/sys/kernel/btf/vmlinux), under
# /var/cache/synproxy/bpf/KERNEL-RELEASE (a new kernel gets its own build; the package's postinst empties the
# cache, so an upgrade rebuilds it from the new sources); SYNPROXY_BPF_OUT overrides the place.
# The options are described at the top of /usr/lib/synproxy/scripts/backend.sh and in README.md ("The backends").
set -euo pipefail
if [ -z "${SYNPROXY_BPF_OUT:-}" ]; then
  SYNPROXY_BPF_OUT=/var/cache/synproxy/bpf/$(uname -r)
fi
export SYNPROXY_BPF_OUT
exec /usr/lib/synproxy/scripts/backend.sh "$@"
