"""Any input a user gives, turned into what a step needs: the one path from a file to distances or probes.

A command's INPUT may be DNA (a table, ``.npz`` or a published folder), a
distance matrix, a per-probe cache, models' raw answers, or (for scoring) a
tree. :func:`input_kind` says which, from the file itself; :func:`read_input`
loads it; :func:`input_distances` and :func:`input_probes` go on to distances
and per-probe embeddings, the same way for every command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, overload

from Bio.Phylo.BaseTree import Tree

from . import extract, io
from .distance import DistanceMatrix, Metric, distance_matrix, parse_metric, probe_distances
from .dna import DNA
from .errors import PhyloLLMError
from .io._published import check_layout_options
from .probes import ProbeEmbeddings

#: What :func:`input_kind` can answer.
INPUT_KINDS: tuple[str, ...] = ("dna", "distances", "probes", "answers", "tree")


def input_kind(path: str | Path) -> str:
    """What ``path`` holds: ``"probes"``, ``"answers"``, ``"tree"``, ``"distances"`` or ``"dna"``.

    Decided from the file, in this order: a probe cache's magic line; model
    answers (JSON lines, ``responses.json``, or a folder of model folders
    holding them); a tree file suffix; a distance-matrix file (PHYLIP, or a
    square table); anything else is read as DNA.

    Examples
    --------
    >>> input_kind("data/demo/dna.parquet"), input_kind("data/demo/true_tree.nwk")
    ('dna', 'tree')
    """
    path = io.existing(path)
    if io.is_probe_cache(path):
        return "probes"
    if extract.is_answers(path):
        return "answers"
    if path.is_file() and io.table_suffix(path) in io.TREE_SUFFIXES:
        return "tree"
    return "dna"  # DNA or a distance matrix: io.load_input tells them apart by content


#: What :func:`read_input` returns without ``trees``.
Data = DNA | DistanceMatrix | ProbeEmbeddings


@overload
def read_input(
    path: str | Path, *, trees: Literal[False] = ..., variant: str = ..., encoder: str | None = ..., allow_mixed: bool = ...
) -> Data: ...
@overload
def read_input(
    path: str | Path, *, trees: Literal[True], variant: str = ..., encoder: str | None = ..., allow_mixed: bool = ...
) -> Data | Tree: ...
def read_input(
    path: str | Path,
    *,
    trees: bool = False,
    variant: str = "dna",
    encoder: str | None = None,
    allow_mixed: bool = False,
) -> DNA | DistanceMatrix | ProbeEmbeddings | Tree:
    """DNA, a distance matrix, a probe cache or (with ``trees``) a tree: whatever ``path`` holds.

    Raises
    ------
    PhyloLLMError
        For model answers (extract them first, or use :func:`input_probes`)
        and for a tree where none is accepted.

    Examples
    --------
    >>> data = read_input("data/demo/dna.parquet")
    >>> type(data).__name__, len(data.ids)
    ('DNA', 70)
    """
    check_layout_options(path, variant, encoder)  # a tree, cache or distances would ignore them
    kind = input_kind(path)
    if kind == "tree":
        if not trees:
            raise PhyloLLMError(f"{path}: a tree file; this step needs DNA, distances or a probe cache")
        return io.read_tree(path)
    if kind == "answers":
        raise PhyloLLMError(f"{path}: model answers; extract DNA first (phylo-llm extract) or give a probe cache")
    return io.load_input(path, variant=variant, encoder=encoder, allow_mixed=allow_mixed)


def to_distances(data: DNA | DistanceMatrix | ProbeEmbeddings, metric: str | Metric = "euclidean") -> DistanceMatrix:
    """Distances of DNA (any metric), of per-probe embeddings (dot-product metrics), or a matrix as it is.

    A distance matrix given as input is returned unchanged: its metric is whatever made it.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = to_distances(pl.load_dna("data/demo/dna.parquet"), "cosine")
    >>> dist.metric, dist.values.shape
    ('cosine', (70, 70))
    """
    if isinstance(data, DistanceMatrix):
        parse_metric(metric)  # still refuse a misspelt name
        return data
    if isinstance(data, ProbeEmbeddings):
        return probe_distances(data, metric)
    return distance_matrix(data, metric)


def input_distances(path: str | Path, metric: str | Metric = "euclidean", **options: Any) -> DistanceMatrix:
    """:func:`read_input` then :func:`to_distances`: the distance matrix of any input.

    Examples
    --------
    >>> dist = input_distances("data/demo/dna.parquet")
    >>> dist.metric, len(dist.ids)
    ('euclidean', 70)
    """
    return to_distances(read_input(path, **options), metric)


def input_probes(
    path: str | Path, *, reference: ProbeEmbeddings | None = None, probe_dim: int = 128, progress: bool = False
) -> tuple[ProbeEmbeddings, str]:
    """Per-probe embeddings from a cache, or extracted from answers; and a note saying which.

    With ``reference``, answers are embedded exactly like its models (encoder,
    characters, seed, per-probe size and prompts), so they can be placed among them.

    Examples
    --------
    >>> import tempfile
    >>> from phylo_llm.io import save_probes
    >>> from phylo_llm.simulate import simulate
    >>> path = tempfile.mkdtemp() + "/sim.probes"
    >>> save_probes(simulate(seed=0).probes(4), path)
    >>> probes, note = input_probes(path)
    >>> probes.values.shape[:2]
    (70, 4)
    """
    kind = input_kind(path)
    if kind == "probes":
        return io.load_probes(path), ""
    if kind != "answers":
        raise PhyloLLMError(f"{path}: per-probe embeddings are needed here: a probe cache (phylo-llm extract --cache) or model answers")
    if reference is not None:
        extraction = extract.extract_like(path, reference, progress=progress)
    else:
        extraction = extract.extract(path, probe_dim=probe_dim, progress=progress)
    probes = extraction.probes
    assert probes is not None
    return probes, f"extracted {probes.n_models} models x {probes.n_probes} probes from answers"


def describe(data: DNA | DistanceMatrix | ProbeEmbeddings, metric: str | Metric = "euclidean") -> str:
    """A few words on an input, for summaries: ``"70 models x 128 dimensions, euclidean"``.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> describe(pl.load_dna("data/demo/dna.parquet"))
    '70 models x 128 dimensions, euclidean'
    """
    if isinstance(data, DistanceMatrix):
        return f"{data.n_models} models (distance matrix)"
    name = parse_metric(metric).name
    if isinstance(data, ProbeEmbeddings):
        return f"{data.n_models} models x {data.n_probes} probes, {name}"
    return f"{data.n_models} models x {data.dim} dimensions, {name}"
