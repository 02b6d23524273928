"""Distance matrices on disk: PHYLIP square/lower-triangular, and square CSV/TSV/parquet tables.

A square table has a ``model`` column and one column per model, named by its id,
in the same order as the rows.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ..ids import check_unique
from ._files import read_text
from ._formats import table_suffix
from ._output import atomic_output, atomic_path
from ._tables import TEXT_SEPARATORS


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


def read_phylip(path: Path) -> DistanceMatrix:
    """Read a (relaxed) PHYLIP distance matrix, square or lower-triangular.

    Names are whitespace-delimited (relaxed PHYLIP), so ids longer than ten
    characters work; rows may wrap over several lines.
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
    return DistanceMatrix(tuple(ids), values, "", str(path))


def write_phylip(dm: DistanceMatrix, path: str | Path) -> None:
    """Write the square relaxed-PHYLIP format (PHYLIP ``neighbor``, FastME, RapidNJ, scikit-bio read it)."""
    bad = next((m for m in dm.ids if any(ch.isspace() for ch in m) or not m), None)
    if bad is not None:
        raise PhyloLLMError(f"{path}: model id {bad!r} contains whitespace, which PHYLIP cannot hold; use .csv or .parquet")
    width = max(len(m) for m in dm.ids)
    buffer = io.StringIO()
    buffer.write(f"{dm.n_models}\n")
    for model, row in zip(dm.ids, dm.values):
        buffer.write(model.ljust(width) + "  " + " ".join(repr(float(v)) for v in row) + "\n")
    with atomic_output(path) as handle:
        handle.write(buffer.getvalue())


def write_distance_table(dm: DistanceMatrix, path: str | Path) -> None:
    """Write a square table (``.csv``, ``.tsv`` or ``.parquet``)."""
    path = Path(path)
    suffix = table_suffix(path)
    frame = pd.DataFrame(dm.values, columns=list(dm.ids))
    frame.insert(0, "model", list(dm.ids))
    if suffix == ".parquet":
        table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(
            {"phylo_llm": json.dumps({"format": "1", "kind": "distances", "metric": dm.metric})}
        )
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    elif suffix in TEXT_SEPARATORS:
        with atomic_output(path) as handle:
            frame.to_csv(handle, sep=TEXT_SEPARATORS[suffix], index=False, float_format="%.17g")
    else:
        raise PhyloLLMError(f"{path}: unknown distance format {suffix or '(no extension)'!r}; use .phy, .csv, .tsv or .parquet")


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
