#!/usr/bin/env bash
# The test command: installs what it needs, then builds and runs every test.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$here/scripts/setup.sh"
. "$here/scripts/java-home.sh"
cd "$here"
mvn -B verify "$@"
