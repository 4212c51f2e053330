"""The functional core: records, pipelines, the asynchronous backend and the
page's factory functions (see ``kakashi.core.async_interface``)."""

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
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.config import (
    EnvironmentConfig,
    clear_request_context,
    context_scope,
    set_custom_context,
    set_request_context,
    set_user_context,
)
from kakashi.core.pipeline import Pipeline, PipelineConfig
from kakashi.core.records import LogContext, LogLevel, LogRecord, create_log_record

get_legacy_async_logger = get_async_logger

__all__ = [
    "AsyncBackend",
    "AsyncConfig",
    "AsyncPipeline",
    "AsyncPipelineConfig",
    "ConfigError",
    "EnvironmentConfig",
    "LogContext",
    "LogLevel",
    "LogRecord",
    "Pipeline",
    "PipelineConfig",
    "clear_request_context",
    "configure_async_backend",
    "context_scope",
    "create_log_record",
    "flush",
    "get_async_logger",
    "get_async_stats",
    "get_async_structured_logger",
    "get_high_performance_logger",
    "get_legacy_async_logger",
    "get_network_logger",
    "set_custom_context",
    "set_request_context",
    "set_user_context",
    "setup_async_logging",
    "shutdown_async_backend",
    "shutdown_async_logging",
]
