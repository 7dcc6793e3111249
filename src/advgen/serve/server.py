"""HTTP plumbing of the playground: connection handling, request limits, routing, JSON errors, the work queue.

Why a standard-library server and not Gradio: the playground needs four custom interactive
views (a drawing canvas with live heat maps, sliders over a latent code, streaming scatter
plots, a game) that are a few hundred lines of plain HTML/JS but awkward in Gradio's component
model; Gradio would add a heavy dependency tree (FastAPI, uvicorn, pydantic, httpx, ...), a
front end that fetches fonts and scripts from CDNs unless configured otherwise, and its own
queue whose limits we would have to work around to give a clear "busy" answer. Here the whole
server is :mod:`http.server`'s request parsing plus a connection loop and a :class:`WorkQueue`
we control, and the page is one self-contained file shipped as package data: it works offline,
and ``pip install advgen`` is all it takes.

How connections are served (why slow clients cannot starve fast ones)
--------------------------------------------------------------------
A thread per connection (``ThreadingHTTPServer``) with a cap on connections is what slowloris
defeats: 64 sockets that each send a header byte per second hold all 64 threads, because a
per-read timeout never fires, and every other client gets 503 for as long as they like. So a
thread here is never given a connection, only a *complete request*:

- **One I/O thread** (``advgen-serve-io``) owns every client socket, non-blocking, on one
  :mod:`selectors` loop. It reads until a request's head (``max_header`` bytes at most: 431, or
  414 when the request line alone is longer) and its ``Content-Length`` body have arrived, and
  it writes every answer. A slow socket costs this thread a wake-up per byte, and nothing else.
- **A deadline per request**, not per read: from the moment a connection is ready for a request
  (accepted, or its previous answer sent) its whole request, headers and body, must be in within
  ``timeout`` seconds, or the connection gets 408 and is closed; an idle keep-alive connection is
  closed silently at the same point; an answer the client does not read within ``timeout`` is
  dropped. So a slow socket lives ``timeout`` seconds, however it trickles.
- **Handler threads** (``handlers`` of them, more than ``max_pending`` so light requests always
  find one) take complete requests off a queue, parse them with :class:`Handler` from memory
  and return the answer's bytes to the I/O thread. They never wait on a socket.
- **Connection limits with eviction**: at most ``max_per_client`` open connections per remote
  IP and ``max_connections`` in all. Past either limit, the most expendable of the connections
  that are only *waiting* and the newcomer is dropped (503): first one lingering after a close,
  then one *trickling* a request (part of it in, the rest not), one not reading its answer, one
  opened but silent, an idle keep-alive connection that has been answered before, and last a
  newcomer whose whole request came with its handshake; the longest waiting first within each.
  When every connection has a request being computed, the newcomer is refused. This matters
  because the playground listens on loopback, where every client, good or slow, has the same
  IP: a plain per-IP cap would let slow sockets lock out the browser. A client that sends each
  request promptly is never "trickling", so however fast slow sockets reconnect, they only push
  each other out, or are turned away when the table holds good connections only. (Measured: a
  plain oldest-first rule let 100 slow sockets reconnecting ~80 times a second make any client
  idle for 0.3 s the oldest, and good keep-alive clients were dropped.)
- After an error answer that closes the connection (413, 431, 408, ...) the socket is shut for
  writing and read and discarded for up to 1 s ("lingering close"), so the client reads the
  answer instead of a connection reset.

Rules every request goes through (so the server never crashes and never touches the disk):

- routes are a fixed table of names; the request path is only ever a dictionary key, and the
  one file served (``static/index.html``) is read from package data once, at start-up;
- POST bodies need a ``Content-Length`` of at most ``max_body`` bytes (411/413 otherwise), must
  be a JSON object (``NaN``/``Infinity`` refused) nested at most ``MAX_DEPTH`` levels — 400 with
  the reason; every number in it is range-checked before it is converted (:mod:`.api`);
- heavy handlers (anything that runs a network) go through :class:`WorkQueue`: ``workers``
  threads and at most ``max_pending`` requests queued or running; past that, 503
  ``{"error": "busy ..."}`` at once; light ones (info, digits, polling) answer in the handler
  thread. Predict, attack and generate requests are validated in the handler thread and
  *batched*: requests with the same settings that wait together run as one batch
  (:class:`advgen.serve.api.Batched`), which is what keeps 16 concurrent clients on 2 cores fast;
- any unexpected exception becomes a 500 JSON answer and a log line; ``ValueError``/``TypeError``
  from the library (which name the argument) become 400.
"""
from __future__ import annotations

import collections
import contextlib
import http.client
import io
import json
import logging
import queue
import re
import selectors
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from . import api
from .api import ApiError
from .lab import Lab

log = logging.getLogger("advgen.serve")

MAX_DEPTH = 8            # JSON nesting levels a body may have (an image as 28 rows is 3)
_LINGER_S = 1.0          # how long a closing connection is read and discarded (see the module docstring)
_LINGER_BYTES = 4 << 20  # ... and how much of it at most
_HEAD_END = re.compile(rb"\r?\n\r?\n")  # the blank line that ends a request's head (http.server accepts bare LF)


def _answer(status: int, message: str) -> bytes:
    """A complete ``Connection: close`` JSON error answer, for the I/O thread (which has no handler)."""
    body = json.dumps({"error": message}).encode()
    reason = http.client.responses.get(status, "Error")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Cache-Control: no-store\r\nConnection: close\r\n\r\n").encode() + body


_BUSY = _answer(503, "busy: too many open connections")
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_INTERNAL = _answer(500, "internal error (logged on the server)")


def _no_constants(name: str):
    raise ValueError(f"non-finite number {name} is not allowed")


def _too_deep(obj, limit: int) -> bool:
    """Whether lists/dicts nest deeper than ``limit`` levels (``obj`` itself is level 1); no recursion."""
    stack = [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if d > limit:
            return True
        for v in (o.values() if isinstance(o, dict) else o):
            if isinstance(v, (list, dict)):
                stack.append((v, d + 1))
    return False


def body_size(headers, max_body: int) -> tuple[int | None, tuple[int, str] | None]:
    """``(n, None)``: a body of ``n`` bytes follows the head; ``(None, (status, message))``: the request is
    refused before its body. One function for the I/O thread (how much to read) and the handler (what
    to answer), so the two can never disagree about where a request ends."""
    if headers.get("Transfer-Encoding"):
        return None, (411, "send a Content-Length, not a Transfer-Encoding")
    raw = headers.get("Content-Length")
    if raw is None:
        return None, (411, "Content-Length required")
    if not raw.isdigit() or len(raw) > 12:
        return None, (400, "Content-Length must be a non-negative integer")
    n = int(raw)
    if n > max_body:
        return None, (413, f"body of {n} bytes is over the limit of {max_body}")
    return n, None


class _Job:
    __slots__ = ("key", "fn", "item", "done", "result", "error")

    def __init__(self, key, fn, item):
        self.key, self.fn, self.item = key, fn, item
        self.done, self.result, self.error = threading.Event(), None, None


class WorkQueue:
    """``workers`` threads over one queue that refuses work past ``max_pending`` (queued + running)
    with a 503 instead of letting it pile up. Jobs submitted with :meth:`run_batched` under equal
    keys that wait together are handed to their function as one list (up to ``max_batch``)."""

    def __init__(self, workers: int = 2, max_pending: int = 32, timeout: float = 60.0, max_batch: int = 16):
        self.max_pending, self.timeout, self.max_batch = max_pending, timeout, max_batch
        self.jobs: collections.deque[_Job] = collections.deque()
        self.cv = threading.Condition()
        self.pending = 0
        self.closed = False
        self.threads = [threading.Thread(target=self._work, name=f"advgen-serve-{i}", daemon=True)
                        for i in range(workers)]
        for t in self.threads:
            t.start()

    def run(self, fn, *args):
        """``fn(*args)`` on a worker; its result, or its exception re-raised here."""
        return self._submit(_Job(None, lambda items: [fn(*items[0])], args))

    def run_batched(self, key, fn, item):
        """``fn([item, ...])[i]`` for this item, batched with waiting items of the same ``key``."""
        return self._submit(_Job(key, fn, item))

    def _submit(self, job: _Job):
        with self.cv:
            if self.closed:
                raise ApiError(503, "the server is shutting down")
            if self.pending >= self.max_pending:
                raise ApiError(503, f"busy: {self.max_pending} requests are already waiting; try again soon")
            self.pending += 1
            self.jobs.append(job)
            self.cv.notify()
        if not job.done.wait(self.timeout):
            raise ApiError(504, f"the computation took longer than {self.timeout:.0f} s")
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job] | None:
        with self.cv:
            while not self.jobs and not self.closed:
                self.cv.wait()
            if self.closed:
                return None
            first = self.jobs.popleft()
            batch = [first]
            if first.key is not None:
                for j in list(self.jobs):
                    if len(batch) >= self.max_batch:
                        break
                    if j.key == first.key:
                        self.jobs.remove(j)
                        batch.append(j)
            return batch

    def _work(self) -> None:
        while (batch := self._take()) is not None:
            try:
                results = batch[0].fn([j.item for j in batch])
                for j, r in zip(batch, results):
                    j.result = r
            except BaseException as e:  # noqa: BLE001 - delivered to every waiting request
                for j in batch:
                    j.error = e
            finally:
                with self.cv:
                    self.pending -= len(batch)
                for j in batch:
                    j.done.set()

    def shutdown(self, timeout: float = 0.0) -> None:
        """Refuse what waits; let the running batches finish for up to ``timeout`` seconds in all."""
        with self.cv:
            self.closed = True
            for j in self.jobs:
                j.error = ApiError(503, "the server is shutting down")
                j.done.set()
            self.jobs.clear()
            self.cv.notify_all()
        end = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, end - time.monotonic()))


# ----------------------------------------------------------------------------- connections
_READING, _WORKING, _WRITING, _DRAINING, _CLOSED = "reading", "working", "writing", "draining", "closed"


class _Conn:
    """One client socket, owned by the I/O thread (handler threads only read ``addr``)."""

    __slots__ = ("sock", "addr", "ip", "state", "start", "buf", "scan", "need", "expect", "out", "after", "drained",
                 "mask", "served", "began")

    def __init__(self, sock: socket.socket, addr, now: float):
        self.sock, self.addr, self.ip = sock, addr, addr[0] if isinstance(addr, tuple) else str(addr)
        self.state, self.start = _READING, now  # start: when the current deadline began
        self.buf = bytearray()
        self.scan = 0                     # bytes of buf already searched for the end of the head
        self.need: int | None = None      # head + body length, once the head is in
        self.expect = False               # Expect: 100-continue, not answered yet
        self.out: memoryview | None = None
        self.after = "close"              # once ``out`` is written: "close" or "keep" (read the next request)
        self.drained = 0
        self.mask = 0                     # selector events registered
        self.served = 0                   # requests handed to the handlers so far
        self.began = now                  # when the first byte of the request in buf arrived


class Playground(HTTPServer):
    """``Playground(app, (host, port)).serve_forever()``; port 0 picks a free port (see ``.url``).

    ``timeout``: seconds a whole request (head and body) may take to arrive, counted from when the
    connection is ready for it; also the idle keep-alive limit and the time an answer may take to be
    read. ``max_header``: bytes of a request's head. ``max_connections`` / ``max_per_client``: open
    connections in all / per remote IP (see the module docstring for what happens past them).
    ``handlers``: threads that parse requests and wait for the work queue (default ``max_pending + 16``)."""

    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, app: api.App, address=("127.0.0.1", 8000), *, workers: int = 2, max_pending: int = 32,
                 max_body: int = 64 * 1024, max_header: int = 16 * 1024, max_connections: int = 512,
                 max_per_client: int = 64, timeout: float = 10.0, handlers: int | None = None, max_jobs: int = 2):
        for name, v in (("max_body", max_body), ("max_header", max_header), ("max_connections", max_connections),
                        ("max_per_client", max_per_client)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not isinstance(timeout, (int, float)) or not 0 < timeout < 3600:
            raise ValueError(f"timeout must be a number of seconds in (0, 3600), got {timeout!r}")
        self.app, self.max_body, self.max_header, self.timeout = app, max_body, max_header, float(timeout)
        self.max_connections, self.max_per_client = max_connections, max_per_client
        self.queue = WorkQueue(workers, max_pending)
        self.lab = Lab(max_jobs=max_jobs)
        self.page = resources.files(__package__).joinpath("static/index.html").read_bytes()
        # name -> (handler, heavy?)
        self.get_routes = {"/api/info": (api.info, False), "/api/digit": (api.digit, False),
                           "/api/lab/status": (self.lab.status, False)}
        self.post_routes = {"/api/predict": (api.predict, True), "/api/attack": (api.attack, True),
                            "/api/generate": (api.generate, True), "/api/interpolate": (api.interpolate, True),
                            "/api/game/round": (api.game_round, True), "/api/game/guess": (api.game_guess, False),
                            "/api/lab/start": (self.lab.start, False), "/api/lab/stop": (self.lab.stop, False),
                            "/api/lab/reset": (self.lab.reset, False)}
        super().__init__(address, Handler)
        # the I/O thread's state: touched by that thread only, except the inbox
        self._conns: set[_Conn] = set()
        self._by_ip: dict[str, set[_Conn]] = {}
        self._inbox: collections.deque = collections.deque()  # ("new", (sock, addr)) | ("answer", conn, bytes, close)
        self._ready: queue.SimpleQueue = queue.SimpleQueue()  # complete requests for the handler threads
        self._stopping = False
        self._next_deadline = float("inf")
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._io = threading.Thread(target=self._io_loop, name="advgen-serve-io", daemon=True)
        self._io.start()
        self._handlers = [threading.Thread(target=self._handle_requests, name=f"advgen-serve-handler-{i}", daemon=True)
                          for i in range(handlers if handlers is not None else max_pending + 16)]
        for t in self._handlers:
            t.start()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------ the accepting thread (serve_forever)
    def process_request(self, request, client_address):
        self._post(("new", request, client_address))

    def handle_error(self, request, client_address):  # never print tracebacks for broken sockets
        log.debug("connection error from %s", client_address, exc_info=True)

    def server_close(self):
        self._stopping = True
        self._wake()
        self._io.join(1.0)
        for _ in self._handlers:
            self._ready.put(None)
        # Ctrl-C must stop the server within 1 s: lab jobs stop within a training step; a batch being
        # computed (an attack can take seconds) gets what is left of 0.5 s, then is abandoned (daemon threads)
        end = time.monotonic() + 0.5
        self.lab.shutdown(timeout=0.5)
        self.queue.shutdown(timeout=max(0.0, end - time.monotonic()))
        super().server_close()

    # ------------------------------------------------------------ handler threads
    def _handle_requests(self) -> None:
        while (item := self._ready.get()) is not None:
            conn, request, eof = item
            try:
                h = Handler(request, conn.addr, self)
                out, close = h.wfile.getvalue(), h.close_connection
            except Exception:  # noqa: BLE001 - a bug in parsing must not take the thread down
                log.exception("request from %s failed", conn.addr)
                out, close = _INTERNAL, True
            self._post(("answer", conn, out, close or eof))

    # ------------------------------------------------------------ the I/O thread
    def _post(self, item) -> None:
        self._inbox.append(item)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wake_w.send(b"\0")
        except OSError:  # the pipe is full (a wake-up is pending anyway) or closed (stopping)
            pass

    def _io_loop(self) -> None:
        try:
            while not self._stopping:
                now = time.monotonic()
                wait = None if self._next_deadline == float("inf") else max(0.0, self._next_deadline - now)
                for key, _ in self._sel.select(wait):
                    if key.data is None:
                        with contextlib.suppress(OSError):
                            while self._wake_r.recv(4096):
                                pass
                    else:
                        self._guarded(self._on_event, key.data)
                while self._inbox:
                    item = self._inbox.popleft()
                    if item[0] == "new":
                        self._accept(item[1], item[2])
                    else:
                        self._guarded(self._send, *item[1:])
                if time.monotonic() >= self._next_deadline:
                    self._sweep()
        except Exception:  # noqa: BLE001 - logged; the server then answers nobody, which tests would see
            log.exception("the connection loop failed")
        finally:
            for c in list(self._conns):
                self._close(c)
            while self._inbox:  # accepted but never seen
                item = self._inbox.popleft()
                if item[0] == "new":
                    with contextlib.suppress(OSError):
                        item[1].close()
            self._sel.close()
            self._wake_r.close()
            self._wake_w.close()

    def _guarded(self, fn, c: _Conn, *args) -> None:
        """``fn(c, ...)``; a bug while serving one connection closes that connection, not the loop."""
        try:
            fn(c, *args)
        except Exception:  # noqa: BLE001
            log.exception("connection from %s failed", c.addr)
            self._close(c)

    def _watch(self, c: _Conn, events: int) -> None:
        if c.mask == events:
            return
        if c.mask and events:
            self._sel.modify(c.sock, events, c)
        elif events:
            self._sel.register(c.sock, events, c)
        else:
            self._sel.unregister(c.sock)
        c.mask = events

    def _deadline(self, c: _Conn, seconds: float, now: float) -> None:
        c.start = now
        self._next_deadline = min(self._next_deadline, now + seconds)

    def _accept(self, sock: socket.socket, addr) -> None:
        now = time.monotonic()
        c = _Conn(sock, addr, now)
        try:
            sock.setblocking(False)
            # answers are one write, but a 100 Continue or a pipelined answer must not wait for an ACK
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # a client usually sends its request with the handshake: what has come decides, if the table
            # is full, whether this newcomer or a waiting connection makes room
            c.buf += sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return self._drop(sock)
        for pool, limit in ((self._by_ip.get(c.ip, ()), self.max_per_client), (self._conns, self.max_connections)):
            if len(pool) >= limit:
                mine = (5, now) if self._arrived(c) else (1, now) if c.buf else (3, now)
                waiting = [w for w in pool if w.state != _WORKING]
                victim = min(waiting, key=self._expendable, default=None)
                if victim is None or mine <= self._expendable(victim):
                    return self._drop(sock)
                self._evict(victim)
        self._conns.add(c)
        self._by_ip.setdefault(c.ip, set()).add(c)
        self._deadline(c, self.timeout, now)
        self._watch(c, selectors.EVENT_READ)
        if c.buf:
            self._guarded(self._parse, c)

    def _drop(self, sock: socket.socket) -> None:
        """Refuse a new connection: 503, closed."""
        with contextlib.suppress(OSError):
            sock.send(_BUSY)
        with contextlib.suppress(OSError):
            sock.close()

    def _arrived(self, c: _Conn) -> bool:
        """Whether a whole request is in ``c.buf``."""
        buf = bytes(c.buf.lstrip(b"\r\n"))
        m = _HEAD_END.search(buf)
        return m is not None and len(buf) >= m.end() + self._body_length(buf[:m.end()])[0]

    @staticmethod
    def _expendable(c: _Conn) -> tuple[int, float]:
        """Eviction order, first dropped first: lingering after a close; trickling a request (part of one
        in, the rest overdue: a client that sends promptly is never in this state for long, so this is
        where slowloris sits); not reading its answer; opened but silent; idle after answers (a browser's
        keep-alive). Within each, the longest waiting first (for a trickling one: since its request began,
        and one that was answered before after all others, so that a good client caught between two
        segments of its request is the last of them to go).
        A newcomer past a limit ranks by what it sent with its handshake (a whole request ranks above
        all of these), and is itself refused when nothing waiting is more expendable."""
        if c.state == _DRAINING:
            return 0, c.start
        if c.state == _WRITING:
            return 2, c.start
        if c.buf:  # a connection that was answered before goes after every one that never was
            return 1, c.began + (1e9 if c.served else 0.0)
        return (4 if c.served else 3), c.start

    def _evict(self, c: _Conn) -> None:
        if c.state == _READING and c.buf:  # in the middle of a request: say why, best effort
            with contextlib.suppress(OSError):
                c.sock.send(_BUSY)
        self._close(c)

    def _close(self, c: _Conn) -> None:
        if c.state == _CLOSED:
            return
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._watch(c, 0)
        c.state = _CLOSED
        with contextlib.suppress(OSError):
            c.sock.close()
        self._conns.discard(c)
        peers = self._by_ip.get(c.ip)
        if peers is not None:
            peers.discard(c)
            if not peers:
                del self._by_ip[c.ip]

    def _due(self, c: _Conn) -> float:
        """When ``c``'s current deadline passes (none while its request is computed)."""
        if c.state == _WORKING:
            return float("inf")
        return c.start + (_LINGER_S if c.state == _DRAINING else self.timeout)

    def _sweep(self) -> None:
        now = time.monotonic()
        for c in [c for c in self._conns if self._due(c) <= now]:
            if c.state == _READING and c.buf.strip():
                log.info("%s: request not complete after %g s: 408", c.ip, self.timeout)
                self._refuse(c, 408, f"the request did not arrive within {self.timeout:g} s")
            else:  # idle keep-alive, an answer nobody reads, or done lingering
                self._close(c)
        self._next_deadline = min((self._due(c) for c in self._conns), default=float("inf"))

    def _on_event(self, c: _Conn) -> None:
        if c.state == _WRITING:
            return self._write(c)
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return self._close(c)
        if c.state == _DRAINING:
            c.drained += len(data)
            if not data or c.drained > _LINGER_BYTES:
                self._close(c)
            return
        if c.state != _READING:
            return
        if not data:  # the client is done sending: answer what came (e.g. "body shorter than its Content-Length")
            if not c.buf.strip():
                return self._close(c)
            return self._dispatch(c, bytes(c.buf), eof=True)
        if not c.buf:
            c.began = time.monotonic()
        c.buf += data
        self._parse(c)

    def _parse(self, c: _Conn) -> None:
        if c.need is None:
            if c.buf[:1] in (b"\r", b"\n"):  # blank lines before a request are ignored (RFC 9112, 2.2)
                del c.buf[:len(c.buf) - len(c.buf.lstrip(b"\r\n"))]
                c.scan = 0
            m = _HEAD_END.search(c.buf, max(0, c.scan - 3))
            end = m.end() if m else None
            if end is None or end > self.max_header:
                if end is None and len(c.buf) <= self.max_header:
                    c.scan = len(c.buf)
                    return
                line = c.buf.find(b"\n")
                if line < 0 or line > self.max_header:
                    return self._refuse(c, 414, f"request line over {self.max_header} bytes")
                return self._refuse(c, 431, f"request head over {self.max_header} bytes")
            n, c.expect = self._body_length(bytes(c.buf[:end]))
            c.need = end + n
        if len(c.buf) >= c.need:
            request = bytes(c.buf[:c.need])
            del c.buf[:c.need]
            c.need, c.scan, c.expect = None, 0, False
            return self._dispatch(c, request, eof=False)
        if c.expect:  # the client waits for this before it sends the body
            c.expect = False
            with contextlib.suppress(OSError):
                c.sock.send(_CONTINUE)

    def _body_length(self, head: bytes) -> tuple[int, bool]:
        """(body bytes to read, answer 100 Continue?) for a head; 0 when the handler will refuse it."""
        first, _, rest = head.partition(b"\n")
        try:
            headers = http.client.parse_headers(io.BytesIO(rest))
        except (http.client.HTTPException, ValueError):  # too many or too long lines: the handler answers 431
            return 0, False
        n, _ = body_size(headers, self.max_body)
        if not n:
            return 0, False
        expect = headers.get("Expect", "").lower() == "100-continue" and first.rstrip().endswith(b"HTTP/1.1")
        return n, expect

    def _dispatch(self, c: _Conn, request: bytes, eof: bool) -> None:
        c.state = _WORKING
        c.served += 1
        self._watch(c, 0)
        self._ready.put((c, request, eof))

    def _refuse(self, c: _Conn, status: int, message: str) -> None:
        c.buf.clear()
        c.state = _WORKING  # so that _send takes it
        self._send(c, _answer(status, message), True)

    def _send(self, c: _Conn, out: bytes, close: bool) -> None:
        if c.state != _WORKING:  # closed (evicted, or the server is stopping) while its request was computed
            return
        c.state, c.out, c.after = _WRITING, memoryview(out), "close" if close else "keep"
        self._deadline(c, self.timeout, time.monotonic())
        self._write(c)

    def _write(self, c: _Conn) -> None:
        try:
            sent = c.sock.send(c.out)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            return self._close(c)
        c.out = c.out[sent:]
        if len(c.out):
            return self._watch(c, selectors.EVENT_WRITE)
        c.out = None
        now = time.monotonic()
        if c.after == "close":
            with contextlib.suppress(OSError):
                c.sock.shutdown(socket.SHUT_WR)
            c.state, c.buf = _DRAINING, bytearray()
            self._deadline(c, _LINGER_S, now)
            self._watch(c, selectors.EVENT_READ)
        else:
            c.state = _READING
            self._deadline(c, self.timeout, now)
            self._watch(c, selectors.EVENT_READ)
            if c.buf:  # a pipelined request already in
                c.began = now
                self._parse(c)


class Handler(BaseHTTPRequestHandler):
    """One complete request, parsed from memory by :mod:`http.server`; the answer is collected in
    ``wfile`` (the I/O thread writes it) and ``close_connection`` says whether to close afterwards."""

    server: Playground
    protocol_version = "HTTP/1.1"
    server_version = "advgen-serve"

    def __init__(self, request: bytes, client_address, server: Playground):
        self.client_address, self.server = client_address, server
        self.rfile, self.wfile = io.BytesIO(request), io.BytesIO()
        self.close_connection = True
        self.handle_one_request()

    def handle_expect_100(self):  # the I/O thread sent 100 Continue before it read the body
        return True

    def log_message(self, fmt, *args):
        log.info("%s %s", self.address_string(), fmt % args)

    # --------------------------------------------------------------- answers
    def _send(self, status: int, body: bytes, ctype: str = "application/json", close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj, close: bool = False) -> None:
        self._send(status, json.dumps(obj, allow_nan=False).encode(), close=close)

    def _error(self, status: int, message: str, close: bool = False) -> None:
        self._json(status, {"error": message[:500]}, close=close)

    def send_error(self, code, message=None, explain=None):  # http.server's own errors, as JSON
        if code == 501:  # a method no route takes is the client's mistake: 4xx like every bad request
            code, message = 405, f"method {self.command!r} not allowed"[:200]
        self._error(code, message or self.responses.get(code, ("error",))[0], close=True)

    # --------------------------------------------------------------- dispatch
    def _dispatch(self, routes: dict, arg) -> None:
        path = urlsplit(self.path).path
        route = routes.get(path)
        if route is None:
            other = self.server.post_routes if routes is self.server.get_routes else self.server.get_routes
            if path in other:
                return self._error(405, f"{path} does not take {self.command}")
            return self._error(404, f"no such endpoint: {path[:100]}")
        fn, heavy = route
        start = time.perf_counter()
        app, queue = self.server.app, self.server.queue
        try:
            if isinstance(fn, api.Batched):  # validate here, compute on a worker with others like it
                key, item = fn.prepare(app, arg)
                out = queue.run_batched((fn, key), lambda items, fn=fn, key=key: fn.compute(app, key, items), item)
            else:
                out = queue.run(fn, app, arg) if heavy else fn(app, arg)
        except ApiError as e:
            return self._error(e.status, e.message)
        except (ValueError, TypeError) as e:
            return self._error(400, str(e))
        except Exception:  # noqa: BLE001 - the server must stay up
            log.exception("handler %s failed", path)
            return self._error(500, "internal error (logged on the server)")
        out["ms"] = round(1000 * (time.perf_counter() - start), 1)
        self._json(200, out)

    def do_GET(self):
        split = urlsplit(self.path)
        if split.path in ("/", "/index.html"):
            return self._send(200, self.server.page, "text/html; charset=utf-8")
        if split.path in ("/favicon.ico",):
            return self._send(204, b"", "image/x-icon")
        try:
            query = dict(parse_qsl(split.query, max_num_fields=8, strict_parsing=False))
        except ValueError:
            return self._error(400, "malformed query string")
        self._dispatch(self.server.get_routes, query)

    do_HEAD = do_GET

    def do_POST(self):
        n, refused = body_size(self.headers, self.server.max_body)
        if refused:
            return self._error(*refused, close=True)
        body = self.rfile.read(n)
        if len(body) != n:
            return self._error(400, "body shorter than its Content-Length", close=True)
        try:
            obj = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            return self._error(400, f"body must be JSON: {str(e)[:200]}")
        if not isinstance(obj, dict):
            return self._error(400, f"body must be a JSON object, got {type(obj).__name__}")
        if _too_deep(obj, MAX_DEPTH):
            return self._error(400, f"body must not be nested deeper than {MAX_DEPTH} levels")
        self._dispatch(self.server.post_routes, obj)

    def _not_allowed(self):
        self._error(405, f"method {self.command} not allowed", close=True)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed


def serve(app: api.App, host: str = "127.0.0.1", port: int = 8000, **kwargs) -> None:
    """Run the playground until Ctrl-C (which stops it within a second, training jobs included)."""
    server = Playground(app, (host, port), **kwargs)
    print(f"advgen playground on {server.url}  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
