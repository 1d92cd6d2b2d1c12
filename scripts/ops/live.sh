#!/usr/bin/env bash
# Operations on running nodes, in network namespaces (nothing leaves them): the fleet's topology (scripts/fleet/run.sh
# draws it) with the router's ECMP routes static, two synproxy nodes serving /metrics on their own loopback, a
# backend with the tc program and an echo server.
#   metrics   a real Prometheus (Debian's) scrapes node 1; its HTTP API returns the series, they grow with traffic;
#             promtool check metrics finds nothing wrong
#   reload    20 reloads per node, alternating two configurations, during a SYN flood with transfers running: no
#             frame lost or misrouted (counters), every transfer intact; a bad file and a restart-only change refused
#             with the reason (exit status, log, error log, counter), the running configuration untouched
#   rotation  the cookie secret and the authentication key rotated across both nodes and the backend, node after
#             node, while clients keep connecting: zero failed connections
#   errors    `synproxy errors` shows each distinct error once, with its count
#   load      the workers' load in `stat` and in the metrics
# As root; one line per check; ends with `ops-live: P passed, F failed` (exit 0 only when nothing failed).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$here/scripts/fleet/lib.sh"
ID=${SPX_ID:-op}
CL=fl-cl-$ID RT=fl-rt-$ID P1=fl-p1-$ID P2=fl-p2-$ID BE=fl-be-$ID
work=/run/spx-ops-$ID
# backend.sh keeps its attach records (what `reload` compares) under here, removed with the rest.
export SYNPROXY_BACKEND_RUN=$work/backend-run
PYTHON=/usr/bin/python3
VIP4=198.51.100.10 VIP6=2001:db8:100::10
BACKEND4=203.0.113.11 BACKEND6=2001:db8:200::11
passed=0 failed=0
declare -A proxy_pid=()
prom_pid=""
PROXY_EXTRA='
[metrics]
listen = "127.0.0.1:9410"'
. "$here/scripts/fleet/nodes.sh"

cleanup_all() {
  [[ -n $prom_pid ]] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
  cleanup
}
trap cleanup_all EXIT
cleanup 2>/dev/null
mkdir -p "$work"
echo "ops-live: two nodes behind a router (static ECMP), metrics, reloads, key rotation"
topology
synproxy keygen --out "$work/secret.key" >/dev/null
synproxy keygen --out "$work/backend.key" >/dev/null
attach_backend() {
  bash "$here/scripts/backend.sh" attach b0 --netns $BE --key "$work/backend.key" --address $BACKEND4 \
    --address $BACKEND6 --proxy 10.255.0.1 --proxy 10.255.0.2 --proxy fd00:ff::1 --proxy fd00:ff::2 \
    --salt-period 4 --grace 4 >"$work/backend-attach.log" 2>&1
}
attach_backend || { cat "$work/backend-attach.log"; exit 1; }
inns $BE "$PYTHON" "$here/scripts/e2e/echo_server.py" :: 9000 "$work/echo.log" >/dev/null 2>&1 &
disown
inns $RT ip route add $VIP4/32 nexthop via 10.1.1.2 dev r1 nexthop via 10.1.2.2 dev r2
inns $RT ip -6 route add $VIP6/128 nexthop via fd00:1::2 dev r1 nexthop via fd00:2::2 dev r2
for n in 1 2; do
  proxy_config $n $((n - 1))
  # Short salt epochs (4 s, grace 4 s): a rotation's last step may follow within seconds.
  sed -i 's/^secret_file = "secret.key"$/secret_file = "secret.key"\nsalt_period_seconds = 4\ngrace_seconds = 4/' \
    "$work/p$n.toml"
  cp "$work/p$n.toml" "$work/p$n-a.toml"
  # The other configuration the reloads alternate with: another window, a second VIP port, another host budget.
  sed -e 's/^ports = \[9000\]$/ports = [9000, 9001]/' -e 's/^rate_pps = 5000$/rate_pps = 6000/' \
    -e '0,/^\[\[vip\]\]$/s//[tcp]\nwindow = 29200\n\n[[vip]]/' "$work/p$n.toml" > "$work/p$n-b.toml"
done
check "node 1 starts, healthy (VIP routes installed)" start_proxy 1
check "node 2 starts, healthy" start_proxy 2

# --- metrics -------------------------------------------------------------------------------------------------------
scrape() { inns $P1 curl -sf --max-time 5 http://127.0.0.1:9410/metrics; }
promtool_clean() {
  local out
  scrape > "$work/metrics.txt" || return 1
  out=$(promtool check metrics < "$work/metrics.txt" 2>&1)
  [[ -z $out ]] || { echo "$out" | head -5; return 1; }
}
check "/metrics served by node 1; promtool check metrics finds nothing" promtool_clean
has_series() {
  local m missing=""
  for m in synproxy_worker_rx_frames_total synproxy_worker_syn_ack_sent_total synproxy_worker_dropped_total \
    synproxy_worker_tx_refused_total synproxy_worker_busy_seconds_total synproxy_worker_load_ratio \
    synproxy_worker_burst_service_seconds_bucket synproxy_port_rx_packets_total synproxy_port_rx_missed_total \
    synproxy_port_rx_mbuf_alloc_failed_total synproxy_host_path_to_kernel_total synproxy_salt_epoch \
    synproxy_salt_next_rotation_seconds synproxy_backends_configured synproxy_backends_healthy \
    synproxy_config_generation synproxy_build_info synproxy_mbufs_free; do
    grep -q "^$m[{ ]" "$work/metrics.txt" || missing+=" $m"
  done
  grep -q '^synproxy_worker_rx_frames_total{port="edge",queue="0",worker="worker-0"}' "$work/metrics.txt" \
    || missing+=" (worker/port/queue labels)"
  grep -q '^synproxy_worker_dropped_total{.*reason="not_vip"' "$work/metrics.txt" || missing+=" (reason label)"
  [[ -z $missing ]] || { echo "missing:$missing"; return 1; }
}
check "the series: worker counters with worker/port/queue labels, drops by reason, load, burst times, ports, salts, backends, build" has_series

cat > "$work/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: synproxy
    static_configs:
      - targets: ["127.0.0.1:9410"]
EOF
inns $P1 prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prom" \
  --web.listen-address=127.0.0.1:9490 >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom_query() {  # prom_query EXPR: the first sample's value, or nothing
  inns $P1 curl -sf --max-time 5 -G http://127.0.0.1:9490/api/v1/query --data-urlencode "query=$1" | "$PYTHON" -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null
}
prom_has() {  # waits up to 20 s for a sample of EXPR
  local i v
  for i in $(seq 40); do v=$(prom_query "$1"); [[ -n $v ]] && return 0; sleep 0.5; done
  return 1
}
check "Prometheus scrapes node 1: its API returns synproxy_worker_rx_frames_total" \
  prom_has 'sum(synproxy_worker_rx_frames_total)'
before_frames=$(prom_query 'sum(synproxy_worker_rx_frames_total)')
before_synacks=$(prom_query 'sum(synproxy_worker_syn_ack_sent_total)')
paced warm 10 262144 3
wait "$paced_pid"
grows() {
  local i after
  for i in $(seq 20); do
    after=$(prom_query "$1")
    [[ -n $after ]] && "$PYTHON" -c "import sys; sys.exit(0 if float('$after') > float('${2:-0}') else 1)" && return 0
    sleep 0.5
  done
  echo "$1: ${2:-none} -> ${after:-none}"
  return 1
}
check "the series grow with traffic (frames received, through Prometheus)" grows 'sum(synproxy_worker_rx_frames_total)' "$before_frames"
check "… and the SYN-ACKs sent" grows 'sum(synproxy_worker_syn_ack_sent_total)' "$before_synacks"
check "… and the load and burst-time series are there" prom_has 'max(synproxy_worker_load_ratio) >= 0 and sum(synproxy_worker_burst_service_seconds_count) > 0'
kill "$prom_pid" 2>/dev/null; wait "$prom_pid" 2>/dev/null; prom_pid=""

# --- reloads under load ----------------------------------------------------------------------------------------------
quiet_drops() {  # the counters a reload could move if it lost or misrouted a frame, summed over both nodes
  local n total=0 c
  for n in 1 2; do
    for c in drop-not-vip drop-no-backend drop-next-hop-unresolved drop-no-room tx-dropped to-host-queue-full; do
      total=$((total + $(counter $n $c)))
    done
  done
  echo $total
}
drops_before=$(quiet_drops)
synacks_before=$(( $(counter 1 syn-ack-sent) + $(counter 2 syn-ack-sent) ))
paced reload 20 4194304 20
flood $VIP4 9000 16 reloadflood
for i in $(seq 1 20); do
  variant=$([[ $((i % 2)) == 1 ]] && echo b || echo a)
  for n in 1 2; do
    cp "$work/p$n-$variant.toml" "$work/p$n.toml"
    synproxy reload -c "$work/p$n.toml" >>"$work/reloads.log" 2>&1 || echo "reload $i node $n failed" >>"$work/reloads.failed"
  done
  sleep 0.6
done
wait "$flood_pid"
wait "$paced_pid"
check "20 reloads per node during the flood, each applied (synproxy reload exit 0)" test ! -e "$work/reloads.failed"
check "every reload counted: configuration 21 on both nodes" holds "$(counter 1 config-generation) == 21 && $(counter 2 config-generation) == 21"
check "the flood was answered meanwhile ($(( $(counter 1 syn-ack-sent) + $(counter 2 syn-ack-sent) - synacks_before )) SYN-ACKs)" \
  holds "$(counter 1 syn-ack-sent) + $(counter 2 syn-ack-sent) - synacks_before > 1000"
drops_after=$(quiet_drops)
check "no frame lost or misrouted by a reload: not-vip, no-backend, next-hop, no-room, TX refused, host queue: +$((drops_after - drops_before))" \
  holds "drops_after == drops_before"
check "every transfer intact across the reloads ($(paced_field reload ok) of 20)" \
  holds "$(paced_field reload ok) == 20 && $(paced_field reload lost) == 0"
check "node 1 logged each reload, the last as configuration 21" grep -q "reload: configuration 21 applied" "$work/p1.log"

refused_invalid() {
  cp "$work/p1-a.toml" "$work/p1.toml"
  echo 'window = "wide"' >> "$work/p1.toml"
  local rc out
  out=$(synproxy reload -c "$work/p1.toml" 2>&1); rc=$?
  echo "$out"
  cp "$work/p1-a.toml" "$work/p1.toml"
  [[ $rc == 2 ]] && grep -q "nothing sent" <<< "$out"
}
check "an invalid file: synproxy reload exits 2 naming the problem, nothing sent" refused_invalid
refused_by_proxy() {
  sed 's/^drain_seconds = 6$/drain_seconds = 7/' "$work/p1-a.toml" > "$work/p1.toml"
  local rc out
  out=$(synproxy reload -c "$work/p1.toml" 2>&1); rc=$?
  echo "$out"
  cp "$work/p1-a.toml" "$work/p1.toml"
  [[ $rc == 1 ]] && grep -q "dataplane.drain_seconds changed, which needs a restart" <<< "$out"
}
check "a restart-only change: the proxy refuses it, synproxy reload exits 1 with the reason" refused_by_proxy
bad_hup() {
  echo 'this is not TOML' >> "$work/p1.toml"
  kill -HUP "${proxy_pid[1]}"
  sleep 1.5
  cp "$work/p1-a.toml" "$work/p1.toml"
  kill -HUP "${proxy_pid[1]}"
  sleep 1.5
  kill -HUP "${proxy_pid[1]}"
  sleep 1.5
}
bad_hup
check "SIGHUP with a broken file: refused and counted (2 refused), the log says why" \
  holds "$(counter 1 reloads-refused) == 2 && $(grep -c 'reload refused, the running configuration stays' "$work/p1.log") >= 2"
check "the running configuration stayed, then the good file applied (configuration 23)" holds "$(counter 1 config-generation) == 23"
errors_view() {
  local out
  out=$(synproxy errors -c "$work/p1.toml") || return 1
  echo "$out"
  grep -q "not valid TOML" <<< "$out" && grep -q "needs a restart" <<< "$out" && grep -q '^2 distinct error(s)' <<< "$out"
}
check "synproxy errors: each distinct error once, with count and times" errors_view

# --- key rotation across the fleet while clients connect ------------------------------------------------------------
rm -f "$work/connector.stop"
inns $CL "$PYTHON" "$here/scripts/ops/connector.py" --target "$VIP4:9000" --target "[$VIP6]:9000" \
  --interval 0.02 --stop-file "$work/connector.stop" >"$work/connector.out" 2>"$work/connector.err" &
connector_pid=$!
rotate_step() {  # rotate_step WHICH STEP: the file changed once (both nodes read it), then node 1, then node 2
  synproxy key-rotate -c "$work/p1.toml" "$1" "$2" >>"$work/rotation.log" 2>&1 || return 1
  sleep 1
  synproxy reload -c "$work/p1.toml" >>"$work/rotation.log" 2>&1 || return 1
  sleep 2
  synproxy reload -c "$work/p2.toml" >>"$work/rotation.log" 2>&1 || return 1
  sleep 2
}
rekey_backend() {  # the backend's rotation step: the keys in its live maps replaced, the program left running
  bash "$here/scripts/backend.sh" rekey b0 --netns $BE --key "$work/backend.key" --address $BACKEND4 \
    --address $BACKEND6 >>"$work/rotation.log" 2>&1
}
ok_rot=1
sleep 2
rotate_step cookie add || ok_rot=0
grep -q "cookie keys two: a rotation is under way" "$work/p2.log" || ok_rot=0
rotate_step cookie promote || ok_rot=0
sleep 8   # salt_period + grace: the old secret's last cookies have expired
rotate_step cookie retire || ok_rot=0
check "cookie secret rotated on both nodes (add, promote, retire: each reloaded node after node)" holds "ok_rot == 1"
ok_auth=1
synproxy key-rotate -c "$work/p1.toml" auth add >>"$work/rotation.log" 2>&1 && rekey_backend || ok_auth=0
for n in 1 2; do synproxy reload -c "$work/p$n.toml" >>"$work/rotation.log" 2>&1 || ok_auth=0; done
sleep 1
rotate_step auth promote || ok_auth=0
synproxy key-rotate -c "$work/p1.toml" auth retire >>"$work/rotation.log" 2>&1 && rekey_backend || ok_auth=0
for n in 1 2; do synproxy reload -c "$work/p$n.toml" >>"$work/rotation.log" 2>&1 || ok_auth=0; done
sleep 2
check "authentication key rotated: backend accepts both, nodes switch one after the other, backend drops the old" holds "ok_auth == 1"
touch "$work/connector.stop"
wait "$connector_pid"
check "clients kept connecting through both rotations: $(cat "$work/connector.out"), none failed" \
  grep -q ' failed=0$' "$work/connector.out"
check "… and a few hundred of them did (attempted >= 300)" \
  holds "$(grep -o 'attempted=[0-9]*' "$work/connector.out" | cut -d= -f2) >= 300"
check "the keys files hold one key again (issue and the pinned flow seed)" \
  bash -c "grep -q '^issue ' $work/secret.key && grep -q '^flow ' $work/secret.key && ! grep -q '^accept ' $work/secret.key"

# --- load ----------------------------------------------------------------------------------------------------------
check "synproxy stat shows each worker's load" bash -c "synproxy() { SYNPROXY_NO_BUILD=1 $here/scripts/synproxy \"\$@\"; }; synproxy stat -f $work/p1.stats --count 1 | grep -q 'worker-0 load'"

echo "ops-live: $passed passed, $failed failed"
[[ $failed == 0 ]]
