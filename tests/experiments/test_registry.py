"""The experiment registry, the report and the CLI."""
import json
import subprocess
import sys

import pytest

from advgen import cli, experiments, report
from advgen.experiments import registry


@pytest.fixture
def dummy():
    """Register two throwaway experiments; remove them afterwards."""

    @experiment_("dummy-ok", section="interpretability", title="Dummy <b>ok</b>")
    def ok(ctx):
        n = ctx.pick(smoke=1, quick=2, full=3, key="n")
        ctx.claim("dummy holds <script>alert(1)</script>", 0.5 + ctx.seed, "0.5", "Nobody 2024", holds=True)
        ctx.table("t", ["a", "b"], [[1, "x&y"]])
        return {"value": float(ctx.seed), "n": n, "label": "constant"}

    @experiment_("dummy-fail", section="defenses", title="Dummy failure")
    def fail(ctx):
        raise RuntimeError("boom")

    yield
    registry.REGISTRY.pop("dummy-ok")
    registry.REGISTRY.pop("dummy-fail")


experiment_ = experiments.experiment


def test_run_writes_result(tmp_path, dummy):
    r = experiments.run("dummy-ok", budget="smoke", seeds=[0, 1, 2], out=tmp_path)
    saved = json.loads((tmp_path / "dummy-ok" / "result.json").read_text())
    assert saved == json.loads(json.dumps(r))
    assert r["status"] == "ok" and r["config"] == {"n": 1}
    assert r["metrics"]["value"] == pytest.approx(1.0)
    assert r["metrics_sem"]["value"] == pytest.approx(1.0 / 3**0.5)  # stdev 1 over sqrt(3)
    assert r["metrics"]["label"] == "constant"
    assert len(r["claims"]) == 1 and r["claims"][0]["ours"] == 0.5  # figures and claims of the first seed
    assert r["command"] == "advgen run dummy-ok --budget smoke --seeds 3"
    assert {"torch", "advgen", "numpy"} <= r["versions"].keys()


def test_tour_share_applies_only_to_a_quick_tour_run(tmp_path):
    @experiment_("dummy-share", section="interpretability", title="share")
    def share(ctx):
        return {"n": ctx.pick(smoke=1, quick=20, full=300, tour=5, key="n"), "m": ctx.pick(smoke=1, quick=7, full=9)}

    try:
        runs = {(b, t): experiments.run("dummy-share", budget=b, out=tmp_path / f"{b}{t}", tour=t)
                for b in ("smoke", "quick", "full") for t in (False, True)}
    finally:
        registry.REGISTRY.pop("dummy-share")
    assert {k: (r["metrics"]["n"], r["metrics"]["m"]) for k, r in runs.items()} == {
        ("smoke", False): (1, 1), ("smoke", True): (1, 1), ("quick", False): (20, 7), ("quick", True): (5, 7),
        ("full", False): (300, 9), ("full", True): (300, 9)}
    shared = runs["quick", True]
    assert shared["tour_share"] is True and shared["config"] == {"n": 5}
    assert shared["command"] == "advgen tour --only dummy-share --budget quick --seed 0"
    assert all("tour_share" not in r for k, r in runs.items() if k != ("quick", True))
    assert runs["quick", False]["command"] == "advgen run dummy-share --budget quick --seed 0"
    html = report.build(tmp_path / "quickTrue").read_text()
    assert "advgen run dummy-share --budget quick --seed 0</code> runs the whole quick setting" in html


def test_failure_is_recorded(tmp_path, dummy):
    r = experiments.run("dummy-fail", budget="smoke", out=tmp_path)
    assert r["status"] == "failed" and "boom" in r["error"] and "RuntimeError" in r["traceback"]


def test_bad_arguments(tmp_path, dummy):
    with pytest.raises(ValueError, match="budget"):
        experiments.run("dummy-ok", budget="huge", out=tmp_path)
    with pytest.raises(ValueError, match="experiment must be one of"):
        experiments.run("nope", out=tmp_path)
    with pytest.raises(ValueError, match="section"):
        experiments.experiment("x", section="nowhere", title="x")


def test_report_escapes_and_orders(tmp_path, dummy):
    experiments.run("dummy-fail", budget="smoke", out=tmp_path)
    experiments.run("dummy-ok", budget="smoke", out=tmp_path)
    html = report.build(tmp_path).read_text()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    assert "Dummy &lt;b&gt;ok&lt;/b&gt;" in html and "x&amp;y" in html
    assert html.index("section-interpretability") < html.index("section-defenses")
    assert "Failed: RuntimeError: boom" in html
    assert "advgen run dummy-ok --budget smoke --seed 0" in html


def test_cli_run_report_tour(tmp_path, capsys, dummy):
    assert cli.main(["run", "dummy-ok", "--budget", "smoke", "--out", str(tmp_path)]) == 0
    assert "dummy-ok: value=0" in capsys.readouterr().out
    assert cli.main(["report", str(tmp_path)]) == 0
    assert (tmp_path / "index.html").exists()
    code = cli.main(["tour", "--budget", "smoke", "--only", "dummy-ok", "dummy-fail", "--out", str(tmp_path),
                     "--jobs", "1"])
    out = capsys.readouterr()
    assert code == 1 and "0 ran, 1 cached, 1 failed" in out.out and "failed: dummy-fail" in out.err
    assert cli.main(["tour", "--budget", "smoke", "--only", "dummy-ok", "--out", str(tmp_path), "--force",
                     "--jobs", "1"]) == 0
    assert "1 ran, 0 cached, 0 failed" in capsys.readouterr().out


def test_cli_user_errors_are_one_line(tmp_path):
    for argv in (["run", "no-such-experiment", "--out", str(tmp_path)],
                 ["explain", "--index", "5000", "--out", str(tmp_path / "f.png")],
                 ["zoo", "resnet"],
                 ["report", str(tmp_path / "missing")]):
        p = subprocess.run([sys.executable, "-m", "advgen", *argv], capture_output=True, text=True, timeout=120)
        assert p.returncode == 2, (argv, p.stderr)
        assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1, p.stderr


def test_cli_help_for_every_verb(capsys):
    parser = cli.parser()
    verbs = parser._subparsers._group_actions[0].choices
    assert {"list", "run", "report", "tour", "explain", "zoo"} <= set(verbs)
    for verb in verbs:
        with pytest.raises(SystemExit) as e:
            cli.main([verb, "--help"])
        assert e.value.code == 0
    assert "usage" in capsys.readouterr().out


def test_explain_experiment_smoke(tmp_path):
    r = experiments.run("explain-mnist", budget="smoke", out=tmp_path, progress=False)
    assert r["status"] == "ok", r.get("traceback")
    # the smoke budget explains the shipped MLP (96.7% test accuracy)
    assert r["metrics"]["accuracy_on_shown"] >= 0.9
    assert (tmp_path / "explain-mnist" / r["figures"][0]["path"]).stat().st_size > 10_000


def test_cli_explain_writes_figure(tmp_path):
    out = tmp_path / "fig.png"
    assert cli.main(["explain", "--model", "mnist-mlp", "--method", "saliency", "--index", "3", "7",
                     "--out", str(out)]) == 0
    assert out.stat().st_size > 5_000


def test_markdown_summary_lists_claims_and_failures(tmp_path, dummy, capsys):
    experiments.run("dummy-ok", budget="smoke", out=tmp_path)
    experiments.run("dummy-fail", budget="smoke", out=tmp_path)
    assert cli.main(["report", str(tmp_path), "--markdown"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("**Smoke: a wiring check, not a result**: 2 of 2 experiments")  # smoke says so
    lines = lines[2:]
    assert lines[0].startswith("| experiment | claim | here | published | holds |")
    assert "| `dummy-ok` | dummy holds &lt;script&gt;alert(1)&lt;/script&gt; | 0.5 | 0.5 | — (smoke) |" in lines[2]
    assert "| `dummy-fail` | failed: RuntimeError: boom | | | **no** |" in lines[3]  # interpretability first
    from advgen.report import markdown

    row = markdown.claims_table([{"name": "x", "status": "ok", "seconds": 90,
                                  "claims": [{"claim": "a|b\nc", "ours": 1 / 3, "paper": None, "holds": False}]}])
    assert row.splitlines()[2] == "| `x` | a\\|b c | 0.333 | — | **no** | 1.5 min |"  # not smoke: the verdict shows
    tiny = markdown.claims_table([{"name": "y", "status": "ok", "budget": "quick",
                                   "claims": [{"claim": "c", "ours": 1.27e-07, "paper": "12345", "holds": True}]}])
    assert "| `y` | c | &lt; 0.0001 | 12345 | yes |" in tiny  # "<" escaped like every cell


def test_the_docs_list_every_verb_and_the_readme_links_only_inside_the_project():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text()
    verbs = cli.parser()._subparsers._group_actions[0].choices
    table = (root / "docs" / "guide" / "cli.md").read_text()  # the command table, moved from the README
    assert [v for v in verbs if f"`advgen {v}" not in table] == []
    assert "../" not in readme  # a clone has nothing beside it
