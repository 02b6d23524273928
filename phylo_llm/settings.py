"""Extraction settings: what makes DNA (or per-probe embeddings) comparable with other DNA.

DNA and per-probe embeddings made with another probe set, prompt set,
encoder, dimension or projection seed live in another space: distances
between them mean nothing. This module holds the one check within a set of
models (:func:`check_settings`: all made alike) and the one check between two
sets (:func:`check_comparable`: made like the reference), for DNA and probe
caches alike.
"""

from __future__ import annotations

import warnings

import pandas as pd

from .dna import DNA
from .errors import PhyloLLMError, PhyloLLMWarning
from .probes import ProbeEmbeddings

#: Metadata columns of DNA that describe how it was made.
DNA_SETTINGS: tuple[str, ...] = (
    "probe_set",
    "probe_count",
    "prompt_fingerprint",
    "encoder",
    "answer_dim",
    "dna_dim",
    "extraction_seed",
)

#: Settings of per-probe embeddings (a probe cache's header) that make two caches comparable.
PROBE_SETTINGS: tuple[str, ...] = (
    "probe_set",
    "probe_count",
    "prompt_fingerprint",
    "encoder",
    "answer_dim",
    "probe_dim",
    "extraction_seed",
)


def settings_of(data: DNA | ProbeEmbeddings) -> dict[str, tuple[str, ...]]:
    """Each setting and the distinct values it takes, as text (``()`` when not recorded).

    DNA records its settings per model (metadata columns), so a setting may
    take several values; a probe cache records one set for all its models.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> settings_of(pl.load_dna("data/demo/dna.parquet"))["dna_dim"]
    ('128',)
    """
    if isinstance(data, ProbeEmbeddings):
        return {key: (str(data.settings[key]),) if data.settings.get(key) is not None else () for key in PROBE_SETTINGS}
    meta = data.metadata
    return {
        key: tuple(sorted(set(meta[key].dropna().astype(str)))) if key in meta.columns else ()
        for key in DNA_SETTINGS
    }


def check_comparable(reference: DNA | ProbeEmbeddings, new: DNA | ProbeEmbeddings) -> None:
    """Refuse ``new`` unless it was made exactly like ``reference`` (both DNA, or both per-probe embeddings).

    Raises
    ------
    PhyloLLMError
        Naming the first setting that differs and both values, e.g.
        ``new.parquet: made with dna_dim=128, but ref.parquet has dna_dim=2048``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import phylo_llm as pl
    >>> a = pl.DNA(["x", "y"], np.eye(2), pd.DataFrame({"dna_dim": [2, 2]}), "a.parquet")
    >>> b = pl.DNA(["z"], np.ones((1, 2)), pd.DataFrame({"dna_dim": [3]}), "b.parquet")
    >>> check_comparable(a, b)
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: b.parquet: made with dna_dim=3, but a.parquet has dna_dim=2: extract both the same way
    """
    if type(reference) is not type(new):
        raise PhyloLLMError(f"{new.source} and {reference.source}: one is DNA and the other per-probe embeddings; give two of a kind")
    ours, theirs = settings_of(new), settings_of(reference)
    for key in ours:
        if ours[key] != theirs[key]:
            raise PhyloLLMError(
                f"{new.source}: made with {key}={', '.join(ours[key]) or '(unknown)'}, but {reference.source} has "
                f"{key}={', '.join(theirs[key]) or '(unknown)'}: {remedy(key, ours, theirs, 'extract both the same way')}"
            )


def remedy(key: str, ours: dict, theirs: dict, otherwise: str) -> str:
    """What to do about the first setting ``key`` that differs (``ours`` against ``theirs``, as :func:`settings_of`).

    Answers given as JSONL without a ``"dataset"`` field are probe set ``custom``; when the prompts are the same
    (equal prompt fingerprints) only that name differs, and the row field is the fix.

    Examples
    --------
    >>> print(remedy("probe_set", {"probe_set": ("custom",), "prompt_fingerprint": ("ab",)},
    ...              {"probe_set": ("rand_chinese",), "prompt_fingerprint": ("ab",)}, "extract both the same way"))
    the prompts are the same, only the probe set's name differs: add "dataset": "rand_chinese" to each JSONL row and extract again
    """
    fingerprint = ours.get("prompt_fingerprint", ())
    if key == "probe_set" and fingerprint and fingerprint == theirs.get("prompt_fingerprint", ()):
        return (f"the prompts are the same, only the probe set's name differs: add \"dataset\": "
                f"\"{', '.join(theirs[key])}\" to each JSONL row and extract again")
    return otherwise


def settings_groups(metadata: pd.DataFrame) -> pd.DataFrame:
    """Count models per combination of extraction settings (columns in :data:`DNA_SETTINGS`).

    Examples
    --------
    >>> import phylo_llm as pl
    >>> settings_groups(pl.load_dna("data/demo/dna.parquet").metadata)
       probe_set dna_dim  models
    0  simulated     128      70
    """
    cols = [c for c in DNA_SETTINGS if c in metadata.columns]
    if not cols:
        return pd.DataFrame({"models": [len(metadata)]})
    keys = metadata[cols].astype("string").fillna("?")
    return keys.value_counts(sort=True).rename("models").reset_index()


#: Groups of settings a message names (the largest first); the rest are counted.
SHOWN_GROUPS = 3


def check_settings(dna: DNA, allow_mixed: bool = False) -> None:
    """Refuse DNA whose models were made with different extraction settings, unless ``allow_mixed``.

    Distances between DNA from different probe sets, encoders or dimensions
    are meaningless, so mixing them is an error by default; with
    ``allow_mixed`` it is a warning listing the groups.

    Examples
    --------
    >>> import phylo_llm as pl
    >>> check_settings(pl.load_dna("data/demo/dna.parquet"))  # one set of settings: nothing happens
    """
    groups = settings_groups(dna.metadata)
    if len(groups) <= 1:
        return
    cols = [c for c in groups.columns if c != "models"]
    described = "; ".join(
        ", ".join(f"{c}={row[c]}" for c in cols) + f" ({row['models']} models, e.g. {_example(dna, row, cols)})"
        for _, row in groups.head(SHOWN_GROUPS).iterrows()
    ) + (f" (and {len(groups) - SHOWN_GROUPS} more groups)" if len(groups) > SHOWN_GROUPS else "")
    message = f"{dna.source}: DNA made with {len(groups)} different extraction settings: {described}"
    if not allow_mixed:
        raise PhyloLLMError(message + "; pass --allow-mixed (allow_mixed=True) to use them together")
    warnings.warn(message, PhyloLLMWarning, stacklevel=2)


def _example(dna: DNA, row: pd.Series, cols: list[str]) -> str:
    keys = dna.metadata[cols].astype("string").fillna("?")
    match = (keys == row[cols].astype("string")).all(axis=1)
    return str(keys.index[match.to_numpy()][0])
