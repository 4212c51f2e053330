"""What a log event is: ``LogLevel``, ``LogContext`` and ``LogRecord``.

These are the original's types with its field names and order. Records made
by a logging call live in the Rust engine; a ``LogRecord`` is built only when
a Python enricher, filter or formatter asks for one, or by hand for
``Pipeline.process``.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from datetime import datetime as _datetime
from datetime import timezone as _timezone
from enum import IntEnum
from typing import Any, Dict, Optional

from kakashi import _kakashi

__all__ = [
    "LogLevel",
    "LogContext",
    "LogRecord",
    "ExceptionInfo",
    "create_log_record",
]


class LogLevel(IntEnum):
    """Severity, with the original's values: DEBUG=10 ... CRITICAL=50."""

    DEBUG = 10
    INFO = 20
    WARNING = 30
    ERROR = 40
    CRITICAL = 50

    @classmethod
    def from_name(cls, name: str) -> "LogLevel":
        """The level called ``name`` (any case); ``KeyError`` if there is none."""
        return cls[name.upper()]


_CONTEXT_FIELDS = (
    "ip",
    "access",
    "user_agent",
    "request_id",
    "user_id",
    "session_id",
    "service_name",
    "version",
    "environment",
)


@dataclass(frozen=True)
class LogContext:
    """Request and service context attached to records (the original's fields
    and order; ``custom`` keys are flattened into the JSON ``context``)."""

    ip: Optional[str] = None
    access: Optional[str] = None
    user_agent: Optional[str] = None
    request_id: Optional[str] = None
    user_id: Optional[str] = None
    session_id: Optional[str] = None
    service_name: Optional[str] = None
    version: Optional[str] = None
    environment: Optional[str] = None
    custom: Optional[Dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        custom = dict(self.custom) if self.custom else {}
        object.__setattr__(self, "custom", custom)
        # The engine's copy, built once here rather than at every logging call.
        object.__setattr__(
            self,
            "_core",
            _kakashi.Context(*(getattr(self, f) for f in _CONTEXT_FIELDS), custom=custom),
        )

    def merge(self, other: Optional["LogContext"]) -> "LogContext":
        """A context with ``other``'s set values over this one's (an empty or
        None value does not override); ``custom`` dicts are merged."""
        if other is None:
            return self
        values = {f: getattr(other, f) or getattr(self, f) for f in _CONTEXT_FIELDS}
        custom = {**(self.custom or {}), **(other.custom or {})}
        return LogContext(**values, custom=custom or None)

    def with_custom(self, **kwargs: Any) -> "LogContext":
        """A copy with ``kwargs`` added to ``custom``."""
        return dataclasses.replace(self, custom={**(self.custom or {}), **kwargs})


class ExceptionInfo:
    """An exception as recorded by the engine: its type name and message
    (what a Python stage sees in ``LogRecord.exception``)."""

    __slots__ = ("type_name", "message")

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{self.type_name}({self.message!r})"


@dataclass(frozen=True)
class LogRecord:
    """One log event, with the original's fields in its order."""

    timestamp: float
    level: LogLevel
    logger_name: str
    message: str
    fields: Optional[Dict[str, Any]] = None
    context: Optional[LogContext] = None
    exception: Optional[Any] = None
    exception_traceback: Optional[str] = None
    module: Optional[str] = None
    function: Optional[str] = None
    line_number: Optional[int] = None
    thread_id: Optional[int] = None
    thread_name: Optional[str] = None
    process_id: Optional[int] = None

    def __post_init__(self) -> None:
        if self.fields is not None:
            object.__setattr__(self, "fields", dict(self.fields))

    @property
    def datetime(self) -> _datetime:
        """The timestamp as an aware UTC datetime (never naive local time)."""
        return _datetime.fromtimestamp(self.timestamp, tz=_timezone.utc)

    @property
    def level_name(self) -> str:
        """``"INFO"``, ``"ERROR"``, ..."""
        return LogLevel(self.level).name

    def with_context(self, context: LogContext) -> "LogRecord":
        """A copy whose context is this one's merged with ``context`` (which wins)."""
        merged = self.context.merge(context) if self.context else context
        return dataclasses.replace(self, context=merged)

    def with_fields(self, **fields: Any) -> "LogRecord":
        """A copy with ``fields`` added."""
        return dataclasses.replace(self, fields={**(self.fields or {}), **fields})

    def to_dict(self) -> Dict[str, Any]:
        """The JSON body, in the original's key order (what
        ``default_json_formatter`` writes)."""
        import json

        return json.loads(_kakashi.default_json_formatter(self))


def create_log_record(
    level: Any,
    logger_name: str,
    message: str,
    *,
    timestamp: Optional[float] = None,
    fields: Optional[Dict[str, Any]] = None,
    context: Optional[LogContext] = None,
    exception: Optional[BaseException] = None,
    exception_traceback: Optional[str] = None,
    module: Optional[str] = None,
    function: Optional[str] = None,
    line_number: Optional[int] = None,
    thread_id: Optional[int] = None,
    thread_name: Optional[str] = None,
    process_id: Optional[int] = None,
) -> LogRecord:
    """A ``LogRecord``; ``level`` may be a ``LogLevel``, an int or a name, and
    ``timestamp`` defaults to now."""
    if isinstance(level, str):
        lvl = LogLevel.from_name(level)
    else:
        lvl = LogLevel(level)
    return LogRecord(
        timestamp=time.time() if timestamp is None else timestamp,
        level=lvl,
        logger_name=logger_name,
        message=message,
        fields=fields,
        context=context,
        exception=exception,
        exception_traceback=exception_traceback,
        module=module,
        function=function,
        line_number=line_number,
        thread_id=thread_id,
        thread_name=thread_name,
        process_id=process_id,
    )


# The engine builds these types for Python stages; it never imports the package.
_kakashi._register_types(
    LogRecord=LogRecord, LogContext=LogContext, LogLevel=LogLevel, ExceptionInfo=ExceptionInfo
)
