"""The one registry of file formats: name -> kind, suffixes, and the module that reads and writes it.

As Biopython's ``Bio/Phylo/_io.py`` does, each format is served by one
module (loaded when first used); this table is what decides a format from a
file name, for every reader, writer and command. No NumPy here: the command
line reads it before anything else is loaded.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from ..errors import PhyloLLMError

#: Compression suffixes that text formats may carry (``x.csv.gz`` is CSV).
COMPRESSION_SUFFIXES: tuple[str, ...] = (".gz", ".bz2", ".xz")


@dataclass(frozen=True)
class Format:
    """A file format: what it holds, the suffixes that name it, the module that reads and writes it.

    Examples
    --------
    >>> newick = format_for("tree.nwk", "tree")
    >>> newick.name, newick.kind, ".newick" in newick.suffixes
    ('newick', 'tree', True)
    """

    name: str
    kind: str  # "tree", "dna", "distances" or "probes"
    suffixes: tuple[str, ...]
    module: str
    options: dict = field(default_factory=dict)  # passed to the module's writer (e.g. NHX features)
    compressible: bool = False

    def handler(self) -> ModuleType:
        """The module implementing this format (imported on first use)."""
        return importlib.import_module(f"phylo_llm.io.{self.module}")


FORMATS: tuple[Format, ...] = (
    Format("newick", "tree", (".nwk", ".newick", ".tree", ".tre", ".treefile"), "_newick"),
    Format("nhx", "tree", (".nhx",), "_newick", {"features": True}),
    Format("nexus", "tree", (".nex", ".nexus", ".nxs"), "_nexus"),
    Format("phyloxml", "tree", (".xml", ".phyloxml"), "_phyloxml"),
    Format("parquet", "dna", (".parquet",), "_tables"),
    Format("csv", "dna", (".csv",), "_tables", compressible=True),
    Format("tsv", "dna", (".tsv", ".txt"), "_tables", compressible=True),
    Format("npz", "dna", (".npz",), "_tables"),
    Format("phylip", "distances", (".phy", ".phylip", ".dist"), "_distances"),
    Format("parquet", "distances", (".parquet",), "_distances"),
    Format("csv", "distances", (".csv",), "_distances", compressible=True),
    Format("tsv", "distances", (".tsv", ".txt"), "_distances", compressible=True),
    Format("probes", "probes", (".probes",), "_probes"),
)

#: Tree format names, for ``--format``.
TREE_FORMATS: tuple[str, ...] = tuple(f.name for f in FORMATS if f.kind == "tree")

#: Suffixes that name tree files (inputs recognised as trees by ``score``).
TREE_SUFFIXES: frozenset[str] = frozenset(s for f in FORMATS if f.kind == "tree" for s in f.suffixes)


def table_suffix(path: str | Path) -> str:
    """The suffix that decides the format, lower case, ignoring a compression suffix (``x.csv.gz`` is ``.csv``).

    Examples
    --------
    >>> table_suffix("models/rand.CSV.gz")
    '.csv'
    """
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes and suffixes[-1] in COMPRESSION_SUFFIXES:
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def compression(path: str | Path) -> str | None:
    """The compression suffix of ``path`` (``".gz"``, ...), or ``None``."""
    suffix = Path(path).suffix.lower()
    return suffix if suffix in COMPRESSION_SUFFIXES else None


def format_for(path: str | Path, kind: str, explicit: str | None = None, default: str | None = None) -> Format:
    """The format of ``kind`` for ``path``: ``explicit`` when given, else by suffix, else ``default``.

    Raises
    ------
    PhyloLLMError
        Unknown format names and suffixes, naming the choices; a compressed
        name for a format that cannot be compressed.

    Examples
    --------
    >>> format_for("tree.nex", "tree").name
    'nexus'
    >>> format_for("tree.out", "tree", default="newick").name
    'newick'
    """
    choices = [f for f in FORMATS if f.kind == kind]
    if explicit is not None:
        for candidate in choices:
            if candidate.name == explicit:
                return candidate
        raise PhyloLLMError(f"unknown {kind} format {explicit!r}; choose one of {', '.join(f.name for f in choices)}")
    suffix = table_suffix(path)
    for candidate in choices:
        if suffix in candidate.suffixes:
            if compression(path) and not candidate.compressible:
                raise PhyloLLMError(f"{path}: {candidate.name} files cannot be compressed; drop {compression(path)!r}")
            return candidate
    if default is not None:
        return format_for(path, kind, explicit=default)
    known = sorted({s for f in choices for s in f.suffixes})
    raise PhyloLLMError(f"{path}: unknown file type {suffix or '(no extension)'!r} for {kind}; expected {', '.join(known)}")
