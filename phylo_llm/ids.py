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
