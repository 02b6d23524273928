"""The explorer as one HTML file: the page, its style, its script and its data, all inline.

Nothing is fetched when the page opens: the script (d3 modules bundled by
``js/build.mjs``) and the style sheet are package data inlined here, the data
is a JSON block. A Content-Security-Policy allows exactly these two inline
blocks (by their SHA-256) and nothing else: no network, and no script that a
hostile model id might smuggle into the page could run (ids are also only
ever written as text).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from functools import cache
from importlib import resources

from .._version import __version__

#: The id of the JSON block the page reads its data from.
DATA_ID = "phylo-llm-data"

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="phylo-llm {version}">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>{style}</style>
</head>
<body>
<header>
<h1 id="title"></h1><span class="subtitle" id="subtitle"></span>
<div class="search-box"><input id="search" type="search" placeholder="Search models by id…" autocomplete="off" spellcheck="false" aria-label="search models"><span id="search-count"></span><ul id="suggestions" hidden></ul></div>
<div class="controls"><button id="layout-rectangular" type="button">rectangular</button><button id="layout-circular" type="button">circular</button><button id="expand-all" type="button">expand all</button><button id="reset-view" type="button">reset view</button><label>colour by <select id="colour-by"></select></label></div>
</header>
<main>
<div class="pane" id="tree-pane"><span class="pane-title">tree</span><canvas id="tree-canvas"></canvas></div>
<div id="side"><div id="map-pane"><span class="pane-title">DNA map</span><canvas id="map-canvas"></canvas></div><div id="legend"></div></div>
<div id="card"></div>
</main>
<div id="tooltip" hidden></div>
<script type="application/json" id="{data_id}">{data}</script>
<script>{script}</script>
</body>
</html>
"""


@cache
def _static(name: str) -> str:
    return resources.files("phylo_llm.viewer").joinpath("static").joinpath(name).read_text(encoding="utf-8")


def _digest(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def data_json(data: dict) -> str:
    """``data`` as JSON safe inside a ``<script>`` block: ``<``, ``>`` and ``&`` are written as ``\\u`` escapes.

    Examples
    --------
    >>> data_json({"ids": ["</script><script>alert(1)</script>"]})
    '{"ids":["\\\\u003c/script\\\\u003e\\\\u003cscript\\\\u003ealert(1)\\\\u003c/script\\\\u003e"]}'
    """
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def explorer_html(data: dict) -> str:
    """The whole page for ``data`` (:func:`phylo_llm.viewer.explorer_data`): the same data gives the same text.

    Examples
    --------
    >>> page = explorer_html({"title": "a <b>", "ids": []})
    >>> page.startswith("<!DOCTYPE html>"), "<title>a &lt;b&gt;</title>" in page
    (True, True)
    """
    script, style = _static("explorer.js"), _static("explorer.css")
    if "</script" in script.lower() or "</style" in style.lower():
        raise RuntimeError("the bundled explorer script or style closes its own block; rebuild it")
    policy = (f"default-src 'none'; script-src '{_digest(script)}'; style-src '{_digest(style)}'; "
              "img-src data:; base-uri 'none'; form-action 'none'")
    return _PAGE.format(
        policy=policy, version=html.escape(__version__), title=html.escape(str(data.get("title", "phylo-llm explorer"))),
        style=style, data_id=DATA_ID, data=data_json(data), script=script,
    )
