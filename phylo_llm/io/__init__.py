"""One facade for reading and writing everything the package uses.

=================  ==============================================================
``load_dna``       DNA from parquet, CSV/TSV, ``.npz`` or the published folder layout
``save_dna``       DNA to parquet (canonical), CSV/TSV or ``.npz``
``load_distances`` a distance matrix from PHYLIP or a square CSV/TSV/parquet table
``save_distances`` the same formats
``load_input``     DNA, a distance matrix or a probe cache, whichever the file holds
``load_probes``    a per-probe embedding cache (memory-mapped)
``save_probes``    the same, float16 or float32
``read_tree``      Newick, NEXUS or PhyloXML
``write_tree``     the same, atomically; Newick safe for deep trees
=================  ==============================================================

Every writer goes through a temporary file renamed into place at the end, so a
failure never leaves a partial file or destroys an existing one.
"""

from __future__ import annotations

from pathlib import Path

from ..distance import DistanceMatrix
from ..dna import DNA, check_settings, warn_identical
from ..errors import PhyloLLMError
from ..probes import ProbeEmbeddings
from .atomic import atomic_output, atomic_path
from .distances import (
    PHYLIP_SUFFIXES,
    distances_from_table,
    is_distance_table,
    read_phylip,
    write_distance_table,
    write_phylip,
)
from .probes import is_probe_cache, read_probes, write_probes
from .published import is_published_layout, read_published
from .tables import TEXT_SEPARATORS, read_dna_npz, read_dna_table, read_frame, table_suffix, write_dna
from .trees import TREE_FORMATS, parse_tree, read_tree, to_newick, write_tree

DNA_SUFFIXES = {".parquet", ".npz", *TEXT_SEPARATORS}

__all__ = [
    "load_dna",
    "save_dna",
    "load_distances",
    "save_distances",
    "load_input",
    "load_probes",
    "save_probes",
    "is_probe_cache",
    "read_tree",
    "write_tree",
    "parse_tree",
    "to_newick",
    "atomic_output",
    "atomic_path",
    "TREE_FORMATS",
]


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise PhyloLLMError(f"{path}: no such file or directory")
    return path


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
        ``.parquet``, ``.csv``, ``.tsv`` (optionally compressed), ``.npz``, or a
        folder in the ``llm-dna`` published layout.
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
    """
    path = _existing(path)
    if path.is_dir():
        if not is_published_layout(path):
            raise PhyloLLMError(f"{path}: folder is not in the published llm-dna layout (no <model>/<model>_dna.json files)")
        dna = read_published(path, variant=variant, encoder=encoder)
    else:
        suffix = table_suffix(path)
        if suffix == ".npz":
            dna = read_dna_npz(path)
        elif suffix in DNA_SUFFIXES:
            dna = read_dna_table(path)
        else:
            raise PhyloLLMError(f"{path}: unknown file type {suffix or '(no extension)'!r}; expected .parquet, .csv, .tsv, .npz or a folder")
    check_settings(dna, allow_mixed=allow_mixed)
    warn_identical(dna)
    return dna


def save_dna(dna: DNA, path: str | Path) -> None:
    """Write DNA; ``.parquet`` is the canonical format (see :mod:`phylo_llm.io.tables`)."""
    write_dna(dna, path)


def load_distances(path: str | Path) -> DistanceMatrix:
    """Load a distance matrix from PHYLIP (``.phy``, ``.phylip``, ``.dist``) or a square table."""
    path = _existing(path)
    suffix = table_suffix(path)
    if suffix in PHYLIP_SUFFIXES:
        return read_phylip(path)
    if suffix in {".parquet", *TEXT_SEPARATORS}:
        frame = read_frame(path)
        if not is_distance_table(frame):
            raise PhyloLLMError(f"{path}: not a square distance table (a 'model' column plus one column per model)")
        return distances_from_table(frame, str(path))
    raise PhyloLLMError(f"{path}: unknown distance matrix type {suffix or '(no extension)'!r}; expected .phy, .csv, .tsv or .parquet")


def save_distances(dm: DistanceMatrix, path: str | Path) -> None:
    """Write a distance matrix; the format follows the suffix (``.phy``, ``.csv``, ``.tsv``, ``.parquet``)."""
    if table_suffix(Path(path)) in PHYLIP_SUFFIXES:
        write_phylip(dm, path)
    else:
        write_distance_table(dm, path)


def load_probes(path: str | Path) -> ProbeEmbeddings:
    """A per-probe cache written by ``phylo-llm extract --cache`` (memory-mapped, read lazily)."""
    return read_probes(_existing(path))


def save_probes(probes: ProbeEmbeddings, path: str | Path, dtype: str = "float16") -> None:
    """Write a per-probe cache (see :mod:`phylo_llm.io.probes`)."""
    write_probes(probes, path, dtype)


def load_input(path: str | Path, **dna_options) -> DNA | DistanceMatrix | ProbeEmbeddings:
    """DNA, a distance matrix or a probe cache, whichever ``path`` holds (PHYLIP and square tables are distances)."""
    path = _existing(path)
    if is_probe_cache(path):
        return read_probes(path)
    suffix = table_suffix(path)
    if path.is_file() and suffix in PHYLIP_SUFFIXES:
        return read_phylip(path)
    if path.is_file() and suffix in {".parquet", *TEXT_SEPARATORS}:
        frame = read_frame(path)
        if is_distance_table(frame):
            return distances_from_table(frame, str(path))
    return load_dna(path, **dna_options)
