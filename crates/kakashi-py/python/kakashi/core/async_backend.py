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

from dataclasses import dataclass

from kakashi import _kakashi
# Defined there, re-exported here (the original's import paths).
from kakashi.core._global_backend import get_async_stats, shutdown_async_logging  # noqa: F401

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

# The core's strategies, by the original's names.
OVERFLOW_STRATEGIES = _kakashi.OVERFLOW_STRATEGIES

# The Rust core's defaults (``kakashi::AsyncConfig::default()``, and
# ``kakashi::RetryPolicy::default()`` for the two retry settings).
_DEFAULTS = _kakashi.ASYNC_CONFIG_DEFAULTS


@dataclass
class AsyncConfig:
    """Queue and worker settings (the original's names; the defaults are the
    Rust core's). Checked when made, by the core, as when used: a setting it
    rejects raises ``ConfigError`` with its message."""

    max_queue_size: int = _DEFAULTS["max_queue_size"]
    queue_overflow_strategy: str = _DEFAULTS["queue_overflow_strategy"]
    worker_count: int = _DEFAULTS["worker_count"]
    batch_size: int = _DEFAULTS["batch_size"]
    batch_timeout: float = _DEFAULTS["batch_timeout"]
    shutdown_timeout: float = _DEFAULTS["shutdown_timeout"]
    max_error_retries: int = _DEFAULTS["max_error_retries"]
    error_retry_delay: float = _DEFAULTS["error_retry_delay"]
    enable_batching: bool = _DEFAULTS["enable_batching"]
    thread_name_prefix: str = _DEFAULTS["thread_name_prefix"]

    def __post_init__(self) -> None:
        _kakashi._check_async_config(self)


_BACKEND = _kakashi.FACTORY_DEFAULTS["configure_async_backend"]


def configure_async_backend(
    max_queue_size: int = _BACKEND["max_queue_size"],
    worker_count: int = _BACKEND["worker_count"],
    batch_size: int = _BACKEND["batch_size"],
    enable_batching: bool = _BACKEND["enable_batching"],
    overflow_strategy: str = _BACKEND["overflow_strategy"],
) -> AsyncBackend:
    """Starts a new global backend with these settings and returns it. Loggers
    made afterwards by ``get_logger``/``get_async_logger`` use it; loggers
    made before keep theirs (which still drains at exit)."""
    return _kakashi.configure_async_backend(
        max_queue_size, worker_count, batch_size, enable_batching, overflow_strategy
    )
