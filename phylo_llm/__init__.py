"""phylo-llm: phylogenetics of large language models from their DNA."""

from ._version import __version__
from .distance import METRICS, DistanceMatrix, distance_matrix
from .dna import DNA
from .errors import PhyloLLMError, PhyloLLMWarning
from .io import load_distances, load_dna, load_input, read_tree, save_distances, save_dna, write_tree
from .tree import TREE_METHODS, build_tree

__all__ = [
    "__version__",
    "DNA",
    "DistanceMatrix",
    "METRICS",
    "TREE_METHODS",
    "PhyloLLMError",
    "PhyloLLMWarning",
    "build_tree",
    "distance_matrix",
    "load_distances",
    "load_dna",
    "load_input",
    "read_tree",
    "save_distances",
    "save_dna",
    "write_tree",
]
