"""The one place that decides what a model id is, and when two ids name the same model.

The rule: an id names the model with exactly that id. Looking an id up in
the lineage knowledge base, an id that is not there exactly matches the one
with the same key (:func:`model_key`: case-insensitive, surrounding white
space ignored, ``Org_Model`` for ``Org/Model``, the published folder form) —
unless another id in the same data names that model exactly: then the two
are two models (an API endpoint ``qwen/qwen3-14b`` beside the hub weights
``Qwen/Qwen3-14B``, as in the published rand set), and only the exact one
takes the lineage's facts (:meth:`phylo_llm.lineage.Lineage.resolve_all`).
Every container of models (DNA, distance matrices, probe caches, trees)
refuses an id given twice.

Examples
--------
>>> from phylo_llm.ids import model_key
>>> model_key("Qwen/Qwen2.5-7B") == model_key("qwen_qwen2.5-7b")
True
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .errors import PhyloLLMError


def model_key(model: str) -> str:
    """The key under which ``model`` is the same model as another id.

    Lower case, stripped, the first ``/`` written as ``_`` (the published
    folder form): ``Qwen/Qwen2.5-7B``, ``qwen/qwen2.5-7b`` and
    ``Qwen_Qwen2.5-7B`` share a key.

    Examples
    --------
    >>> model_key(" Meta-Llama/Llama-3-8B ")
    'meta-llama_llama-3-8b'
    """
    return str(model).strip().lower().replace("/", "_", 1)


def published_model_id(model_name: str | None, folder: str) -> str:
    """Model id of a published DNA folder.

    The summary's ``model_name`` is the hub id; models extracted from local
    checkpoints have a filesystem path there, of which the last component is
    the name. Without a summary the folder name is used, its first ``_``
    turned back into ``/`` (``Qwen_Qwen2.5-7B`` -> ``Qwen/Qwen2.5-7B``).

    Examples
    --------
    >>> published_model_id(None, "Qwen_Qwen2.5-7B")
    'Qwen/Qwen2.5-7B'
    >>> published_model_id("/ckpt/runs/my-model", "x")
    'my-model'
    """
    if model_name:
        name = str(model_name).rstrip("/")
        if name.startswith(("/", "./", "~")) or name.count("/") > 1:
            return name.rsplit("/", 1)[-1]
        return name
    return folder.replace("_", "/", 1) if "_" in folder else folder


def positions(available: Sequence[str], wanted: Iterable[str], source: str, container: str) -> np.ndarray:
    """Row numbers of the ``wanted`` ids among ``available``, in the wanted order (for ``subset``).

    Raises :class:`~phylo_llm.errors.PhyloLLMError` naming the first id that
    is not there, e.g. "model 'x' is not in the DNA".

    Examples
    --------
    >>> positions(("a", "b", "c"), ["c", "a"], "dna.csv", "DNA").tolist()
    [2, 0]
    >>> positions(("a", "b", "c"), ["x"], "dna.csv", "DNA")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: ...'x'...
    """
    pos = {m: i for i, m in enumerate(available)}
    wanted = list(wanted)
    if not wanted:
        raise PhyloLLMError(f"{source}: no models selected (an empty list of ids)")
    missing = [m for m in wanted if m not in pos]
    if missing:
        raise PhyloLLMError(f"{source}: model {missing[0]!r} is not in the {container}")
    return np.array([pos[m] for m in wanted], dtype=np.intp)


def check_unique(ids: Iterable[str], source: str, items: str = "rows") -> None:
    """Refuse an id given twice, naming it and the two ``items`` (rows, leaves...) holding it, and an empty or
    blank id (it names no model, and a tree leaf written without a name is read back as an unnamed leaf).

    Examples
    --------
    >>> check_unique(["org/a", "org/b", "org/a"], "x.csv")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: x.csv: duplicate model id 'org/a' (rows 1 and 3)
    >>> check_unique(["org/a", " "], "x.npz")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: x.npz: row 2 has no model id (' ')
    """
    seen: dict[str, int] = {}
    item = "leaf" if items == "leaves" else items.removesuffix("s")
    for row, model in enumerate(ids):
        if not model.strip():
            raise PhyloLLMError(f"{source}: {item} {row + 1} has no model id ({model!r})")
        if model in seen:
            raise PhyloLLMError(f"{source}: duplicate model id {model!r} ({items} {seen[model] + 1} and {row + 1})")
        # An id every writer (UTF-8 text, parquet, Newick) would fail on after the work was done.
        surrogate = lone_surrogate(model)
        if surrogate is not None:
            raise PhyloLLMError(f"{source}: {item} {row + 1}: model id {model!r} holds a lone surrogate "
                                f"({model[surrogate]!r}): not Unicode text")
        seen[model] = row


def lone_surrogate(text: str) -> int | None:
    """Position of the first lone surrogate in ``text``, or ``None``: ``"\\ud800"`` is valid in JSON and in an
    ``.npz``, but it is no Unicode text, so nothing can write it as UTF-8.

    Examples
    --------
    >>> lone_surrogate("org/caf\\u00e9"), lone_surrogate("org/\\ud800x")
    (None, 4)
    """
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def find_model(model: str, ids: Sequence[str], source: str = "the data") -> int | None:
    """Row of ``model`` among ``ids``: the exact id, else the only one with the same :func:`model_key`.

    ``None`` when absent; two ids with the key (and neither exact) are ambiguous, an error naming both.

    Examples
    --------
    >>> find_model("Meta-Llama/Llama-2-7b", ("meta-llama/Llama-2-7B", "Qwen/Qwen-2-7B"))  # same model_key
    0
    >>> find_model("gpt2", ("meta-llama/Llama-2-7B",)) is None
    True
    """
    for row, candidate in enumerate(ids):
        if candidate == model:
            return row
    key = model_key(model)
    rows = [row for row, candidate in enumerate(ids) if model_key(candidate) == key]
    if len(rows) > 1:
        raise PhyloLLMError(f"{source}: {model!r} could be {ids[rows[0]]!r} or {ids[rows[1]]!r}; give the exact id")
    return rows[0] if rows else None


def require_model(model: str, ids: Sequence[str], source: str = "the data") -> int:
    """Row of ``model`` among ``ids`` (:func:`find_model`); absent, an error naming ``source``.

    Ids are compared as written, so an id that differs from one in the data
    only by its Unicode form (``é`` as one code point or as ``e`` + accent)
    is another model; the error then shows both, escaped, since they print
    alike.

    Examples
    --------
    >>> require_model("Org/b", ["org/A", "org/B"])
    1
    >>> require_model("meta-llama/Llama-2-7b-chaat", ["meta-llama/Llama-2-7b-chat-hf", "Qwen/Qwen2.5-7B"], "dna.parquet")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: dna.parquet: model 'meta-llama/Llama-2-7b-chaat' is not in the data (did you mean 'meta-llama/Llama-2-7b-chat-hf'?)
    >>> require_model("Org/caf\\u00e9", ["Org/cafe\\u0301"], "dna.parquet")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: dna.parquet: model 'Org/café' is not in the data ('Org/caf\\xe9'; the data has 'Org/cafe\\u0301', which differs only by its Unicode form: ids are compared as written)
    """
    row = find_model(model, ids, source)
    if row is not None:
        return row
    import unicodedata

    key = model_key(unicodedata.normalize("NFC", model))
    alike = [m for m in ids if model_key(unicodedata.normalize("NFC", m)) == key]
    hint = (f" ({ascii(model)}; the data has {ascii(alike[0])}, which differs only by its Unicode form: ids are "
            "compared as written)" if alike else did_you_mean(model, ids))
    raise PhyloLLMError(f"{source}: model {model!r} is not in the data{hint}")


#: Above this many ids no spelling suggestion is searched (difflib compares with every id: ~1 s per 100,000).
_SUGGEST_MAX_IDS = 20_000


def did_you_mean(model: str, ids: Sequence[str]) -> str:
    """``" (did you mean 'X'?)"``: the closest ids by spelling (case ignored), for a typo; ``""`` when none is close.

    Examples
    --------
    >>> did_you_mean("qwen/qwen2.5-7b-instruc", ["Qwen/Qwen2.5-7B-Instruct", "meta-llama/Llama-2-7b-hf"])
    " (did you mean 'Qwen/Qwen2.5-7B-Instruct'?)"
    >>> did_you_mean("mistralai/Mistral-7B", ["Qwen/Qwen2.5-7B-Instruct"])
    ''
    """
    import difflib

    if len(ids) > _SUGGEST_MAX_IDS:
        return ""
    by_key: dict[str, str] = {}
    for candidate in ids:
        by_key.setdefault(model_key(candidate), candidate)
    close = difflib.get_close_matches(model_key(model), list(by_key), n=3, cutoff=0.8)
    return f" (did you mean {' or '.join(repr(by_key[key]) for key in close)}?)" if close else ""
