"""The engine: a running ``dask.distributed`` scheduler, or a LocalCluster on this machine's cores.

Everything heavy of a hub computation runs as Dask tasks whose inputs are
partition files or other tasks' results (nothing is scattered), so when a
worker dies the scheduler recomputes what it held on the others: no finished
work is lost for good, and the result is the same.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from ..errors import PhyloLLMError

#: Seconds to wait for a scheduler before giving up.
CONNECT_TIMEOUT = 5
#: LocalCluster workers per core at most: each is a process with its own interpreter, and more than a few per core
#: only queue for the same cores while their memory adds up.
WORKERS_PER_CORE = 4
#: Memory a LocalCluster worker process takes before any task (interpreter, numpy, dask): at least this much free
#: memory per worker is required.
WORKER_BASE_MEMORY = 256 * 2**20

#: Share of a worker's memory limit a hub computation plans to use (Dask starts spilling at 60% and pauses at 80%).
MEMORY_SHARE = 0.6


@contextlib.contextmanager
def connect(scheduler: str | None = None, workers: int | None = None, memory_limit: str | int | None = None) -> Iterator:
    """A :class:`distributed.Client`: to the scheduler at ``scheduler``, or to a new LocalCluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``; started with
        ``dask scheduler``, its workers with ``dask worker ADDRESS``).
    workers : int, optional
        LocalCluster only: worker processes (default: one per core), one thread each.
    memory_limit : str or int, optional
        LocalCluster only: memory limit per worker (default: the machine's memory shared out).

    Raises
    ------
    PhyloLLMError
        A scheduler that cannot be reached, naming its address; a scheduler without workers.

    Examples
    --------
    >>> with connect(workers=1) as client:  # doctest: +SKIP
    ...     client.submit(sum, [1, 2]).result()
    3
    """
    from distributed import Client, LocalCluster  # loaded when first needed: the command line must start fast

    if scheduler is not None:
        if workers is not None:
            raise PhyloLLMError("--workers sizes a LocalCluster; with --scheduler the cluster's workers are used")
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise PhyloLLMError(f"{scheduler}: cannot reach a Dask scheduler at this address ({_first_line(exc)})") from None
        with client:
            if not client.scheduler_info(n_workers=-1)["workers"]:
                try:
                    client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
                except TimeoutError:
                    raise PhyloLLMError(f"{scheduler}: the scheduler has no workers (start some with: dask worker {scheduler})") from None
            yield client
        return
    count = workers or os.cpu_count() or 1
    check_local_workers(count)
    with _quiet_dask():  # its HTTP routes on a free port (":0"): two runs at once never collide on 8787
        cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True, dashboard_address=":0", scheduler_kwargs={"dashboard": False},
                               worker_dashboard_address=None, memory_limit=memory_limit if memory_limit is not None else "auto",
                               # a task's error reaches the command (one line); the workers must not also log its traceback
                               silence_logs=logging.CRITICAL)
    with cluster, Client(cluster, set_as_default=False) as client:
        yield client


def local_worker_limit() -> int:
    """The most LocalCluster workers this machine takes: :data:`WORKERS_PER_CORE` per core, and
    :data:`WORKER_BASE_MEMORY` of the memory available now for each.

    Examples
    --------
    >>> local_worker_limit() >= 1
    True
    """
    from .._memory import available_memory

    limit = WORKERS_PER_CORE * (os.cpu_count() or 1)
    memory = available_memory()
    if memory is not None:
        limit = min(limit, max(1, memory // WORKER_BASE_MEMORY))
    return int(limit)


def check_local_workers(count: int) -> None:
    """Refuse a LocalCluster of more workers than :func:`local_worker_limit` before starting any process."""
    limit = local_worker_limit()
    if count > limit:
        raise PhyloLLMError(f"--workers {count}: this machine takes at most {limit} local worker processes "
                            f"({WORKERS_PER_CORE} per core, {WORKER_BASE_MEMORY // 2**20} MB of free memory each); "
                            "for more, start workers on other machines (dask worker) and give --scheduler")


def worker_memory(client) -> int | None:
    """The smallest memory limit of the client's workers in bytes (``None``: unlimited)."""
    limits = [w.get("memory_limit") or 0 for w in client.scheduler_info(n_workers=-1)["workers"].values()]
    limits = [m for m in limits if m > 0]
    return min(limits) if limits else None


def worker_count(client) -> int:
    return len(client.scheduler_info(n_workers=-1)["workers"])


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask logs cluster start-up at INFO level; the command line says what matters itself."""
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
