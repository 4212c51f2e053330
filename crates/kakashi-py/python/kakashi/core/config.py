"""Environments and request context.

The current ``LogContext`` lives in a ``contextvars.ContextVar``, so it
follows each thread and each asyncio task. A logging call attaches it to its
record (merged under a context bound with ``Logger.with_context``).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any, Optional

from kakashi import _kakashi
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.records import LogContext, LogLevel

__all__ = [
    "EnvironmentConfig",
    "get_current_context",
    "set_current_context",
    "clear_current_context",
    "merge_current_context",
    "set_request_context",
    "set_user_context",
    "set_custom_context",
    "clear_request_context",
    "context_scope",
]

_current_context: "contextvars.ContextVar[Optional[LogContext]]" = contextvars.ContextVar(
    "current_context", default=None
)
_kakashi._set_context_var(_current_context)


@dataclass(frozen=True)
class EnvironmentConfig:
    """An environment's settings (the original's preset fields), as installed
    by ``setup_async_logging``."""

    environment: str = "development"
    console_level: LogLevel = LogLevel.INFO
    file_level: LogLevel = LogLevel.DEBUG
    log_directory: str = "logs"
    include_thread_info: bool = True
    include_source_location: bool = False
    service_name: Optional[str] = None
    version: Optional[str] = None
    enable_async_io: bool = True
    async_config: Optional[AsyncConfig] = None


def get_current_context() -> Optional[LogContext]:
    """The context of the current thread or task, or None."""
    return _current_context.get()


def set_current_context(context: Optional[LogContext]) -> None:
    """Replaces the current context."""
    if context is not None:
        if not isinstance(context, LogContext):
            raise TypeError(f"expected a LogContext, got {type(context).__name__}")
        _kakashi._context_used()
    _current_context.set(context)


def clear_current_context() -> None:
    """Removes the current context."""
    _current_context.set(None)


def merge_current_context(context: LogContext) -> None:
    """Merges ``context`` over the current one (its set values win)."""
    current = _current_context.get()
    set_current_context(current.merge(context) if current else context)


def set_request_context(ip: Optional[str] = None, access: Optional[str] = None) -> None:
    """Sets the client address and the request line (``"POST /api/users"``)."""
    merge_current_context(LogContext(ip=ip, access=access))


def set_user_context(user_id: Optional[str] = None, session_id: Optional[str] = None) -> None:
    """Sets the user and session."""
    merge_current_context(LogContext(user_id=user_id, session_id=session_id))


def set_custom_context(**kwargs: Any) -> None:
    """Adds custom keys (flattened into the JSON ``context``)."""
    merge_current_context(LogContext(custom=kwargs))


def clear_request_context() -> None:
    """Removes the current context."""
    clear_current_context()


class context_scope:
    """``with context_scope(LogContext(...)):`` merges the context for the
    block and restores the previous one after it."""

    def __init__(self, context: LogContext) -> None:
        self.context = context
        self._token: Any = None

    def __enter__(self) -> "context_scope":
        current = _current_context.get()
        _kakashi._context_used()
        self._token = _current_context.set(current.merge(self.context) if current else self.context)
        return self

    def __exit__(self, *exc: Any) -> None:
        _current_context.reset(self._token)
