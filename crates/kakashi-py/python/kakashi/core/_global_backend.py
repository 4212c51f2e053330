"""The global backend's shared pieces, in one place: its statistics, its
shutdown, and the ``AsyncConfig`` it was last configured with through
``get_async_logger(..., async_config=...)``.

``kakashi.core.async_backend`` and ``kakashi.core.async_interface`` both
import from here (and re-export ``get_async_stats`` and the shutdown), so
neither imports the other's functions back.
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from kakashi import _kakashi

__all__ = ["get_async_stats", "shutdown_async_backend", "shutdown_async_logging"]

# The AsyncConfig (a copy) the global backend was last configured with by a
# logger factory; None after a shutdown, so the next one starts a fresh backend.
applied_async_config: Optional[Any] = None


def get_async_stats() -> Dict[str, Any]:
    """Counters summed over every live backend: the original's keys
    (``state``, ``queue_size``, ``max_queue_size``, ``worker_count``,
    ``messages_enqueued``, ``messages_dropped``, ``messages_written``,
    ``active_workers``) first, then the accounting (once idle,
    ``messages_submitted == messages_written + messages_dropped +
    messages_filtered + messages_failed``), then ``writers``."""
    return dict(_kakashi.get_async_stats())


def shutdown_async_backend(timeout: float = 5.0) -> _kakashi.ShutdownReport:
    """Drains, flushes and joins every backend within ``timeout`` seconds and
    returns a ``ShutdownReport`` (true when nothing was left). Logging
    afterwards is written on the caller's thread."""
    global applied_async_config
    applied_async_config = None  # the next logger asking for one gets a fresh backend
    return _kakashi.shutdown_async_backend(timeout)


# The original's other name for it.
shutdown_async_logging = shutdown_async_backend
