"""Every endpoint of the playground against the library functions it wraps, and the bad-request list."""
from __future__ import annotations

import builtins
import io
import re
import threading
import time

import pytest
import torch

from advgen import attacks, data, explain, zoo
from advgen.serve import WorkQueue, api
from advgen.serve.api import ApiError

TOL = 2e-3  # the API rounds to 3 decimals


def digit(i: int = 0) -> list[float]:
    return data.load("mnist").x_test[i].reshape(-1).tolist()


def t(v) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32).view(1, 1, 28, 28)


def test_page_is_offline_and_served(server):
    status, page = server.get("/")
    assert status == 200 and "<canvas" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "page must not load anything remote"
    assert "@import" not in page and "fonts.googleapis" not in page


def test_info(server):
    status, info = server.get("/api/info")
    assert status == 200
    assert [m["name"] for m in info["models"]] == list(zoo.ENTRIES)  # every shipped classifier, side by side
    assert info["latent_dim"] == 64 and info["classes"] == [str(k) for k in range(10)]


def test_digit(server):
    ds = data.load("mnist")
    status, d = server.get("/api/digit?index=7")
    assert status == 200 and d["label"] == int(ds.y_test[7])
    assert torch.allclose(t(d["image"]), ds.x_test[7:8], atol=TOL)


def test_predict_matches_library(server, app):
    x = t(digit(3))
    status, r = server.post("/api/predict", {"model": "mnist-cnn", "image": digit(3), "explain": ["saliency", "occlusion"]})
    assert status == 200
    m = app.classifiers["mnist-cnn"]
    with torch.no_grad():
        p = m(t(r and digit(3))).softmax(1)[0]
    assert torch.allclose(torch.tensor(r["probs"]), p, atol=TOL)
    assert r["target"] == int(p.argmax())
    s = explain.saliency(m, x, r["target"])
    assert torch.allclose(t(r["saliency"]), s / s.max(), atol=TOL)
    o = explain.occlusion(m, x, r["target"])[:, :1].clamp(min=0)
    assert torch.allclose(t(r["occlusion"]), o / o.max(), atol=TOL)


def test_predict_offers_the_attribution_family(server, app):
    status, info = server.get("/api/info")
    assert status == 200 and {"integrated_gradients", "grad_cam", "kernel_shap"} <= set(info["explain"])
    new = [k for k in info["explain"] if k not in ("saliency", "occlusion")]
    status, r = server.post("/api/predict", {"model": "mnist-cnn", "image": digit(3), "explain": new})
    assert status == 200
    for k in new:
        assert len(r[k]) == 784 and max(r[k]) <= 1 + TOL and min(r[k]) >= 0, k
    m, x = app.classifiers["mnist-cnn"], t(digit(3))
    g = explain.integrated_gradients(m, x, r["target"], n_steps=32).clamp(min=0)
    assert torch.allclose(t(r["integrated_gradients"]), g / g.max(), atol=TOL)


def test_predict_nested_rows_and_target(server):
    rows = t(digit(0))[0, 0].tolist()
    status, r = server.post("/api/predict", {"image": rows, "target": 4, "explain": []})
    assert status == 200 and r["target"] == 4 and "saliency" not in r


@pytest.mark.parametrize("kind", ["fgsm", "pgd"])
def test_attack_matches_library(server, app, kind):
    x = t(digit(0))
    status, r = server.post("/api/attack", {"models": ["mnist-cnn", "mnist-mlp"], "image": digit(0), "attack": kind,
                                            "eps": 0.3, "steps": 10})
    assert status == 200 and set(r["results"]) == {"mnist-cnn", "mnist-mlp"}
    for name, res in r["results"].items():
        m = app.classifiers[name]
        want = attacks.fgsm(m, x, eps=0.3) if kind == "fgsm" else \
            attacks.pgd(m, x, eps=0.3, alpha=0.075, steps=10, random_start=False)
        assert torch.allclose(t(res["adversarial"]), want, atol=TOL)
        assert res["linf"] <= 0.3 + 1e-6
        assert torch.allclose(t(res["perturbation"]), (0.5 + 5 * (want - x)).clamp(0, 1), atol=TOL)
        with torch.no_grad():
            assert torch.allclose(torch.tensor(res["adv_probs"]), m(want).softmax(1)[0], atol=TOL)
    assert max(r["results"]["mnist-cnn"]["adv_probs"]) and \
        max(range(10), key=r["results"]["mnist-cnn"]["adv_probs"].__getitem__) != int(data.load("mnist").y_test[0])


def test_attack_targeted_and_cw(server):
    status, r = server.post("/api/attack", {"image": digit(0), "attack": "pgd", "eps": 0.3, "steps": 20, "target": 3})
    assert status == 200 and r["target"] == 3
    adv = r["results"]["mnist-cnn"]["adv_probs"]
    assert max(range(10), key=adv.__getitem__) == 3 and r["results"]["mnist-cnn"]["success"]
    status, r = server.post("/api/attack", {"image": digit(0), "attack": "cw", "steps": 30})
    res = r["results"]["mnist-cnn"]
    assert status == 200 and r["eps"] is None and res["success"] and 0 < res["l2"] < 5


def test_generate_and_interpolate(server, app):
    g = app.generator
    status, a = server.post("/api/generate", {"seed": 5})
    assert status == 200 and len(a["z"]) == 64
    with torch.no_grad():
        assert torch.allclose(t(a["image"]), g(torch.tensor([a["z"]])), atol=TOL)
    z = list(a["z"])
    z[0] += 2.0
    status, b = server.post("/api/generate", {"z": z})
    assert status == 200 and b["image"] != a["image"]
    status, r = server.post("/api/interpolate", {"seed_a": 5, "seed_b": 6, "n": 4})
    assert status == 200 and len(r["images"]) == 4
    _, c = server.post("/api/generate", {"seed": 6})
    assert torch.allclose(t(r["images"][0]), t(a["image"]), atol=TOL)
    assert torch.allclose(t(r["images"][-1]), t(c["image"]), atol=TOL)


def test_game(server):
    xs = data.load("mnist").x_test.reshape(1000, -1)
    for _ in range(3):
        status, r = server.post("/api/game/round", {})
        assert status == 200 and len(r["images"]) == 2
        real = [bool(((xs - torch.tensor(im)).abs().amax(1) < TOL).any()) for im in r["images"]]
        assert sum(real) == 1, "exactly one image is a test digit"
        status, g = server.post("/api/game/guess", {"token": r["token"], "choice": real.index(True)})
        assert status == 200 and g["correct"] is True
        status, again = server.post("/api/game/guess", {"token": r["token"], "choice": 0})
        assert status == 404 and "token" in again["error"]


def _wait(server, cid, state="running", timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        status, s = server.get(f"/api/lab/status?client={cid}")
        assert status == 200
        if s["state"] != state:
            return s
        time.sleep(0.1)
    raise AssertionError("training job did not finish")


def test_lab_job_lifecycle(server):
    status, s = server.post("/api/lab/start", {"client": "t1", "mixture": "ring", "steps": 60, "pack": 2})
    assert status == 200 and set(s["variants"]) == {"GAN", "PacGAN2"}
    s = _wait(server, "t1")
    assert s["state"] == "done" and s["progress"] == 1.0
    for v in s["variants"].values():
        assert v["step"] == 60 and 0 <= v["modes"] <= v["of"] == 8 and len(v["points"]) == 2 * 500
    status, s = server.post("/api/lab/reset", {"client": "t1"})
    assert status == 200
    assert server.get("/api/lab/status?client=t1")[0] == 404


def test_lab_one_job_per_client_and_bounded(server):
    try:
        assert server.post("/api/lab/start", {"client": "a", "steps": 5000})[0] == 200
        status, r = server.post("/api/lab/start", {"client": "a", "steps": 100})
        assert status == 409 and "already" in r["error"]
        assert server.post("/api/lab/start", {"client": "b", "steps": 5000})[0] == 200
        status, r = server.post("/api/lab/start", {"client": "c", "steps": 100})  # max_jobs = 2
        assert status == 503 and r["error"].startswith("busy")
        # training never blocks the light and heavy endpoints
        start = time.perf_counter()
        assert server.post("/api/predict", {"image": digit(1)})[0] == 200
        assert time.perf_counter() - start < 5
        status, s = server.post("/api/lab/stop", {"client": "a"})
        assert status == 200 and s["state"] == "stopped" and s["progress"] < 1
    finally:
        for c in ("a", "b"):
            server.post("/api/lab/reset", {"client": c})


def test_concurrent_requests_are_batched_and_answered_individually(app):
    """16 clients at once on a 1-worker server: each gets the answer for its own image, as if alone."""
    from concurrent.futures import ThreadPoolExecutor

    from .conftest import Running

    calls = []
    real = predict_compute = api.predict.compute

    def spy(app_, key, items):
        calls.append(len(items))
        return real(app_, key, items)

    object.__setattr__(api.predict, "compute", spy)
    server = Running(app, workers=1)
    try:
        imgs = [digit(i) for i in range(16)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(lambda im: server.post("/api/predict", {"image": im}), imgs))
    finally:
        object.__setattr__(api.predict, "compute", predict_compute)
        server.close()
    assert max(calls) > 1, f"no batching happened: batch sizes {calls}"
    assert sum(calls) == 16
    for im, (status, r) in zip(imgs, answers):
        alone = api.predict(app, {"image": im})
        assert status == 200 and r["target"] == alone["target"]
        assert torch.allclose(torch.tensor(r["probs"]), torch.tensor(alone["probs"]), atol=TOL)
        assert torch.allclose(t(r["saliency"]), t(alone["saliency"]), atol=TOL)


def test_work_queue_answers_busy_past_its_bound():
    q = WorkQueue(workers=1, max_pending=1)
    gate = threading.Event()
    th = threading.Thread(target=q.run, args=(gate.wait, 5))
    th.start()
    time.sleep(0.1)
    with pytest.raises(ApiError) as e:
        q.run(lambda: 1)
    assert e.value.status == 503 and e.value.message.startswith("busy")
    gate.set()
    th.join()
    assert q.run(lambda: 7) == 7  # the slot came back
    q.shutdown()


IMG = digit(0)
BAD = [
    ("/api/predict", {"image": IMG[:-1]}, 400, "784"),
    ("/api/predict", {"image": [[0.0] * 27] * 28}, 400, "28"),
    ("/api/predict", {"image": IMG[:-1] + [1e999]}, 400, "non-finite"),       # 1e999 parses as inf
    ("/api/predict", {"image": IMG[:-1] + [1.5]}, 400, "[0, 1]"),
    ("/api/predict", {"image": IMG[:-1] + ["0"]}, 400, "numbers"),
    ("/api/predict", {"image": IMG[:-1] + [True]}, 400, "numbers"),
    ("/api/predict", {"image": "abc"}, 400, "image"),
    ("/api/predict", {"image": [10**400] + IMG[1:]}, 400, "[0, 1]"),        # int too large to convert: was a 500
    ("/api/predict", {"image": IMG[:-1] + [-10**400]}, 400, "[0, 1]"),
    ("/api/predict", {"image": [[0.0] * 27 + [10**400]] + [[0.0] * 28] * 27}, 400, "[0, 1]"),
    ("/api/predict", {"image": IMG[:-1] + [1e308]}, 400, "[0, 1]"),         # finite, but inf as float32
    ("/api/predict", {"image": IMG, "target": 10**400}, 400, "target"),
    ("/api/predict", {"image": IMG, "explain": [[[[[[[[["saliency"]]]]]]]]]}, 400, "nested deeper"),
    ("/api/predict", {"image": IMG, "model": "resnet-1000"}, 400, "model must be one of"),
    ("/api/predict", {"image": IMG, "target": 10}, 400, "target"),
    ("/api/predict", {"image": IMG, "explain": ["lime"]}, 400, "explain"),
    ("/api/attack", {"image": IMG, "eps": 0.6}, 400, "eps"),
    ("/api/attack", {"image": IMG, "eps": -0.1}, 400, "eps"),
    ("/api/attack", {"image": IMG, "eps": "0.1"}, 400, "eps"),
    ("/api/attack", {"image": IMG, "eps": 10**400}, 400, "eps"),             # was OverflowError, a 500
    ("/api/attack", {"image": IMG, "eps": -10**400}, 400, "eps"),
    ("/api/attack", {"image": IMG, "attack": "pgd", "steps": 10**400}, 400, "steps"),
    ("/api/attack", {"image": IMG, "steps": 1000}, 400, "steps"),
    ("/api/attack", {"image": IMG, "attack": "deepfool"}, 400, "attack"),
    ("/api/attack", {"image": IMG, "target": -1}, 400, "target"),
    ("/api/attack", {"image": IMG, "models": ["mnist-cnn"] * 2}, 400, "models"),
    ("/api/attack", {"image": IMG, "models": ["nope"]}, 400, "model"),
    ("/api/generate", {"z": [0.0] * 3}, 400, "z"),
    ("/api/generate", {"z": [100.0] * 64}, 400, "z"),
    ("/api/generate", {"z": [10**400] + [0.0] * 63}, 400, "z"),
    ("/api/generate", {"seed": 10**400}, 400, "seed"),
    ("/api/interpolate", {"seed_a": 10**400, "seed_b": 2}, 400, "seed_a"),
    ("/api/generate", {"seed": -1}, 400, "seed"),
    ("/api/interpolate", {"seed_a": 1, "seed_b": 2, "n": 1000}, 400, "n"),
    ("/api/game/guess", {"token": "ffff", "choice": 0}, 404, "token"),
    ("/api/game/guess", {"token": "ffff", "choice": 2}, 400, "choice"),
    ("/api/lab/start", {"client": "../../etc", "steps": 10}, 400, "client"),
    ("/api/lab/start", {"client": "x", "steps": 10**6}, 400, "steps"),
    ("/api/lab/start", {"client": "x", "steps": 10, "pack": 10**400}, 400, "pack"),
    ("/api/lab/start", {"client": "x", "mixture": "spiral"}, 400, "mixture"),
    ("/api/lab/stop", {"client": "nobody"}, 404, "no training job"),
    ("/api/nope", {}, 404, "no such endpoint"),
    ("/api/info", {}, 405, "does not take POST"),
]


@pytest.mark.parametrize("path,body,status,words", BAD, ids=[f"{p}-{w}" for p, _, _, w in BAD])
def test_bad_requests(server, path, body, status, words):
    got, r = server.post(path, body)
    assert got == status and words in r["error"], r


@pytest.mark.parametrize("raw,headers,status,words", [
    (b"{not json", {}, 400, "JSON"),
    (b'{"image": NaN}', {}, 400, "non-finite"),
    (b"[1, 2, 3]", {}, 400, "JSON object"),
    (b"\xff\xfe\x00", {}, 400, "JSON"),
    (b"", {}, 400, "JSON"),
    (b"{}", {"Content-Length": "10000000"}, 413, "over the limit"),
    (b"{}", {"Content-Length": "-5"}, 400, "Content-Length"),
])
def test_bad_bodies(server, raw, headers, status, words):
    got, r = server.request("POST", "/api/predict", raw=raw, headers=headers)
    assert got == status and words in r["error"], r


def test_missing_length_and_bad_queries(server):
    import http.client

    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    conn.putrequest("POST", "/api/predict")
    conn.endheaders()
    r = conn.getresponse()
    assert r.status == 411
    conn.close()
    for path, status in [("/api/digit?index=1000", 400), ("/api/digit?index=-1", 400), ("/api/digit?index=x", 400),
                         ("/../../etc/passwd", 404), ("/static/index.html", 404), ("/api/lab/status", 400)]:
        assert server.get(path)[0] == status, path
    assert server.request("DELETE", "/api/info")[0] == 405


def test_requests_never_open_files(server, monkeypatch):
    opened = []
    real_open, real_io_open = builtins.open, io.open

    def spy(real):
        def f(file, *a, **k):
            opened.append(str(file))
            return real(file, *a, **k)
        return f

    monkeypatch.setattr(builtins, "open", spy(real_open))
    monkeypatch.setattr(io, "open", spy(real_io_open))
    paths = ["/", "/api/info", "/api/digit?index=3", "/../../../etc/passwd", "/api/lab/status?client=nobody"]
    for p in paths:
        server.get(p)
    for p, body in [("/api/predict", {"image": IMG, "explain": ["saliency", "occlusion"]}),
                    ("/api/attack", {"image": IMG, "attack": "fgsm"}), ("/api/generate", {"seed": 1}),
                    ("/api/game/round", {}), ("/api/predict", {"image": "/etc/passwd"})]:
        server.post(p, body)
    monkeypatch.undo()
    assert opened == []


def test_stopping_does_not_wait_for_idle_keep_alive_connections(new_server):
    """A browser keeps idle keep-alive connections open; Ctrl-C (shutdown + server_close) must not wait
    for their handler threads, which block reading until the connection timeout (here 30 s)."""
    import socket

    s = new_server(timeout=30.0)
    idle = [socket.create_connection((s.host, s.port)) for _ in range(3)]
    try:
        assert s.get("/api/info")[0] == 200  # the server is up and has accepted the idle connections
        start = time.monotonic()
        s.close()
        assert time.monotonic() - start < 10  # with non-daemon handler threads it waits out the 30 s timeout
    finally:
        for c in idle:
            c.close()
