"""Kakashi 0.2.2's functional loggers: ``FunctionalLogger(LoggerConfig)``,
``BoundLogger(logger, bound_fields, bound_context)``, ``create_logger`` and
``create_request_logger``.

Both classes are ``Logger``s (``isinstance(x, kakashi.Logger)``), with the
original's methods (``debug`` ... ``critical``, ``exception``, ``log``,
``is_enabled_for``, ``with_fields``, ``with_context``) on the engine: a record's exception is the one passed or, for
``exception()``, the one being handled (also without other fields).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from kakashi._logger import Logger, _TeeLogger
from kakashi.core.config import LoggerConfig
from kakashi.core.records import LogContext

__all__ = ["FunctionalLogger", "BoundLogger", "create_logger", "create_request_logger"]


def _logger_of(config: LoggerConfig) -> Logger:
    """The logger ``config`` describes: its pipeline's, with its base context."""
    if not isinstance(config, LoggerConfig):
        raise TypeError(f"expected a LoggerConfig, got {type(config).__name__}")
    logger = config.pipeline.logger(config.name)
    if config.base_context is not None:
        logger = logger.with_context(config.base_context)
    return logger


class FunctionalLogger(Logger):
    """``FunctionalLogger(config)``: a logger named ``config.name`` feeding
    ``config.pipeline``, its records carrying ``config.base_context``. Over
    a dual pipeline it is the dual pipeline's logger (a ``Logger`` whose
    records go to both pipelines)."""

    __slots__ = ()

    def __new__(cls, config: LoggerConfig) -> Any:
        logger = _logger_of(config)
        if isinstance(logger, _TeeLogger):
            return logger
        made = object.__new__(cls)
        Logger._setup(made, logger._core, logger._min_level)
        return made

    def __init__(self, config: LoggerConfig) -> None:  # noqa: super-init-not-called (made by __new__)
        pass


class BoundLogger(Logger):
    """``BoundLogger(logger, bound_fields=None, bound_context=None)``:
    ``logger`` with fields and a context added to every record (later
    ``with_fields``/``with_context`` accumulate)."""

    __slots__ = ()

    def __init__(  # noqa: super-init-not-called
        self,
        logger: Logger,
        bound_fields: Optional[Dict[str, Any]] = None,
        bound_context: Optional[LogContext] = None,
    ) -> None:
        if not isinstance(logger, Logger):
            raise TypeError(f"BoundLogger expects a kakashi Logger, got {type(logger).__name__}")
        core = logger._core.bind(**(bound_fields or {}))
        if bound_context is not None:
            core = core.with_context(bound_context)
        Logger._setup(self, core, logger._min_level)


def create_logger(config: LoggerConfig) -> FunctionalLogger:
    """``FunctionalLogger(config)``."""
    return FunctionalLogger(config)


def create_request_logger(
    name: str,
    config: LoggerConfig,
    request_id: str,
    user_id: Optional[str] = None,
    ip: Optional[str] = None,
    **additional_fields: Any,
) -> BoundLogger:
    """A logger of ``config`` (named ``name``) whose records carry
    ``request_id``, ``user_id`` and ``ip`` in their context and
    ``additional_fields`` as fields."""
    import dataclasses

    logger = FunctionalLogger(dataclasses.replace(config, name=name))
    context = LogContext(
        request_id=str(request_id),
        user_id=None if user_id is None else str(user_id),
        ip=None if ip is None else str(ip),
    )
    return BoundLogger(logger, additional_fields, context)
