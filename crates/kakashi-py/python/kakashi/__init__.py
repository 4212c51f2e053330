"""kakashi: structured logging whose hot path never waits for I/O.

The API of the Python library Kakashi's "Async Backends" page, on a Rust
engine: pipelines of enrichers, filters, a formatter and writers; a bounded
queue drained in order by worker threads in batches; overflow strategies that
do what they say; honest statistics; and a drain at interpreter exit without
registering anything.

    from kakashi.core.async_interface import get_high_performance_logger

    logger = get_high_performance_logger("trading", log_file="trades.log")
    logger.info("Trade executed", symbol="AAPL", qty=100, price=187.5)
"""

from typing import Any, Optional

from kakashi import _kakashi  # noqa: F401  (first: the modules below use it)
from kakashi import _lifecycle  # noqa: F401  (exit drain, fork safety)
from kakashi.core.async_backend import AsyncConfig, ConfigError
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
    sync,
)
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.config import (
    clear_request_context,
    context_scope,
    set_custom_context,
    set_request_context,
    set_user_context,
)
from kakashi.core.pipeline import PipelineConfig
from kakashi.core.records import LogContext, LogLevel, LogRecord, create_log_record
from kakashi.signals import install_sigterm_handler, reopen_files, reopen_files_on_sighup

from kakashi._logger import Logger  # noqa: E402
from kakashi import config  # noqa: E402,F401  (kakashi.config.configure, set_level, ...)
ShutdownReport = _kakashi.ShutdownReport

LOG_LEVEL_DEBUG = 10
LOG_LEVEL_INFO = 20
LOG_LEVEL_WARNING = 30
LOG_LEVEL_ERROR = 40
LOG_LEVEL_CRITICAL = 50

# The Cargo workspace version, compiled into the extension (the distribution,
# kakashi-rs, has the same one: maturin takes it from Cargo).
__version__: str = _kakashi.__version__


def get_logger(name: str, log_file: Optional[str] = None, formatter_type: str = "default") -> Logger:
    """A logger on the global backend (see ``get_async_logger``): every
    kakashi logger is asynchronous."""
    return get_async_logger(name, log_file, formatter_type)


def get_structured_logger(name: str, log_file: Optional[str] = None, **default_fields: Any) -> Logger:
    """A JSON logger on the global backend with ``default_fields`` bound."""
    return get_async_structured_logger(name, log_file, **default_fields)


__all__ = [
    "AsyncConfig",
    "AsyncPipeline",
    "AsyncPipelineConfig",
    "ConfigError",
    "LogContext",
    "LogLevel",
    "LogRecord",
    "Logger",
    "PipelineConfig",
    "ShutdownReport",
    "LOG_LEVEL_DEBUG",
    "LOG_LEVEL_INFO",
    "LOG_LEVEL_WARNING",
    "LOG_LEVEL_ERROR",
    "LOG_LEVEL_CRITICAL",
    "clear_request_context",
    "configure_async_backend",
    "context_scope",
    "create_log_record",
    "flush",
    "sync",
    "get_async_logger",
    "get_async_stats",
    "get_async_structured_logger",
    "get_high_performance_logger",
    "get_logger",
    "get_network_logger",
    "get_structured_logger",
    "install_sigterm_handler",
    "reopen_files",
    "reopen_files_on_sighup",
    "set_custom_context",
    "set_request_context",
    "set_user_context",
    "setup_async_logging",
    "shutdown_async_backend",
]
