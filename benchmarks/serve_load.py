"""Load and fuzz the playground (`advgen serve`) on loopback; not part of the test suite.

    python benchmarks/serve_load.py                   # 16 clients: predict+saliency, then 10-step PGD
    python benchmarks/serve_load.py --fuzz 3000       # random / malformed requests, then: still up?

Starts ``python -m advgen serve --port 0`` as a child process (so its RSS is the server's alone),
drives it with ``--clients`` threads on keep-alive connections, each request a random MNIST test
digit, and prints p50/p95/max latency per request kind beside the issue's targets, the error count
(any status other than 200), and the server's RSS after warm-up, after each phase and after a
repeat of the whole load (memory flat = no growth between the last two).
"""
from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"predict+saliency": 150.0, "pgd-10": 500.0}


def start_server(workers: int) -> tuple[subprocess.Popen, str, int]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "advgen", "serve", "--port", "0", "--workers", str(workers)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=ROOT)
    line = p.stdout.readline()
    m = re.search(r"http://([\d.]+):(\d+)", line)
    if not m:
        p.kill()
        raise SystemExit(f"server did not start: {line!r}")
    return p, m.group(1), int(m.group(2))


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of the server so far (load-independent cost, unlike latency)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(host: str, port: int, kind: str, n: int, clients: int, images: list) -> tuple[list[float], int]:
    body = {"predict+saliency": lambda im: ("/api/predict", {"model": "mnist-cnn", "image": im, "explain": ["saliency"]}),
            "pgd-10": lambda im: ("/api/attack", {"model": "mnist-cnn", "image": im, "attack": "pgd", "eps": 0.3,
                                                  "steps": 10})}[kind]
    times, errors, lock = [], [0], threading.Lock()
    counter = iter(range(n))

    def client(seed: int):
        rng = random.Random(seed)
        conn = http.client.HTTPConnection(host, port, timeout=60)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            path, obj = body(images[rng.randrange(len(images))])
            data = json.dumps(obj)
            t = time.perf_counter()
            try:
                conn.request("POST", path, data, {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                ok = r.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
            dt = 1000 * (time.perf_counter() - t)
            with lock:
                times.append(dt)
                errors[0] += not ok
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return times, errors[0]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def alive(host: str, port: int) -> bool:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        conn.request("GET", "/api/info")
        r = conn.getresponse()
        ok = r.status == 200 and bool(json.loads(r.read())["models"])
        conn.request("POST", "/api/predict", json.dumps({"image": [0.0] * 784}), {"Content-Type": "application/json"})
        r = conn.getresponse()
        ok = ok and r.status == 200 and len(json.loads(r.read())["probs"]) == 10
        conn.close()
        return ok
    except (OSError, http.client.HTTPException):
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=2000, help="requests per kind (default 2000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fuzz", type=int, default=0, help="run N fuzz requests instead of the load test")
    args = ap.parse_args()

    import torch  # noqa: F401  (the digits)
    from advgen import data

    x = data.load("mnist").x_test
    images = [[round(v, 3) for v in x[i].reshape(-1).tolist()] for i in range(200)]
    proc, host, port = start_server(args.workers)
    try:
        load(host, port, "predict+saliency", 50, 4, images)  # warm-up
        load(host, port, "pgd-10", 20, 4, images)
        rss = {"after warm-up": rss_mib(proc.pid)}
        if args.fuzz:
            spec = importlib.util.spec_from_file_location("serve_fuzz", ROOT / "tests" / "serve" / "fuzz.py")
            fuzz = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(fuzz)
            from collections import Counter

            seen, lock, counter = Counter(), threading.Lock(), iter(range(args.fuzz))

            def worker(seed):
                rng = random.Random(seed)
                while True:
                    with lock:
                        if next(counter, None) is None:
                            return
                    try:
                        s = fuzz.one(rng, host, port)
                    except OSError as e:
                        s = f"client error {type(e).__name__}"
                    with lock:
                        seen[s] += 1

            t = time.perf_counter()
            threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rss["after fuzz"] = rss_mib(proc.pid)
            up = proc.poll() is None and alive(host, port)
            print(f"fuzz: {args.fuzz} requests from 8 clients in {time.perf_counter() - t:.1f} s")
            print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(seen.items(), key=lambda kv: -kv[1])))
            print(f"5xx answers other than 503 busy: "
                  f"{sum(v for k, v in seen.items() if isinstance(k, int) and k >= 500 and k != 503)}; "
                  f"server up and answering afterwards: {up}")
        else:
            print(f"{args.clients} concurrent clients, {args.requests} requests per kind, loopback, "
                  f"{args.workers} workers with 1 torch thread each (advgen serve's setting)")
            print(f"machine load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (others' jobs "
                  "included); server CPU-ms/request is the load-independent cost")
            print(f"{'request':<18}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'target':>9}{'p95/target':>12}"
                  f"{'errors':>8}{'CPU-ms/req':>12}")
            for rep in (1, 2):
                for kind in TARGETS:
                    c0 = cpu_s(proc.pid)
                    times, errors = load(host, port, kind, args.requests, args.clients, images)
                    cpu = 1000 * (cpu_s(proc.pid) - c0) / args.requests
                    p95 = pct(times, 0.95)
                    print(f"{kind + f' (run {rep})':<18}{pct(times, 0.5):>9.1f}{p95:>9.1f}{max(times):>9.1f}"
                          f"{TARGETS[kind]:>9.0f}{p95 / TARGETS[kind]:>12.2f}{errors:>8}{cpu:>12.1f}")
                    rss[f"after {kind} (run {rep})"] = rss_mib(proc.pid)
        print("server RSS (MiB): " + ", ".join(f"{k} {v:.0f}" for k, v in rss.items()))
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
