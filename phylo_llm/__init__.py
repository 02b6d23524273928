"""phylo-llm: phylogenetics of large language models from their DNA."""

from ._version import __version__
from .distance import METRICS, DistanceMatrix, distance_matrix
from .dna import DNA
from .errors import PhyloLLMError, PhyloLLMWarning
from .io import load_distances, load_dna, load_input, load_probes, read_tree, save_distances, save_dna, save_probes, write_tree
from .tree import TREE_METHODS, build_tree
from .lineage import Lineage, load_lineage
from .root import ROOT_METHODS, attribute_root, mad_root, midpoint_root, outgroup_root, root_tree
from .annotate import annotate_tree, leaf_table
from .probes import ProbeEmbeddings
from .support import bootstrap_support, split_support
from .placement import place

__all__ = [
    "__version__",
    "DNA",
    "DistanceMatrix",
    "METRICS",
    "TREE_METHODS",
    "ROOT_METHODS",
    "Lineage",
    "ProbeEmbeddings",
    "bootstrap_support",
    "split_support",
    "place",
    "annotate_tree",
    "attribute_root",
    "leaf_table",
    "load_lineage",
    "mad_root",
    "midpoint_root",
    "outgroup_root",
    "root_tree",
    "PhyloLLMError",
    "PhyloLLMWarning",
    "build_tree",
    "distance_matrix",
    "load_distances",
    "load_dna",
    "load_input",
    "load_probes",
    "save_probes",
    "read_tree",
    "save_distances",
    "save_dna",
    "write_tree",
]
