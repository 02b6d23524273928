"""Attach documented lineage to the leaves and clades of a tree.

Every leaf gets what the lineage knows of its model (family, organization,
architecture, release, parameters, documented parents); an internal node
whose leaves all belong to one family gets that family. Features live in a
``features`` dict on each Biopython clade: :func:`phylo_llm.write_tree` writes
them as NHX, :func:`phylo_llm.tree.to_ete` turns them into ete3 features.
"""

from __future__ import annotations

import pandas as pd
from Bio.Phylo.BaseTree import Tree

from ..lineage import Coverage, LineageLike, as_lineage
from ._ete import from_ete, to_ete
from ._features import features_of
from ._walk import iter_leaves

LEAF_FEATURES = ("family", "subfamily", "organization", "architecture", "release", "params_b", "is_base")


def annotate_tree(tree: Tree, lineage: LineageLike) -> tuple[Tree, Coverage]:
    """A copy of ``tree`` with lineage features on its clades, and the coverage of its leaves.

    Leaf features: ``lineage_id`` (the matching lineage id when it differs),
    :data:`LEAF_FEATURES` when known, ``parent`` and ``parent_relation``
    (documented parents and how each was used, ``|``-separated). Internal nodes: ``family`` when all
    their leaves share one real family.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> tree = pl.build_tree(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")))
    >>> annotated, coverage = annotate_tree(tree, pl.load_lineage("data/demo"))
    >>> coverage.summary()
    'lineage metadata for 70 of 70 models'
    """
    lineage = as_lineage(lineage)
    ete = to_ete(tree)
    leaves = ete.get_leaves()
    known = lineage.among([leaf.name for leaf in leaves])
    coverage = known.coverage()
    for leaf in leaves:
        info = known.info(leaf.name)
        found = coverage.matched.get(leaf.name)
        if found and found != leaf.name:
            leaf.add_feature("lineage_id", found)
        for key in LEAF_FEATURES:
            if key in info:
                leaf.add_feature(key, info[key])
        parents = known.parents(leaf.name)
        if len(parents):
            leaf.add_feature("parent", "|".join(parents["parent"]))
            leaf.add_feature("parent_relation", "|".join(parents["relation"]))
    shared: dict = {}
    for node in ete.traverse("postorder"):
        if node.is_leaf():
            shared[node] = known.family(node.name)
        else:
            families = {shared[c] for c in node.children}
            shared[node] = families.pop() if len(families) == 1 else None
            if shared[node] is not None:
                node.add_feature("family", shared[node])
    return from_ete(ete, rooted=tree.rooted), coverage


def leaf_table(tree: Tree) -> pd.DataFrame:
    """One row per leaf: ``model`` and its features (the per-leaf CSV).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> tree = pl.build_tree(pl.distance_matrix(pl.load_dna("data/demo/dna.parquet")))
    >>> table = leaf_table(annotate_tree(tree, pl.load_lineage("data/demo"))[0])
    >>> list(table.columns[:3]), len(table)
    (['model', 'family', 'organization'], 70)
    """
    rows = [{"model": leaf.name, **features_of(leaf)} for leaf in iter_leaves(tree)]
    frame = pd.DataFrame(rows)
    ordered = ["model", "lineage_id", *LEAF_FEATURES, "parent", "parent_relation"]
    return frame[[c for c in ordered if c in frame.columns] + [c for c in frame.columns if c not in ordered]]
