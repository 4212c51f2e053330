"""``Logger``: what every factory returns, and what Kakashi 0.2.2 programs
construct themselves (``Logger("name")``, ``AsyncLogger("name", min_level=30)``)."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from kakashi import _kakashi

__all__ = ["Logger", "AsyncLogger"]

_LEVEL_METHOD_NAMES = ("debug", "info", "warning", "warn", "error", "critical", "fatal", "exception")

_LevelMethod = Callable[..., None]

# The level of each level method (the engine's functions carry their own).
_METHOD_LEVELS = {
    "debug": 10,
    "info": 20,
    "warning": 30,
    "warn": 30,
    "error": 40,
    "critical": 50,
    "fatal": 50,
    "exception": 40,
}


def _below_min_level(message: Any, **fields: Any) -> None:
    """A level method below the logger's own ``min_level``: logs nothing."""


def _min_level_of(min_level: Any) -> int:
    """The original's ``min_level``: an int level (a ``LogLevel`` is one)."""
    if isinstance(min_level, bool) or not isinstance(min_level, int):
        raise TypeError(
            f"min_level must be an int level (10, 20, 30, 40, 50 or a LogLevel), got {type(min_level).__name__}"
        )
    if min_level < 0:
        raise _kakashi.ConfigError(f"min_level must not be negative, got {min_level}")
    return int(min_level)


class Logger:
    """A named logger feeding one pipeline.

    ``debug``/``info``/``warning``/``warn``/``error``/``critical``/``fatal``
    take ``(message, **fields)``; ``exception`` also attaches the exception
    being handled. A call copies its arguments, enqueues the record and
    returns; it never raises because of a writer, enricher, filter or
    callback (those failures are counted in ``get_async_stats()``). Under
    ``block`` with a full queue it waits for room, without holding the GIL.

    ``Logger("name", min_level=20)`` (Kakashi 0.2.2's constructor, with its
    default INFO) makes a logger on the global backend, through the
    environment's outputs as ``get_logger("name")`` does; its own
    ``min_level`` is checked before the outputs' levels (a record is written
    when it passes both). The factories return ``Logger`` objects too (with
    no level of their own: the outputs' levels decide).
    """

    __slots__ = (
        "_core",
        "_min_level",
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

    def __init__(self, name: Any, min_level: Any = None) -> None:
        if isinstance(name, _kakashi.Logger):
            core, default = name, 0
        elif isinstance(name, str):
            # Kakashi 0.2.2's default min_level: INFO.
            core, default = _kakashi.env_logger(name, None, "default"), 20
        else:
            raise TypeError(f"Logger(name, min_level=20): name must be a str, got {type(name).__name__}")
        self._setup(core, default if min_level is None else _min_level_of(min_level))

    def _setup(self, core: Any, min_level: int) -> None:
        self._core = core
        self._min_level = min_level
        # The level methods are functions bound to the engine logger, held in
        # slots: a call goes straight to the engine (see
        # _kakashi.Logger._level_functions). A method below the logger's own
        # min_level is a function that does nothing, so the check costs no call.
        for method, function in core._level_functions():
            if _METHOD_LEVELS[method] < min_level:
                function = _below_min_level
            object.__setattr__(self, method, function)

    @classmethod
    def _wrap(cls, logger: Any, min_level: int = 0) -> Any:
        """A ``cls`` on the engine logger of ``logger`` (a ``Logger`` or an
        engine logger), with the higher of the two minimum levels."""
        if isinstance(logger, Logger):
            min_level = max(min_level, logger._min_level)
            logger = logger._core
        wrapped = object.__new__(cls)
        Logger._setup(wrapped, logger, min_level)
        return wrapped

    def _derive(self, core: Any) -> "Logger":
        """A logger of this class on ``core``, with this one's ``min_level``."""
        derived = object.__new__(type(self))
        Logger._setup(derived, core, self._min_level)
        return derived

    @property
    def name(self) -> str:
        """The logger's name."""
        return self._core.name

    @property
    def min_level(self) -> int:
        """The lowest level this logger writes: its own ``min_level`` or the
        pipeline's, whichever is higher (compare with ``LogLevel``)."""
        return max(self._core.min_level, self._min_level)

    def is_enabled_for(self, level: Any) -> bool:
        """Whether a record at ``level`` would be kept."""
        if not self._core.is_enabled_for(level):
            return False
        return self._min_level == 0 or _kakashi._check_level(level) >= self._min_level

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
        if self._min_level and _kakashi._check_level(level) < self._min_level:
            return
        self._core.log(level, message, fields=fields, exception=exception, **kwargs)

    def bind(self, **fields: Any) -> "Logger":
        """A logger like this one with ``fields`` added to every record."""
        return self._derive(self._core.bind(**fields))

    def with_fields(self, **fields: Any) -> "Logger":
        """Same as ``bind`` (the original's name)."""
        return self._derive(self._core.bind(**fields))

    def with_context(self, context: Any) -> "Logger":
        """A logger whose records carry ``context`` (a ``LogContext``),
        merged over the current request context (the bound one wins)."""
        return self._derive(self._core.with_context(context))

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until everything logged before the call is written and
        flushed; False if that took longer than ``timeout`` seconds."""
        return self._core.flush(timeout)

    def close(self, timeout: Optional[float] = None) -> bool:
        """Kakashi 0.2.2's ``close()``: ``flush``. The logger keeps working
        afterwards (its backend is shared and drains at exit)."""
        return self._core.flush(timeout)

    def __repr__(self) -> str:
        return repr(self._core)


class AsyncLogger(Logger):
    """Kakashi 0.2.2's ``AsyncLogger(name, min_level=20)``: every kakashi
    logger is asynchronous, so this is a ``Logger`` (same methods, same
    backend); nothing it accepts is dropped silently, ``flush()`` is a
    barrier, and it keeps logging after ``shutdown_async_logging()``."""

    __slots__ = ()


class _TeeLogger(Logger):
    """A logger whose records go to two loggers (a dual pipeline's console
    and file pipelines). Each record is copied twice, once per pipeline."""

    __slots__ = ("_second",)

    def __init__(self, first: Logger, second: Logger) -> None:  # noqa: super-init-not-called
        Logger._setup(self, first._core, first._min_level)
        self._second = second
        for method in _LEVEL_METHOD_NAMES:
            object.__setattr__(self, method, _tee(getattr(first, method), getattr(second, method)))

    def _first(self) -> Logger:
        return Logger._wrap(self._core, self._min_level)

    @property
    def min_level(self) -> int:
        return min(Logger.min_level.fget(self), self._second.min_level)  # type: ignore[attr-defined]

    def is_enabled_for(self, level: Any) -> bool:
        return self._first().is_enabled_for(level) or self._second.is_enabled_for(level)

    def log(self, level: Any, message: Any, **kwargs: Any) -> None:
        self._first().log(level, message, **kwargs)
        self._second.log(level, message, **kwargs)

    def bind(self, **fields: Any) -> "Logger":
        return _TeeLogger(self._first().bind(**fields), self._second.bind(**fields))

    def with_fields(self, **fields: Any) -> "Logger":
        return self.bind(**fields)

    def with_context(self, context: Any) -> "Logger":
        return _TeeLogger(self._first().with_context(context), self._second.with_context(context))

    def flush(self, timeout: Optional[float] = None) -> bool:
        first = self._core.flush(timeout)
        return self._second.flush(timeout) and first

    def close(self, timeout: Optional[float] = None) -> bool:
        return self.flush(timeout)


def _tee(first: _LevelMethod, second: _LevelMethod) -> _LevelMethod:
    def both(message: Any, **fields: Any) -> None:
        first(message, **fields)
        second(message, **fields)

    return both
