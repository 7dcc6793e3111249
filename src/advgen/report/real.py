"""The report's *Which one is real?* page (after whichfaceisreal.com), ``OUT/real.html``.

Built from ``OUT/which-is-real/pairs.json`` (written by the ``which-is-real`` experiment): each
pair is a real MNIST digit and a GAN sample as embedded PNG data URIs, the real one on a random
side. The reader clicks the image they believe is real; a few lines of inline JavaScript keep the
score in the page and show the reader's accuracy (50% means the generator fools them). Nothing
is fetched: the images are in the page, the script is inline.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from .. import io

SOURCE = Path("which-is-real") / "pairs.json"
_URI = re.compile(r"data:image/png;base64,[A-Za-z0-9+/]+={0,2}")

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:700px;margin:auto;padding:1em;
color:#222;line-height:1.4;text-align:center}
.pair{display:flex;justify-content:center;gap:1.5em;margin:1em 0}
.pair button{padding:0;border:3px solid #ccc;border-radius:6px;background:#000;cursor:pointer}
.pair button:hover,.pair button:focus{border-color:#0969da}
.pair img{display:block;width:min(40vw,224px);height:auto;image-rendering:pixelated}
#score{font-size:1.2em;font-weight:600}#verdict{min-height:1.4em}.ok{color:#1a7f37}.bad{color:#cf222e}
"""

SCRIPT = """
(function(){
  var pairs = JSON.parse(document.getElementById('pairs').textContent);
  var i = 0, right = 0, played = 0;
  var left = document.getElementById('left'), rightB = document.getElementById('right');
  var score = document.getElementById('score'), verdict = document.getElementById('verdict');
  function show(){
    var p = pairs[i % pairs.length];
    left.querySelector('img').src = p.left; rightB.querySelector('img').src = p.right;
    document.getElementById('round').textContent = 'Round ' + (played + 1);
  }
  function pick(side){
    var p = pairs[i % pairs.length];
    played += 1;
    if (side === p.real) { right += 1; verdict.textContent = 'Right: the ' + side + ' one was real.';
                           verdict.className = 'ok'; }
    else { verdict.textContent = 'Fooled: the ' + p.real + ' one was real.'; verdict.className = 'bad'; }
    score.textContent = right + ' of ' + played + ' right (' + Math.round(100 * right / played) + '%)';
    if (played === pairs.length) { verdict.textContent += ' That was every pair; they repeat from here.'; }
    i += 1; show();
  }
  left.addEventListener('click', function(){ pick('left'); });
  rightB.addEventListener('click', function(){ pick('right'); });
  show();
})();
"""


def pairs(out: str | Path) -> list[dict] | None:
    """The validated pairs of ``OUT/which-is-real/pairs.json``, or None when absent or malformed."""
    try:
        raw = json.loads((Path(out) / SOURCE).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    items = raw.get("pairs") if isinstance(raw, dict) else None
    if not isinstance(items, list) or not items:
        return None
    clean = []
    for p in items:
        if not (isinstance(p, dict) and p.get("real") in ("left", "right")
                and all(isinstance(p.get(k), str) and _URI.fullmatch(p[k]) for k in ("left", "right"))):
            return None  # a results file may only carry embedded PNGs, nothing the page would fetch or run
        clean.append({"left": p["left"], "right": p["right"], "real": p["real"]})
    return clean


def render(items: list[dict]) -> str:
    from . import HEAD

    data = json.dumps(items).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f"{HEAD}<title>Which one is real?</title><style>{CSS}</style></head><body>"
            "<h1>Which one is real?</h1>"
            "<p>One of the two digits is from the MNIST test set, the other was drawn by a GAN (the zoo's "
            "<code>mnist-gan</code>). Click the one you think is real. 50% means the generator fools you.</p>"
            '<p id="round">Round 1</p><div class="pair">'
            '<button id="left" type="button" aria-label="left image is real"><img alt="left digit"></button>'
            '<button id="right" type="button" aria-label="right image is real"><img alt="right digit"></button>'
            '</div><p id="verdict"></p><p id="score">0 of 0 right</p>'
            f'<p><a href="index.html">Back to the report</a> · {len(items)} pairs</p>'
            f'<script type="application/json" id="pairs">{data}</script>'
            f"<script>{SCRIPT}</script></body></html>")


def build(out: str | Path) -> Path | None:
    """Write ``OUT/real.html`` if the pairs exist; return its path (or None)."""
    items = pairs(out)
    if items is None:
        return None
    page = Path(out) / "real.html"
    io.atomic_write(page, render(items).encode())
    return page
