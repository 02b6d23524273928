"""What the figures read from lineage info: each model's family and release date."""

from __future__ import annotations

from collections.abc import Mapping

from ..lineage import real_family


def families_of(ids, info: Mapping[str, Mapping]) -> list[str | None]:
    """The documented pretraining family of each model (``None`` when unknown or a pseudo-family).

    Examples
    --------
    >>> families_of(["a", "b", "c"], {"a": {"family": "Qwen"}, "b": {"family": "(unknown)"}})
    ['Qwen', None, None]
    """
    return [real_family((info.get(m) or {}).get("family")) for m in ids]


def release_year(value) -> float:
    """A ``YYYY-MM`` (or ``YYYY``) release date as a decimal year; ``nan`` when absent or unreadable.

    Examples
    --------
    >>> release_year("2024-07"), release_year("2023"), release_year(None)
    (2024.5, 2023.0, nan)
    """
    try:
        parts = str(value).split("-")
        year = int(parts[0])
        month = int(parts[1]) if len(parts) > 1 else 1
    except (TypeError, ValueError):
        return float("nan")
    return year + (month - 1) / 12 if 1 <= month <= 12 and 1900 < year < 2200 else float("nan")
