"""The functional core: records, pipelines, the asynchronous backend and the
page's factory functions (see ``kakashi.core.async_interface``), and the
rest of Kakashi 0.2.2's ``kakashi.core`` names that mean something on this
engine. The original's names that do not (its network sinks, sink
pipelines and platform formatters, ...) raise ``NotImplementedError`` when
imported, naming what to use instead."""

from typing import Any

from kakashi._logger import AsyncLogger, Logger
from kakashi.core._global_backend import shutdown_async_logging
from kakashi.core.async_backend import AsyncBackend, AsyncConfig, ConfigError
from kakashi.core.async_interface import (
    configure_async_backend,
    flush,
    get_async_logger,
    get_async_stats,
    get_async_structured_logger,
    get_high_performance_logger,
    get_network_logger,
    setup_async_logging,
    shutdown_async_backend,
)
from kakashi.core.async_pipeline import (
    AsyncPipeline,
    AsyncPipelineConfig,
    create_async_console_pipeline,
    create_async_dual_pipeline,
    create_async_file_pipeline,
    create_high_performance_pipeline,
    create_network_pipeline,
)
from kakashi.core.config import (
    EnvironmentConfig,
    LoggerConfig,
    clear_request_context,
    context_scope,
    development_config,
    get_environment_config,
    production_config,
    set_custom_context,
    set_environment_config,
    set_request_context,
    set_user_context,
    setup_environment,
    testing_config,
)
from kakashi.core.functional_logger import BoundLogger, FunctionalLogger, create_logger, create_request_logger
from kakashi.core.interface import (
    clear_logger_cache,
    configure_colors,
    create_custom_logger,
    disable_colors,
    enable_bright_colors,
    get_legacy_logger,
    get_request_logger,
    get_structured_logger,
    set_log_level,
    setup_logging,
)
from kakashi.core.pipeline import (
    DualPipeline,
    Pipeline,
    PipelineConfig,
    compact_formatter,
    console_writer,
    context_enricher,
    create_console_pipeline,
    create_dual_pipeline,
    create_file_pipeline,
    default_json_formatter,
    detailed_formatter,
    exception_enricher,
    field_filter,
    file_writer,
    level_filter,
    logger_name_filter,
    null_writer,
    simple_text_formatter,
    stderr_writer,
    thread_enricher,
)
from kakashi.core.records import LogContext, LogLevel, LogRecord, create_log_record
from kakashi.core.sinks import ConsoleSink, FileSink, NullSink, RotatingFileSink, Sink, SinkResult
from kakashi.core.structured_formatters import optimized_json_formatter
from kakashi.core.structured_logger import (
    StructuredLogger,
    create_high_performance_structured_logger,
    create_structured_logger,
)

get_legacy_async_logger = get_async_logger


class PerformanceLogger(Logger):
    """Kakashi 0.2.2's ``PerformanceLogger``: an environment logger with
    ``debug_fast``/``info_fast``/``warning_fast``/``error_fast(message)``
    (no fields)."""

    __slots__ = ()

    def __init__(self, name: str) -> None:  # noqa: super-init-not-called
        Logger._setup(self, get_legacy_logger(name)._core, 0)

    def debug_fast(self, message: Any) -> None:
        """``debug(message)``."""
        self.debug(message)

    def info_fast(self, message: Any) -> None:
        """``info(message)``."""
        self.info(message)

    def warning_fast(self, message: Any) -> None:
        """``warning(message)``."""
        self.warning(message)

    def error_fast(self, message: Any) -> None:
        """``error(message)``."""
        self.error(message)


def get_performance_logger(name: str) -> PerformanceLogger:
    """``PerformanceLogger(name)``."""
    return PerformanceLogger(name)


_USE_WRITERS = (
    "a pipeline with several writers (PipelineConfig(writers=(...))), filters to route, "
    "and get_network_logger(send) for a network destination"
)
_USE_FORMATTER = "default_json_formatter, optimized_json_formatter, or your own formatter callable in PipelineConfig"

#: Kakashi 0.2.2's ``kakashi.core`` names with no meaning on this engine, and what to use instead.
NOT_PROVIDED = {
    **dict.fromkeys(
        (
            "UDPSink",
            "TCPSink",
            "HTTPSink",
            "BufferedSink",
            "ConditionalSink",
            "create_elasticsearch_sink",
            "create_splunk_sink",
            "SinkRegistry",
            "get_sink_registry",
            "SinkPipeline",
            "SinkPipelineConfig",
            "create_multi_sink_pipeline",
            "create_conditional_routing_pipeline",
            "create_log_shipping_pipeline",
            "create_level_router",
            "create_field_router",
            "create_context_router",
            "SinkType",
            "SinkSpec",
            "SinkLoggerConfig",
            "SinkEnvironmentConfig",
            "development_sink_config",
            "production_sink_config",
            "microservices_sink_config",
            "high_performance_sink_config",
            "create_sink_logger_config",
        ),
        _USE_WRITERS,
    ),
    **dict.fromkeys(
        (
            "minimal_json_formatter",
            "elk_stack_formatter",
            "splunk_formatter",
            "prometheus_logs_formatter",
            "datadog_formatter",
            "opentelemetry_formatter",
            "ultra_compact_formatter",
            "binary_efficient_formatter",
        ),
        _USE_FORMATTER,
    ),
    "StructuredLogEntry": "StructuredLogger (records are built by the engine)",
    "BoundStructuredLogger": "StructuredLogger.with_context(...) / with_trace / with_user / with_request",
    "StructuredAsyncBackend": "get_async_structured_logger (every kakashi logger is asynchronous)",
    "setup_structured_async_backend": "get_async_structured_logger (every kakashi logger is asynchronous)",
    "benchmark_async_vs_sync": "the benchmark harness (bench/python/run.sh)",
    "benchmark_async_performance": "the benchmark harness (bench/python/run.sh)",
}


def __getattr__(name: str) -> Any:
    hint = NOT_PROVIDED.get(name)
    if hint is None:
        raise AttributeError(f"module 'kakashi.core' has no attribute {name!r}")
    raise NotImplementedError(f"kakashi.core.{name} (Kakashi 0.2.2) is not provided by kakashi; use {hint}")


__all__ = [
    "AsyncBackend",
    "AsyncConfig",
    "AsyncLogger",
    "AsyncPipeline",
    "AsyncPipelineConfig",
    "BoundLogger",
    "ConfigError",
    "ConsoleSink",
    "DualPipeline",
    "EnvironmentConfig",
    "FileSink",
    "FunctionalLogger",
    "LogContext",
    "LogLevel",
    "LogRecord",
    "Logger",
    "LoggerConfig",
    "NullSink",
    "PerformanceLogger",
    "Pipeline",
    "PipelineConfig",
    "RotatingFileSink",
    "Sink",
    "SinkResult",
    "StructuredLogger",
    "clear_logger_cache",
    "clear_request_context",
    "compact_formatter",
    "configure_async_backend",
    "configure_colors",
    "console_writer",
    "context_enricher",
    "context_scope",
    "create_async_console_pipeline",
    "create_async_dual_pipeline",
    "create_async_file_pipeline",
    "create_console_pipeline",
    "create_custom_logger",
    "create_dual_pipeline",
    "create_file_pipeline",
    "create_high_performance_pipeline",
    "create_high_performance_structured_logger",
    "create_log_record",
    "create_logger",
    "create_network_pipeline",
    "create_request_logger",
    "create_structured_logger",
    "default_json_formatter",
    "detailed_formatter",
    "development_config",
    "disable_colors",
    "enable_bright_colors",
    "exception_enricher",
    "field_filter",
    "file_writer",
    "flush",
    "get_async_logger",
    "get_async_stats",
    "get_async_structured_logger",
    "get_environment_config",
    "get_high_performance_logger",
    "get_legacy_async_logger",
    "get_legacy_logger",
    "get_network_logger",
    "get_performance_logger",
    "get_request_logger",
    "get_structured_logger",
    "level_filter",
    "logger_name_filter",
    "null_writer",
    "optimized_json_formatter",
    "production_config",
    "set_custom_context",
    "set_environment_config",
    "set_log_level",
    "set_request_context",
    "set_user_context",
    "setup_async_logging",
    "setup_environment",
    "setup_logging",
    "shutdown_async_backend",
    "shutdown_async_logging",
    "simple_text_formatter",
    "stderr_writer",
    "testing_config",
    "thread_enricher",
]
