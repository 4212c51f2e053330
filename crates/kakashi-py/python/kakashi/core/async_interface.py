"""The page's factory functions, on the Rust engine.

Every logger here is asynchronous for real: its workers start when it is
made, it never blocks the caller except under ``block`` with a full queue,
and everything it accepted is written by ``shutdown_async_backend()`` or at
interpreter exit.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Sequence, Union

from kakashi import _kakashi
from kakashi._logger import Logger
from kakashi.core._global_backend import get_async_stats, shutdown_async_backend
from kakashi.core.async_backend import AsyncConfig, configure_async_backend
from kakashi.core.config import EnvironmentConfig, _install
from kakashi.core.records import LogLevel

# The factories' defaults are the Rust core's (its option structs'), read
# once here so that the signatures show them.
_SETUP = _kakashi.FACTORY_DEFAULTS["setup_async_logging"]
_FAST = _kakashi.FACTORY_DEFAULTS["get_high_performance_logger"]
_NETWORK = _kakashi.FACTORY_DEFAULTS["get_network_logger"]

__all__ = [
    "setup_async_logging",
    "get_async_logger",
    "get_high_performance_logger",
    "get_network_logger",
    "get_async_structured_logger",
    "get_async_stats",
    "shutdown_async_backend",
    "configure_async_backend",
    "flush",
    "sync",
]


def setup_async_logging(
    environment: str = _SETUP["environment"],
    service_name: Optional[str] = None,
    version: Optional[str] = None,
    log_directory: Optional[str] = None,
    max_queue_size: int = _SETUP["max_queue_size"],
    worker_count: int = _SETUP["worker_count"],
    batch_size: int = _SETUP["batch_size"],
    *,
    rotation: Union[str, int, Sequence[str], None] = None,
    retention: Union[str, int, None] = None,
    compression: Optional[str] = None,
) -> EnvironmentConfig:
    """Installs an environment preset (``development``, ``production`` or
    ``testing``, or dev/prod/test) with an asynchronous global backend:
    console and ``<log_directory>/app.log`` outputs, each with its level and
    formatter, and ``service_name``/``version``/``environment`` in every
    record's context. ``production`` uses ``drop_oldest``, the others ``block``.
    ``rotation``, ``retention`` and ``compression`` manage the preset's files
    (as for ``get_high_performance_logger``). Returns the installed
    ``EnvironmentConfig``."""
    return _install(
        environment,
        service_name,
        version,
        log_directory,
        max_queue_size,
        worker_count,
        batch_size,
        rotation=rotation,
        retention=retention,
        compression=compression,
    )


def _check_is_async_config(async_config: Optional[AsyncConfig]) -> None:
    if async_config is not None and not isinstance(async_config, AsyncConfig):
        raise TypeError(f"async_config must be an AsyncConfig, got {type(async_config).__name__}")


def _apply_async_config(async_config: Optional[AsyncConfig]) -> None:
    # The core's apply_async_config: a new global backend only when the
    # settings differ from the current one's, so asking for loggers with the
    # same AsyncConfig again starts no more workers.
    _check_is_async_config(async_config)
    if async_config is not None:
        _kakashi.apply_async_config(async_config)


def get_async_logger(
    name: str,
    log_file: Optional[str] = None,
    formatter_type: str = "default",
    async_config: Optional[AsyncConfig] = None,
) -> Logger:
    """A logger on the global backend through the environment's outputs.
    ``log_file`` writes to ``<log_directory>/modules/<log_file>.log`` instead
    of ``app.log``; ``formatter_type="json"`` uses JSON for both outputs.
    ``async_config``, if given, first configures a new global backend."""
    _kakashi._check_formatter_type(formatter_type)  # before anything is reconfigured
    _apply_async_config(async_config)
    return Logger(_kakashi.env_logger(name, log_file, formatter_type))


def get_high_performance_logger(
    name: str,
    log_file: str,
    max_queue_size: int = _FAST["max_queue_size"],
    worker_count: int = _FAST["worker_count"],
    batch_size: int = _FAST["batch_size"],
    *,
    overflow_strategy: str = _FAST["overflow_strategy"],
    min_level: Any = LogLevel(_FAST["min_level"]),
    rotation: Union[str, int, Sequence[str], None] = None,
    retention: Union[str, int, None] = None,
    compression: Optional[str] = None,
) -> Logger:
    """A JSON file logger on its own backend: ``log_file`` is the literal path
    (opened now, so a bad path raises ``OSError`` here). ``overflow_strategy``
    defaults to the original's ``drop_oldest``; pass ``"block"`` to lose
    nothing. ``rotation`` (``"100 MB"``, ``"daily"``, ``"00:00"``, ``"6 hours"``,
    bytes as an int, or a size and a time), ``retention`` (a count of rotated
    files or an age, ``"7 days"``) and ``compression`` (``"gzip"``, ``"zstd"``)
    manage the file; a bad value raises ``ConfigError`` naming it."""
    return Logger(
        _kakashi.high_performance_logger(
            name,
            os.fspath(log_file),
            max_queue_size,
            worker_count,
            batch_size,
            overflow_strategy,
            min_level,
            rotation,
            retention,
            compression,
        )
    )


def get_network_logger(
    name: str,
    network_writer_func: Callable[[str], Any],
    max_queue_size: int = _NETWORK["max_queue_size"],
    batch_size: int = _NETWORK["batch_size"],
    max_retries: int = _NETWORK["max_retries"],
    *,
    retry_delay: float = _NETWORK["retry_delay"],
    overflow_strategy: str = _NETWORK["overflow_strategy"],
    min_level: Any = LogLevel(_NETWORK["min_level"]),
) -> Logger:
    """A logger whose JSON lines are handed, one call per record, to
    ``network_writer_func`` on a worker thread, in order. A call that raises
    is retried ``max_retries`` times, waiting ``retry_delay`` seconds and
    doubling; a record still failing is counted in ``messages_failed``."""
    return Logger(
        _kakashi.network_logger(
            name, network_writer_func, max_queue_size, batch_size, max_retries, retry_delay, overflow_strategy, min_level
        )
    )


def get_async_structured_logger(
    name: str,
    log_file: Optional[str] = None,
    async_config: Optional[AsyncConfig] = None,
    **default_fields: Any,
) -> Logger:
    """A JSON logger on the global backend with ``default_fields`` (such as
    ``service`` and ``version``) bound to every record; ``bind`` adds more.
    ``log_file`` and ``async_config`` mean what they mean for
    ``get_async_logger``. The Rust core's ``get_async_structured_logger``,
    which takes the same arguments."""
    _check_is_async_config(async_config)
    return Logger(_kakashi.async_structured_logger(name, log_file, async_config, default_fields))


def flush(timeout: Optional[float] = None) -> bool:
    """Waits until everything logged so far, on every backend, is written
    (or counted as failed or dropped) and flushed, at most ``timeout``
    seconds in total (default: the longest ``shutdown_timeout``). Returns
    False when that took longer."""
    return _kakashi.flush(timeout)


def sync(timeout: Optional[float] = None) -> bool:
    """``flush``, then every writer's data on to storage (``fsync`` for a
    file): ``flush`` reaches the operating system, ``sync`` the disk. At
    most ``timeout`` seconds for both (default 5). Returns False when that
    took longer or a sync failed."""
    return _kakashi.sync(timeout)
