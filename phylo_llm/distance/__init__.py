"""Distances between models: the labelled matrix, the metrics, and how distances are computed.

=========================  =====================================================
:class:`DistanceMatrix`    labelled square matrix, checked finite and symmetric
:func:`distance_matrix`    pairwise distances of DNA vectors
:func:`probe_distances`    distances of per-probe embeddings (probe-weighted)
:func:`distances_between`  distances from new models to reference models
:func:`csls`               hubness correction of a distance matrix
:func:`parse_metric`       the one parser of metric names (``cosine+csls``)
:func:`mantel`             Mantel test between two distance matrices
=========================  =====================================================

Names are loaded on first use (SPEC 1): the command line reads the metric
names without loading NumPy.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
