"""The folder layout written by the reference extractor ``llm-dna`` (as published in ``dna-web``).

One folder per model under a probe-set folder::

    <probe-set>/<folder>/<folder>_dna.json          main DNA {"signature": [...], "metadata": {...}}
    <probe-set>/<folder>/<folder>_summary.json      model_name, dataset, extraction arguments
    <probe-set>/<folder>/<folder>_dna_dim1024.json  variants (dimension / pre-aggregation ablations)
    <probe-set>/<folder>/bge/<folder>_dna.json      encoder ablations in subfolders
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..dna import DNA, check_equal_lengths
from ..errors import PhyloLLMError, PhyloLLMWarning
from ..ids import published_model_id
from ._files import read_json

#: Metadata columns taken from the published files, in output order.
PUBLISHED_COLUMNS = (
    "probe_set",
    "probe_count",
    "encoder",
    "dna_dim",
    "answer_dim",
    "extraction_method",
    "extraction_time",
    "extraction_seconds",
    "architecture_type",
    "model_type",
    "parameter_count",
    "is_chat_model",
    "folder",
)


def is_published_layout(path: Path) -> bool:
    """True for a folder whose subfolders hold ``<folder>_*.json`` files.

    Examples
    --------
    >>> from pathlib import Path
    >>> is_published_layout(Path("data/demo"))  # a folder of files, not of probe-set subfolders
    False
    """
    if not path.is_dir():
        return False
    return any(sub.is_dir() and any(sub.glob(f"{sub.name}_*.json")) for sub in sorted(path.iterdir()))


def check_layout_options(path: str | Path, variant: str = "dna", encoder: str | None = None) -> None:
    """Refuse a DNA ``variant`` or ``encoder`` given for anything but a published probe-set folder: they choose
    among that layout's files, and elsewhere they would be ignored (``--variant dna_dim1024`` giving the file's
    own DNA).

    Examples
    --------
    >>> check_layout_options("data/demo/dna.parquet", variant="dna_dim1024")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: data/demo/dna.parquet: --variant dna_dim1024 chooses a file of a published probe-set folder ...
    """
    given = [f"--{name} {value}" for name, value in (("variant", variant if variant != "dna" else None), ("encoder", encoder))
             if value is not None]
    if given and not is_published_layout(Path(path)):
        raise PhyloLLMError(f"{path}: {' and '.join(given)} {'choose files' if len(given) > 1 else 'chooses a file'} of a "
                            "published probe-set folder (<model>/<model>_dna.json); this input has only its own data")


def read_published(path: Path, variant: str = "dna", encoder: str | None = None) -> DNA:
    """Read every model folder of a probe-set folder in the published layout.

    Parameters
    ----------
    path : Path
        The probe-set folder (e.g. ``dna-out/squad_cqa_hs_wg_arc_mmlu``).
    variant : str
        Which DNA file: ``"dna"`` (main), ``"dna_dim1024"``, ``"preagg_dim64"``, ...
    encoder : str, optional
        Encoder-ablation subfolder (``"bge"``, ``"mpnet"``); ``None`` for the main one.

    Folders without the requested file are skipped, counted in one warning.
    """
    variant = variant.lstrip("_")
    ids: list[str] = []
    vectors: list[list[float]] = []
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        home = folder / encoder if encoder else folder
        dna_file = home / f"{folder.name}_{variant}.json"
        if not dna_file.is_file():
            skipped.append(folder.name)
            continue
        record = read_json(dna_file)
        signature = record.get("signature") if isinstance(record, dict) else None
        if not isinstance(signature, list):
            raise PhyloLLMError(f"{dna_file}: no 'signature' list")
        summary_file = next((f for f in (home / f"{folder.name}_summary.json", folder / f"{folder.name}_summary.json") if f.is_file()), None)
        summary = read_json(summary_file) if summary_file else {}
        if not isinstance(summary, dict):
            raise PhyloLLMError(f"{summary_file}: expected a JSON object, found {type(summary).__name__}")
        name = summary.get("model_name")
        if name is not None and not isinstance(name, str):
            raise PhyloLLMError(f"{summary_file}: 'model_name' is not text")
        model = published_model_id(name, folder.name)
        try:
            vector = [float(v) for v in signature]
        except (TypeError, ValueError):
            raise PhyloLLMError(f"{dna_file}: model {model!r}: 'signature' holds a non-numeric value") from None
        meta = record.get("metadata") or {}
        if not isinstance(meta, dict):
            raise PhyloLLMError(f"{dna_file}: 'metadata' is not a JSON object")
        ids.append(model)
        vectors.append(vector)
        try:
            rows.append(_metadata_row(meta, summary, folder.name))
        except AttributeError:  # a nested field of the wrong JSON type
            raise PhyloLLMError(f"{dna_file}: malformed metadata (a nested field is not a JSON object)") from None
    where = f"{path}" + (f" (encoder {encoder})" if encoder else "")
    if not ids:
        raise PhyloLLMError(f"{where}: no model folder holds a {variant} file (*_{variant}.json)")
    if skipped:
        warnings.warn(
            f"{where}: skipped {len(skipped)} folder(s) without a {variant} file (e.g. {', '.join(skipped[:3])})",
            PhyloLLMWarning,
            stacklevel=2,
        )
    check_equal_lengths(np.array([len(v) for v in vectors]), ids, where)
    meta = pd.DataFrame(rows, columns=list(PUBLISHED_COLUMNS))
    for column, kind in (("probe_count", "Int64"), ("dna_dim", "Int64"), ("answer_dim", "Int64"), ("parameter_count", "Int64"),
                         ("is_chat_model", "boolean")):
        try:
            meta[column] = meta[column].astype(kind)
        except (TypeError, ValueError):
            row = next(i for i, v in enumerate(meta[column]) if not _fits(v, kind))
            raise PhyloLLMError(f"{where}: model {ids[row]!r}: {column} {meta[column].iat[row]!r} is not a {'whole number' if kind == 'Int64' else 'true/false'}") from None
    return DNA(tuple(ids), np.array(vectors, dtype=np.float64), meta, where)


def _metadata_row(meta: dict, summary: dict, folder: str) -> dict[str, Any]:
    config = meta.get("extractor_config") or {}
    hub = meta.get("model_metadata") or {}
    architecture = hub.get("architecture") or {}
    args = summary.get("args") or summary.get("config") or {}
    # Hidden-state DNA has no sentence encoder: the model's own states are the embedding.
    encoder = config.get("encoder") or config.get("sentence_encoder") or config.get("feature_extraction")
    return {
        "probe_set": summary.get("dataset") or args.get("dataset") or _strip_count(meta.get("probe_set_id")),
        "probe_count": meta.get("probe_count", summary.get("num_probes")),
        "encoder": encoder,
        "dna_dim": meta.get("dna_dimension", summary.get("dna_dimension")),
        "answer_dim": meta.get("embedding_dimension"),
        "extraction_method": meta.get("extraction_method"),
        "extraction_time": meta.get("extraction_time"),
        "extraction_seconds": summary.get("total_time_seconds", meta.get("computation_time_seconds")),
        "architecture_type": architecture.get("type"),
        "model_type": architecture.get("model_type") or hub.get("model_type"),
        "parameter_count": (hub.get("size") or {}).get("parameter_count"),
        "is_chat_model": (hub.get("chat_model") or {}).get("is_chat_model"),
        "folder": folder,
    }


def _strip_count(probe_set_id: str | None) -> str | None:
    if not probe_set_id:
        return None
    name, _, count = probe_set_id.rpartition("_")
    return name if name and count.isdigit() else probe_set_id


def _fits(value, kind: str) -> bool:
    """True when one metadata value converts to the column's type (missing values do)."""
    try:
        pd.Series([value]).astype(kind)
    except (TypeError, ValueError):
        return False
    return True
