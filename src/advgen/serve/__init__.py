"""``advgen serve``: the playground, a local web app to explain, attack and steer models live.

>>> from advgen import serve
>>> app = serve.App.from_zoo()                       # every shipped zoo classifier and mnist-gan
>>> server = serve.Playground(app, ("127.0.0.1", 0)) # port 0: any free port, see server.url
>>> server.serve_forever()                           # or serve.serve(app, port=8000)

See :mod:`advgen.serve.server` (why a standard-library server, and the request rules),
:mod:`advgen.serve.api` (the endpoints) and :mod:`advgen.serve.lab` (training jobs).
"""
from .api import App, ApiError
from .server import Playground, WorkQueue, serve

__all__ = ["ApiError", "App", "Playground", "WorkQueue", "serve"]
