"""The per-probe cache file: one file, a JSON header, then the raw array (memory-mapped on reading).

Layout: the magic line ``PHYLOLLM-PROBES 1``, the header length as 8 bytes
little-endian, the UTF-8 JSON header (``ids``, ``settings``, ``shape``,
``dtype``), spaces up to a multiple of 64 bytes, then the ``(models, probes,
k)`` array in C order, little-endian. Reading maps the array instead of
loading it, so a cache larger than memory is usable and only what is touched
is read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import PhyloLLMError
from ..probes import ProbeEmbeddings
from ._output import atomic_output

MAGIC = b"PHYLOLLM-PROBES 1\n"
_ALIGN = 64
_DTYPES = {"float16": "<f2", "float32": "<f4"}


def is_probe_cache(path: str | Path) -> bool:
    """True when ``path`` is a file starting with the cache's magic line."""
    path = Path(path)
    if not path.is_file():
        return False
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def write_probes(probes: ProbeEmbeddings, path: str | Path, dtype: str = "float16") -> None:
    """Write a cache atomically; ``dtype`` float16 (half the size, 3 significant digits) or float32."""
    if dtype not in _DTYPES:
        raise PhyloLLMError(f"cache dtype must be one of {', '.join(_DTYPES)}, got {dtype!r}")
    values = np.ascontiguousarray(probes.values, dtype=_DTYPES[dtype])
    if not np.isfinite(values).all():
        row = int(np.argmax(~np.isfinite(values).reshape(len(probes.ids), -1).all(axis=1)))
        raise PhyloLLMError(f"{path}: embeddings of model {probes.ids[row]!r} are not finite in {dtype}")
    header = json.dumps(
        {"ids": list(probes.ids), "settings": probes.settings, "shape": list(values.shape), "dtype": dtype},
        sort_keys=True, default=_plain,
    ).encode()
    start = len(MAGIC) + 8 + len(header)
    header += b" " * (-start % _ALIGN)
    with atomic_output(path, "wb") as handle:
        handle.write(MAGIC)
        handle.write(len(header).to_bytes(8, "little"))
        handle.write(header)
        handle.write(values.tobytes())


def read_probes(path: str | Path) -> ProbeEmbeddings:
    """A cache, its array memory-mapped read-only."""
    path = Path(path)
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise PhyloLLMError(f"{path}: not a phylo-llm probe cache")
        size = int.from_bytes(handle.read(8), "little")
        try:
            header = json.loads(handle.read(size))
            shape, dtype, ids = tuple(int(x) for x in header["shape"]), header["dtype"], header["ids"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PhyloLLMError(f"{path}: damaged probe-cache header ({exc})") from None
    offset = len(MAGIC) + 8 + size
    expected = offset + int(np.prod(shape)) * np.dtype(_DTYPES.get(dtype, "<f4")).itemsize
    if dtype not in _DTYPES or len(shape) != 3 or path.stat().st_size != expected:
        raise PhyloLLMError(f"{path}: damaged probe cache (expected {expected} bytes for shape {shape} {dtype}, found {path.stat().st_size})")
    values = np.memmap(path, dtype=_DTYPES[dtype], mode="r", offset=offset, shape=shape)
    return ProbeEmbeddings(tuple(ids), values, header.get("settings", {}), str(path))


def _plain(value):
    # numpy scalars in settings become plain JSON numbers.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a cache header")
