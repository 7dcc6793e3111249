"""The server's defences, on real loopback sockets: the whole-request deadline (slowloris), the head size
limit, the connection limits, and JSON that is nested too deep."""
from __future__ import annotations

import http.client
import json
import select
import socket
import threading
import time

import pytest


def _status(raw: bytes) -> int | None:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.") else None


def _exchange(server, data: bytes, timeout: float = 10.0) -> int | None:
    """Send ``data`` (from a thread, so a server that answers early cannot block us), read to EOF: the status."""
    sock = socket.create_connection((server.host, server.port), timeout=timeout)

    def send():
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    sender = threading.Thread(target=send)
    sender.start()
    chunks = []
    try:
        while c := sock.recv(65536):
            chunks.append(c)
    except ConnectionResetError:
        pass
    finally:
        sender.join(timeout)
        sock.close()
    return _status(b"".join(chunks))


class Slow:
    """A socket that sends ``first`` and then one byte each time :meth:`trickle` is called."""

    def __init__(self, server, first: bytes):
        self.sock = socket.create_connection((server.host, server.port))
        self.sock.sendall(first)
        self.opened, self.cut, self.answer = time.monotonic(), None, b""

    def trickle(self):
        if not self.poll():
            try:
                self.sock.send(b"a")
            except OSError:
                self.cut = time.monotonic()

    def poll(self) -> bool:
        """Whether the server closed it (its answer, if any, in ``answer``)."""
        while self.cut is None and select.select([self.sock], [], [], 0)[0]:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            self.answer += data
            if not data:
                self.cut = time.monotonic()
        return self.cut is not None


def test_slow_clients_are_cut_at_the_deadline_while_others_are_answered(new_server):
    """Slowloris: a byte every ~0.1 s never trips a per-read timeout. With a 1 s deadline on the whole
    request every slow socket is cut after 1 s (408), whether it trickles its head or its body, and a
    client that opens a fresh connection for each request is answered all the while."""
    s = new_server(timeout=1.0)
    try:
        heads = [b"GET /api/info HTTP/1.1\r\nHost: x\r\n",
                 b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{"]
        slow = [Slow(s, heads[i % 2]) for i in range(12)]
        answered = []
        end = time.monotonic() + 4.0
        while time.monotonic() < end and not all([c.poll() for c in slow]):
            for c in slow:
                c.trickle()
            t = time.monotonic()
            status, _ = s.get("/api/info", timeout=5)
            answered.append((status, time.monotonic() - t))
            time.sleep(0.08)
        lived = [None if c.cut is None else round(c.cut - c.opened, 2) for c in slow]
        assert all(c.cut is not None for c in slow), f"slow sockets still open after 4 s: {lived}"
        assert all(0.9 <= t <= 2.0 for t in lived), f"cut after {lived} s; the deadline is 1 s"
        assert all(_status(c.answer) == 408 for c in slow), [c.answer[:40] for c in slow]
        assert len(answered) >= 8 and all(st == 200 for st, _ in answered), answered
        assert max(dt for _, dt in answered) < 0.5, answered
    finally:
        for c in slow:
            c.sock.close()
        s.close()


@pytest.mark.parametrize("limits", [{"max_connections": 4}, {"max_per_client": 4}])
def test_a_full_connection_table_drops_trickling_connections_not_clients(new_server, limits):
    """An idle keep-alive client and slow sockets fill the table (the deadline is far away): each newcomer,
    slow or not, pushes out the slow socket that has trickled longest, the new client is answered, and the
    idle keep-alive connection - the oldest of all - is still there."""
    s = new_server(timeout=30.0, **limits)
    keep = http.client.HTTPConnection(s.host, s.port, timeout=5)
    slow = []
    try:
        keep.request("GET", "/api/info")
        r = keep.getresponse()
        assert r.status == 200 and r.read()
        for _ in range(4):  # the 4th already needs a slot
            slow.append(Slow(s, b"GET /api/info HTTP/1.1\r\nHost: x\r\n"))
            time.sleep(0.05)  # accepted in this order
        time.sleep(0.2)
        status, info = s.get("/api/info", timeout=5)
        assert status == 200 and info["models"]
        time.sleep(0.2)
        assert [c.poll() for c in slow] == [True, True, False, False]
        assert [_status(c.answer) for c in slow[:2]] == [503, 503]
        keep.request("GET", "/api/info")
        r = keep.getresponse()
        assert r.status == 200 and json.loads(r.read())["models"]
    finally:
        keep.close()
        for c in slow:
            c.sock.close()
        s.close()


def test_a_slow_newcomer_is_turned_away_when_the_table_holds_only_answered_clients(new_server):
    s = new_server(timeout=30.0, max_per_client=3)
    keep = [http.client.HTTPConnection(s.host, s.port, timeout=5) for _ in range(3)]
    slow = None
    try:
        for k in keep:
            k.request("GET", "/api/info")
            r = k.getresponse()
            assert r.status == 200 and r.read()
        slow = Slow(s, b"GET /api/info HTTP/1.1\r\nHost: x\r\n")
        time.sleep(0.3)
        assert slow.poll() and _status(slow.answer) == 503
        for k in keep:  # none of them was dropped for it
            k.request("GET", "/api/info")
            r = k.getresponse()
            assert r.status == 200 and r.read()
    finally:
        for k in keep:
            k.close()
        if slow is not None:
            slow.sock.close()
        s.close()


def test_oversized_heads_get_431_and_long_request_lines_414(server):
    big = b"GET /api/info HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 1000) for i in range(40))
    assert _exchange(server, big + b"\r\n") == 431  # 40 KB of short header lines
    huge = b"GET /api/info HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"a" * 60000) for i in range(35))
    assert _exchange(server, huge + b"\r\n") == 431  # 2 MB of headers: refused before it is all read
    assert _exchange(server, b"GET /api/info?" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n") == 414
    ok = b"GET /api/info HTTP/1.1\r\nHost: x\r\nCookie: " + b"a" * 8000 + b"\r\nConnection: close\r\n\r\n"
    assert _exchange(server, ok) == 200  # a big but ordinary head still works


def test_deep_nesting_is_a_short_400_at_every_depth(server):
    """Past MAX_DEPTH (8) levels a body is refused before any handler sees it, with one short message;
    it used to reach the handlers, whose errors quoted it back (2 KB of brackets at depth 1000). Up to the
    parser's own limit (~1000 levels, which was already a 400) and beyond it."""
    for depth in [8, 30, *range(900, 1010, 6), 5000]:
        raw = b'{"explain": ' + b"[" * depth + b"]" * depth + b', "image": ' + json.dumps([0.0] * 784).encode() + b"}"
        status, r = server.request("POST", "/api/predict", raw=raw)
        assert status == 400, (depth, status, r)
        assert "nested deeper" in r["error"] or "JSON" in r["error"], (depth, r)
        assert len(r["error"]) < 300, (depth, len(r["error"]))
