# Installed as /usr/lib/synproxy/java-home.sh; sourced by /usr/bin/synproxy and the package's postinst (POSIX sh).
# synproxy_java_home prints the home of a JDK 25 or newer: JAVA_HOME if it is one, else
# /usr/lib/jvm/temurin-25-jdk-amd64, else another /usr/lib/jvm/*-25-* (or *25*); or it fails, saying what to install.
# The version comes from the JDK's `release` file (no JVM started), from the JVM itself only without one.
synproxy_java_major() {
  _synproxy_major=""
  if [ -r "$1/release" ]; then
    _synproxy_major=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release")
  fi
  if [ -z "$_synproxy_major" ] && [ -x "$1/bin/java" ]; then
    _synproxy_major=$("$1/bin/java" -XshowSettings:properties -version 2>&1 \
      | sed -n 's/^ *java.specification.version = \([0-9][0-9]*\).*/\1/p')
  fi
  echo "${_synproxy_major:-0}"
}

synproxy_is_jdk25() {
  [ -x "$1/bin/java" ] && [ "$(synproxy_java_major "$1")" -ge 25 ] 2>/dev/null
}

synproxy_java_home() {
  if [ -n "${JAVA_HOME:-}" ] && synproxy_is_jdk25 "$JAVA_HOME"; then
    echo "$JAVA_HOME"
    return 0
  fi
  for _synproxy_candidate in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/*-25-* /usr/lib/jvm/*25*; do
    if synproxy_is_jdk25 "$_synproxy_candidate"; then
      echo "$_synproxy_candidate"
      return 0
    fi
  done
  echo "synproxy: no JDK 25 found${JAVA_HOME:+ (JAVA_HOME=$JAVA_HOME is not one)}. Install Temurin 25 (the package" \
    "temurin-25-jdk from https://packages.adoptium.net, in /usr/lib/jvm/temurin-25-jdk-amd64) or another JDK 25 as" \
    "/usr/lib/jvm/NAME-25-*, or set JAVA_HOME to one (for synproxy.service: in /etc/default/synproxy)." >&2
  return 1
}
