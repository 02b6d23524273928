"""Scoring DNA distances and trees against documented lineage, with chance baselines."""

from .._deprecation import install_module_aliases as _install_module_aliases
from ._pairs import PairRanker, condensed_index, documented_pairs, parent_ranks, quantiles, retrieval_summary
from ._relatives import Relatedness, candidates, relatives
from ._report import score
from ._text import format_report

__all__ = [
    "PairRanker", "Relatedness", "candidates", "condensed_index", "documented_pairs", "format_report", "parent_ranks",
    "quantiles", "relatives", "retrieval_summary", "score",
]
_install_module_aliases(__name__)
