#!/usr/bin/python3
"""The line-rate harness: per scenario, on the same core and the same virtual devices (net_pcap replaying a capture
from memory with infinite_rx, transmitting to net_null), in the same run:
  - dpdk-testpmd in macswap mode: the DPDK I/O ceiling of this machine;
  - perf/baseline-c: the same work in C: on syn-v4 the SYN -> SYN-ACK cookie work scalar (one cookie at a time) and
    with the burst's cookies in SIMD lanes (as the Java engine hashes them), on ack-valid-v4 the handshake ACK's
    cookie check and encapsulation to its Maglev backend, in lanes;
  - synproxy `run` on one worker core, with its report: Mpps, burst service time percentiles, GC and allocation.
Prints a table and writes perf/results/latest.json (or --out). Run through perf/linerate.sh (it sets up hugepages and builds).
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SYNPROXY = os.path.join(ROOT, "scripts", "synproxy")
BASELINE = os.path.join(ROOT, "target", "baseline-c", "baseline")
SCENARIOS = ["syn-v4", "syn-v6", "ack-valid-v4", "ack-valid-v6", "ack-invalid-v4", "data-v4", "mix"]
EAL = ["--in-memory", "--no-telemetry", "--no-pci"]


def tsc_hz():
    """TSC frequency: what cycles/packet are counted in (this VM has no PMU; the core itself runs faster)."""
    try:
        out = subprocess.run(["dmesg"], capture_output=True, text=True).stdout
        m = re.search(r"tsc: Refined TSC clocksource calibration: ([0-9.]+) MHz", out) or \
            re.search(r"tsc: Detected ([0-9.]+) MHz", out)
        if m:
            return float(m.group(1)) * 1e6
    except OSError:
        pass
    with open("/proc/cpuinfo") as f:
        m = re.search(r"cpu MHz\s*:\s*([0-9.]+)", f.read())
    return float(m.group(1)) * 1e6


def env():
    e = dict(os.environ)
    e["SYNPROXY_NO_BUILD"] = "1"
    return e


def write_config(work, capture, workers, seconds, host_path=False):
    stats = os.path.join(work, "stats-host" if host_path else "stats")
    lines = ["[cookie]", 'secret_file = "secret.key"', "salt_period_seconds = 86400", "",
             "[[vip]]", 'address = "198.51.100.10"', "ports = [80]", "",
             "[[vip]]", 'address = "2001:db8:100::10"', "ports = [80]", "",
             "[encap]", 'source_v4 = "203.0.113.1"', 'source_v6 = "2001:db8:200::1"', 'auth_key_file = "backend.key"',
             'next_hop_mac = "02:00:00:00:00:fe"', "",
             "[[backend]]", 'address = "203.0.113.11"', "[[backend]]", 'address = "2001:db8:200::11"', "",
             "[dataplane]", 'eal_args = ["-l", "0", "--in-memory", "--no-telemetry", "--no-pci"]',
             'stats_file = "%s"' % stats, "control_core = 0", "",
             "[[port]]", 'name = "rx"',
             'device = "net_pcap0,%s"' % ",".join(["rx_pcap=%s,infinite_rx=1" % capture] * workers
                                                   ).replace(",infinite_rx=1,rx_pcap", ",rx_pcap"),
             "rx_queues = %d" % workers, ""]
    if host_path:
        # The exception path in place (a net_tap interface, the host stage on refused frames, the worker polling its
        # ring from the kernel), announcing nothing: what it costs the VIP path when nothing is for the host.
        lines[-1:-1] = ['host_interface = "spxbench0"', 'host_addresses = ["10.99.0.2/24"]']
        lines += ["[announce]", "table = 0", ""]
    lines += ["[[port]]", 'name = "null"', 'device = "net_null0,no-rx=1"', ""]
    for w in range(workers):
        lines += ["[[worker]]", 'port = "rx"', "queue = %d" % w, "core = %d" % (1 - w if workers == 2 else 1),
                  'backend_port = "null"', ""]
    path = os.path.join(work, "bench-host.toml" if host_path else "bench.toml")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    return path


def testpmd(capture, seconds):
    cmd = ["timeout", "-s", "INT", str(seconds + 2), "dpdk-testpmd", "-l", "0,1"] + EAL + [
        "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % capture, "--vdev", "net_null0,no-rx=1", "--",
        "--forward-mode=macswap", "--nb-cores=1", "--auto-start", "--stats-period=1"]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rates = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", out) if int(x) > 0]
    # The first second includes start-up; the port 0 lines carry the forwarded rate.
    rates = rates[2:] if len(rates) > 4 else rates
    return statistics.median(rates) / 1e6 if rates else None


def baseline(capture, seconds, mode="scalar", work=None):
    """One C line (perf/baseline-c --mode scalar|simd|ack): its JSON line as a dict (mpps, isa, ack_not_validated,
    ...), or None. With work, it takes the key files the captures were generated with (and write_config's salt period,
    backend, encapsulation source and next hop): the ack line validates the capture's cookies with them, and the SYN
    lines then issue the same cookies as synproxy."""
    if not os.path.exists(BASELINE):
        return None
    cmd = [BASELINE, "-l", "1"] + EAL + ["--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % capture,
                                         "--vdev", "net_null0,no-rx=1", "--", "--seconds", str(seconds),
                                         "--warmup", "1", "--mode", mode]
    if work:
        cmd += ["--secret-file", os.path.join(work, "secret.key"), "--salt-period", "86400"]
        if mode == "ack":
            cmd += ["--auth-key-file", os.path.join(work, "backend.key"), "--backend", "203.0.113.11",
                    "--encap-source", "203.0.113.1", "--next-hop-mac", "02:00:00:00:00:fe"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    for line in reversed(result.stdout.strip().splitlines()):
        if line.startswith("{"):
            line = json.loads(line)
            if line.get("dropped"):
                # Frames the line refused (for the ack line: cookies that failed) mean it measured other work.
                sys.stderr.write("C %s line dropped %d frames (%d failed cookie checks):\n%s" % (
                    mode, line["dropped"], line.get("ack_not_validated", 0), result.stderr))
            return line
    sys.stderr.write(result.stderr)
    return None


def synproxy(config, seconds, warmup, tree=ROOT):
    launcher = os.path.join(tree, "scripts", "synproxy")
    out = subprocess.run([launcher, "run", "-c", config, "--duration", str(seconds + warmup), "--warmup",
                          str(warmup)], capture_output=True, text=True, env=env()).stdout
    report = {}
    for line in out.splitlines():
        if line.startswith("report:"):
            for key, value in re.findall(r"(\S+)=(\S+)", line):
                report[key] = float(value) if re.match(r"^[0-9.]+$", value) else value
    if "mpps" not in report:
        sys.stderr.write(out)
    return report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--host-path", choices=["off", "on", "both"], default="off",
                        help="run synproxy with a host interface (the exception path); both: without and with, "
                             "alternating in each repeat, for the same-run ratio")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "latest.json"),
                        help="where the JSON goes (default perf/results/latest.json, the README's table)")
    parser.add_argument("--compare", metavar="TREE",
                        help="another built checkout (git worktree at an older commit, built with mvn package): its "
                             "synproxy runs in every repeat beside this one, in alternating order, for a before/after "
                             "ratio from one run")
    args = parser.parse_args()
    hz = tsc_hz()
    work = tempfile.mkdtemp(prefix="synproxy-linerate.")
    for key in ("secret.key", "backend.key"):
        subprocess.run([SYNPROXY, "keygen", "--out", os.path.join(work, key)], check=True, env=env(),
                       capture_output=True)
    results = []
    for scenario in args.scenarios.split(","):
        capture = os.path.join(work, scenario + ".pcap")
        config = write_config(work, capture, args.workers, args.seconds, args.host_path == "on")
        host_config = write_config(work, capture, args.workers, args.seconds, True) \
            if args.host_path == "both" else None
        subprocess.run([SYNPROXY, "gen", "-c", config, "--scenario", scenario, "--count", "1024", "--out",
                        capture], check=True, env=env(), capture_output=True)
        runs = []
        for r in range(args.repeat):
            ceiling = testpmd(capture, args.seconds)
            # The C lines do one kind of work each (they drop anything else): the scalar SYN line and the SYN line
            # with the burst's cookies in SIMD lanes on syn-v4, the handshake-ACK encapsulation line on ack-valid-v4.
            c_runs = {}
            for key, mode, on in (("c_baseline", "scalar", "syn-v4"), ("c_simd", "simd", "syn-v4"),
                                  ("c_ack", "ack", "ack-valid-v4")):
                c_runs[key] = baseline(capture, args.seconds, mode, work) if scenario == on else None
            c = (c_runs["c_baseline"] or {}).get("mpps")
            other = None
            if args.compare and r % 2 == 1:
                # Alternate which goes first, so a slow drift of the machine does not favour one side.
                other = synproxy(config, args.seconds, args.warmup, args.compare)
            ours = synproxy(config, args.seconds, args.warmup)
            if args.compare and r % 2 == 0:
                other = synproxy(config, args.seconds, args.warmup, args.compare)
            run = {"testpmd_macswap_mpps": ceiling, "c_baseline_mpps": c, "synproxy": ours}
            for key in ("c_simd", "c_ack"):
                line = c_runs[key] or {}
                run[key + "_mpps"] = line.get("mpps")
                run[key + "_isa"] = line.get("isa")
                run[key + "_dropped"] = line.get("dropped")
            # ~0 or the ack line measured other work than synproxy's (whose ACKs all validate).
            run["c_ack_not_validated"] = (c_runs["c_ack"] or {}).get("ack_not_validated")
            if args.compare:
                run["synproxy_compare"] = other
            if host_config:
                run["synproxy_host_path"] = synproxy(host_config, args.seconds, args.warmup)
            runs.append(run)
            print("  %s run %d: testpmd %.2f, C %s, C simd %s, C ack %s, synproxy %s Mpps%s%s" % (
                scenario, r + 1, ceiling or 0, "%.2f" % c if c else "-",
                "%.2f (%s)" % (run["c_simd_mpps"], run["c_simd_isa"]) if run["c_simd_mpps"] else "-",
                "%.2f (%s, %d failed cookies)" % (run["c_ack_mpps"], run["c_ack_isa"], run["c_ack_not_validated"])
                if run["c_ack_mpps"] else "-", ours.get("mpps"),
                ", with the host path %s" % run["synproxy_host_path"].get("mpps") if host_config else "",
                ", compared tree %s" % other.get("mpps") if args.compare else ""),
                file=sys.stderr)
        results.append({"scenario": scenario, "runs": runs})

    def mmm(values):
        values = [v for v in values if v is not None]
        return (min(values), statistics.median(values), max(values)) if values else None

    rows = []
    for res in results:
        runs = res["runs"]
        ours = mmm([r["synproxy"].get("mpps") for r in runs])
        ceiling = mmm([r["testpmd_macswap_mpps"] for r in runs])
        c = mmm([r["c_baseline_mpps"] for r in runs])
        ratio_tp = mmm([r["synproxy"]["mpps"] / r["testpmd_macswap_mpps"] for r in runs
                        if r["synproxy"].get("mpps") and r["testpmd_macswap_mpps"]])
        ratio_c = mmm([r["synproxy"]["mpps"] / r["c_baseline_mpps"] for r in runs
                       if r["synproxy"].get("mpps") and r["c_baseline_mpps"]])
        c_lines = {}
        for key in ("c_simd", "c_ack"):
            c_lines[key + "_mpps"] = mmm([r.get(key + "_mpps") for r in runs])
            c_lines["ratio_to_" + key] = mmm([r["synproxy"]["mpps"] / r[key + "_mpps"] for r in runs
                                              if r["synproxy"].get("mpps") and r.get(key + "_mpps")])
        last = runs[-1]["synproxy"]
        row = {"scenario": res["scenario"], "workers": args.workers, "synproxy_mpps": ours,
               "cycles_per_packet": hz / (ours[1] * 1e6) if ours else None, "testpmd_macswap_mpps": ceiling,
               "c_baseline_mpps": c, "ratio_to_macswap": ratio_tp, "ratio_to_c": ratio_c,
               "c_simd_mpps": c_lines["c_simd_mpps"], "ratio_to_c_simd": c_lines["ratio_to_c_simd"],
               "c_ack_mpps": c_lines["c_ack_mpps"], "ratio_to_c_ack": c_lines["ratio_to_c_ack"],
               "burst_ns": {k: last.get(k) for k in ("p50", "p99", "p99.9", "max")},
               "gc_collections": last.get("gc_collections"), "worker_allocated_bytes": last.get("worker_allocated_bytes"),
               "host_path": args.host_path, "runs": runs}
        if args.host_path == "both":
            row["synproxy_host_path_mpps"] = mmm([r["synproxy_host_path"].get("mpps") for r in runs])
            row["ratio_host_path"] = mmm([r["synproxy_host_path"]["mpps"] / r["synproxy"]["mpps"] for r in runs
                                          if r["synproxy"].get("mpps") and r["synproxy_host_path"].get("mpps")])
        if args.compare:
            row["compare_tree"] = args.compare
            row["compare_mpps"] = mmm([r["synproxy_compare"].get("mpps") for r in runs])
            row["ratio_to_compare"] = mmm([r["synproxy"]["mpps"] / r["synproxy_compare"]["mpps"] for r in runs
                                           if r["synproxy"].get("mpps") and r["synproxy_compare"].get("mpps")])
        rows.append(row)
    fmt = lambda t: "-" if not t else "%.2f / %.2f / %.2f" % t
    med = lambda t: "%.2f" % t[1] if t else "-"
    print("| scenario | synproxy Mpps (min/med/max) | cycles/pkt (TSC) | testpmd macswap Mpps | C baseline Mpps "
          "| C simd Mpps | C ack Mpps | vs macswap (med) | vs C (med) | vs C simd (med) | vs C ack (med) "
          "| burst p50/p99/p99.9/max ns | GC | worker alloc B |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        b = row["burst_ns"]
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            row["scenario"], fmt(row["synproxy_mpps"]),
            "%.0f" % row["cycles_per_packet"] if row["cycles_per_packet"] else "-",
            fmt(row["testpmd_macswap_mpps"]), fmt(row["c_baseline_mpps"]), fmt(row["c_simd_mpps"]),
            fmt(row["c_ack_mpps"]), med(row["ratio_to_macswap"]), med(row["ratio_to_c"]),
            med(row["ratio_to_c_simd"]), med(row["ratio_to_c_ack"]),
            "/".join("%d" % (b[k] or 0) for k in ("p50", "p99", "p99.9", "max")),
            "%d" % (row["gc_collections"] or 0), "%d" % (row["worker_allocated_bytes"] or 0)))
    for row in rows:
        if row.get("ratio_host_path"):
            print("%s: with the host path %s Mpps (min/med/max), %s of without it, per repeat (min/med/max)" % (
                row["scenario"], fmt(row["synproxy_host_path_mpps"]), fmt(row["ratio_host_path"])))
    for row in rows:
        if row.get("ratio_to_compare"):
            print("%s: compared tree %s Mpps (min/med/max); this tree / compared, per repeat: %s" % (
                row["scenario"], fmt(row["compare_mpps"]), fmt(row["ratio_to_compare"])))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"tsc_hz": hz, "seconds": args.seconds, "warmup": args.warmup, "repeat": args.repeat,
                   "workers": args.workers, "compare": args.compare, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
