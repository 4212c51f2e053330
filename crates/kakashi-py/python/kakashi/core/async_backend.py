"""The asynchronous backend: a bounded queue drained in batches, in order, by
worker threads of the Rust engine.

``AsyncConfig`` has the original's fields and defaults. ``overflow_strategy``
(``queue_overflow_strategy``) is one of ``"block"`` (wait for room, with no
hidden time limit; a caller that found the queue full goes on once a quarter
of it is free), ``"drop_oldest"`` or ``"drop_newest"`` (while the queue is
known to be full, a call's keyword values are not even converted; every drop
is counted and reported); any other name raises ``ConfigError`` (a
``ValueError``) here, not silently later.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Dict

from kakashi import _kakashi

__all__ = [
    "AsyncConfig",
    "AsyncBackend",
    "ConfigError",
    "OVERFLOW_STRATEGIES",
    "configure_async_backend",
    "shutdown_async_logging",
]

ConfigError = _kakashi.ConfigError
AsyncBackend = _kakashi.Backend

OVERFLOW_STRATEGIES = ("block", "drop_oldest", "drop_newest")


def _check_strategy(name: Any) -> None:
    if name not in OVERFLOW_STRATEGIES:
        raise ConfigError(
            f"unknown overflow strategy {str(name)!r}; expected block, drop_oldest or drop_newest"
        )


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def _check_seconds(name: str, value: Any, allow_zero: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{name} must be a number of seconds above 0, got {value!r}")


@dataclass
class AsyncConfig:
    """Queue and worker settings (the original's names and defaults)."""

    max_queue_size: int = 10000
    queue_overflow_strategy: str = "block"
    worker_count: int = 1
    batch_size: int = 100
    batch_timeout: float = 0.1
    shutdown_timeout: float = 5.0
    max_error_retries: int = 3
    error_retry_delay: float = 0.1
    enable_batching: bool = True
    thread_name_prefix: str = "AsyncLogger"

    def __post_init__(self) -> None:
        _check_positive("max_queue_size", self.max_queue_size)
        _check_positive("worker_count", self.worker_count)
        _check_positive("batch_size", self.batch_size)
        _check_strategy(self.queue_overflow_strategy)
        _check_seconds("batch_timeout", self.batch_timeout, False)
        _check_seconds("shutdown_timeout", self.shutdown_timeout, True)
        _check_seconds("error_retry_delay", self.error_retry_delay, True)
        if isinstance(self.max_error_retries, bool) or not isinstance(self.max_error_retries, int) or self.max_error_retries < 0:
            raise ConfigError(f"max_error_retries must be 0 or more, got {self.max_error_retries!r}")


def configure_async_backend(
    max_queue_size: int = 25000,
    worker_count: int = 2,
    batch_size: int = 200,
    enable_batching: bool = True,
    overflow_strategy: str = "drop_oldest",
) -> Any:
    """Starts a new global backend with these settings and returns it. Loggers
    made afterwards by ``get_logger``/``get_async_logger`` use it; loggers
    made before keep theirs (which still drains at exit)."""
    _check_positive("max_queue_size", max_queue_size)
    _check_positive("worker_count", worker_count)
    _check_positive("batch_size", batch_size)
    _check_strategy(overflow_strategy)
    return _kakashi.configure_async_backend(
        max_queue_size, worker_count, batch_size, bool(enable_batching), overflow_strategy
    )


def shutdown_async_logging(timeout: float = 5.0) -> Any:
    """Drains, flushes and joins every backend within ``timeout`` seconds;
    returns a ``ShutdownReport``."""
    from kakashi.core.async_interface import shutdown_async_backend

    return shutdown_async_backend(timeout)


def get_async_stats() -> Dict[str, Any]:
    """Counters summed over every live backend."""
    return dict(_kakashi.get_async_stats())
