"""Load and fuzz the playground (`advgen serve`) on loopback; not part of the test suite.

    python benchmarks/serve_load.py                   # 16 clients: predict+saliency, then 10-step PGD
    python benchmarks/serve_load.py --fuzz 3000       # random / malformed requests, then: still up?
    python benchmarks/serve_load.py --slowloris 100   # 100 slow sockets for 30 s vs. predict clients

Starts ``python -m advgen serve --port 0`` as a child process (so its RSS is the server's alone),
drives it with ``--clients`` threads on keep-alive connections, each request a random MNIST test
digit, and prints p50/p95/max latency per request kind beside the issue's targets, the error count
(any status other than 200), and the server's RSS after warm-up, after each phase and after a
repeat of the whole load (memory flat = no growth between the last two).

``--slowloris N`` (bounded: loopback only, at most 1000 sockets for at most 120 s) opens N sockets that
each send a request line and then one header byte per second, reopening a socket the server closes at
its next tick (as slowloris does), for ``--duration`` seconds; meanwhile ``--clients`` clients send
predict+saliency requests, half on keep-alive connections and half on a fresh connection each (the ones
a full connection table turns away). It prints their latencies beside the same clients without the slow
sockets, and what became of the slow sockets (cut at the deadline with 408, dropped with 503 to make
room, how long the longest lived). With the default ``--max-per-client 64`` most slow sockets are pushed
out by each other; ``--max-per-client 128`` leaves room for all 100, and shows the 10 s deadline cut them.
Exit status 1 if any client's p95 reaches 300 ms or any request fails (``--fuzz``: any 5xx but 503 busy).
"""
from __future__ import annotations

import argparse
import collections
import http.client
import importlib.util
import json
import os
import random
import re
import selectors
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"predict+saliency": 150.0, "pgd-10": 500.0}
SLOWLORIS_P95_MS = 300.0


def start_server(workers: int, *flags: str) -> tuple[subprocess.Popen, str, int]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    p = subprocess.Popen([sys.executable, "-m", "advgen", "serve", "--port", "0", "--workers", str(workers), *flags],
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


class SlowSockets:
    """``n`` slowloris sockets on loopback, one thread: a request line, then a header byte per second each."""

    HEAD = b"GET /api/info HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n"

    def __init__(self, host: str, port: int, n: int):
        self.addr, self.n = (host, port), n
        self.stats = collections.Counter()
        self.lifetimes: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _open(self, sel, now: float) -> None:
        try:
            s = socket.create_connection(self.addr, timeout=5)
            s.sendall(self.HEAD)
            s.setblocking(False)
        except OSError:
            self.stats["connect failed"] += 1
            return
        self.stats["opened"] += 1
        sel.register(s, selectors.EVENT_READ, [now, now + 1.0, b"", 0])  # opened, next byte, answer, bytes sent

    def _closed(self, sel, s, data, now: float) -> None:
        sel.unregister(s)
        s.close()
        self.lifetimes.append(now - data[0])
        head = data[2][:12]
        kind = {b"HTTP/1.1 408": "cut at the deadline (408)", b"HTTP/1.1 503": "dropped to make room (503)"}
        self.stats[kind.get(head, "closed without an answer" if not head else f"answered {head!r}")] += 1

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        start = time.monotonic()
        for i in range(self.n):  # spread over the first second
            self._open(sel, time.monotonic())
            time.sleep(1.0 / self.n)
        reopen: list[float] = []
        while not self.stop.is_set():
            now = time.monotonic()
            for key, _ in sel.select(0.01):
                try:
                    chunk = key.fileobj.recv(4096)
                except OSError:
                    chunk = b""
                key.data[2] += chunk
                if not chunk:
                    self._closed(sel, key.fileobj, key.data, now)
                    reopen.append(now + 1.0)  # at its next tick
            for key in list(sel.get_map().values()):
                if key.data[1] <= now:
                    key.data[1] += 1.0
                    try:
                        i = key.data[3] % 8  # header lines "X-a: b", one byte at a time: never a blank line
                        key.fileobj.send(b"X-a: b\r\n"[i:i + 1])
                        key.data[3] += 1
                        self.stats["bytes"] += 1
                    except OSError:
                        self._closed(sel, key.fileobj, key.data, now)
                        reopen.append(now + 1.0)
            while reopen and reopen[0] <= now:
                reopen.pop(0)
                self._open(sel, now)
        now = time.monotonic()
        for key in list(sel.get_map().values()):
            self.lifetimes.append(now - key.data[0])
            key.fileobj.close()
        self.stats["still open at the end"] = len(sel.get_map())
        sel.close()
        self.seconds = time.monotonic() - start


def timed_load(host: str, port: int, seconds: float, clients: int, images: list) -> dict[str, tuple[list, int]]:
    """``clients`` predict+saliency clients for ``seconds``: half keep-alive, half a new connection per request."""
    out = {"keep-alive": ([], [0]), "new connection each": ([], [0])}
    lock, end = threading.Lock(), time.monotonic() + seconds
    failures = collections.Counter()

    def client(seed: int, kind: str):
        rng = random.Random(seed)
        times, errors = out[kind]
        conn = None
        while time.monotonic() < end:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            data = json.dumps({"model": "mnist-cnn", "image": images[rng.randrange(len(images))],
                               "explain": ["saliency"]})
            t = time.perf_counter()
            why = None
            try:
                conn.request("POST", "/api/predict", data, {"Content-Type": "application/json"})
                r = conn.getresponse()
                answer = r.read()
                ok = r.status == 200 and len(json.loads(answer)["probs"]) == 10
                if not ok:
                    why = f"{r.status} {answer[:60]!r}"
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                ok, why = False, type(e).__name__
                conn.close()
                conn = None
            dt = 1000 * (time.perf_counter() - t)
            with lock:
                times.append(dt)
                errors[0] += not ok
                if why:
                    failures[f"{kind}: {why}"] += 1
            if kind != "keep-alive" and conn is not None:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    kinds = ["keep-alive", "new connection each"]
    threads = [threading.Thread(target=client, args=(i, kinds[i % 2])) for i in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for why, count in failures.items():
        print(f"  error x{count}: {why}")
    return {k: (v[0], v[1][0]) for k, v in out.items()}


def slowloris(host: str, port: int, n: int, seconds: float, clients: int, images: list, timeout: float,
              per_client: int) -> bool:
    print(f"slowloris: {n} sockets on loopback, each a request line then 1 header byte/s (a closed one reopened at "
          f"its next tick), for {seconds:.0f} s; {clients} predict+saliency clients from the same IP; server "
          f"--timeout {timeout:g} --max-per-client {per_client}; machine load average before: "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'phase':<20}{'client':<22}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'errors':>8}"
          f"{'p95 < ' + format(SLOWLORIS_P95_MS, '.0f'):>10}")
    ok = True
    for phase in ("alone", f"{n} slow sockets"):
        attack = None
        if phase != "alone":
            attack = SlowSockets(host, port, n)
            attack.thread.start()
            time.sleep(1.5)  # all open
        results = timed_load(host, port, seconds if attack else min(10.0, seconds), clients, images)
        if attack:
            attack.stop.set()
            attack.thread.join()
        for kind, (times, errors) in results.items():
            p95 = pct(times, 0.95) if times else float("inf")
            good = p95 < SLOWLORIS_P95_MS and errors == 0 and bool(times)
            ok &= good
            print(f"{phase:<20}{kind:<22}{len(times):>9}{pct(times, 0.5):>9.1f}{p95:>9.1f}{max(times):>9.1f}"
                  f"{errors:>8}{'yes' if good else 'NO':>10}")
        if attack:
            st = attack.stats
            print(f"slow sockets: {st['opened']} opened, {st['bytes']} bytes trickled; " +
                  ", ".join(f"{k}: {v}" for k, v in st.items() if k not in ("opened", "bytes")))
            print(f"slow socket lifetime: median {pct(attack.lifetimes, 0.5):.1f} s, longest "
                  f"{max(attack.lifetimes):.1f} s (the deadline is {timeout:g} s)")
    return ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=None, help="concurrent clients (default 16; 4 with --slowloris)")
    ap.add_argument("--requests", type=int, default=2000, help="requests per kind (default 2000)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fuzz", type=int, default=0, help="run N fuzz requests instead of the load test")
    ap.add_argument("--slowloris", type=int, default=0, metavar="N",
                    help="N slow sockets (at most 1000) against predict clients instead of the load test")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds of --slowloris (default 30, at most 120)")
    ap.add_argument("--timeout", type=float, default=10.0, help="the server's --timeout (default 10)")
    ap.add_argument("--max-per-client", type=int, default=64, help="the server's --max-per-client (default 64)")
    args = ap.parse_args()
    if not 0 <= args.slowloris <= 1000 or not 0 < args.duration <= 120:
        ap.error("--slowloris must be in [0, 1000] and --duration in (0, 120]")
    if args.clients is None:
        args.clients = 4 if args.slowloris else 16

    import torch  # noqa: F401  (the digits)
    from advgen import data

    x = data.load("mnist").x_test
    images = [[round(v, 3) for v in x[i].reshape(-1).tolist()] for i in range(200)]
    proc, host, port = start_server(args.workers, "--timeout", str(args.timeout),
                                    "--max-per-client", str(args.max_per_client))
    assert host == "127.0.0.1"  # loopback only
    code = 0
    try:
        load(host, port, "predict+saliency", 50, 4, images)  # warm-up
        load(host, port, "pgd-10", 20, 4, images)
        rss = {"after warm-up": rss_mib(proc.pid)}
        if args.slowloris:
            ok = slowloris(host, port, args.slowloris, args.duration, args.clients, images, args.timeout,
                           args.max_per_client)
            up = proc.poll() is None and alive(host, port)
            print(f"every client's p95 < {SLOWLORIS_P95_MS:.0f} ms with 0 errors: {ok}; server up afterwards: {up}")
            rss["after slowloris"] = rss_mib(proc.pid)
            code = 0 if ok and up else 1
        elif args.fuzz:
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
            fivexx = {k: v for k, v in seen.items() if isinstance(k, int) and k >= 500}
            print(f"5xx answers: {sum(fivexx.values())} ({', '.join(f'{k}: {v}' for k, v in fivexx.items()) or 'none'}"
                  f"; 503 is 'busy', e.g. both lab slots taken); 5xx other than 503: "
                  f"{sum(v for k, v in fivexx.items() if k != 503)}; server up and answering afterwards: {up}")
            code = 0 if up and not any(k != 503 for k in fivexx) else 1
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
    return code


if __name__ == "__main__":
    sys.exit(main())
