#!/usr/bin/env python3
"""Drive scripts/bench.sh's load runs: serve linkgate and the baseline worker,
load each with wrk (interleaved), read workerd CPU from /proc, print the table
and write it into docs/performance.md. Loopback only; every run is bounded."""
import json, os, re, subprocess, sys, time, datetime, statistics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
QUICK = os.environ.get("BENCH_QUICK") == "1"
SECS = int(os.environ.get("BENCH_SECS", "2" if QUICK else "6"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if QUICK else "3"))
CONNS = int(os.environ.get("BENCH_CONNS", "8"))
TICK = os.sysconf("SC_CLK_TCK")


def serve(variant):
    p = subprocess.Popen(["node", os.path.join(ROOT, "benches/edge/serve.mjs"), variant],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = p.stdout.readline()
    if not line:
        sys.exit(f"{variant} did not start")
    return p, json.loads(line)


def cpu_secs(pid):
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / TICK


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n = float(m.group(1))
    return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]


def wrk(url, pid, secs=None):
    secs = secs or SECS
    c0 = cpu_secs(pid)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNS}", f"-d{secs}s", "--latency", url],
                         capture_output=True, text=True, timeout=secs + 60).stdout
    c1 = cpu_secs(pid)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "cpu_us": (c1 - c0) / max(total, 1) * 1e6,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "total": total}


# The profile ladder: the baseline worker adding, one at a time, each
# platform call that linkgate makes per download (each the naive way: a head
# before the get, a KV read and a queue send per request), and linkgate with
# and without its audit queue, so the cost of each call and of linkgate's own
# code can be told apart. 1 KiB objects; its own, shorter runs.
LADDER = [
    ("", "baseline: R2 get"),
    ("head", "+ R2 head first"),
    ("head,kv", "+ KV bulk get"),
    ("head,kv,queue", "+ queue send per request (and the consumer's D1 insert)"),
    ("head,kv,queue,log", "+ one log line"),
    ("head,kv,queue,log,cf", "+ read request.cf (the audited country)"),
]
PROFILE_SECS = int(os.environ.get("BENCH_PROFILE_SECS", "2" if QUICK else "4"))
PROFILE_ROUNDS = int(os.environ.get("BENCH_PROFILE_ROUNDS", "1" if QUICK else "2"))


def profile():
    servers = [(label, serve("baseline:" + steps)) for steps, label in LADDER]
    servers.append(("linkgate, valid link (memo, one get, batched audit)", serve("linkgate")))
    servers.append(("linkgate without its audit queue", serve("linkgate:noaudit")))
    rows = {}
    try:
        warm_up([info for _, (_, info) in servers])
        for r in range(PROFILE_ROUNDS):
            for label, (_, info) in servers:
                res = wrk(info["url"] + info["paths"]["small"], info["pid"], PROFILE_SECS)
                rows.setdefault(label, []).append(res)
                print(f"  profile round {r + 1} {label[:40]:40} {res['rps']:7.0f} req/s  cpu {res['cpu_us']:6.0f} us/req", file=sys.stderr)
    finally:
        for _, (p, _) in servers:
            stop(p)
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    base = med(rows[LADDER[0][1]], "cpu_us")
    lines = [
        f"Profile ladder, 1 KiB, `wrk -t2 -c{CONNS} -d{PROFILE_SECS}s`, {PROFILE_ROUNDS} interleaved round(s), medians:",
        "",
        "| variant (JS baseline worker unless named) | req/s | p50 ms | workerd CPU µs/req | CPU over baseline |",
        "|---|---|---|---|---|",
    ]
    for label, xs in rows.items():
        lines.append(f"| {label} | {med(xs, 'rps'):.0f} | {med(xs, 'p50'):.2f} | {med(xs, 'cpu_us'):.0f} | {med(xs, 'cpu_us') - base:+.0f} |")
    return "\n".join(lines)


def write_between(start, end, table):
    doc = os.path.join(ROOT, "docs/performance.md")
    text = open(doc).read()
    if start in text and end in text:
        text = text.split(start)[0] + start + "\n" + table + "\n" + end + text.split(end, 1)[1]
        open(doc, "w").write(text)


def warm_up(infos):
    # JIT tiers, isolate start-up and first reads are not what is measured.
    for info in infos:
        for key in [k for k in ("small", "medium", "small_invalid") if k in info["paths"]]:
            subprocess.run(["wrk", "-t1", "-c2", "-d1s", info["url"] + info["paths"][key]], capture_output=True, timeout=60)


def stop(p):
    p.stdin.close()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()


def main():
    if os.environ.get("BENCH_PROFILE") == "only":
        return print(profile())
    lp, lg = serve("linkgate")
    bp, base = serve("baseline")
    pp, peer = serve("peer")
    try:
        variants = {
            "a linkgate, valid link": lambda s: (lg["url"] + lg["paths"][s], lg["pid"]),
            "b baseline (no auth)": lambda s: (base["url"] + base["paths"][s], base["pid"]),
            "c linkgate, invalid link": lambda s: (lg["url"] + lg["paths"][s + "_invalid"], lg["pid"]),
            "d JS peer (Sign requests)": lambda s: (peer["url"] + peer["paths"][s], peer["pid"]),
        }
        results = {}
        warm_up([lg, base, peer])
        for size in ["small", "medium"]:
            for r in range(ROUNDS):
                for name, f in variants.items():
                    url, pid = f(size)
                    res = wrk(url, pid)
                    results.setdefault((size, name), []).append(res)
                    print(f"  {size:6} round {r + 1} {name:26} {res['rps']:9.0f} req/s  p50 {res['p50']:7.2f} ms  "
                          f"p99 {res['p99']:7.2f} ms  cpu {res['cpu_us']:7.0f} us/req", file=sys.stderr)
    finally:
        for p in (lp, bp, pp):
            stop(p)

    med = lambda xs, k: statistics.median(x[k] for x in xs)
    rows = []
    ratios = {}
    for size, label in [("small", "1 KiB"), ("medium", "1 MiB")]:
        b = results[(size, "b baseline (no auth)")]
        for name in variants:
            xs = results[(size, name)]
            rows.append(f"| {label} | {name[2:]} | {med(xs, 'rps'):.0f} | {med(xs, 'p50'):.2f} | {med(xs, 'p99'):.2f} | {med(xs, 'cpu_us'):.0f} |")
        a, c = results[(size, "a linkgate, valid link")], results[(size, "c linkgate, invalid link")]
        d = results[(size, "d JS peer (Sign requests)")]
        ratios[size] = (med(a, "rps") / med(b, "rps"), med(c, "rps") / med(b, "rps"),
                        med(a, "cpu_us") - med(b, "cpu_us"), med(c, "non2xx") == med(c, "total"),
                        med(a, "rps") / med(d, "rps"), med(d, "non2xx"))

    wasm = os.path.join(ROOT, "build/index_bg.wasm")
    raw = os.path.getsize(wasm)
    gz = int(subprocess.run(f"gzip -9 -c {wasm} | wc -c", shell=True, capture_output=True, text=True).stdout)
    bench = subprocess.run(["cargo", "bench", "--bench", "verify"], capture_output=True, text=True, cwd=ROOT).stdout
    m = re.search(r"ratio full/bare: ([\d.]+)", bench)
    native = float(m.group(1)) if m else float("nan")

    ok = lambda good: "PASS" if good else "MISS"
    cpu = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpu)
    lines = [
        f"Run {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} cores "
        f"({model.group(1) if model else 'unknown CPU'}), `wrk -t2 -c{CONNS} -d{SECS}s`, {ROUNDS} interleaved "
        f"round(s), medians. Reproduce: `scripts/bench.sh` (quick check: `BENCH_QUICK=1 scripts/bench.sh`).",
        "",
        "| object | variant | req/s | p50 ms | p99 ms | workerd CPU µs/req |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "| target | measured | |",
        "|---|---|---|",
        f"| a/b ≥ 0.90 (1 KiB) | {ratios['small'][0]:.2f} | {ok(ratios['small'][0] >= 0.90)} |",
        f"| a/b ≥ 0.97 (1 MiB) | {ratios['medium'][0]:.2f} | {ok(ratios['medium'][0] >= 0.97)} |",
        f"| c/b ≥ 1.0 (1 KiB) | {ratios['small'][1]:.2f} | {ok(ratios['small'][1] >= 1.0)} |",
        f"| c/b ≥ 1.0 (1 MiB) | {ratios['medium'][1]:.2f} | {ok(ratios['medium'][1] >= 1.0)} |",
        f"| a/d ≥ 1.2 (1 KiB; issue 11 sets it for the default configuration, this is cache off) | {ratios['small'][4]:.2f} | {ok(ratios['small'][4] >= 1.2)} |",
        f"| a/d ≥ 1.0 (1 MiB; same) | {ratios['medium'][4]:.2f} | {ok(ratios['medium'][4] >= 1.0)} |",
        f"| wasm ≤ 250 KB gzip | {gz} B gzip ({raw} B raw) | {ok(gz <= 250_000)} |",
        f"| native verify ≤ 1.5× bare HMAC | {native:.2f}× | {ok(native <= 1.5)} |",
        "",
        f"linkgate's own CPU per request (workerd CPU of a minus b): {ratios['small'][2]:.0f} µs at 1 KiB, "
        f"{ratios['medium'][2]:.0f} µs at 1 MiB. workerd CPU is read from /proc/<pid>/stat (utime+stime) around "
        "each run, divided by wrk's request count; it includes the runtime's own HTTP, KV and R2 work, so the "
        "difference a−b is what linkgate adds. Every response of variant c was a refusal: "
        f"{ratios['small'][3] and ratios['medium'][3]}; non-2xx responses of the peer d: "
        f"{ratios['small'][5]:.0f} / {ratios['medium'][5]:.0f} (must be 0).",
    ]
    table = "\n".join(lines)
    print(table)
    write_between("<!-- bench:start -->", "<!-- bench:end -->", table)
    if os.environ.get("BENCH_PROFILE") != "0":
        ladder = profile()
        print()
        print(ladder)
        write_between("<!-- profile:start -->", "<!-- profile:end -->", ladder)


if __name__ == "__main__":
    main()
