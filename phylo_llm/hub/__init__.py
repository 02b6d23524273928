"""Hub scale: DNA of hundreds of thousands to millions of models, on Dask, without an n x n matrix anywhere.

=========================  ============================================================
storage                    :func:`open_dataset` (:class:`DNADataset`), :class:`DatasetWriter`, :func:`is_dataset`
backbone                   :func:`choose_backbone`
nearest neighbours         :func:`nearest`, :func:`knn`
placement                  :func:`place_block` (APPLES on each model's nearest backbone leaves)
the tree                   :func:`hub_tree` (backbone NJ, placement, refinement), :class:`HubTree`
the engine                 :func:`connect` (a scheduler address, or a LocalCluster)
=========================  ============================================================

Names are loaded on first use (SPEC 1), and Dask only by the functions that
run on it, so the command line starts fast.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
