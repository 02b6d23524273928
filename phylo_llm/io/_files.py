"""Opening the files users give: existence, text with one-line errors, compressed text."""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path
from typing import IO

from ..errors import PhyloLLMError


def existing(path: str | Path) -> Path:
    """``path`` as a :class:`Path`, refusing one that does not exist or is neither a file nor a folder.

    A device, pipe or socket (``/dev/zero``, ``<(yes)``) has no size to check
    before reading and may never end: it is refused, not read.

    Examples
    --------
    >>> existing("/dev/zero")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: /dev/zero: not a regular file (a device, pipe or socket): give a file
    """
    path = Path(path)
    if not path.exists():
        raise PhyloLLMError(f"{path}: no such file or directory")
    if not (path.is_file() or path.is_dir()):
        raise PhyloLLMError(f"{path}: not a regular file (a device, pipe or socket): give a file")
    return path


def open_text(path: str | Path) -> IO[str]:
    """A UTF-8 text handle, decompressing ``.gz``, ``.bz2`` and ``.xz``.

    Examples
    --------
    >>> with open_text("data/demo/models.csv") as handle:
    ...     handle.readline().strip()
    'model,family,organization,architecture,is_base'
    """
    name = str(path).lower()
    if name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    if name.endswith(".bz2"):
        return bz2.open(path, "rt", encoding="utf-8")
    if name.endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8")
    return open(path, encoding="utf-8")


def read_text(path: str | Path) -> str:
    """The whole text of a (possibly compressed) UTF-8 file, a byte-order mark dropped; one-line errors.

    Examples
    --------
    >>> read_text("data/demo/true_tree.nwk").startswith("(")
    True
    """
    path = existing(path)
    if path.is_dir():
        raise PhyloLLMError(f"{path}: is a folder, not a file")
    try:
        with open_text(path) as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise PhyloLLMError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise PhyloLLMError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return text.removeprefix("\ufeff")
