"""HTTP plumbing of the playground: routing, request limits, JSON errors and the bounded work queue.

Why a standard-library server and not Gradio: the playground needs four custom interactive
views (a drawing canvas with live heat maps, sliders over a latent code, streaming scatter
plots, a game) that are a few hundred lines of plain HTML/JS but awkward in Gradio's component
model; Gradio would add a heavy dependency tree (FastAPI, uvicorn, pydantic, httpx, ...), a
front end that fetches fonts and scripts from CDNs unless configured otherwise, and its own
queue whose limits we would have to work around to give a clear "busy" answer. Here the whole
server is :mod:`http.server` (``ThreadingHTTPServer``) plus a :class:`WorkQueue` we control,
and the page is one self-contained file shipped as package data: it works offline, and
``pip install advgen`` is all it takes.

Rules every request goes through (so the server never crashes and never touches the disk):

- routes are a fixed table of names; the request path is only ever a dictionary key, and the
  one file served (``static/index.html``) is read from package data once, at start-up;
- POST bodies need a ``Content-Length`` of at most ``max_body`` bytes (411/413 otherwise), must
  be a JSON object (``NaN``/``Infinity`` refused) — 400 with the reason;
- heavy handlers (anything that runs a network) go through :class:`WorkQueue`: ``workers``
  threads and at most ``max_pending`` requests queued or running; past that, 503
  ``{"error": "busy ..."}`` at once; light ones (info, digits, polling) answer in the
  connection's thread. Predict, attack and generate requests are validated in the connection's
  thread and *batched*: requests with the same settings that wait together run as one batch
  (:class:`advgen.serve.api.Batched`), which is what keeps 16 concurrent clients on 2 cores fast;
- at most ``max_connections`` connections are served at once (503 past that), and a socket idle
  for ``timeout`` seconds is dropped;
- any unexpected exception becomes a 500 JSON answer and a log line; ``ValueError``/``TypeError``
  from the library (which name the argument) become 400.
"""
from __future__ import annotations

import collections
import contextlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qsl, urlsplit

from . import api
from .api import ApiError
from .lab import Lab

log = logging.getLogger("advgen.serve")


_BUSY_BODY = b'{"error": "busy: too many open connections"}'
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n"
         b"Content-Length: %d\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


def _no_constants(name: str):
    raise ValueError(f"non-finite number {name} is not allowed")


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


class Playground(ThreadingHTTPServer):
    """``Playground(app, (host, port)).serve_forever()``; port 0 picks a free port (see ``.url``)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, app: api.App, address=("127.0.0.1", 8000), *, workers: int = 2, max_pending: int = 32,
                 max_body: int = 64 * 1024, max_connections: int = 64, timeout: float = 10.0,
                 max_jobs: int = 2):
        self.app, self.max_body, self.timeout = app, max_body, timeout
        self.queue = WorkQueue(workers, max_pending)
        self.lab = Lab(max_jobs=max_jobs)
        self.connections = threading.BoundedSemaphore(max_connections)
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

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def process_request(self, request, client_address):
        if not self.connections.acquire(blocking=False):
            try:
                request.sendall(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connections.release()

    def handle_error(self, request, client_address):  # never print tracebacks for broken sockets
        log.debug("connection error from %s", client_address, exc_info=True)

    def server_close(self):
        # Ctrl-C must stop the server within 1 s: lab jobs stop within a training step; a batch being
        # computed (an attack can take seconds) gets what is left of 0.5 s, then is abandoned (daemon threads)
        end = time.monotonic() + 0.5
        self.lab.shutdown(timeout=0.5)
        self.queue.shutdown(timeout=max(0.0, end - time.monotonic()))
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    server: Playground
    protocol_version = "HTTP/1.1"
    server_version = "advgen-serve"

    def setup(self):
        self.timeout = self.server.timeout
        super().setup()
        # headers and body are two writes: without NODELAY, Nagle + the client's delayed ACK add ~40 ms
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

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
        self._json(status, {"error": message}, close=close)

    def send_error(self, code, message=None, explain=None):  # http.server's own errors, as JSON
        if code == 501:  # a method no route takes is the client's mistake: 4xx like every bad request
            code, message = 405, f"method {self.command!r} not allowed"[:200]
        try:
            self._error(code, message or self.responses.get(code, ("error",))[0], close=True)
        except OSError:
            self.close_connection = True

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
            return self._error(400, str(e)[:500])
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
        if self.headers.get("Transfer-Encoding"):
            return self._error(411, "send a Content-Length, not a Transfer-Encoding", close=True)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return self._error(411, "Content-Length required", close=True)
        if not raw.isdigit() or len(raw) > 12:
            return self._error(400, "Content-Length must be a non-negative integer", close=True)
        n = int(raw)
        if n > self.server.max_body:
            return self._error(413, f"body of {n} bytes is over the limit of {self.server.max_body}", close=True)
        body = self.rfile.read(n)
        if len(body) != n:
            return self._error(400, "body shorter than its Content-Length", close=True)
        try:
            obj = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            return self._error(400, f"body must be JSON: {str(e)[:200]}")
        if not isinstance(obj, dict):
            return self._error(400, f"body must be a JSON object, got {type(obj).__name__}")
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
