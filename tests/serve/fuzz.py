"""Random and malformed requests for the playground (used by tests/serve/test_fuzz.py and benchmarks/serve_load.py)."""
from __future__ import annotations

import json
import random
import socket

PATHS = ["/", "/api/info", "/api/digit", "/api/predict", "/api/attack", "/api/generate", "/api/interpolate",
         "/api/game/round", "/api/game/guess", "/api/lab/start", "/api/lab/stop", "/api/lab/reset", "/api/lab/status"]
KEYS = ["image", "model", "models", "explain", "target", "attack", "eps", "steps", "seed", "z", "seed_a", "seed_b",
        "n", "token", "choice", "client", "mixture", "pack"]
OK = {200, 204, 400, 404, 405, 408, 409, 411, 413, 414, 431, 503, 505}
HUGE = [10**400, -(10**400), 10**4000, 2**1024, -(2**1024) - 1]  # ints JSON carries but a float cannot


def value(rng: random.Random, depth: int = 0):
    r = rng.random()
    if r < 0.15:
        return rng.choice([0, 1, -1, 10, 2**63, -(2**70), 1e308, -1e-308, 0.5, 1e999, *HUGE])
    if r < 0.3:
        return rng.choice(["", "mnist-cnn", "pgd", "cw", "ring", "saliency", "x" * rng.randrange(200), "\u0000", "ü"])
    if r < 0.4:
        return rng.choice([None, True, False])
    if r < 0.55:  # image-like
        n = rng.choice([784, 784, 783, 28, 0, 1])
        im = [rng.choice([rng.random(), rng.uniform(-2, 2), 1, 0]) for _ in range(n)]
        if im and rng.random() < 0.2:
            im[rng.randrange(n)] = rng.choice(HUGE)
        return im
    if r < 0.65:
        return [[rng.random() for _ in range(28)] for _ in range(rng.choice([28, 27]))]
    if r < 0.8 and depth < 3:
        return [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    if depth < 3:
        return {rng.choice(KEYS): value(rng, depth + 1) for _ in range(rng.randrange(5))}
    return rng.random()


# a valid body per endpoint, for mutants: one field (or one element of a list field) replaced
TEMPLATES = {"/api/predict": {"image": [0.5] * 784, "target": 3, "explain": ["saliency"]},
             "/api/attack": {"image": [0.5] * 784, "attack": "fgsm", "eps": 0.1, "target": 2},
             "/api/generate": {"z": [0.0] * 64}, "/api/interpolate": {"seed_a": 1, "seed_b": 2, "n": 2},
             "/api/game/guess": {"token": "ffff", "choice": 0}, "/api/lab/start": {"client": "fz", "steps": 10},
             "/api/lab/status": {"client": "fz"}}


def mutant(rng: random.Random, path: str) -> bytes:
    """A request that is valid but for one huge number or one deeply nested value."""
    obj = json.loads(json.dumps(TEMPLATES.get(path, TEMPLATES["/api/predict"])))
    key = rng.choice(list(obj))
    d = rng.choice([9, 50, rng.randrange(850, 1100)])
    bad = rng.choice(HUGE) if rng.random() < 0.7 else json.loads("[" * min(d, 900) + "]" * min(d, 900))
    if isinstance(obj[key], list) and obj[key] and rng.random() < 0.7:
        obj[key][rng.randrange(len(obj[key]))] = bad
    else:
        obj[key] = bad
    return json.dumps(obj).encode()


def body(rng: random.Random, path: str = "/api/predict") -> bytes:
    kind = rng.random()
    if kind < 0.1:
        return mutant(rng, path)
    if kind < 0.5:  # plausible JSON object
        obj = {rng.choice(KEYS): value(rng) for _ in range(rng.randrange(1, 7))}
        if "steps" in obj and isinstance(obj["steps"], int):
            obj["steps"] = min(abs(obj["steps"]), 50)  # keep the valid ones cheap
        if "client" in obj:
            obj["steps"] = 10
        return json.dumps(obj).encode()
    if kind < 0.6:
        return rng.randbytes(rng.randrange(1, 2000))
    if kind < 0.65:
        d = rng.randrange(10, 30000)
        return b"[" * d + b"]" * d
    if kind < 0.7:  # deep nesting inside a plausible body, around the parser's recursion limit too
        d = rng.choice([rng.randrange(2, 40), rng.randrange(850, 1100)])
        key = rng.choice(["explain", "models", "image", "z", "model", "client"])
        return b'{"%s": %s%s, "image": %s}' % (key.encode(), b"[" * d, b"]" * d, json.dumps([0.5] * 784).encode())
    if kind < 0.8:
        return b'{"image": [' + b",".join([b"NaN", b"Infinity", b"-Infinity", b"1e999"][rng.randrange(4)]
                                           for _ in range(784)) + b"]}"
    if kind < 0.9:
        return json.dumps(value(rng)).encode()
    return b'{"image": ' + json.dumps([0.5] * 784).encode()[: rng.randrange(1, 3000)]


def one(rng: random.Random, host: str, port: int, timeout: float = 20.0) -> int | None:
    """Send one random request on a fresh socket; return the status code (None: no answer, connection closed)."""
    path = rng.choice(PATHS)
    if rng.random() < 0.15:
        path = "/" + "".join(rng.choice("abc/.%?=&\\ü\u00ff") for _ in range(rng.randrange(1, 300)))
    if rng.random() < 0.2:
        path += "?" + "&".join(f"{rng.choice(['index', 'client', 'x'])}={rng.choice(['1', '-3', 'abc', '99999999', '%00'])}"
                               for _ in range(rng.randrange(1, 12)))
    method = rng.choice(["GET", "POST", "POST", "POST", "PUT", "DELETE", "HEAD", "BREW"])
    data = body(rng, path) if method in ("POST", "PUT") else b""
    r = rng.random()
    if r < 0.05:
        raw = rng.randbytes(rng.randrange(1, 500))                               # not HTTP at all
    else:
        length = len(data)
        if r < 0.10:
            length = rng.choice([10**9, 10**7, 65537])                           # huge claimed bodies
        elif r < 0.15:
            length = len(data) + rng.randrange(1, 100)                           # truncated body
        elif r < 0.17 and method in ("POST", "PUT"):
            data = b'{"image": [' + b"0.5," * rng.randrange(20_000, 500_000) + b"0]}"  # huge bodies, sent
            length = len(data)
        headers = [f"{method} {path.encode('utf-8', 'replace').decode('latin-1')} HTTP/1.1", "Host: x"]
        if method in ("POST", "PUT") and rng.random() > 0.05:
            headers.append(f"Content-Length: {length if rng.random() > 0.03 else 'abc'}")
        if rng.random() < 0.03:
            headers.append("X-Big: " + "a" * 70000)                              # oversized header line
        elif rng.random() < 0.03:
            headers += [f"X-Many-{i}: " + "a" * 60000 for i in range(35)]        # 2 MB of header lines
        elif rng.random() < 0.03:
            headers += [f"X-Some-{i}: " + "a" * 100 for i in range(200)]         # 20 KB in many short lines
        if rng.random() < 0.03:
            headers.append("Transfer-Encoding: chunked")
        raw = ("\r\n".join(headers) + "\r\nConnection: close\r\n\r\n").encode("latin-1", "replace") + data
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(raw)
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        chunks = []
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                chunks.append(c)
        except (ConnectionResetError, socket.timeout):
            pass
    head = b"".join(chunks)[:64]
    if not head.startswith(b"HTTP/"):
        return None
    return int(head.split(b" ", 2)[1])
