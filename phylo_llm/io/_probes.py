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
    """True when ``path`` is a file starting with the cache's magic line.

    Examples
    --------
    >>> import tempfile
    >>> from phylo_llm.simulate import simulate
    >>> path = tempfile.mkdtemp() + "/sim.probes"
    >>> write_probes(simulate(seed=0).probes(4), path)
    >>> is_probe_cache(path), is_probe_cache("data/demo/dna.parquet")
    (True, False)
    """
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
    """A cache, its array memory-mapped read-only.

    Everything in the header is checked against the file before anything is
    allocated or mapped: the header length against the file size, the shape
    (three positive whole numbers whose product, in bytes, is exactly what
    the file holds after the header), the dtype, the ids (one text per model)
    and the settings (a JSON object). A forged or damaged file is one line.
    """
    path = Path(path)
    total = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise PhyloLLMError(f"{path}: not a phylo-llm probe cache")
        size = int.from_bytes(handle.read(8), "little")
        if size > total - len(MAGIC) - 8:
            raise PhyloLLMError(f"{path}: damaged probe cache (header of {size} bytes in a file of {total})")
        try:
            header = json.loads(handle.read(size))
        except (ValueError, UnicodeDecodeError) as exc:
            raise PhyloLLMError(f"{path}: damaged probe-cache header ({exc})") from None
    shape, dtype, ids, settings = _checked_header(header, path)
    offset = len(MAGIC) + 8 + size
    expected = offset + shape[0] * shape[1] * shape[2] * np.dtype(_DTYPES[dtype]).itemsize  # Python ints: no overflow
    if total != expected:
        raise PhyloLLMError(f"{path}: damaged probe cache (expected {expected} bytes for shape {shape} {dtype}, found {total})")
    values = np.memmap(path, dtype=_DTYPES[dtype], mode="r", offset=offset, shape=shape)
    return ProbeEmbeddings(tuple(ids), values, settings, str(path))


def _checked_header(header, path: Path) -> tuple[tuple[int, int, int], str, list[str], dict]:
    """Shape, dtype, ids and settings of a cache header, or a one-line error saying which is wrong."""
    if not isinstance(header, dict):
        raise PhyloLLMError(f"{path}: damaged probe-cache header (not a JSON object)")
    shape, dtype, ids, settings = header.get("shape"), header.get("dtype"), header.get("ids"), header.get("settings", {})
    if not (isinstance(shape, list) and len(shape) == 3 and all(type(x) is int and x >= 1 for x in shape)):
        raise PhyloLLMError(f"{path}: damaged probe-cache header (shape {shape!r} is not three positive whole numbers)")
    if dtype not in _DTYPES:
        raise PhyloLLMError(f"{path}: damaged probe-cache header (dtype {dtype!r}; expected one of {', '.join(_DTYPES)})")
    if not (isinstance(ids, list) and len(ids) == shape[0] and all(isinstance(m, str) for m in ids)):
        raise PhyloLLMError(f"{path}: damaged probe-cache header (ids must be {shape[0]} texts, one per model)")
    if not isinstance(settings, dict):
        raise PhyloLLMError(f"{path}: damaged probe-cache header (settings must be a JSON object)")
    return (shape[0], shape[1], shape[2]), dtype, ids, settings


def _plain(value):
    # numpy scalars in settings become plain JSON numbers.
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot store {type(value).__name__} in a cache header")
