"""``Logger``: what every factory returns."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from kakashi import _kakashi

__all__ = ["Logger"]

_LevelMethod = Callable[..., None]


class Logger:
    """A named logger feeding one pipeline.

    ``debug``/``info``/``warning``/``warn``/``error``/``critical``/``fatal``
    take ``(message, **fields)``; ``exception`` also attaches the exception
    being handled. A call copies its arguments, enqueues the record and
    returns; it never raises because of a writer, enricher, filter or
    callback (those failures are counted in ``get_async_stats()``). Under
    ``block`` with a full queue it waits for room, without holding the GIL.
    """

    __slots__ = (
        "_core",
        "debug",
        "info",
        "warning",
        "warn",
        "error",
        "critical",
        "fatal",
        "exception",
        "__weakref__",
    )

    debug: _LevelMethod
    info: _LevelMethod
    warning: _LevelMethod
    warn: _LevelMethod
    error: _LevelMethod
    critical: _LevelMethod
    fatal: _LevelMethod
    exception: _LevelMethod

    def __init__(self, core: Any) -> None:
        if not isinstance(core, _kakashi.Logger):
            raise TypeError("Logger objects are made by the factories (get_logger, get_high_performance_logger, ...)")
        self._core = core
        # The level methods are functions bound to the engine logger, held in
        # slots: a call goes straight to the engine (see _kakashi.Logger._level_functions).
        for name, function in core._level_functions():
            object.__setattr__(self, name, function)

    @property
    def name(self) -> str:
        """The logger's name."""
        return self._core.name

    @property
    def min_level(self) -> int:
        """The pipeline's minimum level (compare with ``LogLevel``)."""
        return self._core.min_level

    def is_enabled_for(self, level: Any) -> bool:
        """Whether a record at ``level`` would be kept."""
        return self._core.is_enabled_for(level)

    def log(
        self,
        level: Any,
        message: Any,
        *,
        fields: Optional[Dict[str, Any]] = None,
        exception: Optional[BaseException] = None,
        **kwargs: Any,
    ) -> None:
        """Logs at ``level`` (a ``LogLevel``, an int or a name; anything else
        raises ``ValueError``). ``fields`` and ``**kwargs`` are merged (kwargs
        win); ``exception`` attaches an exception."""
        self._core.log(level, message, fields=fields, exception=exception, **kwargs)

    def bind(self, **fields: Any) -> "Logger":
        """A logger like this one with ``fields`` added to every record."""
        return Logger(self._core.bind(**fields))

    def with_fields(self, **fields: Any) -> "Logger":
        """Same as ``bind`` (the original's name)."""
        return Logger(self._core.bind(**fields))

    def with_context(self, context: Any) -> "Logger":
        """A logger whose records carry ``context`` (a ``LogContext``),
        merged over the current request context (the bound one wins)."""
        return Logger(self._core.with_context(context))

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until everything logged before the call is written and
        flushed; False if that took longer than ``timeout`` seconds."""
        return self._core.flush(timeout)

    def __repr__(self) -> str:
        return repr(self._core)
