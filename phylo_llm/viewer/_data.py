"""What the explorer page shows, as plain JSON-ready data: tree arrays, map, colours, model cards.

The page (``js/src/explorer.js``) draws only what this module puts in the
dictionary; every number is computed here, in Python, by the library's own
functions (nearest models and their percentiles as
:func:`phylo_llm.score.relatives` computes them, documented relations as
:class:`phylo_llm.score.Relatedness` describes them, colours from
:mod:`phylo_llm.figures.palette`).

Fields of the dictionary (all lists are aligned with ``ids``, the models):

``ids``
    Model ids: the distance matrix's, then placed models that have no data.
``tree``
    The tree in preorder (node 0 is the root): ``parent`` (-1 for the root),
    ``length``, ``model`` (index into ``ids``; -1 for internal nodes) and
    ``support`` (in [0, 1], ``None`` where absent; the key is ``None`` when the
    tree has no support at all).
``map``
    ``[x0, y0, x1, y1, ...]``, the seeded 2-D embedding; ``None`` for models
    without data.
``colours``
    Per lineage attribute: ``label``, ``categories`` (``name``, ``colour``,
    ``count``) and ``codes`` (each model's category).
``meta``, ``meta_fields``
    Lineage facts per model, and the fields shown, in order.
``parents``
    Per model, its documented parents ``[name, relation, index or -1]``.
``related``
    Per model, the documented edges to other present models
    ``[index, relation, "parent" or "child"]``: highlighted on selection.
``nearest``
    Per model, columns of its ``k`` nearest models: ``model`` (indices),
    ``distance``, ``all_pairs_pct``, ``<relation>_pct``, ``documented``.
``relations``, ``relation_colours``, ``placed``, ``extra``, ``metric``, ``layout``,
``colour_by``, ``title``, ``subtitle``
    Relation types present, their colours, placed models, per-model extra rows
    (placement table), and what the header says.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from Bio.Phylo.BaseTree import Tree

from ..distance import DistanceMatrix
from ..errors import PhyloLLMError
from ..figures.palette import FAMILY_COLOURS, OTHER_FAMILY, UNKNOWN, family_colour, relation_colour
from ..ids import check_unique
from ..lineage import Lineage, real_family
from ..score import Relatedness, documented_pairs
from ..tree import iter_preorder

#: Lineage attributes the page can colour by (those the lineage has), in the order its menu lists them.
COLOUR_BY: tuple[str, ...] = ("family", "subfamily", "organization", "architecture", "multimodal", "is_base", "release")
#: Lineage facts shown on a model card: (column, label).
META_FIELDS: tuple[tuple[str, str], ...] = (
    ("lineage_id", "lineage id"), ("family", "family"), ("subfamily", "subfamily"), ("organization", "organization"),
    ("architecture", "architecture"), ("multimodal", "multimodal"), ("params_b", "parameters (B)"),
    ("release", "release"), ("is_base", "base model"),
)
#: Rows per block when finding every model's nearest models (bounds the temporary memory to ~block x n).
_BLOCK = 512


def tree_arrays(tree: Tree, index: Mapping[str, int]) -> dict:
    """The tree as preorder arrays (see the module docstring), leaves named by their index in ``index``.

    Supports above 1 are read as percentages (bootstrap programs write 0-100).

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> tree = Phylo.read(StringIO("((a:1,b:2)90:0.5,c:3);"), "newick")
    >>> arrays = tree_arrays(tree, {"a": 0, "b": 1, "c": 2})
    >>> arrays["parent"], arrays["model"], arrays["support"]
    ([-1, 0, 1, 1, 0], [-1, -1, 0, 1, 2], [None, 0.9, None, None, None])
    """
    clades = list(iter_preorder(tree))
    position = {id(c): i for i, c in enumerate(clades)}
    parent = [-1] * len(clades)
    for i, clade in enumerate(clades):
        for child in clade.clades:
            parent[position[id(child)]] = i
    support = [c.confidence if c.clades and i and c.confidence is not None else None for i, c in enumerate(clades)]
    present = [float(s) for s in support if s is not None]
    if any(not np.isfinite(s) or s < 0 for s in present):
        raise PhyloLLMError("the tree has branch supports that are not finite non-negative numbers")
    scale = 100.0 if present and max(present) > 1.0 else 1.0
    lengths = [float(c.branch_length or 0.0) for c in clades]
    if not all(np.isfinite(lengths)):
        raise PhyloLLMError("the tree has branch lengths that are not finite numbers")
    return {
        "parent": parent,
        "length": [_short(v) for v in lengths],
        "model": [index[str(c.name)] if not c.clades else -1 for c in clades],
        "support": [None if s is None else round(float(s) / scale, 3) for s in support] if present else None,
    }


def check_leaves(tree: Tree, ids: Sequence[str], placed: Iterable[str] = (), source: str = "the tree") -> list[str]:
    """The tree's leaf names, refusing duplicates, leaves without data (unless placed) and data without a leaf.

    Examples
    --------
    >>> from io import StringIO
    >>> from Bio import Phylo
    >>> check_leaves(Phylo.read(StringIO("(a,b,c);"), "newick"), ["a", "b"])
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: the tree: 1 leaf not in INPUT: 'c'
    """
    leaves = [str(c.name) for c in tree.get_terminals()]
    counts = Counter(leaves)
    twice = sorted(name for name, n in counts.items() if n > 1)
    if twice:
        raise PhyloLLMError(f"{source}: leaf {twice[0]!r} appears {counts[twice[0]]} times")
    placed = [str(m) for m in placed]
    check_unique(placed, "placed models")
    known, extra = set(ids), set(placed)
    missing = [name for name in leaves if name not in known and name not in extra]
    if missing:
        raise PhyloLLMError(f"{source}: {_count(missing, 'leaf', 'leaves')} not in INPUT: {_names(missing)}")
    in_tree = set(leaves)
    nowhere = [m for m in placed if m not in known and m not in in_tree]
    if nowhere:  # neither data nor a leaf: the page would list a model it cannot show
        raise PhyloLLMError(f"{source}: {_count(nowhere, 'placed model', 'placed models')} neither in INPUT nor in the tree: "
                            f"{_names(nowhere)}")
    absent = [m for m in ids if m not in in_tree]
    if absent:
        raise PhyloLLMError(f"{source}: {_count(absent, 'model', 'models')} of INPUT not in the tree: {_names(absent)}")
    return leaves


def nearest_models(dist: DistanceMatrix, lineage: Lineage, k: int = 10) -> tuple[list[dict], list[str]]:
    """Every model's ``k`` nearest models, with the columns of :func:`phylo_llm.score.relatives`.

    The same order (distance, then id), the same percentiles (share of all
    pairs, and of the documented pairs of each relation, at most as far
    apart) and the same ``documented`` text, for all models at once: the
    sorted pair distances are computed once, rows are searched in blocks.

    Returns
    -------
    (per_model, relations) : one dict of columns per model; the relation types present.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> near, relations = nearest_models(dist, pl.load_lineage("data/demo"), k=3)
    >>> len(near), len(near[0]["model"]), relations
    (70, 3, ['continued_pretraining', 'finetune', 'merge', 'same_weights'])
    """
    n = dist.n_models
    k = min(k, n - 1)
    names = np.array(dist.ids)
    name_rank = np.empty(n, dtype=np.int64)
    name_rank[np.argsort(names, kind="stable")] = np.arange(n)
    everything = np.sort(dist.condensed())
    pairs = documented_pairs(lineage, dist.ids)
    documented = {str(r): np.sort(dist.values[g.i.to_numpy(), g.j.to_numpy()]) for r, g in pairs.groupby("relation")}
    relations = sorted(documented)
    related = Relatedness(lineage, dist.ids)
    out: list[dict] = []
    for start in range(0, n, _BLOCK):
        rows = np.asarray(dist.values[start:start + _BLOCK], dtype=np.float64)
        if k < 1:
            out.extend({"model": [], "distance": [], "all_pairs_pct": [], "documented": []} for _ in rows)
            continue
        # Every model at most as far as the (k+1)-th smallest (self included) is a candidate: ties are all kept.
        cut = np.partition(rows, k, axis=1)[:, k]
        for r, row in enumerate(rows):
            i = start + r
            candidates = np.flatnonzero(row <= cut[r])
            candidates = candidates[candidates != i]
            chosen = candidates[np.lexsort((name_rank[candidates], row[candidates]))][:k]
            d = row[chosen]
            entry = {
                "model": [int(j) for j in chosen],
                "distance": [_short(v) for v in d],
                "all_pairs_pct": _shares(everything, d),
            }
            for relation in relations:
                entry[f"{relation}_pct"] = _shares(documented[relation], d)
            entry["documented"] = [related.describe(dist.ids[i], dist.ids[j]) for j in chosen]
            out.append(entry)
    return out, relations


def documented_links(lineage: Lineage, ids: Sequence[str]) -> tuple[list[list], list[list]]:
    """Each model's documented parents (present or not), and its documented edges to other present models.

    Returns
    -------
    (parents, related) : per model ``[[name, relation, index or -1], ...]`` and
        ``[[index, relation, "parent" | "child"], ...]``.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> parents, related = documented_links(pl.load_lineage("data/demo"), ["meta-llama/Llama-1-7B", "meta-llama/Llama-1-7B-Instruct"])
    >>> parents[1], related[0]
    ([['meta-llama/Llama-1-7B', 'finetune', 0]], [[1, 'finetune', 'child']])
    """
    view = lineage.among(ids)
    node_of = {found: i for i, found in enumerate(view.resolved.values()) if found is not None}
    edges: dict[str, list[tuple[str, str]]] = {}
    for child, parent, relation in lineage.relations[["child", "parent", "relation"]].itertuples(index=False):
        edges.setdefault(child, []).append((parent, str(relation)))
    parents: list[list] = [[] for _ in ids]
    related: list[list] = [[] for _ in ids]
    for i, model in enumerate(ids):
        found = view.resolved[model]
        for parent, relation in edges.get(found, []) if found is not None else []:
            j = node_of.get(parent, -1)
            parents[i].append([ids[j] if j >= 0 else str(parent), relation, j])
            if j >= 0 and j != i:
                related[i].append([j, relation, "parent"])
                related[j].append([i, relation, "child"])
    for links in related:
        links.sort(key=lambda link: (link[2], ids[link[0]]))
    return parents, related


def lineage_facts(lineage: Lineage, ids: Sequence[str], infos: Sequence[dict]) -> list[dict]:
    """The card's lineage facts of each model (:data:`META_FIELDS`) from its ``infos`` row, as text; missing facts left out."""
    facts = []
    for model, info in zip(ids, infos):
        found = lineage.resolve(model)
        row = {key: _text(info[key]) for key, _ in META_FIELDS if key in info}
        if found is not None and found != model:
            row["lineage_id"] = found
        facts.append(row)
    return facts


def attribute_colours(attribute: str, values: Sequence[object]) -> dict:
    """Categories of one lineage attribute over the models, each with its colour from the palette.

    ``family``: every family of the palette that is present gets its own
    colour (:func:`phylo_llm.figures.palette.family_colour`), other real
    families share one category, no family is ``unknown``. Other attributes:
    their values by count (ties by name) take the palette's colours in order,
    the rest share :data:`~phylo_llm.figures.palette.OTHER_FAMILY`, a missing
    value is :data:`~phylo_llm.figures.palette.UNKNOWN`.

    Examples
    --------
    >>> c = attribute_colours("family", ["Qwen", "Acme", None, "Qwen"])
    >>> [(x["name"], x["colour"], x["count"]) for x in c["categories"]], c["codes"]
    ([('Qwen', '#332288', 2), ('other families', '#777777', 1), ('unknown', '#BBBBBB', 1)], [0, 1, 2, 0])
    """
    if attribute == "family":
        families = [real_family(v) for v in values]
        names = [f if f is None or f in FAMILY_COLOURS else "other families" for f in families]
        colour_of = {name: family_colour(name) if name != "other families" else OTHER_FAMILY for name in names if name}
        ranked = [f for f in FAMILY_COLOURS if f in colour_of]
    else:
        names = [None if _missing(v) else _text(v) for v in values]
        counts = Counter(name for name in names if name is not None)
        ranked = sorted(counts, key=lambda name: (-counts[name], name))
        palette = list(FAMILY_COLOURS.values())
        if len(ranked) > len(palette):
            others = set(ranked[len(palette):])
            names = [("other" if name in others else name) for name in names]
            ranked = ranked[:len(palette)]
        colour_of = dict(zip(ranked, palette))
        colour_of["other"] = OTHER_FAMILY
    order = [name for name in ranked if name in set(names)]
    for name in ("other families", "other"):
        if name in names and name not in order:
            order.append(name)
    counts = Counter(name for name in names if name is not None)
    unknown = sum(name is None for name in names)
    categories = [{"name": name, "colour": colour_of[name], "count": counts[name]} for name in order]
    if unknown:
        categories.append({"name": "unknown", "colour": UNKNOWN, "count": unknown})
    code = {name: j for j, name in enumerate(order)}
    codes = [code[name] if name is not None else len(order) for name in names]
    return {"label": attribute.replace("_", " "), "categories": categories, "codes": codes}


def check_colour_by(lineage: Lineage, colour_by: str) -> None:
    """Refuse an attribute the lineage does not have (``family`` always works: missing means unknown)."""
    if colour_by not in lineage.models.columns and colour_by != "family":
        raise PhyloLLMError(f"--colour-by {colour_by!r}: the lineage has no such column "
                            f"(columns: {', '.join(lineage.models.columns)})")


def explorer_data(
    tree: Tree,
    dist: DistanceMatrix,
    lineage: Lineage,
    xy: np.ndarray,
    *,
    colour_by: str = "family",
    k: int = 10,
    placed: Iterable[str] = (),
    extra: Mapping[str, Mapping[str, object]] | None = None,
    layout: str = "rectangular",
    title: str = "phylo-llm explorer",
    subtitle: str = "",
) -> dict:
    """Everything the explorer page shows (fields: see the module docstring).

    Parameters
    ----------
    tree : Bio.Phylo.BaseTree.Tree
        Its leaves are the models of ``dist``, and placed models.
    dist : DistanceMatrix
        Distances between the models with data.
    lineage : Lineage
    xy : numpy.ndarray
        ``(n, 2)`` map coordinates, rows as ``dist.ids``.
    colour_by : str
        The lineage attribute leaves are coloured by at first (the page can switch).
    k : int
        Nearest models listed on each card.
    placed : iterable of str
        Models marked as placed; those not in ``dist`` are tree-only.
    extra : mapping, optional
        Per model, rows shown on its card under "Placement".
    layout : {"rectangular", "circular"}

    Examples
    --------
    >>> import phylo_llm as pl
    >>> dist = pl.distance_matrix(pl.load_dna("data/demo/dna.parquet"))
    >>> data = explorer_data(pl.build_tree(dist), dist, pl.load_lineage("data/demo"), np.zeros((70, 2)), k=3)
    >>> len(data["ids"]), data["colours"]["family"]["categories"][0]["name"]
    (70, 'Qwen')
    """
    placed = [str(m) for m in placed]
    known = set(dist.ids)
    ids = list(dist.ids) + sorted(m for m in set(placed) if m not in known)
    check_leaves(tree, dist.ids, placed)
    index = {m: i for i, m in enumerate(ids)}
    xy = np.asarray(xy, dtype=np.float64)
    if xy.shape != (dist.n_models, 2) or not np.isfinite(xy).all():
        raise PhyloLLMError(f"map coordinates must be {dist.n_models} x 2 finite numbers, got shape {xy.shape}")
    coordinates: list[float | None] = [round(float(v), 3) for v in xy.ravel()]
    coordinates += [None, None] * (len(ids) - dist.n_models)
    view = lineage.among(ids)
    infos = [view.info(m) for m in ids]
    facts = lineage_facts(lineage, ids, infos)
    available = [a for a in COLOUR_BY if a in lineage.models.columns or a == "family"]
    check_colour_by(lineage, colour_by)
    if colour_by not in available:
        available.append(colour_by)
    colours = {a: attribute_colours(a, [info.get(a) for info in infos]) for a in available}
    near, relations = nearest_models(dist, lineage, k)
    near += [{"model": [], "distance": [], "all_pairs_pct": [], "documented": []} for _ in range(len(ids) - len(near))]
    parents, related = documented_links(lineage, ids)
    return {
        "version": 1,
        "title": title,
        "subtitle": subtitle,
        "metric": dist.metric or "distance",
        "layout": layout,
        "colour_by": colour_by,
        "ids": ids,
        "tree": tree_arrays(tree, index),
        "map": coordinates,
        "colours": colours,
        "meta_fields": [list(field) for field in META_FIELDS],
        "meta": facts,
        "parents": parents,
        "related": related,
        "nearest": near,
        "relations": relations,
        "relation_colours": {r: relation_colour(r) for r in sorted({*relations, *(x[1] for p in parents for x in p)})},
        "placed": sorted(index[m] for m in set(placed) if m in index),
        "extra": {str(index[m]): {str(key): _text(v) for key, v in row.items()} for m, row in (extra or {}).items() if m in index},
    }


def _shares(sorted_values: np.ndarray, d: np.ndarray) -> list[float]:
    """Share of ``sorted_values`` at most each of ``d`` (searchsorted right, as relatives does), 6 decimals."""
    if len(sorted_values) == 0:
        return [0.0] * len(d)
    # d holds values of the same matrix, so casting it to that matrix's dtype is exact; searching float64 values in a
    # float32 array would convert the whole array on every call (hours at 20,000 models, measured 1,500x slower).
    found = np.searchsorted(sorted_values, np.asarray(d, dtype=sorted_values.dtype), side="right")
    return [round(float(v), 6) for v in found / len(sorted_values)]


def _short(value: float) -> float:
    """A float with 7 significant digits: what the page shows, at half the text of a full repr."""
    return float(f"{value:.7g}")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value).strip() == ""


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _count(items: Sequence[str], one: str, many: str) -> str:
    return f"{len(items)} {one if len(items) == 1 else many}"


def _names(items: Sequence[str], show: int = 5) -> str:
    shown = ", ".join(repr(x) for x in items[:show])
    return shown + (f" and {len(items) - show} more" if len(items) > show else "")
