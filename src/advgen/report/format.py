"""How the report and its Markdown print numbers and verdicts, in one place.

A run at the ``smoke`` budget is a wiring check, not a result: its claims' verdicts are withheld
(shown as "—") and every page that shows them says so (:data:`SMOKE_NOTE`). A comparison claim
judged with a margin (:mod:`advgen.experiments.verdicts`) that its difference does not clear reads
"no verdict"; a claim's flags (e.g. "collapsed") follow its verdict.
"""
from __future__ import annotations

import math

#: What a smoke-budget number is, said on the report's header, its claim rows and the Markdown.
SMOKE_NOTE = "smoke: a wiring check, not a result"
#: The verdict cell of a smoke-budget claim.
SMOKE_VERDICT = "— (smoke)"


def is_smoke(result: dict) -> bool:
    """Whether ``result`` ran at the smoke budget."""
    return result.get("budget") == "smoke"


def number(v) -> str:
    """A number to three significant digits, without exponents a reader has to decode: ``0.000127`` →
    ``"0.000127"``, ``1.27e-07`` → ``"< 0.0001"``, ``12345.6`` → ``"12,346"``; other values as ``str``."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, int):
        return f"{v:,}" if abs(v) >= 10_000 else str(v)
    if not math.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if abs(v) < 1e-4:
        return "< 0.0001" if v > 0 else "> -0.0001"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}" if abs(v) >= 0.001 else f"{v:.6f}".rstrip("0")


#: The verdict cell of a comparison whose difference stays within its stated margin.
NO_VERDICT = "no verdict"


def verdict(claim: dict) -> str:
    """A claim's verdict as words: "yes", "no", "no verdict (margin …)" or "—", then its flags."""
    holds = claim.get("holds")
    if holds is None:
        text = f"{NO_VERDICT} ({claim['margin']})" if claim.get("margin") else "—"
    else:
        text = "yes" if holds else "no"
    if claim.get("seeds_judged"):
        text += f"; holds in {claim['seeds_held']} of {claim['seeds_judged']} seeds"
    flags = claim.get("flags") or []
    return text + "".join(f"; {f}" for f in flags)


__all__ = ["NO_VERDICT", "SMOKE_NOTE", "SMOKE_VERDICT", "is_smoke", "number", "verdict"]
