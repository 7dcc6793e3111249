"""Paths from configs or results files stay inside the output directory; the report escapes every string."""
import json
import os

import pytest

from advgen import _checks, report
from advgen.experiments import registry


@pytest.mark.parametrize("bad", ["../x.png", "../../etc/passwd", "/etc/passwd", "a/../../b.png"])
def test_escaping_paths_are_refused(tmp_path, bad):
    with pytest.raises(ValueError, match="escapes the output directory"):
        _checks.inside(tmp_path / "out", bad, "figure filename")


def test_symlink_out_of_the_directory_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path, tmp_path / "out" / "link")
    with pytest.raises(ValueError, match="escapes"):
        _checks.inside(tmp_path / "out", "link/x.png")


def test_paths_inside_are_allowed(tmp_path):
    assert _checks.inside(tmp_path, "a/b.png") == (tmp_path / "a" / "b.png").resolve()
    assert _checks.inside(tmp_path, "a/../b.png") == (tmp_path / "b.png").resolve()
    with pytest.raises(TypeError):
        _checks.inside(tmp_path, "")


def test_experiment_figure_cannot_escape(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ctx = registry.Context.__new__(registry.Context)
    ctx.out, ctx.save_figures, ctx.figures = tmp_path / "exp", True, []
    with pytest.raises(ValueError, match="escapes"):
        ctx.figure(plt.figure(), "../../evil.png")
    assert not (tmp_path / "evil.png").exists() and not (tmp_path.parent / "evil.png").exists()


EVIL = '<script>alert("x")</script>'


def test_report_escapes_every_string(tmp_path):
    result = {
        "name": "evil" + EVIL, "title": EVIL, "section": "adversarial", "description": EVIL, "status": "failed",
        "error": EVIL, "traceback": EVIL, "budget": EVIL, "seeds": [EVIL], "seconds": 1.0,
        "config": {EVIL: EVIL}, "command": EVIL, "metrics": {EVIL: EVIL},
        "figures": [{"path": "f.png", "caption": EVIL}, {"path": "../../../etc/passwd", "caption": "x"},
                    {"path": '" onerror="alert(1)', "caption": "y"}],
        "tables": [{"title": EVIL, "columns": [EVIL], "rows": [[EVIL]]}],
        "claims": [{"claim": EVIL, "ours": EVIL, "paper": EVIL, "source": EVIL, "holds": EVIL}],
    }
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "result.json").write_text(json.dumps(result))
    html = report.build(tmp_path).read_text()
    assert EVIL not in html and 'onerror="' not in html
    assert html.count("&lt;script&gt;") >= 10  # every field is shown, escaped
    sources = [s.split('"')[0] for s in html.split('src="')[1:]]
    assert len(sources) == 2 and sources[0].endswith("/f.png")  # the quote is escaped: no attribute breaks out
    assert not any("passwd" in s for s in sources)  # the path out of the report is refused
    assert html.count("Figure path refused") == 1
