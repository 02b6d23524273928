# Public names of phylo_llm.score, loaded lazily (lazy_loader.attach_stub reads this file).
from ._pairs import PairRanker as PairRanker
from ._pairs import condensed_index as condensed_index
from ._pairs import documented_pairs as documented_pairs
from ._pairs import parent_ranks as parent_ranks
from ._pairs import quantiles as quantiles
from ._pairs import retrieval_summary as retrieval_summary
from ._relatives import Relatedness as Relatedness
from ._relatives import candidates as candidates
from ._relatives import candidates_from_pairs as candidates_from_pairs
from ._relatives import documented_threshold as documented_threshold
from ._relatives import relatives as relatives
from ._report import score as score
from ._tables import ScoreReport as ScoreReport
from ._tables import report_tables as report_tables
from ._text import format_report as format_report
