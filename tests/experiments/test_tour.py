"""advgen tour: cache, resume after a killed tour, a failing experiment, escaping, the which-is-real page."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from advgen import cli, report, tour
from advgen.experiments import registry
from advgen.report import real

HERE = Path(__file__).parent


@pytest.fixture
def fakes(monkeypatch):
    """The fake experiments of tour_fakes.py, registered here and in every subprocess (via the environment)."""
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("ADVGEN_EXPERIMENTS", "tour_fakes")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH")])))
    yield
    import tour_fakes

    for n in tour_fakes.NAMES:
        registry.REGISTRY.pop(n, None)
    sys.modules.pop("tour_fakes", None)


def log(out) -> list[str]:
    p = Path(out) / "log.txt"
    return p.read_text().split("\n")[:-1] if p.exists() else []


def advgen(*argv, **kw):
    return subprocess.run([sys.executable, "-m", "advgen", *argv], capture_output=True, text=True, timeout=120, **kw)


def test_second_tour_is_cached_and_force_reruns(tmp_path, fakes, capsys):
    argv = ["tour", "--budget", "smoke", "--only", "fake-explain", "fake-attack", "--out", str(tmp_path),
            "--jobs", "1", "--quiet"]
    assert cli.main(argv) == 0
    assert log(tmp_path) == ["start fake-explain", "end fake-explain", "start fake-attack", "end fake-attack"]
    capsys.readouterr()
    assert cli.main(argv) == 0
    assert len(log(tmp_path)) == 4                              # nothing ran again
    assert "0 ran, 2 cached, 0 failed" in capsys.readouterr().out
    assert cli.main([*argv[:-1], "--budget", "quick"]) == 0     # another budget is not the same result
    assert len(log(tmp_path)) == 8
    assert cli.main([*argv, "--force"]) == 0
    assert len(log(tmp_path)) == 12
    r = json.loads((tmp_path / "fake-explain" / "result.json").read_text())
    assert r["budget"] == "smoke" and r["source_sha256"] == registry.source_sha256(registry.REGISTRY["fake-explain"])


def test_stale_source_or_failed_result_is_not_cached(tmp_path, fakes):
    tour.names(["fake-explain"])
    cfg = tour.TourConfig(budget="smoke", out=tmp_path, only=("fake-explain",), jobs=1)
    tour.run(cfg, progress=False, echo=lambda *_: None)
    assert tour.cached(tmp_path, "fake-explain", "smoke", 0)
    assert not tour.cached(tmp_path, "fake-explain", "smoke", 1)
    path = tmp_path / "fake-explain" / "result.json"
    r = json.loads(path.read_text())
    path.write_text(json.dumps(dict(r, source_sha256="0" * 64)))  # the experiment's code changed since
    assert not tour.cached(tmp_path, "fake-explain", "smoke", 0)
    path.write_text(json.dumps(dict(r, status="failed")))
    assert not tour.cached(tmp_path, "fake-explain", "smoke", 0)
    path.write_text(json.dumps(dict(r, seeds=[0, 1, 2])))         # advgen run --seeds 3 counts for seed 0
    assert tour.cached(tmp_path, "fake-explain", "smoke", 0)
    path.write_text("{truncated")
    assert not tour.cached(tmp_path, "fake-explain", "smoke", 0)


def test_killed_tour_resumes_without_redoing_finished_ones(tmp_path, fakes, capsys):
    names = ["fake-explain", "fake-attack", "fake-slow", "fake-gan"]
    argv = [sys.executable, "-m", "advgen", "tour", "--budget", "smoke", "--out", str(tmp_path), "--jobs", "1",
            "--quiet", "--only", *names]
    p = subprocess.Popen(argv, env=dict(os.environ, FAKE_SLEEP="1.5"), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 90
    while "start fake-slow" not in log(tmp_path) and time.time() < deadline:  # two done, the third started
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)                               # ... and sleeping for 1.5 s
    p.wait(timeout=30)
    first = log(tmp_path)
    finished = [line.split()[1] for line in first if line.startswith("end")]
    assert finished == ["fake-explain", "fake-attack"], first
    assert "end fake-slow" not in first                         # killed in the middle of fake-slow
    assert not (tmp_path / "fake-slow" / "result.json").exists()
    assert not list(tmp_path.rglob("*.tmp"))                    # no half-written result left behind
    assert cli.main(argv[3:]) == 0
    second = log(tmp_path)[len(first):]
    assert [line.split()[1] for line in second if line.startswith("start")] == ["fake-slow", "fake-gan"]
    assert "2 ran, 2 cached, 0 failed" in capsys.readouterr().out
    for n in names:
        assert json.loads((tmp_path / n / "result.json").read_text())["status"] == "ok"


def test_failing_experiment_is_reported_and_the_rest_complete(tmp_path, fakes, capsys):
    """In two worker processes (the --jobs path), one of which dies (SIGKILL): the failures are in the page
    and the exit code; the experiments in flight beside the dead worker are retried, not failed."""
    assert cli.main(["tour", "--budget", "smoke", "--out", str(tmp_path), "--jobs", "2", "--quiet",
                     "--only", "fake-raise", "fake-die", "fake-explain", "fake-attack"]) == 1
    r = capsys.readouterr()
    assert "2 experiment(s) failed: " in r.err and "fake-raise" in r.err and "fake-die" in r.err
    assert "2 ran, 0 cached, 2 failed" in r.out
    html = (tmp_path / "index.html").read_text()
    assert "Failed: RuntimeError: fake failure &lt;b&gt;boom&lt;/b&gt;" in html
    assert "Failed: worker process died" in html
    assert "<b>boom" not in html
    for n in ("fake-explain", "fake-attack"):
        assert json.loads((tmp_path / n / "result.json").read_text())["status"] == "ok"
        assert f'<img src="{n}/line.png"' in html
    assert "4 experiments, 2 failed" in html
    assert cli.main(["tour", "--budget", "smoke", "--out", str(tmp_path), "--jobs", "1", "--quiet",
                     "--only", "fake-raise", "fake-explain", "fake-attack"]) == 1
    assert "0 ran, 2 cached, 1 failed" in capsys.readouterr().out  # a failure is retried, not cached
    assert log(tmp_path).count("start fake-raise") == 2


def test_report_escapes_everything(tmp_path, fakes):
    assert cli.main(["tour", "--budget", "smoke", "--only", "fake-evil", "--out", str(tmp_path), "--jobs", "1",
                     "--quiet"]) == 0
    html = (tmp_path / "index.html").read_text()
    for raw in ("<script>alert", "<img src=x", "<b>paper", "<i>source", "<u>t", "</table><script>", "<a>"):
        assert raw not in html
    for escaped in ("&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;",
                    "&lt;b&gt;paper&lt;/b&gt;", "&lt;/table&gt;&lt;script&gt;x&lt;/script&gt;"):
        assert escaped in html
    assert html.count("<script") == 0                           # the index page runs no script at all
    assert "<h2 id=\"section-image-to-image\">" in html and '— (smoke)</span>' in html
    assert '<span class="bad">no</span>' not in html and 'id="smoke-note"' in html  # a smoke verdict is withheld


def test_report_shows_pending_and_multi_seed(tmp_path, fakes):
    registry.run("fake-explain", budget="smoke", seeds=[0, 1, 2], out=tmp_path)
    html = report.build(tmp_path, pending=["fake-<attack>"]).read_text()
    assert "fake-&lt;attack&gt;" in html and "Still running or queued (1)" in html
    assert "1.5 ± 0.577" in html                               # values 0.5, 1.5, 2.5: sem = 1/sqrt(3)
    assert "mean ± standard error over seeds" in html and "--seeds 3" in html
    assert '<meta name="viewport"' in html and "http" not in html.replace("https://", "").split("<body>")[0]


def test_which_is_real_page_refuses_anything_but_embedded_pngs(tmp_path, fakes):
    registry.run("fake-gan", budget="smoke", out=tmp_path)
    report.build(tmp_path)
    page = (tmp_path / "real.html").read_text()
    assert page.count("data:image/png;base64,") == 16 and 'href="real.html"' in (tmp_path / "index.html").read_text()
    assert "http" not in page and "<script src" not in page
    pairs = tmp_path / "which-is-real" / "pairs.json"
    good = json.loads(pairs.read_text())
    for bad in ("javascript:alert(1)", "https://example.com/x.png", "data:image/png;base64,AAA\"><script>",
                "data:text/html;base64,AAAA"):
        pairs.write_text(json.dumps({"pairs": [dict(good["pairs"][0], left=bad)]}))
        assert real.pairs(tmp_path) is None
    pairs.write_text(json.dumps({"pairs": [dict(good["pairs"][0], real="<b>")]}))
    assert real.pairs(tmp_path) is None
    (tmp_path / "real.html").unlink()
    report.build(tmp_path)
    assert not (tmp_path / "real.html").exists()
    assert 'href="real.html"' not in (tmp_path / "index.html").read_text()


def test_tour_arguments(tmp_path, fakes):
    with pytest.raises(ValueError, match="experiment must be one of"):
        tour.names(["fake-nope"])
    with pytest.raises(ValueError, match="budget"):
        tour.TourConfig(budget="huge")
    with pytest.raises(ValueError, match="jobs"):
        tour.TourConfig(jobs=0)
    assert cli.main(["tour", "--only", "no-such-experiment", "--out", str(tmp_path)]) == 2
    assert cli.main(["tour", "--jobs", "0", "--only", "fake-explain", "--out", str(tmp_path)]) == 2
    assert tour.default_jobs("full", "cpu") == 1 and tour.default_jobs("quick", "cuda") == 1
    assert "run 'advgen tour --budget quick" in tour.estimate(["fake-explain"], tmp_path)
    registry.run("fake-explain", budget="quick", out=tmp_path)
    assert "estimate: about" in tour.estimate(["fake-explain"], tmp_path)


def test_first_tour_starts_the_long_experiments_first(tmp_path):
    longest = max(tour.names(), key=lambda n: registry.REGISTRY[n].minutes)  # by the registered estimates
    assert sorted(tour.names(), key=lambda n: -tour._expected_seconds(tmp_path, n))[0] == longest
    assert tour._expected_seconds(tmp_path, longest) == 60 * registry.REGISTRY[longest].minutes > 60
    (tmp_path / longest).mkdir()
    (tmp_path / longest / "result.json").write_text(json.dumps({"seconds": 5.0}))
    assert tour._expected_seconds(tmp_path, longest) == 5.0  # a measured time wins over the estimate
    assert sorted(tour.names(), key=lambda n: -tour._expected_seconds(tmp_path, n))[0] != longest


def test_seeds_run_the_dynamics_experiments_over_k_seeds_and_count_the_verdicts(tmp_path, fakes):
    from advgen.report.format import verdict

    cfg = tour.TourConfig(budget="smoke", out=tmp_path, only=("fake-dynamics", "fake-explain"), jobs=1, seeds=3)
    assert tour.seeds_of(cfg, "fake-dynamics") == [0, 1, 2] and tour.seeds_of(cfg, "fake-explain") == [0]
    tour.run(cfg, progress=False, echo=lambda *_: None)
    r = json.loads((tmp_path / "fake-dynamics" / "result.json").read_text())
    assert r["seeds"] == [0, 1, 2] and json.loads((tmp_path / "fake-explain" / "result.json").read_text())["seeds"] == [0]
    c = r["claims"][0]
    assert (c["seeds_held"], c["seeds_judged"]) == (2, 3) and verdict(c) == "yes; holds in 2 of 3 seeds"
    assert tour.cached(tmp_path, "fake-dynamics", "smoke", 0, 3) and not tour.cached(tmp_path, "fake-dynamics", "smoke", 0, 4)
    assert tour.cached(tmp_path, "fake-dynamics", "smoke", 0)  # a 3-seed result serves a 1-seed tour
    with pytest.raises(ValueError, match="seeds"):
        tour.TourConfig(seeds=0)
