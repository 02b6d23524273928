# Public names of phylo_llm.tree, loaded lazily (lazy_loader.attach_stub reads this file).
from ._annotate import LEAF_FEATURES as LEAF_FEATURES
from ._annotate import annotate_tree as annotate_tree
from ._annotate import leaf_table as leaf_table
from ._build import TreeBuild as TreeBuild
from ._build import build_tree as build_tree
from ._build import build_tree_with_stats as build_tree_with_stats
from ._build import check_memory as check_memory
from ._build import memory_needed as memory_needed
from ._build import needs_compiling as needs_compiling
from ._ete import from_ete as from_ete
from ._ete import to_ete as to_ete
from ._features import features_of as features_of
from ._features import set_features as set_features
from ._flat import FlatTree as FlatTree
from ._flat import distances_from_point as distances_from_point
from ._flat import flatten as flatten
from ._flat import patristic_matrix as patristic_matrix
from ._flat import preorder_arrays as preorder_arrays
from ._merges import Merges as Merges
from ._merges import tree_from_merges as tree_from_merges
from ._place import PlacementResult as PlacementResult
from ._place import Placements as Placements
from ._place import check_placement_options as check_placement_options
from ._place import insert_placements as insert_placements
from ._place import place as place
from ._place import place_distances as place_distances
from ._root import attribute_root as attribute_root
from ._root import best_split as best_split
from ._root import mad_root as mad_root
from ._root import midpoint_root as midpoint_root
from ._root import outgroup_root as outgroup_root
from ._root import root_tree as root_tree
from ._support import Bootstrap as Bootstrap
from ._support import SupportCounter as SupportCounter
from ._support import bootstrap_support as bootstrap_support
from ._support import probe_resampling as probe_resampling
from ._support import split_support as split_support
from ._support import tree_split_masks as tree_split_masks
from ._walk import cherries as cherries
from ._walk import copy_tree as copy_tree
from ._walk import count_leaves as count_leaves
from ._walk import iter_leaves as iter_leaves
from ._walk import iter_preorder as iter_preorder
from ._walk import parent_map as parent_map
from ._walk import require_lengths as require_lengths
from ._walk import tree_depth as tree_depth

TREE_METHODS: tuple[str, ...]
ROOT_METHODS: tuple[str, ...]
SUPPORT_KINDS: tuple[str, ...]
PLACEMENT_CRITERIA: tuple[str, ...]
