# Public names of phylo_llm.figures, loaded lazily (lazy_loader.attach_stub reads this file).
from . import palette as palette
from ._ablation import encoder_ablation as encoder_ablation
from ._make import make_figures as make_figures
from ._maps import distance_heatmap as distance_heatmap
from ._maps import dna_map as dna_map
from ._relations import auc_intervals as auc_intervals
from ._relations import dimension_ablation as dimension_ablation
from ._relations import roc_figure as roc_figure
from ._speed import evolutionary_speed as evolutionary_speed
from ._style import PaperFigure as PaperFigure
from ._style import save as save
from ._tree_layout import TreeLayout as TreeLayout
from ._tree_layout import internal_share as internal_share
from ._tree_layout import tree_layout as tree_layout
from ._tree_plot import draw_neighbourhood as draw_neighbourhood
from ._tree_plot import draw_tree as draw_tree
from ._tree_plot import neighbourhood as neighbourhood
