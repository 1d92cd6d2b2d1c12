#!/usr/bin/env bash
# Operations: the Debian package. Builds it (scripts/package.sh; SYNPROXY_NO_BUILD=1 packages what target/ holds),
# inspects it, installs it, uses the CLI, the services' helpers and the backend tool from the installed tree, verifies
# the systemd units, removes it (only the conffiles stay) and purges it. As root; one line per check, ends with
# `ops: P passed, F failed`; exits 0 only if all passed. The package is purged at the end whatever happens.
# SYNPROXY_OPS_VERBOSE=1 shows every check's output, not only a failing one's.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ "$(id -u)" = 0 ] || { echo "ops-test: run as root" >&2; exit 2; }
cd "$here"

passed=0 failed=0
tmp=$(mktemp -d /tmp/synproxy-ops.XXXXXX)
ns=spx-ops-$$
installed_by_us=""
cleanup() {
  if [ -n "$installed_by_us" ]; then
    /usr/lib/synproxy/backend.sh detach b0 --netns "$ns" >/dev/null 2>&1
    dpkg -P synproxy >/dev/null 2>&1
  fi
  ip netns del "$ns" 2>/dev/null
  rm -rf "/var/run/dpdk/$ns" "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# check NAME FUNCTION [ARGS]: runs FUNCTION (in a subshell), its output kept; it fails when FUNCTION does or said why
# (say); then the reasons and the output's end are shown under the line.
check() {
  local name=$1 out
  shift
  if out=$("$@" 2>&1) && ! grep -q '^!! ' <<< "$out"; then
    printf '  ok    %s\n' "$name"
    if [ -n "${SYNPROXY_OPS_VERBOSE:-}" ]; then printf '%s\n' "$out" | sed 's/^/          /'; fi
    passed=$((passed + 1))
  else
    printf '  FAIL  %s\n' "$name"
    { grep '^!! ' <<< "$out"; grep -v '^!! ' <<< "$out" | tail -n 15; } | sed 's/^/          /'
    failed=$((failed + 1))
  fi
}
finish() {
  echo "ops: $passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit
}
say() { echo "!! $*"; return 1; }   # a failing check's reason (the check goes on, and fails)

pom_version=$(sed -n 's|^  <version>\(.*\)</version>|\1|p' pom.xml | head -1)
version=${pom_version/-SNAPSHOT/\~snapshot}
version=${version//-/\~}
version=${version,,}
deb=$here/target/synproxy_${version}_amd64.deb

status_of() { dpkg-query -W -f='${db:Status-Abbrev}' synproxy 2>/dev/null | tr -d ' '; }

# --- before anything is installed --------------------------------------------------------------------------------
not_installed_already() {
  local s
  s=$(status_of)
  [ -z "$s" ] || [ "$s" = un ] || [ "$s" = pn ] \
    || say "a synproxy package is installed already (dpkg status '$s'): this test would purge it and its /etc/synproxy; dpkg -P synproxy first"
}
check "no synproxy package installed before the test" not_installed_already
[ "$failed" = 0 ] || finish

builds() {
  rm -f "$deb"
  bash scripts/package.sh || return 1
  [ -f "$deb" ] || say "scripts/package.sh did not write $deb"
}
check "package builds: target/synproxy_${version}_amd64.deb (pom.xml $pom_version)" builds
[ -f "$deb" ] || finish

no_build_fails_clearly() {
  # A checkout with nothing built: package.sh with SYNPROXY_NO_BUILD names what is missing.
  local copy=$tmp/empty-checkout out
  mkdir -p "$copy/scripts" "$copy/target"
  cp -r pom.xml config packaging "$copy/"
  cp scripts/package.sh scripts/java-home.sh "$copy/scripts/"
  if out=$(SYNPROXY_NO_BUILD=1 bash "$copy/scripts/package.sh" 2>&1); then
    say "package.sh succeeded without a jar: $out"
  else
    echo "$out"
    grep -q "missing: .*synproxy-$pom_version.jar.*libsynproxy_shim.so" <<< "$out" || say "no clear message"
  fi
}
check "package.sh with SYNPROXY_NO_BUILD=1 and nothing built names what is missing" no_build_fails_clearly

control_fields() {
  local f
  dpkg-deb --info "$deb" || return 1
  [ "$(dpkg-deb -f "$deb" Package)" = synproxy ] || say "Package"
  [ "$(dpkg-deb -f "$deb" Version)" = "$version" ] || say "Version is not $version"
  [ "$(dpkg-deb -f "$deb" Architecture)" = amd64 ] || say "Architecture"
  [ -n "$(dpkg-deb -f "$deb" Maintainer)" ] && [ -n "$(dpkg-deb -f "$deb" Description)" ] || say "Maintainer/Description"
  local depends
  depends=$(dpkg-deb -f "$deb" Depends)
  for f in dpdk librte-mempool-ring iproute2 kmod python3 make clang libbpf-dev bpftool; do
    grep -qE "(^|, )$f" <<< "$depends" || say "Depends lacks $f"
  done
  ! grep -qiE 'jdk|jre|temurin|java' <<< "$depends" || say "Depends names a JDK: $depends"
  dpkg-deb --info "$deb" postinst >/dev/null || say "no postinst"
}
check "dpkg-deb --info: synproxy $version amd64, Depends without a JDK" control_fields

depends_cover_shim() {
  # Every library the shim links directly (but the dynamic loader) comes from a package named in Depends.
  local depends soname package
  depends=$(dpkg-deb -f "$deb" Depends)
  for soname in $(readelf -d target/native/libsynproxy_shim.so | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case $soname in ld-linux*) continue ;; esac
    package=$(dpkg -S "*/x86_64-linux-gnu/$soname" 2>/dev/null | sed -n 's/^\([^:]*\):amd64: .*/\1/p' | head -1)
    [ -n "$package" ] || say "$soname: no installed package ships it" || return 1
    echo "$soname: $package"
    grep -qE "(^|, )$package( |,|$)" <<< "$depends" || say "$soname: Depends lacks $package"
  done
}
check "Depends covers the shim's libraries (readelf NEEDED, dpkg -S)" depends_cover_shim

expected_files=(
  ./usr/bin/synproxy ./usr/bin/synproxy-backend
  ./usr/lib/synproxy/synproxy.jar ./usr/lib/synproxy/libsynproxy_shim.so ./usr/lib/synproxy/java-home.sh
  ./usr/lib/synproxy/backend.sh ./usr/lib/synproxy/scripts/backend.sh
  ./usr/lib/synproxy/setup-hugepages ./usr/lib/synproxy/bind-devices
  ./usr/lib/synproxy/native/bpf/Makefile ./usr/lib/synproxy/native/bpf/synproxy_backend.bpf.c
  ./etc/synproxy/synproxy.toml ./etc/default/synproxy
  ./lib/systemd/system/synproxy.service ./lib/systemd/system/synproxy-backend@.service
  ./usr/share/doc/synproxy/README.Debian ./usr/share/doc/synproxy/examples/backend-IFACE.conf
)
contents() {
  local listing f
  listing=$(dpkg-deb --contents "$deb" | awk '{ print $6 }') || return 1
  for f in "${expected_files[@]}" $(cd target/lib && printf './usr/lib/synproxy/lib/%s\n' *.jar) \
      $(cd native/bpf && printf './usr/lib/synproxy/native/bpf/%s\n' *.h); do
    grep -qxF "$f" <<< "$listing" || say "missing: $f"
  done
  listing=$(dpkg-deb --contents "$deb")
  grep -q '^-rwxr-xr-x root/root .* \./usr/bin/synproxy$' <<< "$listing" || say "/usr/bin/synproxy: not root-owned 0755"
}
check "dpkg-deb --contents: wrapper, jars, shim, backend sources and tool, units, conffile" contents

conffiles() {
  local listed
  listed=$(dpkg-deb --info "$deb" conffiles) || return 1
  grep -qx /etc/synproxy/synproxy.toml <<< "$listed" || say "conffiles: $listed"
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/synproxy/synproxy.toml | cmp - config/synproxy.toml \
    || say "the packaged synproxy.toml is not config/synproxy.toml"
}
check "conffiles: /etc/synproxy/synproxy.toml, a copy of config/synproxy.toml" conffiles

# --- installed ---------------------------------------------------------------------------------------------------
installs() {
  if ! dpkg -i "$deb"; then
    echo "dpkg -i failed; apt-get install -f for the missing Depends"
    DEBIAN_FRONTEND=noninteractive apt-get install -f -y -q || return 1
  fi
  [ "$(status_of)" = ii ] || say "dpkg status: $(status_of)"
}
installed_by_us=1
check "dpkg -i installs it" installs
[ "$(status_of)" = ii ] || finish

installed_files() {
  local f
  while read -r f; do
    [ -e "$f" ] || say "listed but missing: $f"
  done < <(dpkg -L synproxy)
  [ -x /usr/bin/synproxy ] && [ -x /usr/bin/synproxy-backend ] || say "not executable"
  ! ldd /usr/lib/synproxy/libsynproxy_shim.so | grep 'not found' || say "the shim's libraries are not all installed"
  [ ! -e /var/cache/synproxy/bpf ] || say "postinst left /var/cache/synproxy/bpf"
}
check "every file dpkg -L lists is there, the shim's libraries resolve" installed_files

version_printed() {
  local out
  out=$(/usr/bin/synproxy --version) || return 1
  echo "$out"
  grep -qE "^synproxy ${pom_version} \(DPDK [0-9]+\.[0-9]+[0-9.]*\)\$" <<< "$out" \
    || say "expected 'synproxy ${pom_version} (DPDK X.Y.Z)'"
}
check "/usr/bin/synproxy --version prints synproxy ${pom_version} and the DPDK it links" version_printed

jvm_options() {
  # The JVM options of scripts/synproxy, each in the installed wrapper; and the C2-only JIT for `run` alone.
  local joined option options flags
  joined=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' /usr/bin/synproxy | tr -s ' ')
  options=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' scripts/synproxy | tr -s ' ' \
    | grep -oE -- '-XX:[^ ")]+|-Dsynproxy\.segmentChecks=[a-z]+|--[a-z-]+=[^ "]+|--add-[a-z]+ [^ "$-][^ "]*')
  [ -n "$options" ] || say "no JVM options found in scripts/synproxy"
  while read -r option; do
    grep -qF -- "$option" <<< "$joined" || say "the wrapper lacks $option"
  done <<< "$options"
  flags=$(SYNPROXY_JAVA_OPTS=-XX:+PrintFlagsFinal /usr/bin/synproxy run --help | grep -E ' TieredCompilation ')
  grep -q 'TieredCompilation *= false' <<< "$flags" || say "run: TieredCompilation not off: $flags"
  flags=$(SYNPROXY_JAVA_OPTS=-XX:+PrintFlagsFinal /usr/bin/synproxy check --help | grep -E ' TieredCompilation ')
  grep -q 'TieredCompilation *= true' <<< "$flags" || say "check: TieredCompilation off: $flags"
  flags=$(SYNPROXY_JAVA_OPTS=-XshowSettings:properties /usr/bin/synproxy run --help 2>&1 | grep -E 'segmentChecks' || true)
  grep -q 'synproxy.segmentChecks = false' <<< "$flags" || say "run: segment checks not off: $flags"
  flags=$(SYNPROXY_JAVA_OPTS=-XshowSettings:properties /usr/bin/synproxy check --help 2>&1 | grep -E 'segmentChecks' || true)
  [ -z "$flags" ] || say "check: segment checks off: $flags"
}
check "the wrapper passes scripts/synproxy's JVM options (-XX:-TieredCompilation and no segment checks for run only)" \
  jvm_options

java_selection() {
  # JAVA_HOME that is no JDK 25 is passed over; with no JDK 25 at all (an empty /usr/lib/jvm), a clear message.
  local out
  JAVA_HOME=/nonexistent /usr/bin/synproxy --version || say "JAVA_HOME=/nonexistent: no fallback to /usr/lib/jvm"
  if out=$(env -u JAVA_HOME unshare -m sh -c 'mount -t tmpfs none /usr/lib/jvm && /usr/bin/synproxy --version' 2>&1); then
    say "ran without any JDK: $out"
  else
    echo "$out"
    grep -q 'no JDK 25 found.*temurin-25-jdk' <<< "$out" || say "no clear message"
  fi
  # The postinst only warns (exit 0) without one.
  out=$(env -u JAVA_HOME unshare -m sh -c 'mount -t tmpfs none /usr/lib/jvm && sh /var/lib/dpkg/info/synproxy.postinst configure' 2>&1) \
    || say "postinst failed without a JDK 25: $out"
  echo "$out"
  grep -q 'warning: no JDK 25' <<< "$out" || say "postinst does not warn without a JDK 25"
}
check "JDK selection: a JAVA_HOME that is not a JDK 25 is passed over, none at all is said clearly (postinst warns)" java_selection

keygen_and_check() {
  cp /etc/synproxy/synproxy.toml "$tmp/synproxy.toml"
  /usr/bin/synproxy keygen --out "$tmp/secret.key" && /usr/bin/synproxy keygen --out "$tmp/backend.key" || return 1
  [ "$(stat -c %a "$tmp/secret.key")" = 600 ] || say "secret.key: mode $(stat -c %a "$tmp/secret.key")"
  /usr/bin/synproxy check -c "$tmp/synproxy.toml"
}
check "synproxy keygen and check -c (the packaged configuration, keys in a temp dir)" keygen_and_check

runs_on_dpdk() {
  # The shim and DPDK's plugins (ring mempool, net_pcap) from the installed tree: 3 s on a capture, EAL without
  # hugepages, counters in the temp dir.
  local out
  cp "$tmp/synproxy.toml" "$tmp/run.toml"
  cat >> "$tmp/run.toml" <<EOF

[dataplane]
eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry", "--file-prefix", "$ns"]
stats_file = "$tmp/stats"
idle = "backoff"

[[port]]
name = "edge"
device = "net_pcap0,rx_pcap=$here/src/test/resources/fixtures/all_inputs.pcap,tx_pcap=$tmp/out.pcap"

[[worker]]
port = "edge"
core = 0
EOF
  out=$(timeout 60 /usr/bin/synproxy run -c "$tmp/run.toml" --duration 3 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  grep -q '^running: 1 worker' <<< "$out" && grep -q '^stopped: 31 frames received' <<< "$out" \
    || say "expected 'running: 1 worker' and 'stopped: 31 frames received'"
}
check "synproxy run from the installed tree: DPDK net_pcap, 31 frames in, stopped" runs_on_dpdk

units_verify() {
  local unit
  for unit in synproxy.service synproxy-backend@.service; do
    systemd-analyze verify "/lib/systemd/system/$unit" || say "systemd-analyze verify $unit"
  done
  systemd-analyze verify synproxy-backend@eth0.service || say "systemd-analyze verify synproxy-backend@eth0.service"
  grep -q '^ExecStart=/usr/bin/synproxy run -c /etc/synproxy/synproxy.toml$' /lib/systemd/system/synproxy.service \
    && grep -q '^KillSignal=SIGTERM$' /lib/systemd/system/synproxy.service \
    && grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' /lib/systemd/system/synproxy.service \
    && grep -q '^LimitMEMLOCK=infinity$' /lib/systemd/system/synproxy.service \
    || say "synproxy.service: ExecStart, KillSignal, ExecReload or LimitMEMLOCK not as expected"
  local stop
  stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' /lib/systemd/system/synproxy.service)
  [ "${stop:-0}" -gt 5 ] || say "TimeoutStopSec ($stop) not above the default drain (5 s)"
}
check "systemd-analyze verify: synproxy.service, synproxy-backend@.service" units_verify

service_helpers() {
  # bind-devices: virtual devices skipped, an address this machine does not have refused by name; setup-hugepages
  # with SYNPROXY_HUGEPAGES=0 touches nothing. (Binding and reserving for real is left to a real node.)
  local out before after absent=0000:ff:1f.7
  [ ! -e "/sys/bus/pci/devices/$absent" ] || say "$absent exists here" || return 1
  printf '[[port]]\nname = "a"\ndevice = "net_af_packet0,iface=veth0"\n[[port]]\nname = "b"\ndevice = "net_pcap0,rx_pcap=x"\n' \
    > "$tmp/virtual.toml"
  out=$(/usr/lib/synproxy/bind-devices "$tmp/virtual.toml") || { echo "$out"; return 1; }
  echo "$out"
  [ "$(grep -c 'virtual device, skipped' <<< "$out")" = 2 ] || say "virtual devices not skipped"
  printf '[[port]]\nname = "edge"\ndevice = "%s"\n' "$absent" > "$tmp/absent.toml"
  if out=$(/usr/lib/synproxy/bind-devices "$tmp/absent.toml" 2>&1); then
    say "bind-devices accepted $absent: $out"
  else
    echo "$out"
    grep -q "no PCI device $absent" <<< "$out" || say "no clear message"
  fi
  before=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null)
  SYNPROXY_HUGEPAGES=0 /usr/lib/synproxy/setup-hugepages || say "setup-hugepages with 0"
  after=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages 2>/dev/null)
  [ "$before" = "$after" ] || say "nr_hugepages changed: $before -> $after"
  ! SYNPROXY_HUGEPAGES=lots /usr/lib/synproxy/setup-hugepages || say "setup-hugepages accepted 'lots'"
}
check "ExecStartPre helpers: bind-devices skips virtual devices and names a missing one; hugepages=0 is a no-op" service_helpers

backend_usage() {
  local out tool
  for tool in /usr/bin/synproxy-backend /usr/lib/synproxy/backend.sh; do
    out=$(cd / && "$tool" 2>&1)
    [ $? = 2 ] || say "$tool: exit status not 2"
    echo "$out"
    grep -q 'usage: backend.sh attach|rekey|reload|status|detach DEV' <<< "$out" || say "$tool: no usage"
  done
}
check "the backend tool prints its usage (synproxy-backend, /usr/lib/synproxy/backend.sh)" backend_usage

backend_attach() {
  # The whole tool from the installed tree, in a namespace of its own: builds the program against this kernel's BTF
  # under /var/cache/synproxy/bpf/RELEASE, loads, configures, attaches it to a veth; status; detach.
  local out obj=/var/cache/synproxy/bpf/$(uname -r)/synproxy_backend.bpf.o
  ip netns add "$ns" && ip -n "$ns" link add b0 type veth peer name b1 && ip -n "$ns" link set b0 up || return 1
  (cd / && /usr/bin/synproxy-backend attach b0 --netns "$ns" --key "$tmp/backend.key" --address 203.0.113.11 \
    --proxy 203.0.113.1) || return 1
  [ -f "$obj" ] || say "no $obj"
  out=$(cd / && /usr/bin/synproxy-backend status b0 --netns "$ns") || return 1
  echo "$out"
  grep -q 'bpf' <<< "$out" && grep -qE '^not-ours +[0-9]+' <<< "$out" || say "status shows no filter or counters"
  (cd / && /usr/bin/synproxy-backend detach b0 --netns "$ns") || return 1
  [ ! -e "/sys/fs/bpf/synproxy/$ns-b0" ] || say "still pinned: /sys/fs/bpf/synproxy/$ns-b0"
  [ -z "$(ip netns exec "$ns" tc filter show dev b0 ingress 2>/dev/null)" ] || say "filter left on b0"
}
check "the backend tool attaches (built with clang against this kernel's BTF), reports and detaches" backend_attach
ip netns del "$ns" 2>/dev/null

# --- removed, purged ---------------------------------------------------------------------------------------------
removes() {
  local f conffiles
  # The package's files and symbolic links (not its directories: /lib, /usr/bin... are others' too).
  dpkg-deb --contents "$deb" | awk '$1 !~ /^d/ { sub(/^\./, "", $6); print $6 }' > "$tmp/files"
  conffiles=$(dpkg-query -W -f='${Conffiles}\n' synproxy | awk 'NF { print $1 }')
  dpkg -r synproxy || return 1
  [ "$(status_of)" = rc ] || say "dpkg status after -r: $(status_of), expected rc (config-files)"
  while read -r f; do
    if grep -qxF "$f" <<< "$conffiles"; then
      [ -f "$f" ] || say "conffile removed: $f"
    else
      [ ! -e "$f" ] && [ ! -L "$f" ] || say "left behind: $f"
    fi
  done < "$tmp/files"
  [ "$(wc -l < "$tmp/files")" -gt 30 ] || say "only $(wc -l < "$tmp/files") files listed"
  for f in /usr/lib/synproxy /usr/share/doc/synproxy /var/cache/synproxy; do
    [ ! -e "$f" ] || say "left behind: $f"
  done
  ! dpkg -S /usr/bin/synproxy >/dev/null 2>&1 || say "dpkg -S still names /usr/bin/synproxy"
  ls -la /etc/synproxy
}
check "dpkg -r removes it all but the conffiles" removes

purges() {
  dpkg -P synproxy || return 1
  [ ! -e /etc/synproxy/synproxy.toml ] && [ ! -e /etc/default/synproxy ] || say "conffiles left after purge"
  [ ! -e /etc/synproxy ] || say "/etc/synproxy left after purge"
  [ -z "$(dpkg-query -W -f='${Status}' synproxy 2>/dev/null | grep -v 'not-installed')" ] || say "dpkg still knows it"
}
check "dpkg -P purges the conffiles" purges

# --- running nodes: metrics, reloads, key rotation, errors, load (scripts/ops/live.sh), DPDK telemetry ------------
run_suite() {  # run_suite SCRIPT NAME: its check lines shown as they come, its counts added to ours
  local line p f
  while IFS= read -r line; do
    case $line in
      "  ok    "*|"  FAIL  "*) echo "$line" ;;
      "$2: "*" passed, "*" failed")
        p=${line#"$2: "}; p=${p%% passed*}; f=${line##*passed, }; f=${f%% failed*}
        passed=$((passed + p)); failed=$((failed + f)); return ;;
    esac
  done < <(bash "$1" 2>&1)
  echo "  FAIL  $1 ended without its summary line"
  failed=$((failed + 1))
}
run_suite "$here/scripts/ops/live.sh" ops-live
[ ! -e "$here/scripts/ops/telemetry-check.sh" ] || run_suite "$here/scripts/ops/telemetry-check.sh" telemetry

finish
