"""The one place that decides what a model id is, and when two ids name the same model."""

from __future__ import annotations


def published_model_id(model_name: str | None, folder: str) -> str:
    """Model id of a published DNA folder.

    The summary's ``model_name`` is the hub id; models extracted from local
    checkpoints have a filesystem path there, of which the last component is
    the name. Without a summary the folder name is used, its first ``_``
    turned back into ``/`` (``Qwen_Qwen2.5-7B`` -> ``Qwen/Qwen2.5-7B``).
    """
    if model_name:
        name = str(model_name).rstrip("/")
        if name.startswith(("/", "./", "~")) or name.count("/") > 1:
            return name.rsplit("/", 1)[-1]
        return name
    return folder.replace("_", "/", 1) if "_" in folder else folder


def match_keys(model: str) -> tuple[str, str]:
    """Keys under which ``model`` matches another id: case-insensitive, and in folder form (``/`` as ``_``).

    ``Qwen/Qwen2.5-7B``, ``qwen/qwen2.5-7b`` and ``Qwen_Qwen2.5-7B`` share a key.
    """
    lower = model.strip().lower()
    return lower, lower.replace("/", "_")


def positions(available, wanted, source: str, container: str):
    """Row numbers of the ``wanted`` ids among ``available``, in the wanted order (for ``subset``).

    Raises :class:`~phylo_llm.errors.PhyloLLMError` naming the first id that
    is not there, e.g. "model 'x' is not in the DNA".
    """
    import numpy as np

    from .errors import PhyloLLMError

    pos = {m: i for i, m in enumerate(available)}
    missing = [m for m in wanted if m not in pos]
    if missing:
        raise PhyloLLMError(f"{source}: model {missing[0]!r} is not in the {container}")
    return np.array([pos[m] for m in wanted], dtype=np.intp)


def check_unique(ids, source: str) -> None:
    """Raise :class:`~phylo_llm.errors.PhyloLLMError` naming the first repeated id and the two rows holding it."""
    from .errors import PhyloLLMError

    seen: dict[str, int] = {}
    for row, model in enumerate(ids):
        if model in seen:
            raise PhyloLLMError(f"{source}: duplicate model id {model!r} (rows {seen[model] + 1} and {row + 1})")
        seen[model] = row
