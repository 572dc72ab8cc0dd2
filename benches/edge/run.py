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


def serve(variant, runtime="miniflare"):
    p = subprocess.Popen(["node", os.path.join(ROOT, "benches/edge/serve.mjs"), variant, runtime],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    line = p.stdout.readline()
    if not line:
        sys.exit(f"{variant} ({runtime}) did not start")
    return p, json.loads(line)


def cpu_secs(pids):
    total = 0
    for pid in pids:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += (int(f[11]) + int(f[12])) / TICK
    return total


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n = float(m.group(1))
    return {"us": n / 1000, "ms": n, "s": n * 1000}[m.group(2)]


def is_proxy(pid):
    """Under `wrangler dev` two workerd processes serve a request: wrangler's
    proxy (it owns the public port) and the worker's own (started with an
    inspector). Only the latter runs the worker's code."""
    try:
        return "--inspector-addr" not in open(f"/proc/{pid}/cmdline").read()
    except OSError:
        return False


def wrk(url, pids, secs=None):
    secs = secs or SECS
    proxies = [p for p in pids if len(pids) > 1 and is_proxy(p)]
    c0, p0 = cpu_secs(pids), cpu_secs(proxies)
    out = subprocess.run(["wrk", "-t2", f"-c{CONNS}", f"-d{secs}s", "--latency", url],
                         capture_output=True, text=True, timeout=secs + 60).stdout
    c1, p1 = cpu_secs(pids), cpu_secs(proxies)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    p50 = to_ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = to_ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "cpu_us": (c1 - c0) / max(total, 1) * 1e6,
            "proxy_cpu_us": (p1 - p0) / max(total, 1) * 1e6,
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "total": total}


# The profile ladder: the baseline worker adding, one at a time, each
# platform call that linkgate makes per download (each the naive way: a head
# before the get, a KV read and a queue send per request), and linkgate with
# and without its audit queue, so the cost of each call and of linkgate's own
# code can be told apart. 1 KiB objects; its own, shorter runs.
LADDER = [
    ("refuse", "a worker that answers 403 at once (the floor under any refusal)"),
    ("refuse,problem", "the same 403 in the shape of linkgate's refusal (its headers, a problem+json body)"),
    ("", "baseline: R2 get"),
    ("log", "baseline + one log line only"),
    ("head", "+ R2 head first"),
    ("head,kv", "+ KV bulk get"),
    ("head,kv,queue", "+ queue send per request (and the consumer's D1 insert)"),
    ("head,kv,queue,log", "+ one log line"),
    ("head,kv,queue,log,cf", "+ read request.cf (the audited country)"),
]
PROFILE_SECS = int(os.environ.get("BENCH_PROFILE_SECS", "2" if QUICK else "4"))
PROFILE_ROUNDS = int(os.environ.get("BENCH_PROFILE_ROUNDS", "1" if QUICK else "2"))


def profile():
    runtimes = [r for r in os.environ.get("BENCH_PROFILE_RUNTIMES", ",".join(RUNTIMES)).split(",") if r]
    servers = []
    for rt in runtimes:
        servers += [((rt, label), serve("baseline:" + steps, rt)) for steps, label in LADDER]
        servers.append(((rt, "linkgate, valid link, default config (object memo, edge cache hit)"), serve("linkgate", rt)))
        servers.append(((rt, "linkgate, valid link, edge cache off (one get, batched audit)"), serve("linkgate:off", rt)))
        servers.append(((rt, "linkgate, edge cache off, without its audit queue"), serve("linkgate:noaudit", rt)))
    rows = {}
    try:
        warm_up([info for _, (_, info) in servers])
        for r in range(PROFILE_ROUNDS):
            for key, (_, info) in servers:
                res = wrk(info["url"] + info["paths"]["small"], info["pids"], PROFILE_SECS)
                rows.setdefault(key, []).append(res)
                print(f"  profile round {r + 1} {key[0]:9} {key[1][:50]:50} {res['rps']:7.0f} req/s  cpu {res['cpu_us']:6.0f} us/req", file=sys.stderr)
    finally:
        for _, (p, _) in servers:
            stop(p)
    med = lambda xs, k: statistics.median(x[k] for x in xs)
    lines = [
        f"Profile ladder, 1 KiB, `wrk -t2 -c{CONNS} -d{PROFILE_SECS}s`, {PROFILE_ROUNDS} interleaved round(s), medians "
        "(rates relative to the baseline row of the same runtime):",
        "",
        "| runtime | variant (JS baseline worker unless named) | req/s | × baseline | p50 ms | workerd CPU µs/req | CPU over baseline | of the CPU, wrangler's proxy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rt in runtimes:
        base = rows[(rt, next(label for steps, label in LADDER if steps == ""))]
        for (r, label), xs in rows.items():
            if r != rt:
                continue
            proxy = f"{med(xs, 'proxy_cpu_us'):.0f}" if rt == "wrangler" else "—"
            lines.append(f"| {rt} | {label} | {med(xs, 'rps'):.0f} | {med(xs, 'rps') / med(base, 'rps'):.2f} | "
                         f"{med(xs, 'p50'):.2f} | {med(xs, 'cpu_us'):.0f} | {med(xs, 'cpu_us') - med(base, 'cpu_us'):+.0f} | {proxy} |")
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
        for key in [k for k in ("small", "medium", "small_invalid", "small") if k in info["paths"]]:
            subprocess.run(["wrk", "-t1", "-c2", "-d1s", info["url"] + info["paths"][key]], capture_output=True, timeout=60)


def stop(p):
    p.stdin.close()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()


RUNTIMES = [r for r in os.environ.get("BENCH_RUNTIMES", "miniflare,wrangler").split(",") if r]
# (key, label, server, path suffix): a/c are linkgate in the default
# configuration (wrangler.toml: edge cache on, audit on), a0/c0 the same with
# the edge cache off; b and d do not depend on linkgate's configuration.
VARIANTS = [
    ("a", "linkgate, valid link, default config", "linkgate", ""),
    ("a0", "linkgate, valid link, cache off", "linkgate:off", ""),
    ("b", "baseline (no auth)", "baseline", ""),
    ("c", "linkgate, invalid link, default config", "linkgate", "_invalid"),
    ("c0", "linkgate, invalid link, cache off", "linkgate:off", "_invalid"),
    ("d", "JS peer (Sign requests)", "peer", ""),
    ("f", "Rust worker answering 403 at once (floor)", "floor", ""),
]


def main():
    if os.environ.get("BENCH_PROFILE") == "only":
        return print(profile())
    servers = {}
    try:
        for runtime in RUNTIMES:
            for name in ("linkgate", "linkgate:off", "baseline", "peer", "floor"):
                servers[(runtime, name)] = serve(name, runtime)
        warm_up([info for _, info in servers.values()])
        results = {}
        for size in ["small", "medium"]:
            for r in range(ROUNDS):
                for runtime in RUNTIMES:
                    for key, label, server, suffix in VARIANTS:
                        info = servers[(runtime, server)][1]
                        res = wrk(info["url"] + info["paths"][size + suffix], info["pids"])
                        results.setdefault((runtime, size, key), []).append(res)
                        print(f"  {runtime:9} {size:6} round {r + 1} {label:40} {res['rps']:7.0f} req/s  p50 {res['p50']:6.2f} ms"
                              f"  cpu {res['cpu_us']:6.0f} us/req", file=sys.stderr)
    finally:
        for p, _ in servers.values():
            stop(p)

    med = lambda xs, k: statistics.median(x[k] for x in xs)
    rps = lambda runtime, size, key: med(results[(runtime, size, key)], "rps")
    cpu = lambda runtime, size, key: med(results[(runtime, size, key)], "cpu_us")
    rows = []
    for runtime in RUNTIMES:
        for size, label in [("small", "1 KiB"), ("medium", "1 MiB")]:
            for key, name, _, _ in VARIANTS:
                xs = results[(runtime, size, key)]
                rows.append(f"| {runtime} | {label} | {key} {name} | {med(xs, 'rps'):.0f} | {med(xs, 'p50'):.2f} | "
                            f"{med(xs, 'p99'):.2f} | {med(xs, 'cpu_us'):.0f} | {med(xs, 'non2xx'):.0f} |")

    wasm = os.path.join(ROOT, "build/index_bg.wasm")
    raw = os.path.getsize(wasm)
    gz = int(subprocess.run(f"gzip -9 -c {wasm} | wc -c", shell=True, capture_output=True, text=True).stdout)
    bench = subprocess.run(["cargo", "bench", "--bench", "verify"], capture_output=True, text=True, cwd=ROOT).stdout
    m = re.search(r"ratio full/bare: ([\d.]+)", bench)
    native = float(m.group(1)) if m else float("nan")
    # The gate reads the claims of every verified link, and verify() defers
    # building them: this figure is what a request at the edge pays.
    m = re.search(r"ratio \(verify \+ claims\)/bare: ([\d.]+)", bench)
    native_read = float(m.group(1)) if m else float("nan")
    # The same two sides where SHA-256 is computed in software: natively with
    # sha2's `force-soft` (a CPU without SHA extensions; its own target dir,
    # so the usual build is not invalidated), and in wasm (the edge's
    # verifier; wasm32-wasip1 under Node's WASI, as scripts/test.sh runs the
    # core's tests).
    soft = subprocess.run(["cargo", "bench", "-p", "linkgate-core", "--bench", "verify", "--features", "sha2/force-soft"],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CARGO_TARGET_DIR": os.path.join(ROOT, "target", "bench-soft-sha")}).stdout
    m = re.search(r"ratio full/bare: ([\d.]+)", soft)
    native_soft = float(m.group(1)) if m else float("nan")
    wasm_bench = subprocess.run(["cargo", "bench", "-p", "linkgate-core", "--bench", "verify", "--target", "wasm32-wasip1"],
                                capture_output=True, text=True, cwd=ROOT,
                                env={**os.environ, "CARGO_TARGET_WASM32_WASIP1_RUNNER": f"node {ROOT}/scripts/wasi-run.mjs"}).stdout
    m = re.search(r"ratio full/bare: ([\d.]+)", wasm_bench)
    wasm_verify = float(m.group(1)) if m else float("nan")

    ok = lambda good: "PASS" if good else "MISS"
    targets = []
    for runtime in RUNTIMES:
        for size, label, goal in [("small", "1 KiB", 1.2), ("medium", "1 MiB", 1.0)]:
            v = rps(runtime, size, "a") / rps(runtime, size, "d")
            targets.append(f"| {runtime} | linkgate / JS peer ≥ {goal} ({label}, default config: a/d) | {v:.2f} | {ok(v >= goal)} |")
        for size, label, goal in [("small", "1 KiB", 0.95), ("medium", "1 MiB", 0.99)]:
            v = rps(runtime, size, "a0") / rps(runtime, size, "b")
            targets.append(f"| {runtime} | linkgate / no-auth ≥ {goal} ({label}, cache off: a0/b) | {v:.2f} | {ok(v >= goal)} |")
        for size, label in [("small", "1 KiB"), ("medium", "1 MiB")]:
            for key, conf in [("c", "default config"), ("c0", "cache off")]:
                v = rps(runtime, size, key) / rps(runtime, size, "b")
                targets.append(f"| {runtime} | refusals / no-auth ≥ 1.5 ({label}, {conf}: {key}/b) | {v:.2f} | {ok(v >= 1.5)} |")
            v = rps(runtime, size, "c") / rps(runtime, size, "f")
            targets.append(f"| {runtime} | (context) refusals / the Rust floor ({label}, c/f) | {v:.2f} | |")
    targets.append(f"| | wasm ≤ 200 KB gzip | {gz} B gzip ({raw} B raw) | {ok(gz <= 200_000)} |")
    targets.append(f"| | native verify ≤ 1.3× bare HMAC | {native:.2f}× | {ok(native <= 1.3)} |")
    targets.append(f"| | (context) native verify, then its claims read once, as the gate does | {native_read:.2f}× | |")
    targets.append(f"| | (context) native verify, SHA-256 in software (sha2 `force-soft`) | {native_soft:.2f}× | |")
    targets.append(f"| | (context) verify in wasm, the edge's verifier (wasm32-wasip1 under Node) | {wasm_verify:.2f}× | |")
    refused = all(med(results[(rt, s, k)], "non2xx") == med(results[(rt, s, k)], "total")
                  for rt in RUNTIMES for s in ("small", "medium") for k in ("c", "c0", "f"))
    served = all(med(results[(rt, s, k)], "non2xx") == 0
                 for rt in RUNTIMES for s in ("small", "medium") for k in ("a", "a0", "b", "d"))
    floor = ", ".join(f"{rt} {cpu(rt, 'small', 'c') - cpu(rt, 'small', 'f'):.0f} µs" for rt in RUNTIMES)
    # Under `wrangler dev`, the same CPU split between wrangler's proxy process
    # and the worker's own: only the latter runs the worker's code.
    pcpu = lambda runtime, key: med(results[(runtime, "small", key)], "proxy_cpu_us")
    split = "; ".join(
        f"{rt}, 1 KiB, f / c / b: wrangler's proxy process {pcpu(rt, 'f'):.0f} / {pcpu(rt, 'c'):.0f} / "
        f"{pcpu(rt, 'b'):.0f} µs per request, the worker's process {cpu(rt, 'small', 'f') - pcpu(rt, 'f'):.0f} / "
        f"{cpu(rt, 'small', 'c') - pcpu(rt, 'c'):.0f} / {cpu(rt, 'small', 'b') - pcpu(rt, 'b'):.0f} µs"
        for rt in RUNTIMES if rt == "wrangler")
    own = ", ".join(f"{rt} {cpu(rt, 'small', 'a0') - cpu(rt, 'small', 'b'):.0f} µs (1 KiB) / "
                    f"{cpu(rt, 'medium', 'a0') - cpu(rt, 'medium', 'b'):.0f} µs (1 MiB)" for rt in RUNTIMES)

    cpuinfo = open("/proc/cpuinfo").read()
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    lines = [
        f"Run {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')} on {os.cpu_count()} cores "
        f"({model.group(1) if model else 'unknown CPU'}), `wrk -t2 -c{CONNS} -d{SECS}s`, {ROUNDS} interleaved "
        f"round(s), medians. Reproduce: `scripts/bench.sh` (quick check: `BENCH_QUICK=1 scripts/bench.sh`).",
        "",
        "| runtime | object | variant | req/s | p50 ms | p99 ms | workerd CPU µs/req | non-2xx |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "| runtime | target | measured | |",
        "|---|---|---|---|",
        *targets,
        "",
        f"Every response of c, c0 and f was a refusal: {refused}; every response of a, a0, b and d was a "
        f"success: {served}. workerd CPU is utime + stime of the variant's workerd processes (two under "
        "`wrangler dev`: its proxy and the worker) from /proc around each run, divided by wrk's request "
        "count; it includes the runtime's HTTP, R2, KV, Cache, Queue and D1 simulators. CPU of a0 minus b "
        f"(what linkgate adds to reading R2): {own}. CPU of c minus f (what a linkgate refusal adds to "
        f"the cheapest Rust worker, 1 KiB): {floor}." + (f" The same CPU by process ({split})." if split else ""),
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
