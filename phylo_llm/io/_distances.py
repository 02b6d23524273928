"""Distance matrices on disk: PHYLIP square/lower-triangular, and square CSV/TSV/parquet tables.

A square table has a ``model`` column and one column per model, named by its id,
in the same order as the rows.
"""

from __future__ import annotations

import csv
import json
import lzma
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ..ids import check_unique
from ._files import open_text, read_text
from ._formats import table_suffix
from ._output import STDOUT, atomic_output, atomic_path
from ._tables import TEXT_SEPARATORS, read_frame, text_quoting, write_table


def is_distance_table(frame: pd.DataFrame) -> bool:
    """True when ``frame`` is a square table: a ``model`` column plus one column per model (in any order)."""
    if "model" not in frame.columns:
        return False
    others = [str(c) for c in frame.columns if c != "model"]
    return len(others) == len(frame) > 0 and sorted(others) == sorted(str(m) for m in frame["model"])


def distances_from_table(frame: pd.DataFrame, source: str) -> DistanceMatrix:
    """The matrix of a square table, its columns taken in the order of its rows."""
    ids = tuple(str(m) for m in frame["model"])
    frame = frame.rename(columns=str)
    check_unique(ids, source)
    block = frame[list(ids)]
    numeric = block.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & block.notna().to_numpy()
    if bad.any():
        i, j = map(int, np.argwhere(bad)[0])
        raise PhyloLLMError(f"{source}: non-numeric distance {block.iat[i, j]!r} between {ids[i]!r} and {ids[j]!r}")
    return DistanceMatrix(ids, numeric.to_numpy(dtype=np.float64, na_value=np.nan), "", source)


def read_distance_table(path: Path) -> DistanceMatrix | None:
    """The matrix of a square ``.csv``/``.tsv``/``.parquet`` table, or ``None`` when the file is not one.

    Text tables may have ``model`` or nothing in the corner cell (the second
    is scikit-bio's ``lsmat`` format); ids are read exactly as written (no
    ``NA`` turned into a missing value, no number parsing); columns may come
    in any order.
    """
    suffix = table_suffix(path)
    if suffix not in TEXT_SEPARATORS:
        frame = read_frame(path)
        return distances_from_table(frame, str(path)) if is_distance_table(frame) else None
    separator = TEXT_SEPARATORS[suffix]
    try:
        with open_text(path, newline="") as handle:
            lines = csv.reader(handle, delimiter=separator)
            header, first = next(lines, []), next(lines, None)
    except (UnicodeDecodeError, OSError, EOFError, zlib.error, lzma.LZMAError, csv.Error):
        return None  # not a table this reader understands: the DNA reader says what is wrong with it
    if len(header) < 2 or header[0] not in ("", "model") or first is None:
        return None
    columns = header[1:]
    rows = read_frame(path, header=None, skiprows=1, usecols=[0], dtype={0: str}, keep_default_na=False)[0]
    if sorted(rows) != sorted(columns):  # e.g. a DNA table: not read whole a second time
        return None
    frame = read_frame(path, header=None, skiprows=1, dtype={0: str}, keep_default_na=False)
    if frame.shape[1] != len(columns) + 1:
        return None
    check_unique(columns, str(path), "columns")
    values = frame.iloc[:, 1:].replace("", np.nan)  # an empty cell is a missing distance, refused by name
    values.columns = columns
    return distances_from_table(pd.concat([frame[0].rename("model"), values], axis=1), str(path))


def read_phylip(path: Path) -> DistanceMatrix:
    """Read a (relaxed) PHYLIP distance matrix, square or lower-triangular.

    Names are whitespace-delimited (relaxed PHYLIP), so ids longer than ten
    characters work; rows may wrap over several lines. A strict file written
    by :func:`write_phylip` gets its ids back from the names map beside it.
    """
    tokens = read_text(path).split()
    if not tokens:
        raise PhyloLLMError(f"{path}: the file is empty")
    try:
        n = int(tokens[0])
    except ValueError:
        raise PhyloLLMError(f"{path}: not a PHYLIP distance matrix: first token {tokens[0]!r} is not the number of models") from None
    body = tokens[1:]
    layouts = {n * (n + 1): "square", n + n * (n - 1) // 2: "lower", n + n * (n + 1) // 2: "lower-diagonal"}
    layout = layouts.get(len(body))
    if n < 1 or layout is None:
        raise PhyloLLMError(f"{path}: {len(body)} values after the header do not make a square or triangular matrix of {n} models")
    ids: list[str] = []
    values = np.zeros((n, n))
    pos = 0
    for i in range(n):
        ids.append(body[pos])
        width = {"square": n, "lower": i, "lower-diagonal": i + 1}[layout]
        row = body[pos + 1 : pos + 1 + width]
        pos += 1 + width
        try:
            numbers = np.array(row, dtype=np.float64)
        except ValueError:
            bad = next(v for v in row if not _is_float(v))
            raise PhyloLLMError(f"{path}: model {ids[-1]!r} (row {i + 1}) has a non-numeric distance {bad!r}") from None
        if layout == "square":
            values[i] = numbers
        else:
            values[i, : len(numbers)] = numbers
            values[: len(numbers), i] = numbers
    return DistanceMatrix(tuple(_mapped_names(path, ids)), values, "", str(path))


def _mapped_names(path: Path, names: list[str]) -> list[str]:
    """The model ids of a PHYLIP file's rows: through the names map beside it when strict PHYLIP output wrote one.

    A map that is not the writer's (other columns) is left alone; one that
    names other rows is refused, so the ids never silently become ``m1``,
    ``m2``... on a round trip, nor the wrong models.
    """
    beside = phylip_names_path(path)
    if names != _strict_names(len(names)) or not beside.is_file():
        return names  # not rows the strict writer named: a map beside it (one left by an earlier write) is not theirs
    table = read_frame(beside, dtype=str, keep_default_na=False)
    if list(table.columns) != ["phylip_name", "model"]:
        return names
    mapping = dict(zip(table["phylip_name"], table["model"]))
    if len(mapping) != len(table) or sorted(mapping) != sorted(names):
        missing = sorted(set(names) - set(mapping)) or sorted(set(mapping) - set(names)) or ["a name given twice"]
        raise PhyloLLMError(f"{beside}: the names map beside {path.name} does not match its rows ({missing[0]!r}); "
                            "move or fix it")
    return [mapping[name] for name in names]


#: The PHYLIP dialects written: ``relaxed`` (names of any length, space-separated) or ``strict`` (10 columns).
PHYLIP_STYLES: tuple[str, ...] = ("relaxed", "strict")


def write_phylip(dm: DistanceMatrix, path: str | Path, style: str = "relaxed") -> None:
    """Write a square PHYLIP distance matrix.

    ``relaxed``: each row starts with the model id and a space (scikit-bio's
    ``phylip_dm`` and the package read it; ids cannot hold white space).
    ``strict``: names in exactly 10 columns, as PHYLIP ``neighbor`` and
    ``fitch`` read them: models are named ``m1``, ``m2``... and the names map
    (:func:`phylip_names_path`, ``phylip_name`` and ``model`` columns) is
    written beside the matrix.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from phylo_llm.distance import DistanceMatrix
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> dm = DistanceMatrix(("org/a model", "org/b"), np.array([[0.0, 0.5], [0.5, 0.0]]))
    >>> write_phylip(dm, folder / "d.phy", "strict")
    >>> print((folder / "d.phy").read_text())
    2
    m1         0.0 0.5
    m2         0.5 0.0
    <BLANKLINE>
    >>> (folder / "d.names.tsv").read_text().splitlines()
    ['phylip_name\\tmodel', 'm1\\torg/a model', 'm2\\torg/b']
    """
    if style not in PHYLIP_STYLES:
        raise PhyloLLMError(f"unknown PHYLIP style {style!r}; choose one of {', '.join(PHYLIP_STYLES)}")
    if style == "strict":
        names = _strict_names(dm.n_models)
        if str(path) == STDOUT:
            raise PhyloLLMError("strict PHYLIP writes a names map beside the matrix: give a file name, not '-'")
        width = 10
    else:
        bad = next((m for m in dm.ids if any(ch.isspace() for ch in m) or not m), None)
        if bad is not None:
            raise PhyloLLMError(
                f"{path}: model id {bad!r} contains white space, which relaxed PHYLIP cannot hold; use strict PHYLIP, .csv or .parquet"
            )
        names = list(dm.ids)
        width = max(len(m) for m in names)
    with atomic_output(path) as handle:
        handle.write(f"{dm.n_models}\n")
        for name, row in zip(names, dm.values):
            handle.write(name.ljust(width) + " " + " ".join(repr(float(v)) for v in row) + "\n")
    if style == "strict":
        write_table(pd.DataFrame({"phylip_name": names, "model": list(dm.ids)}), phylip_names_path(path))


def _strict_names(n: int) -> list[str]:
    """The row names strict PHYLIP output gives ``n`` models (``m1``, ``m2``...), mapped to ids beside it."""
    return [f"m{i + 1}" for i in range(n)]


def phylip_names_path(path: str | Path) -> Path:
    """Where strict PHYLIP output ``x.phy`` keeps its names map: ``x.names.tsv``.

    Examples
    --------
    >>> str(phylip_names_path("out/x.phy"))
    'out/x.names.tsv'
    """
    path = Path(path)
    return path.parent / f"{path.stem}.names.tsv"


def write_distance_table(dm: DistanceMatrix, path: str | Path) -> None:
    """Write a square table: ``.csv``/``.tsv`` with an empty corner cell (scikit-bio's ``lsmat``), ``.parquet`` with ``model``."""
    path = Path(path)
    suffix = table_suffix(path)
    frame = pd.DataFrame(dm.values, columns=list(dm.ids))
    if suffix == ".parquet":
        frame.insert(0, "model", list(dm.ids))
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
            {"phylo_llm": json.dumps({"format": "1", "kind": "distances", "metric": dm.metric})}
        )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    elif suffix in TEXT_SEPARATORS:
        frame.insert(0, "", list(dm.ids))
        with atomic_output(path) as handle:
            frame.to_csv(handle, sep=TEXT_SEPARATORS[suffix], index=False, float_format="%.17g", quoting=text_quoting(frame))
    else:
        raise PhyloLLMError(f"{path}: unknown distance format {suffix or '(no extension)'!r}; use .phy, .csv, .tsv or .parquet")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
