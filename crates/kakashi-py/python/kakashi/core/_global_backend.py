"""The global backend's shared pieces, in one place: its statistics and its
shutdown.

``kakashi.core.async_backend`` and ``kakashi.core.async_interface`` both
import from here (and re-export ``get_async_stats`` and the shutdown), so
neither imports the other's functions back.
"""

from __future__ import annotations

from typing import Any, Dict

from kakashi import _kakashi

__all__ = ["get_async_stats", "shutdown_async_backend", "shutdown_async_logging"]

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
    return _kakashi.shutdown_async_backend(timeout)


# The original's other name for it.
shutdown_async_logging = shutdown_async_backend
