"""Kakashi 0.2.2's ``optimized_json_formatter``, as a pipeline formatter.

The original labelled local time with ``Z`` and raised on any record with a
context; this one writes the UTC instant and flattens the context. Its other
platform formatters (ELK, Splunk, Datadog, ...) are not provided: see
``kakashi.core`` for what to use instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Dict

from kakashi.core.records import _CONTEXT_FIELDS, LogRecord

__all__ = ["optimized_json_formatter"]



def optimized_json_formatter(record: LogRecord) -> str:
    """One JSON object: ``@timestamp`` (ISO 8601 UTC, ``Z``), ``level``,
    ``message``, the fields flattened at the top level, then the context's
    keys, ``thread`` (``id``, ``name``) and ``logger``. Values that are not
    JSON are stringified."""
    body: Dict[str, Any] = {
        "@timestamp": datetime.fromtimestamp(record.timestamp, tz=timezone.utc)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "level": record.level_name,
        "message": record.message,
    }
    if record.fields:
        body.update(record.fields)
    context = record.context
    if context is not None:
        for name in _CONTEXT_FIELDS:
            value = getattr(context, name)
            if value is not None:
                body[name] = value
        if context.custom:
            body.update(context.custom)
    if record.thread_id or record.thread_name:
        body["thread"] = {"id": record.thread_id, "name": record.thread_name}
    body["logger"] = record.logger_name
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str)
