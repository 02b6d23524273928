"""Per-clade features: the ``features`` dict that annotation, support and NHX keep on Biopython clades.

Biopython clades have no place for arbitrary key-value data; the package
stores it as a ``features`` attribute (written as NHX comments, turned into
ete3 node features). These two functions are the only way it is read or set.
"""

from __future__ import annotations

from typing import Any

from Bio.Phylo.BaseTree import Clade


def features_of(clade: Clade) -> dict[str, Any]:
    """The clade's features (a new empty dict when it has none; not attached).

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade
    >>> clade = Clade(name="a")
    >>> set_features(clade, {"family": "Llama"})
    >>> features_of(clade)
    {'family': 'Llama'}
    """
    return dict(getattr(clade, "features", None) or {})


def set_features(clade: Clade, features: dict[str, Any]) -> None:
    """Replace the clade's features (an empty dict removes them).

    Examples
    --------
    >>> from Bio.Phylo.BaseTree import Clade
    >>> clade = Clade(name="a")
    >>> set_features(clade, {"family": "Llama", "size": 7})
    >>> features_of(clade)["size"]
    7
    >>> set_features(clade, {})
    >>> features_of(clade)
    {}
    """
    if features:
        clade.__dict__["features"] = dict(features)
    else:
        clade.__dict__.pop("features", None)
