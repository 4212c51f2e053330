"""Kakashi 0.2.2's ``StructuredLogger``: level methods plus helpers for
metrics, events, audits, requests and security events, each a record with
the original's field names.

The original wrote nothing unless given a pipeline, and its ``with_context``,
``with_trace``, ``with_user`` and ``with_request`` raised ``AttributeError``.
Here a ``StructuredLogger`` without a pipeline writes JSON through the global
backend (as ``get_structured_logger`` does), and the ``with_*`` methods
return loggers whose records carry the context or fields.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Optional

from kakashi import _kakashi
from kakashi._logger import Logger, _min_level_of
from kakashi.core.pipeline import DualPipeline
from kakashi.core.records import _CONTEXT_FIELDS, LogContext, LogLevel

__all__ = [
    "StructuredLogger",
    "create_structured_logger",
    "create_high_performance_structured_logger",
]


_SECURITY_LEVELS = {
    "debug": LogLevel.DEBUG,
    "info": LogLevel.INFO,
    "warning": LogLevel.WARNING,
    "error": LogLevel.ERROR,
    "critical": LogLevel.CRITICAL,
}


def _now_iso() -> str:
    """Now as an ISO 8601 UTC instant (the audit and security timestamps)."""
    return datetime.fromtimestamp(time.time(), tz=timezone.utc).isoformat()


class StructuredLogger(Logger):
    """``StructuredLogger(name, pipeline=None, min_level=INFO,
    include_source=False, include_thread_info=True, base_context=None)``.

    With ``pipeline`` (a ``Pipeline`` or ``AsyncPipeline``),
    records go there; without, they go as JSON through the global backend's
    environment outputs. ``include_source`` and ``include_thread_info`` are
    the pipeline's business here (its enrichers); they are accepted for the
    original's programs."""

    __slots__ = ()

    def __init__(  # noqa: super-init-not-called
        self,
        name: str,
        pipeline: Any = None,
        min_level: Any = LogLevel.INFO,
        include_source: bool = False,
        include_thread_info: bool = True,
        base_context: Optional[LogContext] = None,
    ) -> None:
        if not isinstance(name, str):
            raise TypeError(f"StructuredLogger name must be a str, got {type(name).__name__}")
        if pipeline is None:
            core = _kakashi.env_logger(name, None, "json")
        elif isinstance(pipeline, DualPipeline):
            raise TypeError("a StructuredLogger takes a Pipeline or an AsyncPipeline; for a dual pipeline use create_logger")
        elif callable(getattr(pipeline, "logger", None)):
            core = pipeline.logger(name)._core
        else:
            raise TypeError(
                f"pipeline must be a Pipeline, an AsyncPipeline or a dual pipeline, got {type(pipeline).__name__}"
            )
        if base_context is not None:
            core = core.with_context(base_context)
        Logger._setup(self, core, _min_level_of(min_level))

    # === helpers (the original's field names, before the caller's; a caller's
    # field of the same name wins, as in the original's dict merge, never a
    # TypeError into the logging call) ===

    def metric(self, name: str, value: Any, **fields: Any) -> None:
        """``"Metric: <name>"`` at INFO with ``metric_name``,
        ``metric_value`` and ``metric_type="gauge"``."""
        self.info(f"Metric: {name}", **{"metric_name": name, "metric_value": value, "metric_type": "gauge", **fields})

    def counter(self, name: str, increment: Any = 1, **fields: Any) -> None:
        """``"Counter: <name>"`` at INFO with ``counter_name``,
        ``counter_increment`` and ``metric_type="counter"``."""
        self.info(
            f"Counter: {name}",
            **{"counter_name": name, "counter_increment": increment, "metric_type": "counter", **fields},
        )

    def timer(self, operation: str, duration_ms: Any, **fields: Any) -> None:
        """``"Timer: <operation>"`` at INFO with ``operation``,
        ``duration_ms`` and ``metric_type="timer"``."""
        self.info(
            f"Timer: {operation}", **{"operation": operation, "duration_ms": duration_ms, "metric_type": "timer", **fields}
        )

    def event(self, name: str, **fields: Any) -> None:
        """``"Event: <name>"`` at INFO with ``event_name`` and
        ``event_type="custom"`` (a caller's ``event_type`` wins)."""
        self.info(f"Event: {name}", **{"event_name": name, "event_type": "custom", **fields})

    def audit(self, action: str, resource: str, **fields: Any) -> None:
        """``"Audit: <action> on <resource>"`` at INFO with
        ``audit_action``, ``audit_resource`` and ``audit_timestamp`` (ISO
        8601, UTC)."""
        self.info(
            f"Audit: {action} on {resource}",
            **{"audit_action": action, "audit_resource": resource, "audit_timestamp": _now_iso(), **fields},
        )

    def request(self, method: str, path: str, status_code: int, duration_ms: Any, **fields: Any) -> None:
        """``"<METHOD> <path> <status>"``, at ERROR when ``status_code`` is
        400 or more, else INFO, with ``http_method``, ``http_path``,
        ``http_status_code`` and ``http_duration_ms``."""
        log = self.error if status_code >= 400 else self.info
        log(
            f"{method} {path} {status_code}",
            **{
                "http_method": method,
                "http_path": path,
                "http_status_code": status_code,
                "http_duration_ms": duration_ms,
                **fields,
            },
        )

    def security(self, event_type: str, severity: str = "info", **fields: Any) -> None:
        """``"Security: <event_type>"`` at the level ``severity`` names
        (``info``, ``warning``, ``error``, ``critical``; anything else
        INFO), with ``security_event_type``, ``security_severity`` and
        ``security_timestamp``."""
        level = _SECURITY_LEVELS.get(str(severity).lower(), LogLevel.INFO)
        self.log(
            level,
            f"Security: {event_type}",
            **{
                "security_event_type": event_type,
                "security_severity": severity,
                "security_timestamp": _now_iso(),
                **fields,
            },
        )

    # === context (the original's signatures; its versions raised) ===

    def with_context(self, context: Any = None, **values: Any) -> "StructuredLogger":  # type: ignore[override]
        """A logger whose records carry ``values`` in their context: the
        ``LogContext`` field names (``request_id``, ``user_id``, ...) as
        those fields, other keys as custom context keys. A ``LogContext``
        may be passed instead."""
        if context is None:
            named = {k: values.pop(k) for k in list(values) if k in _CONTEXT_FIELDS}
            context = LogContext(**{k: None if v is None else str(v) for k, v in named.items()}, custom=values)
        elif values:
            raise TypeError("with_context takes a LogContext or keyword values, not both")
        return self._derive(self._core.with_context(context))  # type: ignore[return-value]

    def with_trace(self, trace_id: str, span_id: Optional[str] = None) -> "StructuredLogger":
        """A logger whose records carry ``trace_id`` (and ``span_id``) in
        their context."""
        values = {"trace_id": trace_id} if span_id is None else {"trace_id": trace_id, "span_id": span_id}
        return self.with_context(**values)

    def with_user(self, user_id: Any, **fields: Any) -> "StructuredLogger":
        """A logger whose records carry ``user_id`` in their context and
        ``fields`` as fields."""
        return self.with_context(user_id=user_id).bind(**fields)  # type: ignore[return-value]

    def with_request(self, request_id: Any, **fields: Any) -> "StructuredLogger":
        """A logger whose records carry ``request_id`` in their context and
        ``fields`` as fields."""
        return self.with_context(request_id=request_id).bind(**fields)  # type: ignore[return-value]


def create_structured_logger(
    name: str,
    pipeline: Any = None,
    min_level: Any = LogLevel.INFO,
    include_source: bool = False,
    include_thread_info: bool = True,
    base_context: Optional[LogContext] = None,
) -> StructuredLogger:
    """``StructuredLogger(...)`` with the same arguments."""
    return StructuredLogger(name, pipeline, min_level, include_source, include_thread_info, base_context)


def create_high_performance_structured_logger(
    name: str, pipeline: Any = None, min_level: Any = LogLevel.INFO
) -> StructuredLogger:
    """A ``StructuredLogger`` (source and thread info are the pipeline's)."""
    return StructuredLogger(name, pipeline, min_level, False, False)
