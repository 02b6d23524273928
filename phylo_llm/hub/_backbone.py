"""Which models make the backbone of a hub tree: a uniform random sample, drawn by hashing ids.

Why uniform random: the backbone's exact NJ tree is the frame every other model
is placed into, so it should hold every region of the hub in proportion to its
size (dense clades of fine-tunes get many backbone leaves, where placement
most needs them to tell siblings apart). Farthest-point sampling does the
opposite: it picks outliers first, and in DNA observed with sampling noise
outliers are mostly noise. Stratifying needs labels a hub does not have.

Why by hashing: the sample must not depend on the order of the models, the
number of partitions or of workers. Each id gets a 64-bit key from BLAKE2b of
(seed, id); the ``size`` smallest keys win. That is a uniform random sample
(keys are independent and uniform), computable partition by partition, and
the same for the same seed on any machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from ..errors import PhyloLLMError

#: Default backbone size: exact NJ on 10,000 models takes ~5 s and 0.4 GB (float32); see benchmarks/README.md.
DEFAULT_BACKBONE = 10_000


def sample_keys(ids: Iterable[str], seed: int = 0) -> np.ndarray:
    """A uniform 64-bit key per id, from BLAKE2b of (seed, id): the backbone is the ids with the smallest keys."""
    salt = seed.to_bytes(8, "little")
    return np.array([int.from_bytes(hashlib.blake2b(m.encode("utf-8"), digest_size=8, salt=salt[:8].ljust(16, b"\0")).digest(), "little")
                     for m in ids], dtype=np.uint64)


def choose_backbone(ids: Iterable[str], size: int, seed: int = 0) -> list[str]:
    """``size`` models drawn uniformly at random by their hashed ids, sorted by id.

    Examples
    --------
    >>> ids = [f"m{i}" for i in range(100)]
    >>> choose_backbone(ids, 5, seed=1) == choose_backbone(ids[::-1], 5, seed=1)
    True
    >>> len(set(choose_backbone(ids, 5, seed=1)) & set(choose_backbone(ids, 5, seed=2))) < 5
    True
    """
    ids = list(ids)
    if size < 3:
        raise PhyloLLMError(f"a backbone needs at least 3 models, got {size}")
    if size >= len(ids):
        return sorted(ids)
    keys = sample_keys(ids, seed)
    order = np.lexsort((np.array(ids, dtype=object).astype(str), keys))[:size]
    return sorted(ids[i] for i in order)
