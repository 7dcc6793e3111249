"""A static, self-contained HTML report of every experiment result in a folder.

``build(out)`` reads ``OUT/*/result.json`` and writes ``OUT/index.html``: a summary of every
lecture claim (our number, the paper's, its source, whether it holds), then one section per
lecture part with each experiment's figures, metrics, tables, run time, seeds, settings and the
command that reproduces it (mean ± standard error when the result holds several seeds). When
the ``which-is-real`` experiment has run it also writes ``OUT/real.html``, the *Which one is
real?* game (:mod:`advgen.report.real`). No scripts or fonts are fetched; figures are files
beside the page (they load from ``file://``); every string is HTML-escaped.
"""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from .. import _checks, io
from ..experiments import SECTIONS, registry
from .format import SMOKE_NOTE, SMOKE_VERDICT, is_smoke, number, verdict


def _local(path: str) -> bool:
    """Whether ``path`` (from a results file) stays inside the report folder."""
    try:
        _checks.inside("/report", path)
    except (TypeError, ValueError):
        return False
    return not path.lower().lstrip().startswith(("javascript:", "data:", "http:", "https:", "//"))

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:auto;padding:1em;
color:#222;line-height:1.4}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-top:.5em}h3{margin-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em;display:block;overflow-x:auto}
td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}th{background:#f3f3f3}
img{max-width:100%;height:auto;border:1px solid #eee}figure{margin:.6em 0}figcaption{font-size:.85em;color:#555}
code{background:#f5f5f5;padding:.1em .3em;border-radius:3px;word-break:break-all}
.ok{color:#1a7f37}.bad{color:#cf222e}.smoke{color:#666}.none{color:#9a6700}
.smoke-note{background:#fff8c5;border:1px solid #d4a72c;padding:.5em .8em}.meta{color:#666;font-size:.85em}
.exp{border:1px solid #e5e5e5;border-radius:6px;padding:.6em 1em;margin:1em 0}
pre{white-space:pre-wrap;overflow-wrap:anywhere;font-size:.8em;background:#fff5f5;padding:.5em}
nav{font-size:.9em;line-height:1.8}nav a{margin-right:.8em;white-space:nowrap}
.pending{color:#9a6700}p,h3,figcaption{overflow-wrap:anywhere}
@media (max-width:600px){body{padding:.5em;font-size:15px}h1{font-size:1.3em}table{font-size:.8em}
.exp{padding:.4em .5em}}
"""

HEAD = ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">')


def _fmt(v) -> str:
    if isinstance(v, bool) or v is None:
        return escape(str(v))
    if isinstance(v, (int, float)):
        return escape(number(v))
    if isinstance(v, (dict, list)):
        return escape(json.dumps(v))
    return escape(str(v))


def _table(columns, rows) -> str:
    head = "".join(f"<th>{escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_fmt(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _holds(r: dict, c: dict) -> str:
    if is_smoke(r):
        return f'<span class="smoke" title="{escape(SMOKE_NOTE, quote=True)}">{escape(SMOKE_VERDICT)}</span>'
    css = {True: "ok", False: "bad"}.get(c.get("holds"), "none")
    return f'<span class="{css}">{escape(verdict(c))}</span>'


def load_results(out: str | Path) -> list[dict]:
    """Every ``OUT/*/result.json``, in the lecture's section order; FileNotFoundError when ``OUT`` is no folder."""
    if not Path(out).is_dir():
        raise FileNotFoundError(f"{out}: no such results folder (run 'advgen run NAME --out {out}' first)")
    results = []
    for path in sorted(Path(out).glob("*/result.json")):
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    order = list(SECTIONS)
    return sorted(results, key=lambda r: order.index(r["section"]) if r.get("section") in order else len(order))


def _experiment(r: dict) -> str:
    name = escape(r.get("name", "?"))
    parts = [f'<div class="exp" id="{name}"><h3>{escape(r.get("title", name))} <code>{name}</code></h3>']
    if r.get("description"):
        parts.append(f"<p>{escape(r['description'])}</p>")
    if r.get("status") != "ok":
        parts.append(f'<p class="bad">Failed: {escape(r.get("error", "unknown error"))}</p>'
                     f"<pre>{escape(r.get('traceback', ''))}</pre>")
    for f in r.get("figures", []):
        if not _local(f"{r.get('name')}/{f.get('path')}"):  # a results file may not point outside the report
            parts.append(f"<p class=\"bad\">Figure path refused: {escape(str(f.get('path')))}</p>")
            continue
        src = escape(f"{r.get('name')}/{f['path']}", quote=True)
        parts.append(f'<figure><img src="{src}" alt="{escape(f.get("caption", ""), quote=True)}">'
                     f"<figcaption>{escape(f.get('caption', ''))}</figcaption></figure>")
    if r.get("claims"):
        parts.append(_claims_table([(None, r, c) for c in r["claims"]]))
    metrics = r.get("metrics") or {}
    if metrics:
        sem = r.get("metrics_sem") or {}
        rows = [[k, f"{_fmt(v)} ± {_fmt(sem[k])}" if k in sem else v] for k, v in metrics.items()]
        parts.append("<h4>Metrics</h4>" + _table(["metric", "value"], rows))
    for t in r.get("tables", []):
        parts.append(f"<h4>{escape(t['title'])}</h4>" + _table(t["columns"], t["rows"]))
    seeds = ", ".join(map(str, r.get("seeds", [])))
    many = len(r.get("seeds", [])) > 1
    share = (" (the tour's share of it; <code>" + escape(registry.command(r["name"], "quick", r.get("seeds") or [0]))
             + "</code> runs the whole quick setting)") if r.get("tour_share") else ""
    parts.append(f'<p class="meta">budget {escape(str(r.get("budget")))}{share} · '
                 f'seed{"s" if many else ""} {escape(seeds)}{" (mean ± standard error over seeds)" if many else ""} · '
                 f'run time {_fmt(r.get("seconds", 0))} s · settings <code>{escape(json.dumps(r.get("config", {})))}'
                 f'</code><br>reproduce: <code>{escape(r.get("command", ""))}</code></p></div>')
    return "\n".join(parts)


def _claims_table(claims) -> str:
    """Rows of (experiment name to link to or None, its result, claim dict)."""
    rows = []
    for name, r, c in claims:
        text = escape(c["claim"])
        if name:
            text = f'<a href="#{escape(name, quote=True)}">{text}</a>'
        rows.append(f"<tr><td>{text}</td><td>{_fmt(c['ours'])}</td><td>{escape(str(c['paper']))}</td>"
                    f"<td>{escape(str(c['source']))}</td><td>{_holds(r, c)}</td></tr>")
    head = "<tr><th>claim</th><th>here</th><th>published</th><th>source</th><th>holds</th></tr>"
    return f'<table class="claims">{head}{"".join(rows)}</table>'


def render(results: list[dict], pending=(), game: bool = False) -> str:
    """The index page of ``results``; ``pending``: experiment names still to run (a tour in progress);
    ``game``: link the *Which one is real?* page."""
    failed = [r for r in results if r.get("status") != "ok"]
    total = sum(float(r.get("seconds") or 0) for r in results)
    html = [HEAD, f"<title>advgen report</title><style>{CSS}</style></head><body>",
            "<h1>advgen: the lecture, reproduced</h1>",
            f"<p>{len(results)} experiments, {len(failed)} failed, {total / 60:.1f} min of compute.</p>"]
    smoke = [r for r in results if is_smoke(r)]
    if smoke:
        every = "Every experiment here" if len(smoke) == len(results) else f"{len(smoke)} of these experiments"
        html.append(f'<p class="smoke-note" id="smoke-note"><strong>{escape(SMOKE_NOTE.capitalize())}.</strong> '
                    f'{every} ran at the smoke budget: tiny settings that check the wiring in seconds. '
                    f"Their numbers have no meaning and their verdicts are withheld ({escape(SMOKE_VERDICT)}); "
                    "<code>advgen tour</code> (the quick budget) gives the results.</p>")
    if pending:
        html.append(f'<p class="pending">Still running or queued ({len(pending)}): '
                    f'{escape(", ".join(map(str, pending)))}. This page is rewritten after every experiment.</p>')
    links = ['<a href="#summary">Summary</a>'] + [f'<a href="#section-{k}">{escape(v)}</a>' for k, v in SECTIONS.items()]
    if game:
        links.append('<a href="real.html">Which one is real?</a>')
    html.append(f"<nav>{' '.join(links)}</nav>")
    claims = [(r["name"], r, c) for r in results for c in r.get("claims", [])]
    html.append('<h2 id="summary">Summary of claims</h2>')
    html.append(_claims_table(claims) if claims else "<p>No claims recorded yet.</p>")
    if failed:
        html.append('<p class="bad">Failed: ' + ", ".join(
            f'<a href="#{escape(str(r.get("name")), quote=True)}">{escape(str(r.get("name")))}</a>' for r in failed)
            + "</p>")
    for key, title in SECTIONS.items():  # every part of the lecture, in its order, even before it has results
        section = [r for r in results if r.get("section") == key]
        html.append(f'<h2 id="section-{key}">{escape(title)}</h2>')
        html.extend(_experiment(r) for r in section)
        if game and key == "density-gans":
            html.append('<p><a href="real.html">Play “Which one is real?”</a>: real MNIST digits against the GAN\'s.</p>')
        if not section:
            html.append('<p class="meta">No experiment of this part has run yet.</p>')
    html.append("</body></html>")
    return "\n".join(html)


def build(out: str | Path, pending=()) -> Path:
    """Write ``OUT/index.html`` (and ``OUT/real.html`` when its pairs exist) from every
    ``OUT/*/result.json``; return the index's path. ``pending``: names still to run, shown on the page."""
    from . import real

    out = Path(out)
    results = load_results(out)
    game = real.build(out)
    index = out / "index.html"
    io.atomic_write(index, render(results, pending, game is not None).encode())
    return index
