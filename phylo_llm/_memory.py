"""How much memory this process can still get, and refusing work that would not fit (instead of swapping or dying)."""

from __future__ import annotations

import resource
from pathlib import Path

from .errors import PhyloLLMError


def _meminfo_available() -> int | None:
    """The machine's ``MemAvailable`` (Linux), in bytes."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _cgroup_available() -> int | None:
    """What the process's control group (a container's limit) still allows, in bytes (cgroup v2)."""
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - used, 0)


def _address_space_available() -> int | None:
    """What ``ulimit -v`` (RLIMIT_AS) still allows this process to map, in bytes."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        mapped = int(Path("/proc/self/statm").read_text().split()[0]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None
    return max(soft - mapped, 0)


def available_memory() -> int | None:
    """Bytes this process can still get: the least of the machine's free memory, a container's limit and
    ``ulimit -v``; ``None`` when none is known."""
    known = [v for v in (_meminfo_available(), _cgroup_available(), _address_space_available()) if v is not None]
    return min(known) if known else None


def require_memory(needed: int, what: str, advice: str) -> None:
    """Raise a one-line :class:`PhyloLLMError` when ``needed`` bytes exceed 90% of what is available."""
    available = available_memory()
    if available is not None and needed > 0.9 * available:
        raise PhyloLLMError(
            f"{what} needs about {needed / 2**30:.1f} GiB of memory and {available / 2**30:.1f} GiB are available: {advice}"
        )
