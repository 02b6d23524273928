"""Writing files so that nothing the user had is lost: atomic files, and output plans that commit together.

Every file is written into an *unnamed* temporary file in its target's folder
(Linux ``O_TMPFILE``) and given its name only when complete: a crash, a full
disk or any signal, even ``SIGKILL``, leaves no partial file and no temporary
file behind, and an existing file is replaced in one step or not at all.
Where unnamed files are not available, a hidden ``.NAME.XXXX.part`` file is
used instead and removed on every exception (the command line turns
``SIGTERM``, ``SIGHUP`` and ``SIGQUIT`` into one).

An :class:`OutputPlan` holds every output of one command. It is checked
before any work starts (no output is an input or another output, none is
inside a folder that is an input, no output is a folder, every folder exists
and is writable) and, used as a context manager,
defers each file's naming until the block ends: all the outputs appear
together, or none does. Files cannot be renamed together in one step, so the
naming is a small transaction, run with stop signals held: every file first
gets a hidden name beside its target (the step that can fail), then each
target is replaced in turn while a second name keeps the file it replaces;
if one fails (its target became a folder since the checks), the earlier ones
are put back. So are they when a stop signal arrives meanwhile: the command
ends as stopped, having written nothing (a program whose handler only notes
the signal gets a :class:`PhyloLLMError` saying so; a signal after the naming finds the
outputs complete, as with any program stopped as it exits). Only a ``SIGKILL`` in those microseconds (or, for plans of
thousands of files written as hidden named files, while they are written)
can leave a hidden ``.NAME.*.part`` or ``.old`` file.
"""

from __future__ import annotations

import bz2
import contextlib
import contextvars
import errno
import gzip
import io
import lzma
import os
import shutil
import signal
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from .._signals import deferred_signals
from ..errors import PhyloLLMError
from ._formats import compression

#: Stands for standard output among a command's outputs.
STDOUT = "-"

# The plan whose block is running (files written inside it are named only when it ends).
_ACTIVE: contextvars.ContextVar[OutputPlan | None] = contextvars.ContextVar("phylo_llm_output_plan", default=None)

_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name))


class _Staged:
    """A file being written: an unnamed file (or a hidden named one) that becomes ``target`` when published."""

    def __init__(self, target: Path) -> None:
        self.target = target
        folder = target.parent
        self.fd: int | None = None
        self.named: str | None = None
        try:
            self.fd = os.open(folder, os.O_TMPFILE | os.O_RDWR, 0o600)
            if not _room_beside(self.fd):  # a plan of thousands of files (partitions): named ones hold no descriptor
                os.close(self.fd)
                self.fd = None
                raise OSError("too many open files")
        except (AttributeError, OSError):
            try:
                fd, self.named = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
            except OSError as exc:
                raise PhyloLLMError(f"{target}: cannot write here ({exc.strerror})") from None
            os.close(fd)

    @property
    def path(self) -> str:
        """A name writers can open (``/proc/self/fd/N`` for an unnamed file)."""
        return self.named if self.named is not None else f"/proc/self/fd/{self.fd}"

    def name_hidden(self) -> str:
        """Give the written file a hidden name beside its target, with the permissions ``open`` would give; returns it.

        This is the step of publishing that can fail for want of room or rights; a plan takes it for every file
        before any target is touched.
        """
        umask = os.umask(0)
        os.umask(umask)
        if self.named is not None:
            os.chmod(self.named, 0o666 & ~umask)
            return self.named
        assert self.fd is not None
        os.fchmod(self.fd, 0o666 & ~umask)
        folder = os.open(self.target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for attempt in range(100):
                hidden = str(self.target.parent / f".{self.target.name}.{os.getpid()}.{attempt}.part")
                try:
                    os.link(self.path, hidden, src_dir_fd=folder, follow_symlinks=True)
                    break
                except FileExistsError:
                    continue
            else:
                raise FileExistsError(errno.EEXIST, "cannot find a free hidden name", str(self.target))
        finally:
            os.close(folder)
        os.close(self.fd)
        self.fd = None
        self.named = hidden
        return hidden

    def publish(self) -> str | None:
        """Give the file, once :meth:`name_hidden` has named it, its target's name in one step.

        Returns the hidden name that now holds the file it replaced (None when the target is new), so that a plan
        whose later file fails can put it back; the caller removes it once every file is named.
        """
        hidden = self.named
        assert hidden is not None and self.fd is None, "name_hidden first"
        previous = _keep_previous(self.target)
        try:
            os.replace(hidden, self.target)
        except OSError:
            if previous is not None:
                if os.path.lexists(self.target):  # a second link: the target never left its name
                    os.unlink(previous)
                else:  # moved aside (no hard links here): move it back
                    os.replace(previous, self.target)
            raise
        self.named = None
        return previous

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.named is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.named)
            self.named = None


#: File descriptors kept free beside the staged files (the writers, pyarrow, a Dask client's sockets).
_FD_RESERVE = 128


def _room_beside(fd: int) -> bool:
    """True when descriptor ``fd`` (each staged unnamed file holds one until published) leaves room for the others;
    the soft limit is raised toward the hard one first (it is often 1,024 while the hard one is far higher)."""
    try:
        import resource
    except ImportError:  # not POSIX: no limit to check
        return True
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or fd < soft - _FD_RESERVE:
        return True
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft * 4, 65_536)
    if wanted > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return fd < soft - _FD_RESERVE


def _keep_previous(target: Path) -> str | None:
    """A hidden second name for the file at ``target`` (None if there is none), so it can be put back.

    A hard link keeps the file at its name meanwhile; where links are not possible the file is moved aside. A
    folder that appeared at ``target`` since the plan's checks is never moved: publishing stops there.
    """
    if not os.path.lexists(target):
        return None
    if target.is_dir() and not target.is_symlink():
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
    for attempt in range(100):
        kept = str(target.parent / f".{target.name}.{os.getpid()}.{attempt}.old")
        if os.path.lexists(kept):
            continue
        try:
            os.link(target, kept, follow_symlinks=False)
        except FileExistsError:
            continue
        except OSError:  # no hard links on this file system
            os.rename(target, kept)
        return kept
    raise FileExistsError(errno.EEXIST, "cannot find a free hidden name", str(target))


def _publish_together(staged: list[_Staged], stopped: Callable[[], bool] = lambda: False) -> bool:
    """Name every staged file, or none: a failure part way puts back what the earlier ones replaced.

    Returns False, with every target put back, when ``stopped()`` says a stop signal arrived while the files were
    named (the command is about to end as stopped: it must not have written anything); True once all are named.

    Raises
    ------
    PhyloLLMError
        Naming one of the files failed (its target became a folder, the disk or the rights changed since the
        plan's checks); every target is then as it was before, and no hidden file is left.
    """
    done: list[tuple[Path, str | None]] = []
    current = staged[0] if staged else None
    try:
        for current in staged:  # the steps that can fail for want of room or rights, before any target changes
            current.name_hidden()
        for current in staged:
            done.append((current.target, current.publish()))
    except OSError as exc:
        _put_back(done, staged)
        assert current is not None
        raise PhyloLLMError(f"{current.target}: cannot write ({exc.strerror or exc})") from None
    if stopped():
        _put_back(done, staged)
        return False
    for _, previous in done:
        if previous is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(previous)
    return True


def _put_back(done: list[tuple[Path, str | None]], staged: list[_Staged]) -> None:
    """Undo a partial or stopped naming: each target gets back the file it had (or none), newest first."""
    for target, previous in reversed(done):
        with contextlib.suppress(OSError):
            if previous is None:
                os.unlink(target)
            else:
                os.replace(previous, target)
    for item in staged:
        item.discard()


@contextlib.contextmanager
def _signals_held() -> Iterator[Callable[[], bool]]:
    """Hold back interrupting signals while files are being named, so a set of outputs is not cut in half.

    Yields a test telling whether a stop signal arrived meanwhile: the naming is then undone, so that a command
    stopped by a signal has written nothing, as its exit code says.

    Blocking them (``pthread_sigmask``) holds them only for this thread: with other threads running (a Dask
    client's event loop) the kernel hands the signal to one of those, and Python then runs its handler in the
    main thread anyway, in the middle of the naming (seen: ``extract -o FOLDER`` stopped with half its partitions
    named). So the Python handlers are deferred too (:func:`phylo_llm._signals.deferred_signals`): a signal
    that arrives is handled once every file has its name, or every file is back.
    """
    with deferred_signals() as received:
        if not hasattr(signal, "pthread_sigmask"):
            yield lambda: bool(received)
            return
        old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        try:
            yield lambda: bool(received) or bool(signal.sigpending() & set(_SIGNALS))
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[str]:
    """A file name to write ``path``'s content to; ``path`` gets it only if the block succeeds.

    For writers that want a file name (pyarrow, matplotlib). On any exception
    nothing is left behind and an existing ``path`` is untouched. Inside an
    :class:`OutputPlan` block the file is named when the block ends.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "numbers.txt"
    >>> with atomic_path(target) as name:
    ...     _ = pathlib.Path(name).write_text("1 2 3")
    >>> target.read_text()
    '1 2 3'
    """
    target = Path(path)
    if target.is_dir():
        raise PhyloLLMError(f"{target}: cannot write: it is a folder, not a file")
    _refuse_special(target)
    if not target.parent.is_dir():
        raise PhyloLLMError(f"{target}: cannot write: the folder {target.parent} does not exist")
    staged = _Staged(target)
    try:
        yield staged.path
    except BaseException:
        staged.discard()
        raise
    plan = _ACTIVE.get()
    if plan is not None:
        plan._staged.append(staged)
        return
    with _signals_held() as stopped:
        named = _publish_together([staged], stopped)
    if not named:  # the signal's handler only noted it (it did not stop the program): never return as if written
        raise PhyloLLMError(f"{target}: not written: a stop signal arrived while it was named")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "w") -> Iterator[IO]:
    """An open file for :func:`atomic_path`; ``path == "-"`` writes to standard output.

    A name ending in ``.gz``, ``.bz2`` or ``.xz`` is written compressed
    (gzip without a time stamp, so the bytes are the same every run).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "notes.txt.gz"
    >>> with atomic_output(target) as handle:
    ...     _ = handle.write("compressed\\n")
    >>> from phylo_llm.io import read_text
    >>> read_text(target)
    'compressed\\n'
    """
    if str(path) == STDOUT:
        yield sys.stdout.buffer if "b" in mode else sys.stdout
        sys.stdout.flush()
        return
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        packed = _compressor(raw, compression(str(path)))
        try:
            if "b" in mode:
                yield packed
            else:
                wrapper = io.TextIOWrapper(packed, encoding="utf-8", newline="\n")
                yield wrapper
                wrapper.flush()
                wrapper.detach()  # the compressor (or raw file) is closed below, not by the wrapper
        finally:
            if packed is not raw:
                packed.close()
        raw.flush()
        os.fsync(raw.fileno())


def _compressor(raw: IO[bytes], kind: str | None) -> Any:
    if kind == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="")
    if kind == ".bz2":
        return bz2.BZ2File(raw, "wb")
    if kind == ".xz":
        return lzma.LZMAFile(raw, "wb")
    return raw


class OutputPlan:
    """All the files one command writes: checked before the work, written together after it.

    Parameters
    ----------
    inputs : iterable of path
        What the command reads: no output may be one of them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> plan = OutputPlan(inputs=[folder / "dna.parquet"])
    >>> plan.add(folder / "dna.parquet")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: ...dna.parquet: this output is also an input; choose another name
    >>> tree, table = plan.add(folder / "tree.nwk"), plan.add(folder / "leaves.csv")
    >>> with plan:
    ...     with atomic_output(tree) as handle:
    ...         _ = handle.write("(a,b,c);\\n")
    ...     with atomic_output(table) as handle:
    ...         _ = handle.write("model\\na\\n")
    >>> sorted(p.name for p in folder.iterdir())
    ['leaves.csv', 'tree.nwk']
    """

    def __init__(self, inputs: Iterable[str | os.PathLike | None] = ()) -> None:
        self.inputs = [Path(p) for p in inputs if p is not None and str(p) != STDOUT]
        self.outputs: list[str | Path] = []
        self._staged: list[_Staged] = []
        self._folders: list[Path] = []
        self._created: list[Path] = []
        self._replaced: list[Path] = []
        #: True once the block's files are published: what happens after (a stop signal while a cluster shuts
        #: down) no longer changes the outcome.
        self.published = False

    def replaces(self, paths: Iterable[str | os.PathLike]) -> None:
        """Files of an earlier run of the same command, or a work folder, that this plan's output set replaces:
        those the block does not write again are removed together with the publication (and only then, with
        stop signals held), so an output folder never mixes two runs and no work folder outlives the result."""
        self._replaced.extend(Path(p) for p in paths)

    def add(self, path: str | os.PathLike | None, what: str = "output") -> str | Path | None:
        """Check one output now (``None`` passes through, ``"-"`` is standard output); returns it."""
        if path is None:
            return None
        if str(path) == STDOUT:
            if STDOUT in self.outputs:
                raise PhyloLLMError(f"only one output can go to standard output ('-'); {what} is the second")
            self.outputs.append(STDOUT)
            return STDOUT
        target = Path(path)
        if str(path) == "" or target.name in ("", ".", ".."):
            raise PhyloLLMError(f"{path!r}: not a file name ({what})")
        if target.is_dir():
            raise PhyloLLMError(f"{target}: cannot write: it is a folder, and {what} must be a file")
        _refuse_special(target)
        folder = target.parent
        if not folder.is_dir():
            raise PhyloLLMError(f"{target}: cannot write: the folder {folder} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise PhyloLLMError(f"{target}: cannot write in {folder} (permission denied)")
        if target.exists() and not os.access(target, os.W_OK) and not os.access(folder, os.W_OK):
            raise PhyloLLMError(f"{target}: cannot replace this file (permission denied)")
        for other in self.inputs:
            if _same_place(target, other):
                raise PhyloLLMError(f"{target}: this output is also an input; choose another name")
            if _inside(target, other):  # even a new file: it would join that input (a dataset's partitions, a lineage's CSVs)
                raise PhyloLLMError(f"{target}: this output would be written inside the input folder {other}; choose another place")
        for earlier in self.outputs:
            if isinstance(earlier, Path) and _same_place(target, earlier):
                raise PhyloLLMError(f"{target}: named twice among the outputs of this command; give each output its own name")
        self.outputs.append(target)
        return target

    def add_folder(self, path: str | os.PathLike, what: str = "output folder") -> Path:
        """An output folder: created when the plan's block starts if missing, removed again if the block fails.

        A subfolder of a folder added earlier may be added too (both are created, in order).
        """
        folder = Path(path)
        if folder.exists() and not folder.is_dir():
            raise PhyloLLMError(f"{folder}: exists and is not a folder; {what} must be a folder")
        for other in self.inputs:
            if _same_place(folder, other):
                raise PhyloLLMError(f"{folder}: this output folder is also an input; choose another")
            if _inside(folder, other):
                raise PhyloLLMError(f"{folder}: this output folder would be inside the input folder {other}; choose another place")
        writable = folder if folder.exists() else folder.parent
        planned = any(_same_place(writable, earlier) for earlier in self._folders)
        if planned and not writable.exists():  # a subfolder of a folder this plan creates
            self._folders.append(folder)
            return folder
        if not writable.is_dir():
            raise PhyloLLMError(f"{folder}: the folder {folder.parent} does not exist")
        if not os.access(writable, os.W_OK | os.X_OK):
            raise PhyloLLMError(f"{folder}: cannot write in {writable} (permission denied)")
        self._folders.append(folder)
        return folder

    def __enter__(self) -> OutputPlan:
        for folder in self._folders:
            if not folder.exists():
                try:
                    folder.mkdir()
                except OSError as exc:
                    raise PhyloLLMError(f"{folder}: cannot create this folder ({exc.strerror})") from None
                self._created.append(folder)
        if _ACTIVE.get() is not None:
            raise RuntimeError("output plans do not nest")
        self._token = _ACTIVE.set(self)
        return self

    def __exit__(self, kind, value, traceback) -> None:
        _ACTIVE.reset(self._token)
        staged, self._staged = self._staged, []
        if kind is not None:
            for item in staged:
                item.discard()
            self._remove_created()
            return
        with _signals_held() as stopped:
            try:
                named = _publish_together(staged, stopped)
            except PhyloLLMError:  # every target is back: so is the user's folder, without the folders made for it
                self._remove_created()
                raise
            if named:
                written = {item.target.resolve() for item in staged}
                for old in self._replaced:
                    if old.is_dir() and not old.is_symlink():
                        shutil.rmtree(old, ignore_errors=True)
                    elif old.resolve() not in written:
                        with contextlib.suppress(FileNotFoundError):
                            old.unlink()
                self.published = True
            else:  # stopped meanwhile: everything is back, and the signal's handler runs as the block ends
                self._remove_created()
        if not named:  # the handler only noted the signal (it did not stop the program): never end as if written
            where = staged[0].target if staged else "the outputs"
            raise PhyloLLMError(f"{where}: not written: a stop signal arrived while the outputs were named")

    def _remove_created(self) -> None:
        for folder in reversed(self._created):  # subfolders first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty: never anything the user had


def _refuse_special(target: Path) -> None:
    """Refuse a target that is a pipe, a device or a socket: an output replaces its target, and that would remove
    it (``-o /dev/null`` run as root). A symbolic link is replaced itself, never what it points to."""
    try:
        mode = os.lstat(target).st_mode
    except OSError:  # nothing there yet
        return
    if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
        raise PhyloLLMError(f"{target}: cannot write: it is not a regular file (a pipe or a device) and an output "
                            "replaces its target; give a file name")


def _same_place(a: Path, b: Path) -> bool:
    """True when two paths name the same file (also through links), existing or not."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` lies inside ``folder`` (an input read as a folder: answers, published DNA, lineage CSVs)."""
    if not folder.is_dir():
        return False
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
