"""A playground server on a free loopback port, in a thread, for the API, fuzz and browser tests.

The app is the one ``advgen serve`` builds (:meth:`App.from_zoo`: every shipped classifier and the
shipped ``mnist-gan``), loaded afresh (not the session-wide ``zoo_model`` objects: the server freezes
its models).
"""
from __future__ import annotations

import http.client
import json
import threading

import pytest


def make_app():
    from advgen.serve import App

    return App.from_zoo(progress=False)


@pytest.fixture(scope="session")
def app():
    return make_app()


class Running:
    def __init__(self, app, **kwargs):
        from advgen.serve import Playground

        self.server = Playground(app, ("127.0.0.1", 0), **kwargs)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.host, self.port = self.server.server_address[:2]
        self.url = self.server.url

    def request(self, method: str, path: str, body=None, *, raw: bytes | None = None, headers=None, timeout=30):
        """(status, parsed JSON or text) of one request on a fresh connection."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
            conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
            r = conn.getresponse()
            text = r.read().decode()
            ctype = r.getheader("Content-Type", "")
            return r.status, (json.loads(text) if ctype.startswith("application/json") and text else text)
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, {} if body is None and "raw" not in kw else body, **kw)

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def new_server(app):
    """``new_server(**playground_kwargs) -> Running``: a server of its own, which the test closes."""
    return lambda **kwargs: Running(app, **kwargs)


@pytest.fixture(scope="module")
def server(app):
    s = Running(app)
    yield s
    s.close()
