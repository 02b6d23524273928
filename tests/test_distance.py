"""Distances against scikit-learn and hand computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

import phylo_llm as pl
from tests.helpers import random_dna_matrix

SKLEARN = {"euclidean": "euclidean", "cosine": "cosine", "manhattan": "manhattan", "correlation": "correlation"}


@pytest.mark.parametrize("metric", sorted(SKLEARN))
def test_matches_scikit_learn(metric):
    ids, x = random_dna_matrix(40, d=12, seed=2)
    ours = pl.distance_matrix(pl.DNA(ids, x), metric)
    reference = pairwise_distances(x, metric=SKLEARN[metric])
    np.fill_diagonal(reference, 0.0)
    np.testing.assert_allclose(ours.values, reference, rtol=1e-10, atol=1e-12)
    assert ours.ids == tuple(ids) and ours.metric == metric


def test_sqeuclidean_by_hand():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 1.0]])
    dm = pl.distance_matrix(pl.DNA(["a", "b", "c"], x), "sqeuclidean")
    assert dm.values.tolist() == [[0, 25, 2], [25, 0, 13], [2, 13, 0]]


def test_identical_vectors_are_at_distance_zero():
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 5.0]])
    for metric in pl.METRICS:
        if metric == "correlation":
            continue
        assert pl.distance_matrix(pl.DNA(["a", "b", "c"], x), metric).values[0, 1] == 0.0


def test_zero_vector_under_cosine_names_the_model():
    x = np.array([[1.0, 2.0], [0.0, 0.0], [3.0, 1.0]])
    dna = pl.DNA(["a", "b/zero", "c"], x, source="f.parquet")
    assert pl.distance_matrix(dna, "euclidean").values[0, 1] == pytest.approx(np.sqrt(5))
    with pytest.raises(pl.PhyloLLMError, match=r"f\.parquet: model 'b/zero' has a zero vector"):
        pl.distance_matrix(dna, "cosine")


def test_unknown_metric():
    with pytest.raises(pl.PhyloLLMError, match="unknown metric 'hamming'"):
        pl.distance_matrix(pl.DNA(["a", "b", "c"], np.eye(3)), "hamming")


@pytest.mark.parametrize(
    "values,message",
    [
        ([[0, 1, 2], [1, 0, 3], [2, 3.5, 0]], "not symmetric"),
        ([[0, -1, 2], [-1, 0, 3], [2, 3, 0]], "negative"),
        ([[0, np.nan, 2], [np.nan, 0, 3], [2, 3, 0]], "not finite"),
        ([[1, 1, 2], [1, 0, 3], [2, 3, 0]], "to itself"),
    ],
)
def test_invalid_matrices_are_refused(values, message):
    with pytest.raises(pl.PhyloLLMError, match=message):
        pl.DistanceMatrix(["a", "b", "c"], np.array(values, dtype=float))


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_blas_float32_distances_equal_scipy_to_float32_precision(metric):
    from scipy.spatial.distance import pdist, squareform

    from phylo_llm.distance._compute import BLOCK, blas_distances

    rng = np.random.default_rng(3)
    x = rng.normal(size=(BLOCK + 300, 24)) + 7.0  # offset: large norms, where |x|^2 + |y|^2 - 2xy cancels
    x[5] = x[2]  # identical: exactly 0
    x[6] = x[2] + 1e-6  # near-identical: recomputed directly
    ours = blas_distances(x, metric)
    reference = squareform(pdist(x, metric))
    assert ours.dtype == np.float32 and (ours == ours.T).all() and (np.diagonal(ours) == 0).all()
    assert ours[2, 5] == 0.0
    positive = reference > 1e-12
    assert np.max(np.abs(ours[positive] - reference[positive]) / reference[positive]) < 1e-5


def test_large_sets_get_float32_matrices(monkeypatch):
    import phylo_llm.distance._compute as distance

    ids, x = random_dna_matrix(50, d=8, seed=2)
    assert pl.distance_matrix(pl.DNA(ids, x)).values.dtype == np.float64
    monkeypatch.setattr(distance, "FLOAT32_FROM", 40)
    for metric in ("euclidean", "manhattan"):
        single = pl.distance_matrix(pl.DNA(ids, x), metric)
        assert single.values.dtype == np.float32
        assert np.allclose(single.values, pl.distance_matrix(pl.DNA(ids, x), metric, dtype=np.float64).values, rtol=1e-6)
