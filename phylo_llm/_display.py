"""Short text and HTML summaries of the package's objects, for the console and for Jupyter.

A repr names the type, the sizes and where the data came from, never every
id: a DNA of 20,000 models prints one line. ``_repr_html_`` adds a few ids and
settings as a small table (escaped: ids are user data).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

#: Ids shown in an HTML summary before "...".
PREVIEW = 5


def preview_ids(ids: Sequence[str], count: int = PREVIEW) -> str:
    """The first ``count`` ids, and how many more.

    Examples
    --------
    >>> preview_ids(["a", "b", "c"], 2)
    'a, b, ... (1 more)'
    """
    shown = ", ".join(ids[:count])
    return shown + (f", ... ({len(ids) - count:,} more)" if len(ids) > count else "")


def html_summary(title: str, rows: Iterable[tuple[str, object]], table: str = "") -> str:
    """A compact HTML block: a bold title, a two-column table of ``rows``, then ``table`` (already HTML).

    Examples
    --------
    >>> html_summary("DNA", [("models", 2), ("ids", "a<b")])
    '<div><b>DNA</b><table><tr><th style="text-align:left">models</th><td style="text-align:left">2</td></tr><tr><th style="text-align:left">ids</th><td style="text-align:left">a&lt;b</td></tr></table></div>'
    """
    cells = "".join(
        f'<tr><th style="text-align:left">{html.escape(str(k))}</th><td style="text-align:left">{html.escape(str(v))}</td></tr>'
        for k, v in rows
    )
    return f"<div><b>{html.escape(title)}</b><table>{cells}</table>{table}</div>"


def settings_text(settings: dict, keys: Iterable[str]) -> str:
    """``key=value`` for the given keys present in ``settings``, comma-separated."""
    return ", ".join(f"{k}={settings[k]}" for k in keys if settings.get(k) not in (None, ""))
