"""The report's summary of claims as a Markdown table, for a README or an issue comment.

``advgen report OUT --markdown`` prints it: one row per lecture claim, with the experiment, our
number, the published one, whether it holds, and the experiment's run time. At the smoke budget it
opens with :data:`~advgen.report.format.SMOKE_NOTE` and withholds the verdicts.
"""
from __future__ import annotations

from .format import SMOKE_NOTE, SMOKE_VERDICT, is_smoke, number, verdict


def _cell(v) -> str:
    """A table cell: numbers as :func:`~advgen.report.format.number` prints them, newlines folded, pipes and
    HTML escaped."""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        v = number(v)
    elif v is None:
        v = "—"
    text = " ".join(str(v).split()).replace("|", "\\|")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def claims_table(results: list[dict]) -> str:
    """Markdown: every claim of ``results`` (as loaded by :func:`advgen.report.load_results`), in their order."""
    smoke = [r for r in results if is_smoke(r)]
    lines = [f"**{SMOKE_NOTE.capitalize()}**: {len(smoke)} of {len(results)} experiments ran at the smoke budget; "
             f"their verdicts are withheld ({SMOKE_VERDICT}).", ""] if smoke else []
    lines += ["| experiment | claim | here | published | holds | run time |", "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        minutes = f"{float(r.get('seconds') or 0) / 60:.1f} min"
        if r.get("status") != "ok":
            lines.append(f"| `{_cell(r.get('name'))}` | failed: {_cell(r.get('error'))} | | | **no** | {minutes} |")
        for c in r.get("claims", []):
            lines.append(f"| `{_cell(r['name'])}` | {_cell(c['claim'])} | {_cell(c['ours'])} | {_cell(c['paper'])} "
                         f"| {SMOKE_VERDICT if is_smoke(r) else _bold_no(verdict(c))} | {minutes} |")
    return "\n".join(lines) + "\n"


def _bold_no(text: str) -> str:
    return "**no**" + text[2:] if text.startswith("no") and not text.startswith("no verdict") else text


__all__ = ["claims_table"]
