# Sourced by the namespace suites (scripts/e2e/run.sh, scripts/soak.sh) after the topology is up: the check helpers,
# the CLI, and the one proxy configuration and backend set-up they share. Uses $here, $work, $SPX_ID, $passed,
# $failed and the topology's variables.

holds() { (( $1 )); }
check() {  # check NAME COMMAND...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); echo "  ok    $name"; else failed=$((failed + 1)); echo "  FAIL  $name"; fi
}
synproxy() { SYNPROXY_NO_BUILD=${SYNPROXY_NO_BUILD:-} "$here/scripts/synproxy" "$@"; }

# Keys and $work/synproxy.toml: both VIPs (ports 80 and 9000), both backend addresses of the backend namespace, one
# worker on core 0 reading the client-side veth and sending to the backend-side one (net_af_packet).
write_proxy_config() {
  synproxy keygen --out "$work/secret.key" >/dev/null
  synproxy keygen --out "$work/backend.key" >/dev/null
  cat > "$work/synproxy.toml" <<TOML
[cookie]
secret_file = "secret.key"

[[vip]]
address = "$VIP4"
ports = [80, 9000]

[[vip]]
address = "$VIP6"
ports = [80, 9000]

[encap]
source_v4 = "203.0.113.1"
source_v6 = "2001:db8:200::1"
auth_key_file = "backend.key"
next_hop_mac = "$BACKEND_MAC"

[[backend]]
address = "$BACKEND4"

[[backend]]
address = "$BACKEND6"

[dataplane]
eal_args = ["-l", "0", "--no-huge", "-m", "512", "--no-pci", "--no-telemetry", "--file-prefix", "spx-$SPX_ID"]
stats_file = "$work/stats"

[[port]]
name = "clients"
device = "net_af_packet0,iface=$PROXY_CLIENT_IF"

[[port]]
name = "backends"
device = "net_af_packet1,iface=$PROXY_BACKEND_IF"

[[worker]]
port = "clients"
core = 0
backend_port = "backends"
TOML
}

# synproxy's tc program on the backend's b0, keyed for both its addresses, trusting proxy A's sources; extra options
# (e.g. --strict --vip ...) are passed on.
attach_backend() {
  bash "$here/scripts/backend.sh" attach b0 --netns "$BACKEND_NS" --key "$work/backend.key" --address "$BACKEND4" \
    --address "$BACKEND6" --proxy 203.0.113.1 --proxy 2001:db8:200::1 "$@" >/dev/null
}
