# Sourced by the other scripts: selects a JDK 25 (JAVA_HOME if it is one, else /usr/lib/jvm/temurin-25-*).
synproxy_java_major() { "$1/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p'; }
if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ] || [ "$(synproxy_java_major "$JAVA_HOME")" -lt 25 ] 2>/dev/null; then
  JAVA_HOME=""
  for candidate in /usr/lib/jvm/temurin-25-* /usr/lib/jvm/*25*; do
    if [ -x "$candidate/bin/java" ] && [ "$(synproxy_java_major "$candidate")" -ge 25 ] 2>/dev/null; then
      JAVA_HOME=$candidate; break
    fi
  done
  if [ -z "$JAVA_HOME" ]; then
    echo "synproxy: no JDK 25 found. Install one (e.g. Temurin 25 under /usr/lib/jvm) or set JAVA_HOME to it." >&2
    exit 1
  fi
fi
export JAVA_HOME
export PATH="$JAVA_HOME/bin:$PATH"
