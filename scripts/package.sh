#!/usr/bin/env bash
# Builds the Debian package: target/synproxy_VERSION_amd64.deb (dpkg-deb), VERSION from pom.xml's <version> with
# -SNAPSHOT as ~snapshot (0.1.0-SNAPSHOT -> 0.1.0~snapshot, which sorts before 0.1.0).
# Builds first (mvn -B -q -DskipTests package) unless SYNPROXY_NO_BUILD is set: then it packages what target/ holds
# (the jar, target/lib, target/native/libsynproxy_shim.so) and fails if any is missing.
# The package's files are under packaging/ (README.Debian there lists what goes where); Depends: the shim's shared
# libraries (dpkg-shlibdeps), the DPDK plugins EAL loads at run time, and what the services and the backend tool run.
# DEBFULLNAME / DEBEMAIL set the Maintainer field.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
die() { echo "package.sh: $*" >&2; exit 1; }
for tool in dpkg-deb python3 readelf; do
  command -v "$tool" >/dev/null || die "$tool not found (apt-get install dpkg python3 binutils)"
done

pom_version=$(python3 - "$here/pom.xml" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
version = root.find(ns + "version")
print(version.text.strip() if version is not None and version.text else "")
PY
)
[ -n "$pom_version" ] || die "no <version> in pom.xml"
# Debian: -SNAPSHOT (and any other pre-release suffix) sorts before the release with ~; no '-' (that would start a
# Debian revision), lower case.
version=${pom_version/-SNAPSHOT/\~snapshot}
version=${version//-/\~}
version=${version,,}
dpkg --validate-version "$version" 2>/dev/null || die "pom.xml's version '$pom_version' gives '$version', not a valid Debian version"

if [ -z "${SYNPROXY_NO_BUILD:-}" ]; then
  . "$here/scripts/java-home.sh"
  (cd "$here" && mvn -B -q -DskipTests package >&2)
fi
jar=$here/target/synproxy-$pom_version.jar
shim=$here/target/native/libsynproxy_shim.so
missing=()
[ -f "$jar" ] || missing+=("$jar")
compgen -G "$here/target/lib/*.jar" >/dev/null || missing+=("$here/target/lib/*.jar")
[ -f "$shim" ] || missing+=("$shim")
if [ ${#missing[@]} -gt 0 ]; then
  die "missing: ${missing[*]}; build first (mvn -B -DskipTests package)${SYNPROXY_NO_BUILD:+, or unset SYNPROXY_NO_BUILD}"
fi
if [ -n "${SYNPROXY_NO_BUILD:-}" ] \
    && [ -n "$(find "$here/src/main" "$here/bindings" "$here/native/shim" "$here/pom.xml" -newer "$jar" -print -quit 2>/dev/null)" ]; then
  echo "package.sh: warning: sources are newer than $jar (SYNPROXY_NO_BUILD: packaging it as it is)" >&2
fi

# Depends. The shim's libraries, with the versions their shlibs/symbols files ask for.
shlibs=""
if command -v dpkg-shlibdeps >/dev/null; then
  work=$(mktemp -d)
  mkdir "$work/debian"
  printf 'Source: synproxy\n\nPackage: synproxy\nArchitecture: amd64\n' > "$work/debian/control"
  cp "$shim" "$work/"
  shlibs=$(cd "$work" && dpkg-shlibdeps -O libsynproxy_shim.so 2>/dev/null | sed -n 's/^shlibs:Depends=//p') || true
  rm -rf "$work"
fi
if [ -z "$shlibs" ]; then
  # Without dpkg-dev: for each NEEDED library, the amd64 package that ships it and that package's shlibs line.
  entries=()
  for soname in $(readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    case $soname in ld-linux*) continue ;; esac
    lib=${soname%%.so.*} abi=${soname##*.so.}
    package=$(dpkg -S "*/x86_64-linux-gnu/$soname" 2>/dev/null | sed -n 's/^\([^:]*\):amd64: .*/\1/p' | head -1)
    entry=""
    if [ -n "$package" ]; then
      entry=$(awk -v l="$lib" -v a="$abi" '$1 == l && $2 == a { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' \
        "/var/lib/dpkg/info/$package:amd64.shlibs" "/var/lib/dpkg/info/$package.shlibs" 2>/dev/null)
    fi
    [ -n "$entry" ] || die "no installed amd64 package ships $soname with a shlibs file; install dpkg-dev (dpkg-shlibdeps)"
    entries+=("$entry")
  done
  shlibs=$(printf '%s\n' "${entries[@]}" | sort -u | paste -sd, | sed 's/,/, /g')
fi
# The DPDK ABI the shim was linked against (librte_eal.so.23 -> 23): the plugins EAL loads must match it.
dpdk_abi=$(readelf -d "$shim" | sed -n 's/.*(NEEDED).*\[librte_eal\.so\.\([0-9]*\)\].*/\1/p')
[ -n "$dpdk_abi" ] || die "$shim does not link librte_eal: is it the DPDK shim?"
# Loaded by EAL from its plugin directory, so no NEEDED entry names them: the ring mempool driver (every mbuf pool
# uses it) and net_tap (a port's host_interface, the exception path). dpdk: dpdk-devbind.py (bind-devices), and its
# Recommends bring the NIC drivers. iproute2: `ip` (the host agent) and `tc` (the backend tool); kmod: modprobe
# vfio-pci; python3 3.11+: bind-devices (tomllib) and the backend tool; procps: sysctl; make, clang, libbpf-dev
# (bpf_helpers.h), bpftool: the backend program is built, loaded and configured at attach time.
depends="$shlibs, librte-mempool-ring$dpdk_abi, librte-net-tap$dpdk_abi, dpdk, iproute2, kmod, python3 (>= 3.11), procps, make, clang, libbpf-dev, bpftool"
# No JDK: Debian has no JDK 25 (temurin-25-jdk is Adoptium's package, recommended; postinst warns without one).
recommends="temurin-25-jdk, ethtool, librte-net-af-packet$dpdk_abi, librte-net-pcap$dpdk_abi"
maintainer="${DEBFULLNAME:-synproxy maintainers} <${DEBEMAIL:-maintainers@synproxy.invalid}>"

# The tree.
stage=$here/target/deb
root=$stage/synproxy_${version}_amd64
rm -rf "$stage"
p=$here/packaging
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/synproxy/lib" "$root/usr/lib/synproxy/scripts" \
  "$root/usr/lib/synproxy/native/bpf" "$root/etc/synproxy" "$root/etc/default" "$root/lib/systemd/system" \
  "$root/usr/share/doc/synproxy/examples"
install -m 0755 "$p/synproxy" "$root/usr/bin/synproxy"
ln -s ../lib/synproxy/backend.sh "$root/usr/bin/synproxy-backend"
install -m 0644 "$jar" "$root/usr/lib/synproxy/synproxy.jar"
install -m 0644 "$here"/target/lib/*.jar "$root/usr/lib/synproxy/lib/"
install -m 0644 "$shim" "$root/usr/lib/synproxy/libsynproxy_shim.so"
install -m 0644 "$p/java-home.sh" "$root/usr/lib/synproxy/java-home.sh"
install -m 0755 "$p/backend.sh" "$p/setup-hugepages" "$p/bind-devices" "$root/usr/lib/synproxy/"
# The repository's backend tool as it is: it finds native/bpf next to its own directory (/usr/lib/synproxy).
install -m 0755 "$here/scripts/backend.sh" "$root/usr/lib/synproxy/scripts/backend.sh"
install -m 0644 "$here/native/bpf/Makefile" "$here"/native/bpf/*.c "$here"/native/bpf/*.h "$root/usr/lib/synproxy/native/bpf/"
install -m 0644 "$here/config/synproxy.toml" "$root/etc/synproxy/synproxy.toml"
install -m 0644 "$p/default" "$root/etc/default/synproxy"
install -m 0644 "$p/synproxy.service" "$p/synproxy-backend@.service" "$root/lib/systemd/system/"
install -m 0644 "$p/README.Debian" "$here/README.md" "$root/usr/share/doc/synproxy/"
install -m 0644 "$p/backend-IFACE.conf" "$root/usr/share/doc/synproxy/examples/"

# Control files.
printf '/etc/synproxy/synproxy.toml\n/etc/default/synproxy\n' > "$root/DEBIAN/conffiles"
install -m 0755 "$p/postinst" "$p/prerm" "$p/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
  | xargs -d '\n' md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
control=$(< "$p/control.in")
control=${control//@VERSION@/"$version"}
control=${control//@MAINTAINER@/"$maintainer"}
control=${control//@INSTALLED_SIZE@/"$size"}
control=${control//@DEPENDS@/"$depends"}
control=${control//@RECOMMENDS@/"$recommends"}
printf '%s\n' "$control" > "$root/DEBIAN/control"

out=$here/target/synproxy_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "$out"
