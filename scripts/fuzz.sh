#!/usr/bin/env bash
# The packet engine under a deep fuzz: mutated frames of every kind the engine handles (one header field at a time,
# lengths, offsets, options, cuts at field boundaries) and random bytes, each in memory of exactly its buffer's size
# (a stray read or write throws). One line per check, closing with "fuzz: P passed, F failed"; non-zero exit on any
# failure. The README's test command runs 2 million frames; a long run: --frames 100000000 (about 20 s on this
# project's 2-core VM).
#
#   bash scripts/fuzz.sh [--frames N] [--seed S]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
exec "$here/scripts/synproxy" fuzz "$@"
