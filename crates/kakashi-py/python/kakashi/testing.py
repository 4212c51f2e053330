"""Test helpers: capture what a logger writes, in memory, synchronously.

    from kakashi.testing import capture

    with capture() as logs:
        log = logs.logger("payments")
        log.warning("card declined", order=42)
    assert logs.records[0]["fields"] == {"order": 42}

The captured logger runs its pipeline on the calling thread
(``enable_async=False``), so each record is in ``lines``/``records`` when the
call returns: no flush, no sleep.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Optional

from kakashi._logger import Logger
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, default_json_formatter
from kakashi.core.records import LogLevel

__all__ = ["Capture", "capture"]


class Capture:
    """Formatted lines kept in memory, with loggers that write them."""

    def __init__(
        self,
        min_level: Any = LogLevel.DEBUG,
        formatter: Optional[Callable[..., str]] = None,
        enrichers: tuple = (),
    ) -> None:
        self.lines: List[str] = []
        self._pipeline = AsyncPipeline(
            AsyncPipelineConfig(
                PipelineConfig(
                    min_level=min_level,
                    enrichers=enrichers,
                    formatter=formatter or default_json_formatter,
                    writers=(self.lines.append,),
                ),
                AsyncConfig(),
                enable_async=False,
            )
        )

    def logger(self, name: str = "test") -> Logger:
        """A logger whose records land in this capture."""
        return self._pipeline.logger(name)

    @property
    def records(self) -> List[Dict[str, Any]]:
        """The captured lines parsed as JSON (with the default formatter)."""
        return [json.loads(line) for line in self.lines]

    def clear(self) -> None:
        """Forgets what was captured."""
        self.lines.clear()

    def close(self) -> None:
        """Stops the capture's backend."""
        self._pipeline.shutdown(timeout=5.0)

    def __enter__(self) -> "Capture":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def capture(min_level: Any = LogLevel.DEBUG, formatter: Optional[Callable[..., str]] = None) -> Capture:
    """A :class:`Capture` (use it as a context manager)."""
    return Capture(min_level=min_level, formatter=formatter)
