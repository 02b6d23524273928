"""DNA as tables: parquet, CSV/TSV and NumPy ``.npz``.

Accepted layouts (a ``model`` column is always required):

* one numeric column per dimension, named ``0``, ``1``, ... or ``dna_0``,
  ``dna_1``, ... (also ``dim``/``d``/``x`` prefixes);
* or one list column ``dna`` (a parquet list, or in text files a JSON list
  such as ``"[0.1, -0.3]"``).

Every other column is kept as per-model metadata. The canonical file written
by :func:`write_dna` is parquet with ``model`` (string), ``dna``
(fixed-size list of float64) and the metadata columns.
"""

from __future__ import annotations

import csv
import json
import lzma
import re
import zipfile
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._memory import require_memory
from ..dna import DNA, check_equal_lengths
from ..errors import PhyloLLMError
from ._files import open_bounded
from ._formats import compression, table_suffix
from ._output import atomic_output, atomic_path

_DIMENSION = re.compile(r"^(?:dna|dim|d|x)?[_\-]?(\d+)$", re.IGNORECASE)
TEXT_SEPARATORS = {".csv": ",", ".tsv": "\t", ".txt": "\t"}
FORMAT_VERSION = "1"
# Integer columns with missing values stay integers (pandas would turn them into floats).
_NULLABLE_INTEGERS = {pa.int64(): pd.Int64Dtype(), pa.int32(): pd.Int32Dtype()}


def read_frame(path: Path, **text_options) -> pd.DataFrame:
    """Read a parquet or delimited text file into a DataFrame, with one-line errors.

    ``text_options`` replace the ``pandas.read_csv`` defaults for text files
    (``sep`` too: a lineage table is comma-separated whatever its suffix).
    """
    suffix = table_suffix(path)
    try:
        if suffix == ".parquet":
            return pq.read_table(path).to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
        sep = text_options.pop("sep", None) or TEXT_SEPARATORS[suffix]
        options = {"dtype": {"model": str}, "keep_default_na": True, **text_options}
        frame = _read_text_table(path, sep=sep, **options)
        if "keep_default_na" not in text_options and "model" in frame.columns and frame["model"].isna().any():
            # An id such as 'NA', 'null' or 'None' is a model's name, not a missing value: the ids as written.
            raw = _read_text_table(path, sep=sep, usecols=["model"], dtype=str, keep_default_na=False)
            frame["model"] = raw["model"].where(raw["model"] != "", None).to_numpy()
        return frame
    except PhyloLLMError:  # already one line naming the file (e.g. a table expanding past memory)
        raise
    except pd.errors.EmptyDataError:
        raise PhyloLLMError(f"{path}: the file is empty") from None
    except (pa.ArrowException, pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError, EOFError, zlib.error, lzma.LZMAError) as exc:
        # Truncated or corrupt compressed files raise EOFError / zlib / lzma errors.
        raise PhyloLLMError(f"{path}: not a readable {suffix[1:] or 'text'} file ({_first_line(exc)})") from None


def _read_text_table(path: Path, **options) -> pd.DataFrame:
    """``pandas.read_csv`` of a text table; a compressed one streamed through :func:`open_bounded` (pandas parses
    the expanded bytes as they come, and a file expanding past memory is refused while read)."""
    if not compression(path):
        size = path.stat().st_size  # pandas holds at least the text's size in parsed values: refused before reading
        require_memory(size, f"{path}: its text ({size / 2**20:,.0f} MiB)", "give a smaller file")
        return pd.read_csv(path, **options)
    with open_bounded(path) as handle:
        return pd.read_csv(handle, compression=None, encoding="utf-8", **options)


def read_dna_table(path: Path) -> DNA:
    """Read DNA from parquet, CSV or TSV (see the module docstring for the layout)."""
    source = str(path)
    if table_suffix(path) == ".parquet":
        try:
            table = pq.read_table(path)
        except (pa.ArrowException, OSError) as exc:
            raise PhyloLLMError(f"{path}: not a readable parquet file ({_first_line(exc)})") from None
        if "dna" in table.column_names and pa.types.is_list(table.schema.field("dna").type) or (
            "dna" in table.column_names and pa.types.is_fixed_size_list(table.schema.field("dna").type)
        ):
            frame = table.drop(["dna"]).to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
            ids = _model_ids(frame, source)
            return DNA(ids, _arrow_lists(table.column("dna"), ids, source), _metadata(frame, []), source)
        frame = table.to_pandas(types_mapper=_NULLABLE_INTEGERS.get)
    else:
        frame = read_frame(path)
    ids = _model_ids(frame, source)
    dims = dimension_columns(frame)
    if dims:
        return DNA(ids, _numeric_block(frame, dims, ids, source), _metadata(frame, dims), source)
    if "dna" in frame.columns:
        return DNA(ids, _text_lists(frame["dna"], ids, source), _metadata(frame, ["dna"]), source)
    raise PhyloLLMError(
        f"{path}: no DNA columns: expected numeric columns named 0, 1, ... (or dna_0, dna_1, ...) or a list column 'dna'"
    )


def read_dna_npz(path: Path) -> DNA:
    """Read DNA from a ``.npz`` holding ``ids`` (n,) and ``dna`` (n, d); other length-n 1-D arrays become metadata."""
    if not zipfile.is_zipfile(path):
        raise PhyloLLMError(f"{path}: not a readable .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise PhyloLLMError(f"{path}: not a readable .npz file ({_first_line(exc)})") from None
    for key in ("ids", "dna"):
        if key not in arrays:
            raise PhyloLLMError(f"{path}: no array named {key!r} (found: {', '.join(arrays) or 'none'})")
    ids = tuple(str(i) for i in arrays.pop("ids").ravel())
    raw = arrays.pop("dna")
    if raw.ndim != 2:
        raise PhyloLLMError(f"{path}: array 'dna' must be 2-D (models x dimensions), got shape {raw.shape}")
    if not np.issubdtype(raw.dtype, np.number):
        raise PhyloLLMError(f"{path}: array 'dna' is not numeric (dtype {raw.dtype})")
    meta = pd.DataFrame({k: v for k, v in arrays.items() if v.ndim == 1 and len(v) == len(ids)})
    return DNA(ids, raw.astype(np.float64), meta, str(path))


def write_dna(dna: DNA, path: str | Path) -> None:
    """Write DNA atomically; the format follows the suffix (``.parquet``, ``.csv``, ``.tsv``, ``.npz``)."""
    path = Path(path)
    suffix = table_suffix(path)
    meta = dna.metadata.reset_index(drop=True)
    if suffix == ".parquet":
        flat = pa.array(np.ascontiguousarray(dna.vectors).ravel(), pa.float64())
        table = pa.table({"model": pa.array(dna.ids, pa.string()), "dna": pa.FixedSizeListArray.from_arrays(flat, dna.dim)})
        if len(meta.columns):
            extra = pa.Table.from_pandas(meta, preserve_index=False)
            for name in extra.column_names:
                table = table.append_column(name, extra.column(name))
        table = table.replace_schema_metadata({"phylo_llm": json.dumps({"format": FORMAT_VERSION, "kind": "dna"})})
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    elif suffix in TEXT_SEPARATORS:
        dims = pd.DataFrame(dna.vectors, columns=[f"dna_{i}" for i in range(dna.dim)])
        frame = pd.concat([pd.DataFrame({"model": dna.ids}), meta, dims], axis=1)
        with atomic_output(path) as handle:
            frame.to_csv(handle, sep=TEXT_SEPARATORS[suffix], index=False, float_format="%.17g", quoting=text_quoting(frame))
    elif suffix == ".npz":
        # npz holds no objects: numbers stay numbers, anything else becomes text ("" when missing).
        extra = {
            str(c): meta[c].to_numpy() if meta[c].dtype.kind in "biuf" else meta[c].astype("string").fillna("").to_numpy(dtype=str)
            for c in meta.columns
        }
        with atomic_output(path, "wb") as handle:
            np.savez_compressed(handle, ids=np.array(dna.ids, dtype=str), dna=dna.vectors, **extra)
    else:
        raise PhyloLLMError(f"{path}: unknown output format {suffix or '(no extension)'!r}; use .parquet, .csv, .tsv or .npz")


def _model_ids(frame: pd.DataFrame, source: str) -> tuple[str, ...]:
    if "model" not in frame.columns:
        raise PhyloLLMError(f"{source}: no 'model' column (columns: {', '.join(map(str, frame.columns[:8]))})")
    if len(frame) == 0:
        raise PhyloLLMError(f"{source}: no models found")
    models = frame["model"]
    missing = models.isna() | (models.astype(str).str.strip() == "")
    if missing.any():
        raise PhyloLLMError(f"{source}: row {int(np.argmax(missing.to_numpy())) + 1} has no model id")
    return tuple(models.astype(str))


def dimension_columns(frame: pd.DataFrame) -> list:
    """The columns of ``frame`` that hold DNA dimensions (``0``, ``dna_1``, ``dim2``, ...), in dimension order."""
    found = [(int(m.group(1)), c) for c in frame.columns if (m := _DIMENSION.match(str(c))) and c != "model"]
    return [c for _, c in sorted(found)]


def _numeric_block(frame: pd.DataFrame, dims: list, ids: tuple[str, ...], source: str) -> np.ndarray:
    block = frame[dims]
    numeric = block.apply(pd.to_numeric, errors="coerce")
    bad = numeric.isna().to_numpy() & block.notna().to_numpy()
    if bad.any():
        row, col = map(int, np.argwhere(bad)[0])
        raise PhyloLLMError(
            f"{source}: model {ids[row]!r} (row {row + 1}) has a non-numeric value {block.iat[row, col]!r} in column {dims[col]!r}"
        )
    return numeric.to_numpy(dtype=np.float64, na_value=np.nan)


def _arrow_lists(column: pa.ChunkedArray, ids: tuple[str, ...], source: str) -> np.ndarray:
    array = column.combine_chunks()
    if array.null_count:
        row = int(np.argmax(array.is_null().to_numpy(zero_copy_only=False)))
        raise PhyloLLMError(f"{source}: model {ids[row]!r} (row {row + 1}) has no DNA")
    if pa.types.is_fixed_size_list(array.type):
        lengths = np.full(len(array), array.type.list_size)
    else:
        lengths = np.diff(array.offsets.to_numpy())
    check_equal_lengths(lengths, ids, source)
    values = array.flatten()
    if not (pa.types.is_floating(values.type) or pa.types.is_integer(values.type)):
        raise PhyloLLMError(f"{source}: column 'dna' holds {values.type} values, not numbers")
    return values.to_numpy(zero_copy_only=False).astype(np.float64).reshape(len(ids), int(lengths[0]) if len(ids) else 0)


def _text_lists(column: pd.Series, ids: tuple[str, ...], source: str) -> np.ndarray:
    rows = []
    for row, cell in enumerate(column):
        try:
            value = json.loads(cell) if isinstance(cell, str) else cell
            rows.append(np.asarray(value, dtype=np.float64).ravel())
        except (ValueError, TypeError):
            raise PhyloLLMError(
                f"{source}: model {ids[row]!r} (row {row + 1}): column 'dna' is not a list of numbers: {str(cell)[:40]!r}"
            ) from None
    check_equal_lengths(np.array([len(r) for r in rows]), ids, source)
    return np.vstack(rows)


def _metadata(frame: pd.DataFrame, used: list) -> pd.DataFrame:
    return frame.drop(columns=["model", *used]).reset_index(drop=True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def text_quoting(frame: pd.DataFrame) -> Literal[0, 2]:
    """The ``csv`` quoting for writing ``frame`` as text: minimal, unless a text cell holds a carriage return.

    pandas quotes a cell holding the line terminator (``\\n``) but not a lone
    ``\\r``, which its reader (and Python's ``csv``) then take as a line end:
    such a file quotes every text cell, so it reads back as written.

    Examples
    --------
    >>> import csv
    >>> text_quoting(pd.DataFrame({"model": ["a", "b"]})) == csv.QUOTE_MINIMAL
    True
    >>> text_quoting(pd.DataFrame({"model": ["a\\rb"]})) == csv.QUOTE_NONNUMERIC
    True
    """
    text = frame.select_dtypes(exclude="number")
    has_return = any(text[c].astype(str).str.contains("\r", regex=False).any() for c in text.columns)
    has_return = has_return or any("\r" in str(c) for c in frame.columns)
    return csv.QUOTE_NONNUMERIC if has_return else csv.QUOTE_MINIMAL


def write_table(frame: pd.DataFrame, path: str | Path) -> None:
    """Write a table atomically: ``.tsv``/``.txt`` tab-separated, anything else CSV (``.gz``/``.bz2``/``.xz`` compressed).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import pandas as pd
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "table.tsv"
    >>> write_table(pd.DataFrame({"model": ["a", "b"], "n": [1, 2]}), path)
    >>> path.read_text()
    'model\\tn\\na\\t1\\nb\\t2\\n'
    """
    separator = TEXT_SEPARATORS.get(table_suffix(path), ",")
    with atomic_output(path) as handle:
        frame.to_csv(handle, sep=separator, index=False, quoting=text_quoting(frame))
