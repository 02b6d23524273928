"""How much memory the machine can still give, and refusing work that would not fit (instead of swapping)."""

from __future__ import annotations

from .errors import PhyloLLMError


def available_memory() -> int | None:
    """Bytes the machine can still give (Linux ``MemAvailable``); ``None`` when unknown."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def require_memory(needed: int, what: str, advice: str) -> None:
    """Raise a one-line :class:`PhyloLLMError` when ``needed`` bytes exceed 90% of what is available."""
    available = available_memory()
    if available is not None and needed > 0.9 * available:
        raise PhyloLLMError(
            f"{what} needs about {needed / 2**30:.1f} GiB of memory and {available / 2**30:.1f} GiB are available: {advice}"
        )
