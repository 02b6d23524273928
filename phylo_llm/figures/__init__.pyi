# Public names of phylo_llm.figures, loaded lazily (lazy_loader.attach_stub reads this file).
from . import palette as palette
from ._make import make_figures as make_figures
from ._panels import dimension_ablation as dimension_ablation
from ._panels import distance_heatmap as distance_heatmap
from ._panels import dna_map as dna_map
from ._panels import encoder_ablation as encoder_ablation
from ._panels import evolutionary_speed as evolutionary_speed
from ._panels import roc_figure as roc_figure
from ._style import save as save
from ._tree_plot import draw_tree as draw_tree
