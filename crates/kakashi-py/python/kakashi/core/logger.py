"""Kakashi 0.2.2's "fast logger" API (its README's ``get_logger`` and
``get_async_logger``, ``Logger``, ``AsyncLogger``, ``LogFormatter``), on the
engine.

The original's fast logger printed ``"<epoch> [LEVEL] name: message k=v"``
to stderr from a per-thread buffer that lost up to 9 lines per thread at
exit, and its ``AsyncLogger`` silently dropped records once 10,000 were
queued. Here both are kakashi loggers on the global backend: records go
through the environment's outputs (``setup_logging``/``setup_async_logging``;
before any setup, JSON lines on standard output), every accepted record is
written by ``flush()`` or at exit, and ``exception()`` always attaches the
exception being handled. ``LogFormatter`` still formats the original's text
line for programs that call it themselves.
"""

from __future__ import annotations

import os
import time
from typing import Any, Dict, Optional

from kakashi._logger import AsyncLogger, Logger, _min_level_of
from kakashi.core._global_backend import shutdown_async_logging
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_interface import get_async_logger as _env_logger

__all__ = [
    "Logger",
    "AsyncLogger",
    "LogFormatter",
    "get_logger",
    "get_async_logger",
    "shutdown_async_logging",
    "LOG_LEVEL_DEBUG",
    "LOG_LEVEL_INFO",
    "LOG_LEVEL_WARNING",
    "LOG_LEVEL_ERROR",
    "LOG_LEVEL_CRITICAL",
]

LOG_LEVEL_DEBUG = 10
LOG_LEVEL_INFO = 20
LOG_LEVEL_WARNING = 30
LOG_LEVEL_ERROR = 40
LOG_LEVEL_CRITICAL = 50

_LEVEL_NAMES = {10: "DEBUG", 20: "INFO", 30: "WARNING", 40: "ERROR", 50: "CRITICAL"}


class LogFormatter:
    """The original fast logger's text line:
    ``"<int epoch seconds> [LEVEL] name: message"`` and ``" k=v"`` per field
    (an unknown level prints as ``UNKNOWN``)."""

    def format_message(
        self, level: int, message: Any, logger_name: str, fields: Optional[Dict[str, Any]] = None
    ) -> str:
        """The line for one record, without a newline."""
        line = f"{int(time.time())} [{_LEVEL_NAMES.get(level, 'UNKNOWN')}] {logger_name}: {message}"
        if fields:
            line += "".join(f" {k}={v}" for k, v in fields.items())
        return line


def _split_second_argument(function: str, second: Any, min_level: Any) -> "tuple[Optional[str], Optional[int]]":
    """``(log_file, min_level)`` from the second positional argument of
    ``get_logger``/``get_async_logger``: an int level (a ``LogLevel``) is
    Kakashi 0.2.2's ``min_level``, a str (or None) the environment logger's
    ``log_file``; anything else is a ``TypeError``."""
    if isinstance(second, int) and not isinstance(second, bool):
        if min_level is not None:
            raise TypeError(f"{function}() got min_level twice (as the second argument and as a keyword)")
        return None, _min_level_of(second)
    if second is not None and not isinstance(second, (str, os.PathLike)):
        raise TypeError(
            f"{function}(name, log_file=None, formatter_type='default', *, min_level=None): the second "
            f"argument is log_file (a str) or Kakashi 0.2.2's min_level (an int level), got {type(second).__name__}"
        )
    log_file = os.fspath(second) if second is not None else None
    return log_file, (None if min_level is None else _min_level_of(min_level))


def get_logger(
    name: str,
    log_file: Any = None,
    formatter_type: str = "default",
    *,
    min_level: Optional[int] = None,
) -> Logger:
    """A logger on the global backend through the environment's outputs.

    Both call styles work: ``get_logger(name, log_file=None,
    formatter_type="default")`` (``log_file`` writes to
    ``<log_directory>/modules/<log_file>.log``) and Kakashi 0.2.2's
    ``get_logger(name, min_level=20)``: an int (or ``LogLevel``) second
    argument, or the ``min_level`` keyword, is the logger's own minimum
    level. Any other type of second argument raises ``TypeError``."""
    log_file, level = _split_second_argument("get_logger", log_file, min_level)
    logger = _env_logger(name, log_file, formatter_type)
    return logger if level is None else Logger._wrap(logger, level)


def get_async_logger(
    name: str,
    log_file: Any = None,
    formatter_type: str = "default",
    async_config: Optional[AsyncConfig] = None,
    *,
    min_level: Optional[int] = None,
) -> Logger:
    """``get_logger``, and ``async_config`` (if given) first configures a
    new global backend. Kakashi 0.2.2's ``get_async_logger(name,
    min_level=20)`` works too. Returns an ``AsyncLogger``, which is a
    ``Logger`` (every kakashi logger is asynchronous)."""
    log_file, level = _split_second_argument("get_async_logger", log_file, min_level)
    logger = _env_logger(name, log_file, formatter_type, async_config)
    return AsyncLogger._wrap(logger, level or 0)
