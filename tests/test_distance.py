"""Distances against scikit-learn and hand computation."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances

import phylo_llm as pl
from tests.conftest import random_dna_matrix

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


@pytest.mark.parametrize("metric,scipy_name", [("euclidean", "euclidean"), ("sqeuclidean", "sqeuclidean"), ("cosine", "cosine"), ("correlation", "correlation"), ("manhattan", "cityblock")])
def test_matrix_product_distances_match_scipy_also_for_near_copies(metric, scipy_name):
    from scipy.spatial.distance import pdist, squareform

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 64)) * rng.uniform(0.01, 100, size=(300, 1))  # very different norms
    x[3] = x[4] + 1e-9  # near copies: |x|^2 + |y|^2 - 2xy would cancel catastrophically
    x[10] = x[11] * (1 + 1e-12)
    x[20] = x[21]
    ours = pl.distance_matrix(pl.DNA([f"m{i}" for i in range(300)], x), metric).values
    reference = squareform(pdist(x, scipy_name))
    assert np.array_equal(ours, ours.T)
    large = reference > 1e-6 * reference.max()
    np.testing.assert_allclose(ours[large], reference[large], rtol=1e-12)
    np.testing.assert_allclose(ours[~large], reference[~large], atol=1e-12 * reference.max())
    if metric == "euclidean":
        assert ours[3, 4] == pytest.approx(np.linalg.norm(x[3] - x[4]), rel=1e-9)
