"""DNA of many models: a folder of parquet files (one dataset, partitioned), read lazily, one partition at a time.

Each partition is a canonical DNA parquet file (``model``, ``dna`` as a
fixed-size list, settings columns; see :mod:`phylo_llm.io`), so any one of them
is also readable by :func:`phylo_llm.load_dna`. Vectors are stored as float32
(a million 128-d models: 0.5 GB) and computed with in float64. Opening a
dataset reads only the ``model`` column and the settings columns of every
partition: ids are checked unique across partitions and the extraction
settings alike across partitions before any vector is read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .._memory import require_memory
from ..dna import DNA, validate_vectors
from ..errors import PhyloLLMError
from ..ids import check_unique
from ..io import atomic_path
from ..settings import DNA_SETTINGS

#: The ``phylo_llm`` schema metadata of a partition file.
PART_KIND = "dna"
#: Partition files are named ``part-00000.parquet``, ... (sorted by name = dataset order).
PART_PATTERN = "part-{:05d}.parquet"
#: Rows per partition written by :class:`DatasetWriter` unless told otherwise.
PART_ROWS = 50_000
#: Partition files one dataset may be written as: every file is opened by every kNN task and listed by every
#: reader, and a file per model turns a million models into a million files.
MAX_PARTS = 10_000


def check_partitions(n_models: int, part_rows: int) -> int:
    """The number of partition files ``n_models`` make at ``part_rows`` each; over :data:`MAX_PARTS` refused.

    Examples
    --------
    >>> check_partitions(1_000_000, 50_000)
    20
    """
    parts = -(-n_models // part_rows)
    if parts > MAX_PARTS:
        raise PhyloLLMError(f"--part-rows {part_rows}: {n_models:,} models would make {parts:,} partition files; at most "
                            f"{MAX_PARTS:,} (give --part-rows {-(-n_models // MAX_PARTS)} or more)")
    return parts


@dataclass(frozen=True)
class DNADataset:
    """A partitioned DNA dataset on disk: the ids of every partition, its dimension and settings.

    Attributes
    ----------
    path : Path
        The folder.
    parts : tuple of Path
        Partition files, in dataset order.
    ids : tuple of tuple of str
        Model ids of each partition, in row order.
    dim : int
        DNA dimension.
    settings : dict
        Extraction settings shared by every partition (``{}`` when none are recorded; the first partition's
        when opened with ``allow_mixed``).
    part_settings : tuple of dict
        Each partition's own settings (they differ only when opened with ``allow_mixed``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "dna"
    >>> with DatasetWriter(folder, dim=2, part_rows=2) as out:
    ...     out.write(["a", "b", "c"], np.eye(3, 2))
    >>> data = open_dataset(folder)
    >>> data.ids, data.read_part(1)[1]
    ((('a', 'b'), ('c',)), array([[0., 0.]]))
    """

    path: Path
    parts: tuple[Path, ...]
    ids: tuple[tuple[str, ...], ...]
    dim: int
    settings: dict
    part_settings: tuple[dict, ...] = ()

    @property
    def n_models(self) -> int:
        return sum(len(p) for p in self.ids)

    @property
    def n_parts(self) -> int:
        return len(self.parts)

    def all_ids(self) -> list[str]:
        """Every model id, partition by partition."""
        return [m for part in self.ids for m in part]

    def read_part(self, index: int) -> tuple[tuple[str, ...], np.ndarray]:
        """Ids and ``(rows, dim)`` float64 vectors of one partition (checked finite)."""
        return read_part(self.parts[index], self.dim)

    def iter_parts(self) -> Iterator[tuple[tuple[str, ...], np.ndarray]]:
        for index in range(self.n_parts):
            yield self.read_part(index)

    def to_dask_array(self):
        """The vectors as a lazy :class:`dask.array.Array`, one chunk per partition (float32 as stored)."""
        import dask  # loaded when first needed: the command line must start fast
        import dask.array as da

        chunks = [da.from_delayed(dask.delayed(_part_float32)(str(p), self.dim), (len(i), self.dim), np.float32)
                  for p, i in zip(self.parts, self.ids)]
        return da.concatenate(chunks, axis=0)

    def to_dask_dataframe(self):
        """The partitions as a lazy :class:`dask.dataframe.DataFrame` (``model`` and ``dna`` columns)."""
        import dask.dataframe as dd  # loaded when first needed

        return dd.read_parquet([str(p) for p in self.parts], columns=["model", "dna"])

    def load(self) -> DNA:
        """Every partition in memory as one :class:`DNA` (refused when it would not fit)."""
        require_memory(8 * self.n_models * self.dim, f"{self.path}: {self.n_models} models x {self.dim} dimensions",
                       "use the commands that read the dataset lazily (tree --backbone, relatives, candidates)")
        vectors = np.empty((self.n_models, self.dim))
        row = 0
        for ids, values in self.iter_parts():
            vectors[row:row + len(ids)] = values
            row += len(ids)
        per_part = self.part_settings or (self.settings,) * self.n_parts  # each model keeps its own partition's settings
        rows = [settings for settings, ids in zip(per_part, self.ids) for _ in ids]
        meta = pd.DataFrame(rows, index=range(self.n_models)) if any(per_part) else pd.DataFrame()
        return DNA(tuple(self.all_ids()), vectors, meta, str(self.path))


def is_dataset(path: str | Path) -> bool:
    """True when ``path`` is a folder holding ``.parquet`` files (a partitioned DNA dataset).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> is_dataset(folder), is_dataset("data/demo/dna.parquet")
    (False, False)
    """
    path = Path(path)
    return path.is_dir() and any(p.suffix == ".parquet" for p in path.iterdir())


def open_dataset(path: str | Path, allow_mixed: bool = False) -> DNADataset:
    """Open a partitioned DNA dataset, reading only its ids and settings.

    Parameters
    ----------
    path : str or Path
        A folder of DNA parquet files (``phylo-llm simulate --models N`` and
        ``phylo-llm extract`` write ``part-00000.parquet``, ...; any canonical
        DNA parquet files will do).
    allow_mixed : bool
        Accept partitions made with different extraction settings.

    Raises
    ------
    PhyloLLMError
        Naming the partition file at fault: unreadable, no ``model`` or
        ``dna`` column, another dimension, other extraction settings, an id
        already in an earlier partition.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> import phylo_llm as pl
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "dna"
    >>> with DatasetWriter(folder, dim=2, part_rows=2) as out:
    ...     out.write(["a", "b", "c"], np.eye(3, 2))
    >>> data = open_dataset(folder)
    >>> data.n_models, data.n_parts, data.dim
    (3, 2, 2)
    """
    path = Path(path)
    if not path.is_dir():
        raise PhyloLLMError(f"{path}: not a folder of parquet files")
    parts = tuple(sorted(p for p in path.iterdir() if p.suffix == ".parquet" and not p.name.startswith(".")))
    if not parts:
        raise PhyloLLMError(f"{path}: no .parquet partition files in this folder")
    ids: list[tuple[str, ...]] = []
    dim = None
    settings: dict | None = None
    each: list[dict] = []
    first_settings_part = parts[0]
    for part in parts:
        part_ids, part_dim, part_settings = _describe_part(part)
        if dim is None:
            dim = part_dim
        elif part_dim != dim:
            raise PhyloLLMError(f"{part}: DNA of {part_dim} dimensions, but {parts[0].name} has {dim}")
        if settings is None:
            settings = part_settings
        elif part_settings != settings and not allow_mixed:
            key = next(k for k in sorted({*settings, *part_settings}) if settings.get(k) != part_settings.get(k))
            raise PhyloLLMError(f"{part}: made with {key}={part_settings.get(key, '(unknown)')}, but {first_settings_part.name} "
                                f"has {key}={settings.get(key, '(unknown)')}: extract all partitions the same way (or --allow-mixed)")
        ids.append(part_ids)
        each.append(part_settings)
    _check_unique_across(parts, ids)
    assert dim is not None
    return DNADataset(path, parts, tuple(ids), dim, settings or {}, tuple(each))


def _describe_part(part: Path) -> tuple[tuple[str, ...], int, dict]:
    """Ids, dimension and settings of one partition, reading neither the vectors nor other metadata."""
    try:
        schema = pq.read_schema(part)
        if "model" not in schema.names or "dna" not in schema.names:
            raise PhyloLLMError(f"{part}: not a DNA partition (needs a 'model' column and a 'dna' list column)")
        kind = schema.field("dna").type
        if not pa.types.is_fixed_size_list(kind) or not pa.types.is_floating(kind.value_type):
            raise PhyloLLMError(f"{part}: column 'dna' is {kind}, not a fixed-size list of floats")
        wanted = ["model", *[k for k in DNA_SETTINGS if k in schema.names]]
        table = pq.read_table(part, columns=wanted)
    except (pa.ArrowException, OSError) as exc:
        raise PhyloLLMError(f"{part}: not a readable parquet file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    models = table.column("model")
    if models.null_count:
        raise PhyloLLMError(f"{part}: a row has no model id")
    part_ids = _ids_of(models, part)
    if not part_ids:
        raise PhyloLLMError(f"{part}: no models found")
    blank = next((row for row, m in enumerate(part_ids) if not m.strip()), None)
    if blank is not None:  # as the DNA table reader refuses it: an empty id names no model
        raise PhyloLLMError(f"{part}: row {blank + 1} has no model id")
    settings = {}
    for key in wanted[1:]:
        values = set(table.column(key).drop_null().to_pylist())
        if len(values) > 1:
            raise PhyloLLMError(f"{part}: models made with {len(values)} values of {key} in one partition")
        if values:
            settings[key] = str(values.pop())
    return part_ids, int(kind.list_size), settings


def _check_unique_across(parts: tuple[Path, ...], ids: list[tuple[str, ...]]) -> None:
    """Refuse an id given twice, naming the partition where it appears again."""
    flat = pd.Index([m for part in ids for m in part])
    if flat.is_unique:
        return
    row = int(np.argmax(flat.duplicated()))
    ends = np.cumsum([len(p) for p in ids])
    where = int(np.searchsorted(ends, row, side="right"))
    check_unique(ids[where], str(parts[where]))  # a repeat within one partition: the usual message
    first = int(np.argmax(flat == flat[row]))
    earlier = parts[int(np.searchsorted(ends, first, side="right"))]
    raise PhyloLLMError(f"{parts[where]}: model {flat[row]!r} is also in {earlier.name}: an id names one model")


#: Metrics undefined for some vectors: what those vectors are called in the refusal.
UNDEFINED_FOR = {"cosine": "a zero vector", "correlation": "a constant vector"}


def first_zero_row(ids, vectors: np.ndarray, base: str = "cosine") -> str | None:
    """The id of the first vector ``base`` is undefined for (cosine: all zeros; correlation: constant), or ``None``."""
    vectors = np.asarray(vectors)
    if base == "correlation":
        vectors = vectors - vectors.mean(axis=1, keepdims=True)
    rows = np.flatnonzero(~vectors.any(axis=1))
    return str(ids[rows[0]]) if len(rows) else None


def _task_zero_row(part: str, dim: int, base: str) -> str | None:
    return first_zero_row(*read_part(Path(part), dim), base)


def check_cosine_vectors(data: DNADataset, client, metric: str) -> None:
    """With a cosine (correlation) metric, refuse a dataset holding an all-zero (constant) vector, naming its
    partition file and model (one pass over the partitions, on the workers, before any other work)."""
    from ..distance import parse_metric

    base = parse_metric(metric, csls=False).base
    if base not in UNDEFINED_FOR:
        return
    found = client.gather([client.submit(_task_zero_row, str(p), data.dim, base, pure=True) for p in data.parts])
    for part, model in zip(data.parts, found):
        if model is not None:
            raise PhyloLLMError(f"{part}: model {model!r} has {UNDEFINED_FOR[base]}: its {base} distance is undefined")


def read_part(part: Path, dim: int) -> tuple[tuple[str, ...], np.ndarray]:
    """Ids and float64 vectors of one partition file, checked (finite, the dataset's dimension)."""
    ids, values = _read_arrays(part, dim)
    vectors = values.astype(np.float64)
    validate_vectors(ids, vectors, str(part))
    return ids, vectors


def _part_float32(part: str, dim: int) -> np.ndarray:
    """One partition's vectors as float32, checked like :func:`read_part`: finite as stored, and still finite in
    float32 (a float64 partition's 1e300 would otherwise become inf here, unseen)."""
    ids, values = _read_arrays(Path(part), dim)
    validate_vectors(ids, values, part)
    with np.errstate(over="ignore"):  # checked just below
        vectors = values.astype(np.float32, copy=False)
    if vectors is not values:
        validate_vectors(ids, vectors, f"{part} (read as float32)")
    return vectors


def _read_arrays(part: Path, dim: int) -> tuple[tuple[str, ...], np.ndarray]:
    try:
        table = pq.read_table(part, columns=["model", "dna"])
    except (pa.ArrowException, OSError) as exc:
        raise PhyloLLMError(f"{part}: not a readable parquet file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
    column = table.column("dna").combine_chunks()
    if column.null_count:
        row = int(np.argmax(column.is_null().to_numpy(zero_copy_only=False)))
        raise PhyloLLMError(f"{part}: row {row + 1} has no DNA")
    if not pa.types.is_fixed_size_list(column.type) or column.type.list_size != dim:
        raise PhyloLLMError(f"{part}: column 'dna' is {column.type}, expected {dim} floats per model")
    ids = _ids_of(table.column("model"), part)
    values = column.flatten().to_numpy(zero_copy_only=False).reshape(len(ids), dim)
    return ids, values


def _ids_of(column: pa.ChunkedArray, part: Path) -> tuple[str, ...]:
    """The model ids of a partition as text: UTF-8 bytes (a ``binary`` column, as other writers store strings) are
    decoded like the single-file reader does, never written ``"b'org/m'"``; numbers are their decimal text."""
    if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
        values = column.to_pylist()
        for row, value in enumerate(values):
            try:
                values[row] = value.decode("utf-8")
            except UnicodeDecodeError:
                raise PhyloLLMError(f"{part}: row {row + 1}: model id {value[:40]!r} is not UTF-8 text") from None
        return tuple(values)
    return tuple(str(m) for m in column.to_pylist())


class DatasetWriter:
    """Write a partitioned DNA dataset row block by row block (memory: one partition).

    Each partition file is written atomically (:func:`phylo_llm.io.atomic_path`):
    inside an :class:`~phylo_llm.io.OutputPlan` block, all of them appear
    together when the block ends.

    Parameters
    ----------
    folder : path
        Existing or to be created (its parent must exist).
    dim : int
        DNA dimension.
    settings : dict, optional
        Extraction settings, written as constant columns of every partition.
    part_rows : int
        Rows per partition.
    first_part : int
        Number of the first partition file.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "dna"
    >>> with DatasetWriter(folder, dim=3, part_rows=100) as out:
    ...     for start in range(0, 250, 50):  # streamed: one partition in memory at a time
    ...         out.write([f"m{i}" for i in range(start, start + 50)], np.zeros((50, 3)))
    >>> sorted(p.name for p in folder.iterdir())
    ['part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    """

    def __init__(self, folder: str | Path, dim: int, settings: dict | None = None, part_rows: int = PART_ROWS,
                 first_part: int = 0) -> None:
        if part_rows < 1:
            raise PhyloLLMError(f"partitions need at least one row, got {part_rows}")
        self.folder = Path(folder)
        self.dim = dim
        self.settings = {**(settings or {}), "dna_dim": dim}
        self.part_rows = part_rows
        self.next_part = first_part
        self._ids: list[str] = []
        self._rows: list[np.ndarray] = []
        self._held = 0
        self.written: list[Path] = []

    def __enter__(self) -> DatasetWriter:
        self.folder.mkdir(exist_ok=True)
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.close()

    def write(self, ids: Iterable[str], vectors: np.ndarray) -> None:
        """Add models; full partitions are written as they fill."""
        ids = [str(i) for i in ids]
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(ids), self.dim)
        start = 0
        while start < len(ids):
            take = min(self.part_rows - self._held, len(ids) - start)
            self._ids.extend(ids[start:start + take])
            self._rows.append(vectors[start:start + take])
            self._held += take
            start += take
            if self._held == self.part_rows:
                self._flush()

    def close(self) -> None:
        if self._held:
            self._flush()

    def _flush(self) -> None:
        path = self.folder / PART_PATTERN.format(self.next_part)
        write_part(path, self._ids, np.concatenate(self._rows), self.settings)
        self.written.append(path)
        self.next_part += 1
        self._ids, self._rows, self._held = [], [], 0


def write_part(path: Path, ids: list[str] | tuple[str, ...], vectors: np.ndarray, settings: dict | None = None) -> None:
    """One partition file: ``model``, ``dna`` (fixed-size list of float32) and constant settings columns."""
    values = np.ascontiguousarray(vectors, dtype=np.float32)
    flat = pa.array(values.ravel(), pa.float32())
    columns = {"model": pa.array(list(ids), pa.string()), "dna": pa.FixedSizeListArray.from_arrays(flat, values.shape[1])}
    for key, value in (settings or {}).items():
        columns[key] = pa.array([value] * len(ids))
    table = pa.table(columns).replace_schema_metadata({"phylo_llm": json.dumps({"format": "1", "kind": PART_KIND})})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
