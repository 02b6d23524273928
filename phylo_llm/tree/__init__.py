"""Trees: building, walking, converting, rooting, annotating, support and placement.

Everything a tree goes through after its distances, on Biopython trees.

=========================  ============================================================
building                   :func:`build_tree` (NJ, UPGMA, WPGMA), :func:`build_tree_with_stats`
walking                    :func:`iter_preorder`, :func:`iter_leaves`, :func:`tree_depth`, :func:`parent_map`
as arrays                  :func:`flatten` (:class:`FlatTree`), :func:`patristic_matrix`, :func:`distances_from_point`
ete3                       :func:`to_ete`, :func:`from_ete` (exact, no text round trip)
rooting                    :func:`root_tree`, :func:`midpoint_root`, :func:`mad_root`, :func:`outgroup_root`, :func:`attribute_root`
annotation                 :func:`annotate_tree`, :func:`leaf_table`
support                    :func:`bootstrap_support`, :func:`split_support`, :func:`probe_resampling`
placement                  :func:`place`, :func:`place_distances`, :func:`insert_placements`
=========================  ============================================================

Names are loaded on first use (SPEC 1 lazy loading): importing this package
costs nothing until a tree is built, so the command line starts fast.
"""

import lazy_loader as _lazy

from .._deprecation import install_module_aliases as _install_module_aliases

#: Tree-building methods: neighbour joining, UPGMA, WPGMA.
TREE_METHODS: tuple[str, ...] = ("nj", "upgma", "wpgma")
#: Rootings of :func:`root_tree`.
ROOT_METHODS: tuple[str, ...] = ("midpoint", "mad", "outgroup", "none")
#: Branch supports of a probe bootstrap: classic (Felsenstein) and transfer (Lemoine et al.).
SUPPORT_KINDS: tuple[str, ...] = ("fbp", "tbe")
#: Least-squares criteria of placement: Fitch-Margoliash (weights 1/d^2) and ordinary least squares.
PLACEMENT_CRITERIA: tuple[str, ...] = ("fm", "ols")

__getattr__, __dir__, _lazy_all = _lazy.attach_stub(__name__, __file__)
__all__ = sorted({*_lazy_all, "TREE_METHODS", "ROOT_METHODS", "SUPPORT_KINDS", "PLACEMENT_CRITERIA"})
_install_module_aliases(__name__)
