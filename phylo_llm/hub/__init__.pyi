# Public names of phylo_llm.hub, loaded lazily (lazy_loader.attach_stub reads this file).
from ._dataset import DatasetWriter as DatasetWriter
from ._dataset import DNADataset as DNADataset
from ._dataset import is_dataset as is_dataset
from ._dataset import open_dataset as open_dataset
