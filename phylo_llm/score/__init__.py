"""Scoring DNA distances and trees against documented lineage, with chance baselines."""

from .pairs import PairRanker, documented_pairs, parent_ranks, retrieval_summary
from .relatives import candidates, relatives
from .report import score
from .text import format_report

__all__ = ["candidates", "relatives", "PairRanker", "documented_pairs", "format_report", "parent_ranks", "retrieval_summary", "score"]
