"""Opening the files users give: existence, text with one-line errors, compressed text."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .._memory import require_memory
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


def open_text(path: str | Path, newline: str | None = None) -> IO[str]:
    """A UTF-8 text handle, decompressing ``.gz``, ``.bz2`` and ``.xz``.

    ``newline``: as for :func:`open` (``""`` for the :mod:`csv` module, which handles line ends inside quotes itself).

    Examples
    --------
    >>> with open_text("data/demo/models.csv") as handle:
    ...     handle.readline().strip()
    'model,family,organization,architecture,is_base'
    """
    opener = _decompressor(path)
    if opener is not None:
        return opener(path, "rt", encoding="utf-8", newline=newline)
    return open(path, encoding="utf-8", newline=newline)


#: The opener of each compressed suffix (``open(path, mode, ...)``), for text and for bytes alike.
_DECOMPRESSORS: dict[str, Callable[..., Any]] = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def _decompressor(path: str | Path) -> Callable[..., Any] | None:
    """The opener that decompresses ``path`` (by its suffix, any case), or ``None`` for a plain file."""
    name = str(path).lower()
    return next((opener for suffix, opener in _DECOMPRESSORS.items() if name.endswith(suffix)), None)


def read_text(path: str | Path, newline: str | None = None) -> str:
    """The whole text of a (possibly compressed) UTF-8 file, a byte-order mark dropped; one-line errors.

    ``newline``: as for :func:`open` (``""`` keeps line ends as written, for a CSV parser).

    Examples
    --------
    >>> read_text("data/demo/true_tree.nwk").startswith("(")
    True
    """
    path = existing(path)
    if path.is_dir():
        raise PhyloLLMError(f"{path}: is a folder, not a file")
    try:
        with open_text(path, newline) as handle:
            text = _read_within_memory(handle, path)
    except UnicodeDecodeError as exc:
        raise PhyloLLMError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise PhyloLLMError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    return text.removeprefix("\ufeff")


#: Characters read at a time by :func:`read_text`, the memory check made between reads.
_CHUNK = 1 << 24


def _read_within_memory(handle: IO[str], path: Path) -> str:
    """The whole text, read in chunks: a compressed file (a few MB that expand to many GB) or a huge file is
    refused once its text (held twice while joined) would no longer fit in memory, not read until the process dies."""
    chunks: list[str] = []
    size = 0
    while chunk := handle.read(_CHUNK):
        chunks.append(chunk)
        size += len(chunk)
        require_memory(2 * size, f"{path}: its text ({size / 2**20:,.0f} MiB so far)", "give a smaller file")
    return "".join(chunks)


def read_json(path: str | Path) -> Any:
    """The JSON value of a (possibly compressed) UTF-8 file, read within memory (:func:`read_text`); one-line errors.

    Whatever :mod:`json` refuses or cannot hold — bad syntax, nesting deeper than the interpreter's stack, an
    integer of more digits than Python converts — is one :class:`PhyloLLMError` naming the file, not a traceback.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "deep.json"
    >>> _ = path.write_text("[" * 100_000 + "]" * 100_000)
    >>> read_json(path)
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: .../deep.json: not valid JSON (nested too deeply)
    """
    text = read_text(path)
    return json_value(text, f"{path}:")


def json_value(text: str, where: str) -> Any:
    """``json.loads(text)``, every failure one :class:`PhyloLLMError` "``where`` not valid JSON (why)"
    (``where``: ``"file:"``, or ``"file: line 3 is"``).

    Examples
    --------
    >>> json_value('{"a": ' + "9" * 5000 + '}', "x.jsonl: line 1 is")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: x.jsonl: line 1 is not valid JSON (a number of more than 4300 digits)
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise PhyloLLMError(f"{where} not valid JSON ({exc})") from None
    except ValueError:  # the only other: an integer past sys.get_int_max_str_digits()
        raise PhyloLLMError(f"{where} not valid JSON (a number of more than {sys.get_int_max_str_digits()} digits)") from None
    except RecursionError:
        raise PhyloLLMError(f"{where} not valid JSON (nested too deeply)") from None


def read_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a (possibly compressed) UTF-8 file, the lines read so far held within memory.

    A caller keeping what it reads (the answers of a JSON-lines file) would otherwise grow without bound on
    a file that expands past memory, or on one line of many GB: the characters read are counted, a line is
    read in bounded pieces, and the file is refused once twice what was read would no longer fit.

    Examples
    --------
    >>> [number for number, line in read_lines("data/demo/models.csv")][:3]
    [1, 2, 3]
    """
    path = existing(path)
    if path.is_dir():
        raise PhyloLLMError(f"{path}: is a folder, not a file")
    size = checked = 0
    try:
        with open_text(path) as handle:
            number = 0
            while True:
                pieces = []
                while piece := handle.readline(_CHUNK):
                    pieces.append(piece)
                    size += len(piece)
                    if size - checked >= _CHUNK:
                        checked = size
                        require_memory(2 * size, f"{path}: its text ({size / 2**20:,.0f} MiB so far)", "give a smaller file")
                    if piece.endswith("\n"):
                        break
                if not pieces:
                    return
                number += 1
                yield number, "".join(pieces)
    except UnicodeDecodeError:
        raise PhyloLLMError(f"{path}: line {number + 1} is not UTF-8 text") from None
    except (OSError, EOFError, lzma.LZMAError) as exc:
        raise PhyloLLMError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


class _WithinMemory(io.RawIOBase):
    """The bytes of a decompressing stream, refused once what it expanded to would no longer fit in memory."""

    def __init__(self, raw: io.BufferedIOBase, path: Path) -> None:
        super().__init__()
        self._raw, self._path, self._size, self._checked = raw, path, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._size += len(data)
        if self._size - self._checked >= _CHUNK:
            self._checked = self._size
            require_memory(self._size, f"{self._path}: its text ({self._size / 2**20:,.0f} MiB so far)", "give a smaller file")
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_bounded(path: Path) -> IO[bytes]:
    """The expanded bytes of a compressed file as a stream: a reader (pandas) parses them as they come, holding no
    whole text, and a file that expands past what memory can hold (a few MB to many GB) is refused while read."""
    opener = _decompressor(path)
    if opener is None:
        raise PhyloLLMError(f"{path}: not a compressed file (.gz, .bz2 or .xz)")
    return io.BufferedReader(_WithinMemory(opener(path, "rb"), path), buffer_size=1 << 20)
