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
        address = check_scheduler_address(scheduler)
        probe_scheduler(address)  # no Client exists until a scheduler answered: a failed one logs tracebacks when collected
        try:
            with _quiet_dask(logging.CRITICAL):
                client = Client(address, timeout=f"{CONNECT_TIMEOUT}s", set_as_default=False)
        except Exception as exc:  # the scheduler went away since the probe, or answered wrongly
            _silence_failed_client()
            raise PhyloLLMError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler at this address ({_first_line(exc)})") from None
        with client:
            if not client.scheduler_info(n_workers=-1)["workers"]:
                try:
                    client.wait_for_workers(1, timeout=CONNECT_TIMEOUT)
                except TimeoutError:
                    raise PhyloLLMError(f"--scheduler {scheduler}: the scheduler has no workers (start some with: dask worker {scheduler})") from None
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


#: Protocols of a ``--scheduler`` address: plain TCP, and TLS when Dask's configuration holds the certificates.
SCHEDULER_PROTOCOLS = ("tcp", "tls")


def check_scheduler_address(scheduler: str) -> str:
    """``scheduler`` as a Dask address (``tcp://host:port``; ``host:port`` means TCP), refused in one line when it
    cannot be one: nothing is started, and the error names the address.

    Examples
    --------
    >>> check_scheduler_address("localhost:8786")
    'tcp://localhost:8786'
    >>> check_scheduler_address("inproc://x")
    Traceback (most recent call last):
    ...
    phylo_llm.errors.PhyloLLMError: --scheduler inproc://x: not a scheduler address; expected tcp://HOST:PORT (or tls://HOST:PORT)
    """
    from distributed.comm.addressing import parse_address, parse_host_port, unparse_address

    wrong = PhyloLLMError(f"--scheduler {scheduler}: not a scheduler address; expected tcp://HOST:PORT (or tls://HOST:PORT)")
    try:
        protocol, location = parse_address(scheduler.strip())
        host, port = parse_host_port(location)
    except (ValueError, TypeError):
        raise wrong from None
    if protocol not in SCHEDULER_PROTOCOLS or not host or not 0 < int(port) < 65536:
        raise wrong
    return unparse_address(protocol, location)


def probe_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Connect to ``address`` and complete Dask's handshake within ``timeout`` seconds, or refuse in one line.

    A separate probe (one comm, closed again) rather than a :class:`distributed.Client` that fails: a Client
    whose connection failed still exists until garbage collection, whose ``close`` then waits 10 s and prints a
    traceback on standard error. Anything that answers but is not a scheduler (an HTTP server, a proxy) is
    refused too: Dask reads its bytes as a frame length (seen: an allocation of 3 EiB, ``MemoryError``).
    """
    import asyncio

    from distributed.comm import connect as comm_connect

    async def handshake() -> None:
        comm = await comm_connect(address, timeout=timeout, **_connection_args(address))
        await comm.close()

    try:
        with _quiet_dask(logging.CRITICAL):
            asyncio.run(asyncio.wait_for(handshake(), timeout + 1))
    except (Exception, MemoryError) as exc:  # OSError, TimeoutError, a TLS or protocol error: all mean "not reachable"
        if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
            reason = "no answer"
        elif isinstance(exc, OSError):  # refused, unknown host, timed out: Dask says which
            reason = _first_line(exc)
        else:  # the connection was made, and what answered spoke another protocol (or TLS is not configured)
            reason = f"something answered that is not a Dask scheduler: {_first_line(exc)}"
        raise PhyloLLMError(f"--scheduler {address}: cannot reach a Dask scheduler at this address ({reason})") from None


def _connection_args(address: str) -> dict:
    """TLS certificates from Dask's configuration (``distributed.comm.tls``) for a ``tls://`` address."""
    if not address.startswith("tls://"):
        return {}
    from distributed.security import Security

    return Security().get_connection_args("client")


def _silence_failed_client() -> None:
    """A Client whose start failed is closed when collected, with a 10 s wait and a traceback; drop that report."""
    import sys

    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if getattr(unraisable.object, "__qualname__", "") != "Client.__del__":
            previous(unraisable)

    sys.unraisablehook = hook


@contextlib.contextmanager
def _quiet_dask(level: int = logging.WARNING) -> Iterator[None]:
    """Dask logs cluster start-up at INFO level (and connection failures at WARNING); the command line says
    what matters itself."""
    loggers = [logging.getLogger(name) for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.worker",
                                                    "distributed.client", "distributed.comm", "distributed.core")]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(level)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
