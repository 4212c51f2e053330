"""``AsyncPipeline``: a ``PipelineConfig`` run by its own asynchronous backend.

Unlike the original (whose backend never started), the workers start when the
pipeline is built. ``enable_async=False`` runs every record on the caller's
thread; ``fallback_to_sync`` decides what happens to records logged after
``shutdown()``: written on the caller's thread (True) or counted as dropped.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional

from kakashi import _kakashi
from kakashi._logger import Logger
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.pipeline import (
    DualPipeline,
    PipelineConfig,
    _default_enrichers,
    default_json_formatter,
    exception_enricher,
    file_writer,
    simple_text_formatter,
    console_writer,
    thread_enricher,
)
from kakashi.core.records import LogLevel, LogRecord

__all__ = [
    "AsyncPipelineConfig",
    "AsyncPipeline",
    "create_async_console_pipeline",
    "create_async_file_pipeline",
    "create_async_dual_pipeline",
    "create_high_performance_pipeline",
    "create_network_pipeline",
]


@dataclass(frozen=True)
class AsyncPipelineConfig:
    """A pipeline config, an async config, and how they combine."""

    pipeline_config: PipelineConfig
    async_config: AsyncConfig = field(default_factory=AsyncConfig)
    enable_async: bool = True
    fallback_to_sync: bool = True
    enable_enricher_batching: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.pipeline_config, PipelineConfig):
            raise TypeError(
                f"pipeline_config must be a PipelineConfig, got {type(self.pipeline_config).__name__}"
            )
        if not isinstance(self.async_config, AsyncConfig):
            raise TypeError(
                f"async_config must be an AsyncConfig, got {type(self.async_config).__name__}"
            )


class AsyncPipeline:
    """A pipeline with its own queue and workers, started now.

    ``logger(name)`` gives a logger feeding it; ``process(record)`` accepts a
    hand-built ``LogRecord``. Call ``shutdown()`` to drain it; it is also
    drained at interpreter exit."""

    def __init__(self, config: AsyncPipelineConfig, backend: Any = None) -> None:
        if backend is not None:
            raise TypeError("AsyncPipeline runs its own backend; pass settings in config.async_config")
        self.config = config
        self._engine = _kakashi.async_pipeline(
            config.pipeline_config,
            config.async_config,
            bool(config.enable_async),
            bool(config.fallback_to_sync),
        )
        self._started = time.monotonic()

    def logger(self, name: str) -> Logger:
        """A logger named ``name`` feeding this pipeline."""
        return Logger(self._engine.logger(name))

    def process(self, record: LogRecord) -> None:
        """Accepts a ``LogRecord`` (the original's entry point)."""
        self._engine.process(record)

    def with_enricher(self, enricher: Callable[[LogRecord], LogRecord]) -> "AsyncPipeline":
        """A new asynchronous pipeline (with its own workers) with
        ``enricher`` appended."""
        stages = self.config.pipeline_config
        return AsyncPipeline(
            dataclasses.replace(
                self.config, pipeline_config=dataclasses.replace(stages, enrichers=stages.enrichers + (enricher,))
            )
        )

    def with_filter(self, filter: Callable[[LogRecord], bool]) -> "AsyncPipeline":
        """A new asynchronous pipeline (with its own workers) with ``filter``
        appended."""
        stages = self.config.pipeline_config
        return AsyncPipeline(
            dataclasses.replace(
                self.config, pipeline_config=dataclasses.replace(stages, filters=stages.filters + (filter,))
            )
        )

    def get_stats(self) -> Dict[str, Any]:
        """This pipeline's backend counters."""
        return dict(self._engine.get_stats())

    def get_performance_stats(self) -> Dict[str, Any]:
        """The original's keys: ``messages_processed``, ``elapsed_time``,
        ``throughput_msg_per_sec``, ``backend_stats``."""
        stats = self.get_stats()
        elapsed = time.monotonic() - self._started
        processed = stats["messages_submitted"]
        return {
            "messages_processed": processed,
            "elapsed_time": elapsed,
            "throughput_msg_per_sec": processed / elapsed if elapsed > 0 else 0.0,
            "backend_stats": stats,
        }

    def flush(self) -> bool:
        """Waits until everything accepted so far is written and flushed."""
        return self._engine.flush()

    def shutdown(self, timeout: float = 5.0) -> _kakashi.ShutdownReport:
        """Drains, flushes and joins the workers; returns a ``ShutdownReport``."""
        return self._engine.shutdown(timeout)


def create_async_console_pipeline(
    min_level: LogLevel = LogLevel.INFO,
    formatter: Callable[[LogRecord], str] = simple_text_formatter,
    include_thread_info: bool = True,
    async_config: Optional[AsyncConfig] = None,
) -> AsyncPipeline:
    """An async pipeline to standard output."""
    enrichers = _default_enrichers(include_thread_info)
    return AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(min_level, enrichers, (), formatter, (console_writer,)),
            async_config or AsyncConfig(),
        )
    )


def create_async_file_pipeline(
    file_path: Any,
    min_level: LogLevel = LogLevel.DEBUG,
    formatter: Callable[[LogRecord], str] = default_json_formatter,
    include_thread_info: bool = True,
    async_config: Optional[AsyncConfig] = None,
) -> AsyncPipeline:
    """An async pipeline appending to ``file_path``."""
    enrichers = _default_enrichers(include_thread_info)
    return AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(min_level, enrichers, (), formatter, (file_writer(file_path),)),
            async_config or AsyncConfig(),
        )
    )


def create_async_dual_pipeline(
    file_path: Any,
    console_level: LogLevel = LogLevel.INFO,
    file_level: LogLevel = LogLevel.DEBUG,
    console_formatter: Callable[[LogRecord], str] = simple_text_formatter,
    file_formatter: Callable[[LogRecord], str] = default_json_formatter,
    async_config: Optional[AsyncConfig] = None,
) -> DualPipeline:
    """Asynchronous console and file pipelines, each with its own level and
    formatter (the original gave both the file's formatter and level)."""
    return DualPipeline(
        create_async_console_pipeline(console_level, console_formatter, True, async_config),
        create_async_file_pipeline(file_path, file_level, file_formatter, True, async_config),
    )


def create_high_performance_pipeline(
    file_path: Any,
    min_level: LogLevel = LogLevel.INFO,
    max_queue_size: int = 50000,
    worker_count: int = 2,
    batch_size: int = 500,
    enable_batching: bool = True,
) -> AsyncPipeline:
    """The original's high-performance pipeline: exception enricher, JSON,
    one file; ``drop_oldest``, batch timeout 0.05 s."""
    return AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(min_level, (exception_enricher,), (), default_json_formatter, (file_writer(file_path),)),
            AsyncConfig(
                max_queue_size=max_queue_size,
                worker_count=worker_count,
                batch_size=batch_size,
                batch_timeout=0.05,
                enable_batching=enable_batching,
                queue_overflow_strategy="drop_oldest",
            ),
        )
    )


def create_network_pipeline(
    network_writer: Callable[[str], None],
    min_level: LogLevel = LogLevel.INFO,
    async_config: Optional[AsyncConfig] = None,
) -> AsyncPipeline:
    """JSON records handed to ``network_writer`` on one worker, in order,
    with retries (default: queue 20000, batch 100, 5 retries from 0.5 s,
    ``drop_oldest``)."""
    config = async_config or AsyncConfig(
        max_queue_size=20000,
        worker_count=1,
        batch_size=100,
        max_error_retries=5,
        error_retry_delay=0.5,
        queue_overflow_strategy="drop_oldest",
    )
    return AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(min_level, (thread_enricher, exception_enricher), (), default_json_formatter, (network_writer,)),
            config,
        )
    )
