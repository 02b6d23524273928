"""Write files so that a failure leaves nothing behind and overwrites nothing."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterator

from ..errors import PhyloLLMError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A temporary file name beside ``path``, renamed onto ``path`` only if the block succeeds.

    For writers that want a file name (pyarrow, matplotlib). On any exception
    the temporary file is removed and an existing ``path`` is left untouched.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        raise PhyloLLMError(f"{target}: cannot write here ({exc.strerror})") from None
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes the file private; give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """An open file handle for :func:`atomic_path`; ``path == "-"`` writes to standard output."""
    if str(path) == "-":
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        sys.stdout.flush()
        return
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": "\n"}
    with atomic_path(path) as tmp, open(tmp, mode, **text) as handle:
        yield handle
