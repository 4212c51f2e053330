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
from kakashi.core.pipeline import PipelineConfig
from kakashi.core.records import LogContext, LogLevel, LogRecord, create_log_record
from kakashi.signals import install_sigterm_handler, reopen_files, reopen_files_on_sighup

from kakashi._logger import AsyncLogger, Logger  # noqa: E402
from kakashi import config  # noqa: E402,F401  (kakashi.config.configure, set_level, ...)
from kakashi.core._global_backend import shutdown_async_logging  # noqa: E402
from kakashi.core.interface import (  # noqa: E402
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
from kakashi.core.logger import (  # noqa: E402
    LOG_LEVEL_CRITICAL,
    LOG_LEVEL_DEBUG,
    LOG_LEVEL_ERROR,
    LOG_LEVEL_INFO,
    LOG_LEVEL_WARNING,
    LogFormatter,
    get_async_logger,
    get_logger,
)

ShutdownReport = _kakashi.ShutdownReport

# The Cargo workspace version, compiled into the extension (the distribution,
# kakashi-rs, has the same one: maturin takes it from Cargo).
__version__: str = _kakashi.__version__
version: str = __version__
# The distribution's description (pyproject.toml), as Kakashi 0.2.2's metadata.
__description__ = "Structured logging whose hot path never waits for I/O: the Async Backends API of Kakashi on a Rust engine."

__all__ = [
    "AsyncConfig",
    "AsyncLogger",
    "EnvironmentConfig",
    "LogFormatter",
    "LoggerConfig",
    "clear_logger_cache",
    "configure_colors",
    "create_custom_logger",
    "development_config",
    "disable_colors",
    "enable_bright_colors",
    "get_environment_config",
    "get_legacy_logger",
    "get_request_logger",
    "production_config",
    "set_environment_config",
    "set_log_level",
    "setup_environment",
    "setup_logging",
    "shutdown_async_logging",
    "testing_config",
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
