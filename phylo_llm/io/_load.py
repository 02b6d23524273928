"""Loading and saving the package's data: DNA, distance matrices and probe caches, by content and suffix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..distance import DistanceMatrix
from ..dna import DNA, warn_identical
from ..errors import PhyloLLMError
from ..probes import ProbeEmbeddings
from ..settings import check_settings
from ._distances import read_distance_table, read_phylip, write_distance_table, write_phylip
from ._files import existing
from ._formats import format_for
from ._probes import is_probe_cache, read_probes, write_probes
from ._published import check_layout_options, is_published_layout, read_published
from ._tables import read_dna_npz, read_dna_table, write_dna


def load_dna(
    path: str | Path,
    *,
    variant: str = "dna",
    encoder: str | None = None,
    allow_mixed: bool = False,
) -> DNA:
    """Load DNA from a file or a published probe-set folder.

    Parameters
    ----------
    path : str or Path
        ``.parquet``, ``.csv``, ``.tsv`` (optionally compressed), ``.npz``, a
        folder of parquet partitions (a partitioned dataset, see
        :func:`phylo_llm.hub.open_dataset`), or a folder in the ``llm-dna`` published layout.
    variant : str
        Published layout only: which DNA file of each model folder
        (``"dna"``, ``"dna_dim1024"``, ``"preagg_dim64"``, ...).
    encoder : str, optional
        Published layout only: encoder-ablation subfolder (``"bge"``, ``"mpnet"``).
    allow_mixed : bool
        Accept DNA made with different extraction settings (probe set,
        encoder, dimensions); by default that is an error listing the groups.

    Returns
    -------
    DNA
        Warns (once) when several models have identical vectors.

    Examples
    --------
    >>> dna = load_dna("data/demo/dna.parquet")
    >>> dna.n_models, dna.dim
    (70, 128)
    """
    path = existing(path)
    check_layout_options(path, variant, encoder)
    if path.is_dir():
        from ..hub import is_dataset, open_dataset  # a partitioned dataset (many models): loaded when met

        if is_dataset(path) and not is_published_layout(path):
            dna = open_dataset(path, allow_mixed=allow_mixed).load()
        elif not is_published_layout(path):
            raise PhyloLLMError(f"{path}: folder is neither a partitioned DNA dataset (*.parquet files) nor in the published "
                                "llm-dna layout (<model>/<model>_dna.json files)")
        else:
            dna = read_published(path, variant=variant, encoder=encoder)
    else:
        fmt = format_for(path, "dna")
        dna = read_dna_npz(path) if fmt.name == "npz" else read_dna_table(path)
    check_settings(dna, allow_mixed=allow_mixed)
    warn_identical(dna)
    return dna


def save_dna(dna: DNA, path: str | Path) -> None:
    """Write DNA; ``.parquet`` is the canonical format (see :mod:`phylo_llm.io.tables`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.csv"
    >>> save_dna(load_dna("data/demo/dna.parquet"), path)
    >>> load_dna(path).n_models
    70
    """
    write_dna(dna, path)


def load_distances(path: str | Path) -> DistanceMatrix:
    """Load a distance matrix from PHYLIP (``.phy``, ``.phylip``, ``.dist``) or a square table.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "d.phy"
    >>> _ = path.write_text("3\\na 0 1 2\\nb 1 0 3\\nc 2 3 0\\n")
    >>> load_distances(path).values[1, 2]
    np.float64(3.0)
    """
    path = existing(path)
    if format_for(path, "distances").name == "phylip":
        return read_phylip(path)
    dm = read_distance_table(path)
    if dm is None:
        raise PhyloLLMError(f"{path}: not a square distance table (a corner cell 'model' or empty, then one column per model)")
    return dm


def save_distances(dm: DistanceMatrix, path: str | Path, phylip: str = "relaxed") -> None:
    """Write a distance matrix; the format follows the suffix (``.phy``, ``.csv``, ``.tsv``, ``.parquet``).

    ``phylip`` is the PHYLIP dialect, ``"relaxed"`` or ``"strict"`` (10-column
    names, a names map beside the file; see :func:`phylo_llm.io._distances.write_phylip`).
    Text tables have an empty corner cell, so scikit-bio reads them
    (``skbio.DistanceMatrix.read(path, format="lsmat", delimiter=",")`` for CSV).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import phylo_llm as pl
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.phy"
    >>> save_distances(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")), path)
    >>> load_distances(path).n_models
    70
    """
    if format_for(path, "distances").name == "phylip":
        write_phylip(dm, path, phylip)
    else:
        write_distance_table(dm, path)


def load_probes(path: str | Path) -> ProbeEmbeddings:
    """A per-probe cache written by ``phylo-llm extract --cache`` (memory-mapped, read lazily).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from phylo_llm.simulate import simulate
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.probes"
    >>> save_probes(simulate(seed=0).probes(32), path)
    >>> load_probes(path).values.shape
    (70, 32, 4)
    """
    return read_probes(existing(path))


def save_probes(probes: ProbeEmbeddings, path: str | Path, dtype: str = "float16") -> None:
    """Write a per-probe cache (see :mod:`phylo_llm.io.probes`).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from phylo_llm.simulate import simulate
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "demo.probes"
    >>> save_probes(simulate(seed=0).probes(32), path, dtype="float32")
    >>> load_probes(path).values.dtype
    dtype('float32')
    """
    write_probes(probes, path, dtype)


def load_input(path: str | Path, **dna_options: Any) -> DNA | DistanceMatrix | ProbeEmbeddings:
    """DNA, a distance matrix or a probe cache, whichever ``path`` holds (PHYLIP and square tables are distances).

    Examples
    --------
    >>> type(load_input("data/demo/dna.parquet")).__name__
    'DNA'
    """
    path = existing(path)
    if is_probe_cache(path):
        return read_probes(path)
    if path.is_file():
        kind = _distance_format(path)
        if kind == "phylip":
            return read_phylip(path)
        if kind is not None:
            dm = read_distance_table(path)
            if dm is not None:
                return dm
    return load_dna(path, **dna_options)


def _distance_format(path: Path) -> str | None:
    """The distance format ``path``'s suffix names (``phylip``, ``csv``...), or ``None``."""
    try:
        return format_for(path, "distances").name
    except PhyloLLMError:
        return None
