"""``score``: how well DNA distances and trees agree with documented lineage, against chance."""

from __future__ import annotations

import numpy as np
from Bio.Phylo.BaseTree import Tree
from scipy.spatial.distance import squareform

from ..distance import DistanceMatrix
from ..dna import DNA
from ..errors import PhyloLLMError
from ..inputs import to_distances
from ..lineage import RELATION_TYPES, Lineage, LineageLike, as_lineage
from ..probes import ProbeEmbeddings
from ..progress import Progress
from ..tree import build_tree, flatten, midpoint_root, patristic_matrix
from ._pairs import PairRanker, documented_pairs, parent_ranks, quantiles, retrieval_summary
from ._tables import ScoreReport
from ._taxonomy import clustering_agreement, cut_clusters, monophyly, robinson_foulds, taxonomy_splits, tree_splits


def score(
    data: DNA | ProbeEmbeddings | DistanceMatrix | Tree,
    lineage: LineageLike,
    *,
    metric: str = "euclidean",
    method: str = "nj",
    permutations: int = 100,
    seed: int = 0,
    progress: bool = False,
    extra_spaces: dict[str, DistanceMatrix] | None = None,
) -> ScoreReport:
    """Score DNA, a distance matrix or a tree against documented lineage.

    Parameters
    ----------
    data : DNA, ProbeEmbeddings, DistanceMatrix or Bio.Phylo tree
        DNA and per-probe embeddings (a probe cache, as ``phylo-llm score``
        takes) are turned into distances with ``metric``; they and distances
        into a tree with ``method``. A tree alone gives only the tree-based scores.
    lineage : Lineage, path or None
        Documented relations and families (a path is read by :func:`~phylo_llm.lineage.load_lineage`; None: the
        built-in knowledge base).
    permutations, seed : int
        Chance baselines: model labels (pair scores) or family labels
        (taxonomy scores) permuted among the present models this many times,
        from ``numpy.random.default_rng(seed)``.
    extra_spaces : dict of name to DistanceMatrix, optional
        More dissimilarities of the same models scored beside the DNA's, e.g.
        ``{"model": relate.relation_distances(...)}`` (``-log P(related)`` of a
        relation model): each adds ``auc_<name>``, ``retrieval_<name>`` and their
        chance baselines to every relation.

    Returns
    -------
    ScoreReport
        A ``dict`` (``json.dumps`` writes it as it is; ``report.tables()``
        gives every section as a tidy pandas table, see :func:`report_tables`)
        with ``relations`` (per relation type: pair AUC by DNA and by tree
        distance, parent-retrieval ranks, baselines), ``families``
        (monophyly, Robinson-Foulds, ARI/NMI, baselines), ``tree_fit``
        (cophenetic correlation), ``noise_floor``, ``coverage``. See the
        README for every field.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> report = score(pl.load_dna("data/demo/dna.parquet"), pl.load_lineage("data/demo"), permutations=5)
    >>> report["input"]["models"], round(report["relations"]["any"]["auc_dna"], 2)
    (70, 0.98)
    """
    lineage = as_lineage(lineage)
    if permutations < 0:
        raise PhyloLLMError(f"the number of permutations must be >= 0, got {permutations}")
    if isinstance(data, Tree):
        dist, tree = None, data
    else:
        dist = to_distances(data, metric)
        tree = build_tree(dist, method)
    path = patristic_matrix(tree)
    if dist is not None:
        path = path.subset(dist.ids)
    ids = dist.ids if dist is not None else path.ids
    rng = np.random.default_rng(seed)
    coverage = lineage.coverage(ids)
    report = ScoreReport({
        "input": {
            "models": len(ids),
            "metric": (metric if isinstance(data, (DNA, ProbeEmbeddings)) else dist.metric or "given") if dist is not None else None,
            "method": method if dist is not None else "given tree",
            "permutations": permutations,
            "seed": seed,
        },
        "coverage": {"with_metadata": len(coverage.matched), "without": list(coverage.missing)},
    })
    spaces = {"tree": path} if dist is None else {"dna": dist, "tree": path}
    for name, extra in (extra_spaces or {}).items():
        if extra.ids != ids:
            raise PhyloLLMError(f"{extra.source}: the {name} dissimilarities are not of the scored models, in their order")
        spaces[name] = extra
    pairs = documented_pairs(lineage, ids)
    with Progress(len(spaces) * permutations + permutations, "scoring baselines", enabled=progress) as bar:
        report["relations"] = _relation_scores(pairs, spaces, permutations, rng, bar)
        report["families"] = _family_scores(tree, ids, lineage, permutations, rng, bar)
    if dist is not None:
        report["tree_fit"] = _tree_fit(dist, path, permutations, rng)
        report["noise_floor"] = _noise_floor(dist, pairs)
    return report


def _relation_scores(pairs, spaces: dict[str, DistanceMatrix], permutations: int, rng, bar) -> dict:
    out: dict = {}
    groups = [(r, pairs[pairs.relation == r]) for r in RELATION_TYPES if (pairs.relation == r).any()]
    if len(pairs):
        # A pair documented under two relation types (finetune and merge) counts in each, and once in "any".
        groups.append(("any", pairs.drop_duplicates(["i", "j"])))
    for relation, _ in groups:
        out[relation] = {"pairs": 0}
    n = next(iter(spaces.values())).n_models
    for space, dist in spaces.items():
        ranker = PairRanker(dist)
        shuffles = [rng.permutation(n) for _ in range(permutations)]
        for relation, group in groups:
            i, j = group.i.to_numpy(), group.j.to_numpy()
            entry = out[relation]
            entry["pairs"] = int(len(np.unique(np.sort(np.c_[i, j], axis=1), axis=0)))
            entry[f"auc_{space}"] = ranker.auc(i, j)
            ranks = parent_ranks(dist.values, i, j)
            entry[f"retrieval_{space}"] = retrieval_summary(ranks)
            chance_auc = [ranker.auc(p[i], p[j]) for p in shuffles]
            chance_mrr = [float(np.mean(1.0 / parent_ranks(dist.values, p[i], p[j]))) for p in shuffles]
            entry[f"auc_{space}_baseline"] = _spread(chance_auc)
            entry[f"mrr_{space}_baseline"] = _spread(chance_mrr)
            if space == "dna" or "ranks" not in entry:
                entry["ranks"] = [
                    {"child": c, "parent": p, f"rank_{space}": float(r)}
                    for c, p, r in zip(group.child, group.parent, ranks)
                ]
            else:
                for row, r in zip(entry["ranks"], ranks):
                    row[f"rank_{space}"] = float(r)
        bar.update(permutations)
    return out


def _family_scores(tree: Tree, ids, lineage: Lineage, permutations: int, rng, bar) -> dict:
    flat = flatten(tree)
    view = lineage.among(flat.names)
    names = [view.family(m) for m in flat.names]
    known = sorted({f for f in names if f})
    code_of = {f: k for k, f in enumerate(known)}
    codes = np.array([code_of[f] if f else -1 for f in names])
    labelled = codes >= 0
    if len(known) < 2:
        return {"families": len(known), "note": "fewer than two families among the models"}
    rooted_cut = tree if tree.rooted else midpoint_root(tree)
    cut_flat = flatten(rooted_cut)
    cluster_of = dict(zip(cut_flat.names, cut_clusters(cut_flat, len(known))))
    cluster_codes = np.array([cluster_of[m] for m in flat.names])[labelled]
    splits = {"unrooted": tree_splits(flat, labelled, rooted=False)}
    if tree.rooted:
        splits["rooted"] = tree_splits(flat, labelled, rooted=True)

    def measure(c: np.ndarray) -> tuple[dict, dict]:
        mono = monophyly(flat, c, len(known), rooted=tree.rooted)
        multi = mono["size"] >= 2
        result: dict = {
            "monophyletic_share": float(np.mean(mono["monophyletic"][multi])) if multi.any() else float("nan"),
            "mean_purity": float(np.mean(mono["purity"][multi])) if multi.any() else float("nan"),
        }
        for kind, keys in splits.items():
            rf = robinson_foulds(keys, taxonomy_splits(c[labelled], rooted=kind == "rooted"))
            result[f"rf_{kind}"] = rf
        result.update(clustering_agreement(cluster_codes, c[labelled]))
        return result, mono

    observed, mono = measure(codes)
    chance = []
    for _ in range(permutations):
        shuffled = codes.copy()
        shuffled[labelled] = rng.permutation(codes[labelled])
        chance.append(measure(shuffled)[0])
    bar.update(permutations)
    baseline = {
        key: _spread([c[key] for c in chance]) for key in ("monophyletic_share", "mean_purity", "ari", "nmi")
    }
    for kind in splits:
        baseline[f"rf_{kind}_normalized"] = _spread([c[f"rf_{kind}"]["normalized"] for c in chance])
        baseline[f"rf_{kind}_recovery"] = _spread([c[f"rf_{kind}"]["recovery"] for c in chance])
    per_family = {
        f: {"size": int(mono["size"][k]), "clade": int(mono["clade"][k]), "purity": float(mono["purity"][k])}
        for f, k in code_of.items()
        if mono["size"][k] >= 2
    }
    return {
        "rooted": bool(tree.rooted),
        "families": len(known),
        "families_with_2_or_more": len(per_family),
        "labelled_models": int(labelled.sum()),
        **observed,
        "clusters_from": "the tree as given" if tree.rooted else "the midpoint-rooted tree",
        "baseline": baseline,
        "per_family": per_family,
    }


def _tree_fit(dist: DistanceMatrix, path: DistanceMatrix, permutations: int, rng) -> dict:
    given, fitted = dist.condensed(), path.condensed()
    r = float(np.corrcoef(given, fitted)[0, 1])
    chance = []
    for _ in range(permutations):
        order = rng.permutation(dist.n_models)
        chance.append(float(np.corrcoef(given, squareform(path.values[np.ix_(order, order)], checks=False))[0, 1]))
    return {"cophenetic_r": r, "baseline": _spread(chance)}


def _noise_floor(dist: DistanceMatrix, pairs) -> dict:
    copies = pairs[pairs.relation == "same_weights"]
    copy_distances = dist.values[copies.i.to_numpy(), copies.j.to_numpy()] if len(copies) else np.array([])
    everything = dist.condensed()
    result = {"same_weights": quantiles(copy_distances), "all_pairs": quantiles(everything), "same_weights_pairs": int(len(copy_distances))}
    if len(copy_distances):
        result["all_pairs_below_same_weights_median"] = float(np.mean(everything < np.median(copy_distances)))
    return result


def _spread(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    if len(array) == 0:
        return {"mean": float("nan"), "sd": float("nan")}
    return {"mean": float(array.mean()), "sd": float(array.std(ddof=1)) if len(array) > 1 else 0.0}
