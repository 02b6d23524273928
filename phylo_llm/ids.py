"""The one place that decides what a model id is."""

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
