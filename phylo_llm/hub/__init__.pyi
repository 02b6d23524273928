# Public names of phylo_llm.hub, loaded lazily (lazy_loader.attach_stub reads this file).
from ._dataset import DatasetWriter as DatasetWriter
from ._dataset import DNADataset as DNADataset
from ._dataset import is_dataset as is_dataset
from ._dataset import open_dataset as open_dataset
from ._knn import nearest as nearest
from ._placement import Backbone as Backbone
from ._placement import backbone_of as backbone_of
from ._placement import place_block as place_block
from ._backbone import DEFAULT_BACKBONE as DEFAULT_BACKBONE
from ._backbone import choose_backbone as choose_backbone
from ._cluster import connect as connect
from ._hubtree import HubTree as HubTree
from ._hubtree import hub_tree as hub_tree
from ._hubtree import hub_tree_memory as hub_tree_memory
from ._hubtree import build_hub_tree as build_hub_tree
from ._hubtree import dense_fits as dense_fits
