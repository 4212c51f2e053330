"""Type stubs of the Rust extension ``kakashi._kakashi`` (the engine behind
the ``kakashi`` package; use the public modules rather than this one)."""

import logging
import os
import sys
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union, final, overload

from typing_extensions import disjoint_base

from kakashi.core.records import LogContext, LogLevel, LogRecord

__all__ = [
    "Logger",
    "Context",
    "Backend",
    "AsyncPipeline",
    "ShutdownReport",
    "ConfigError",
    "async_pipeline",
    "high_performance_logger",
    "network_logger",
    "env_logger",
    "apply_async_config",
    "async_structured_logger",
    "setup_async_logging",
    "environment_preset",
    "configure_async_backend",
    "get_async_stats",
    "flush",
    "reopen_files",
    "_stdlib_logger",
    "_stdlib_setup",
    "sync",
    "shutdown_async_backend",
    "BuiltinStage",
    "BuiltinEnricher",
    "BuiltinFilter",
    "BuiltinFormatter",
    "BuiltinWriter",
    "thread_enricher",
    "exception_enricher",
    "context_enricher",
    "level_filter",
    "field_filter",
    "logger_name_filter",
    "default_json_formatter",
    "console_formatter",
    "simple_text_formatter",
    "compact_formatter",
    "detailed_formatter",
    "console_writer",
    "stderr_writer",
    "null_writer",
    "file_writer",
    "_register_types",
    "_check_async_config",
    "_check_timeout",
    "_check_level",
    "_check_formatter_type",
    "_configure",
    "_configure_from_file",
    "_configure_from_env",
    "_set_level",
    "_clear_level",
    "_levels",
    "_set_context_var",
    "_context_used",
    "_at_exit",
    "_close_gate",
    "_exiting",
    "_before_fork",
    "_after_fork_in_parent",
    "_after_fork_in_child",
    "DEFAULT_LEVEL",
    "__version__",
    "ASYNC_CONFIG_DEFAULTS",
    "FACTORY_DEFAULTS",
    "OVERFLOW_STRATEGIES",
]

if sys.version_info >= (3, 10):
    __all__ += ["_log_stdlib"]

_Level = Union[LogLevel, int, str]

DEFAULT_LEVEL: int
__version__: str
ASYNC_CONFIG_DEFAULTS: Dict[str, Any]
"""The Rust core's ``AsyncConfig`` defaults, under the Python field names."""
FACTORY_DEFAULTS: Dict[str, Dict[str, Any]]
"""The page's factories' defaults (the Rust core's option structs'), by
factory name, under the Python keyword names."""
OVERFLOW_STRATEGIES: Tuple[str, ...]
"""The overflow strategies, by the original's names."""

class ConfigError(ValueError):
    """A setting that cannot work (unknown overflow strategy, zero queue size, ...).
    Shown as ``kakashi.ConfigError``; its message is the Rust core's."""

@final
class Logger:
    """The engine's logger (wrapped by ``kakashi.Logger``, whose level
    methods are the functions from ``_level_functions``)."""

    def _level_functions(self) -> List[Tuple[str, Callable[..., None]]]:
        """The level methods as functions bound to this logger."""

    @property
    def name(self) -> str:
        """The logger's name."""
    @property
    def min_level(self) -> int:
        """The pipeline's minimum level."""
    def is_enabled_for(self, level: _Level) -> bool:
        """Whether a record at ``level`` would be kept."""
    def log(
        self,
        level: _Level,
        message: object,
        *,
        fields: Optional[Dict[str, Any]] = None,
        exception: Optional[BaseException] = None,
        **kwargs: Any,
    ) -> None:
        """Logs at ``level``; an invalid level raises ``ConfigError`` (a ``ValueError``)."""
    def bind(self, **fields: Any) -> "Logger":
        """A logger like this one with ``fields`` added to every record."""
    def with_context(self, context: LogContext) -> "Logger":
        """A logger whose records carry ``context`` (over the current one)."""
    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until everything logged before is written and flushed."""
    def _emit_stdlib(
        self,
        record: logging.LogRecord,
        skip: FrozenSet[str],
        order: Tuple[str, ...],
        follow_global: bool = False,
    ) -> bool:
        """Logs a ``logging.LogRecord`` (``kakashi.stdlib.KakashiHandler``'s
        call); with ``follow_global``, False without logging once this
        logger's backend has stopped."""

    def _log_stdlib(
        self,
        name: str,
        levelno: int,
        msg: object,
        args: Any,
        extra: Optional[Dict[str, Any]],
        follow_global: bool = False,
    ) -> Union[bool, BaseException]:
        """``logging.Logger._log`` without a ``LogRecord`` (``kakashi.stdlib``'s
        fast path): True once logged; False, having done nothing, when the
        call must take the usual path; the exception ``msg % args`` raised,
        having logged nothing."""

@final
class Context:
    """The engine's copy of a ``LogContext``."""

    def __new__(
        cls,
        ip: Optional[str] = None,
        access: Optional[str] = None,
        user_agent: Optional[str] = None,
        request_id: Optional[str] = None,
        user_id: Optional[str] = None,
        session_id: Optional[str] = None,
        service_name: Optional[str] = None,
        version: Optional[str] = None,
        environment: Optional[str] = None,
        custom: Optional[Dict[str, Any]] = None,
    ) -> "Context": ...

@final
class ShutdownReport:
    """What a shutdown did; true when everything was written."""

    @property
    def drained(self) -> bool:
        """Every worker finished before the timeout."""
    @property
    def dropped(self) -> int:
        """Records left in the queue at the timeout (counted as dropped)."""
    @property
    def in_flight(self) -> int:
        """Records still being written at the timeout."""
    @property
    def elapsed(self) -> float:
        """Seconds the shutdown took."""
    def __bool__(self) -> bool: ...

@final
class Backend:
    """A queue with its workers."""

    def __new__(cls, config: Optional[Any] = None) -> "Backend":
        """A backend with its workers started (an ``AsyncConfig``, or defaults)."""
    def start(self) -> bool:
        """The workers already run; returns whether they do."""
    def stop(self) -> ShutdownReport:
        """``shutdown()`` with the configured ``shutdown_timeout``."""

    def get_stats(self) -> Dict[str, Any]:
        """The backend's counters, the original's keys first."""
    def is_running(self) -> bool:
        """True while workers take records from the queue."""
    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits until everything accepted so far is written and flushed."""
    def shutdown(self, timeout: Optional[float] = None) -> ShutdownReport:
        """Drains, flushes and joins the workers."""

@final
class AsyncPipeline:
    """An engine pipeline on its own backend."""

    def logger(self, name: str) -> Logger:
        """A logger feeding this pipeline."""
    def process(self, record: LogRecord) -> None:
        """Accepts a hand-built ``LogRecord``."""
    def get_stats(self) -> Dict[str, Any]:
        """The backend's counters."""
    def flush(self) -> bool:
        """Waits until everything accepted so far is written and flushed."""
    def shutdown(self, timeout: float = 5.0) -> ShutdownReport:
        """Drains, flushes and joins the workers."""

def async_pipeline(
    pipeline_config: Any, async_config: Any, enable_async: bool, fallback_to_sync: bool
) -> AsyncPipeline:
    """Builds a pipeline from a ``PipelineConfig`` and an ``AsyncConfig``."""

def high_performance_logger(
    name: str,
    log_file: str,
    max_queue_size: int,
    worker_count: int,
    batch_size: int,
    overflow_strategy: str,
    min_level: _Level,
    rotation: _Rotation = None,
    retention: _Retention = None,
    compression: Optional[str] = None,
) -> Logger:
    """The engine behind ``get_high_performance_logger``."""

def network_logger(
    name: str,
    send: Callable[[str], Any],
    max_queue_size: int,
    batch_size: int,
    max_retries: int,
    retry_delay: float,
    overflow_strategy: str,
    min_level: _Level,
) -> Logger:
    """The engine behind ``get_network_logger``."""

def env_logger(name: str, log_file: Optional[str] = None, formatter_type: Optional[str] = None) -> Logger:
    """A logger on the global backend through the environment's outputs
    (``formatter_type`` "default" or "json", parsed by the core)."""

def apply_async_config(config: Any) -> None:
    """Makes an ``AsyncConfig`` the global backend's settings (a new backend only if they differ)."""

def async_structured_logger(
    name: str,
    log_file: Optional[str] = None,
    async_config: Optional[Any] = None,
    default_fields: Optional[Dict[str, Any]] = None,
) -> Logger:
    """The engine behind ``get_async_structured_logger``."""

def setup_async_logging(
    environment: str,
    service_name: Optional[str],
    version: Optional[str],
    log_directory: Optional[str],
    max_queue_size: int,
    worker_count: int,
    batch_size: int,
    rotation: _Rotation = None,
    retention: _Retention = None,
    compression: Optional[str] = None,
    console_level: Optional[_Level] = None,
    file_level: Optional[_Level] = None,
    console_colors: Optional[str] = None,
) -> Dict[str, Any]:
    """Installs an environment (the preset's levels unless ``console_level``
    or ``file_level`` is given; ``console_colors``: ``"auto"``, ``"always"``
    or ``"never"`` for a development console); returns its settings."""

def environment_preset(environment: str) -> Dict[str, Any]:
    """The settings of the preset ``environment`` (not installed)."""

def configure_async_backend(
    max_queue_size: int,
    worker_count: int,
    batch_size: int,
    enable_batching: bool,
    overflow_strategy: str,
) -> Backend:
    """Starts a new global backend."""

def get_async_stats() -> Dict[str, Any]:
    """Counters summed over every backend (those gone keep their totals)."""

def flush(timeout: Optional[float] = None) -> bool:
    """Waits until everything logged so far is written, within `timeout` seconds in total."""

def sync(timeout: Optional[float] = None) -> bool:
    """``flush``, then every writer's data on to storage (``fsync`` for files)."""

def reopen_files() -> None:
    """Every file writer reopens its path before its next batch."""

def _stdlib_setup(reserved: FrozenSet[str], internal: List[str]) -> None:
    """Registers ``kakashi.stdlib``'s fast path: the names an ``extra`` key
    may not take, and the files whose frames are not the caller's."""

if sys.version_info >= (3, 10):
    def _log_stdlib(
        logger: Logger,
        name: str,
        levelno: int,
        msg: object,
        args: Any,
        extra: Optional[Dict[str, Any]],
        follow_global: bool,
        /,
    ) -> Union[bool, BaseException]:
        """``logger._log_stdlib(name, ...)`` with the vectorcall convention
        (3.10 and later)."""

def _stdlib_logger() -> Logger:
    """The logger a ``KakashiHandler`` made without one uses (the global
    backend's; JSON to stderr before any setup)."""

def shutdown_async_backend(timeout: float = 5.0) -> ShutdownReport:
    """Drains, flushes and joins every backend."""

# === the built-in stages (one implementation: the engine's) ===

@disjoint_base
class BuiltinStage:
    """The base of the four built-in stage classes: ``__name__`` is the
    original's name, ``repr`` how the stage was made (``level_filter(INFO)``),
    ``__qualname__`` the name (for a writer, the repr)."""

    @property
    def __name__(self) -> str: ...
    @property
    def __qualname__(self) -> str: ...  # type: ignore[override]

@final
class BuiltinEnricher(BuiltinStage):
    """A built-in enricher: in a pipeline it runs in Rust; called, it runs
    the same Rust code and returns the enriched copy of ``record``."""

    def __call__(self, record: LogRecord) -> LogRecord: ...

@final
class BuiltinFilter(BuiltinStage):
    """A built-in filter: in a pipeline it runs in Rust; called, it returns
    whether the engine's filter keeps ``record``."""

    def __call__(self, record: LogRecord) -> bool: ...

@final
class BuiltinFormatter(BuiltinStage):
    """A built-in formatter: in a pipeline it runs in Rust; called, it returns
    the engine's line for ``record`` (without the newline).
    ``default_json_formatter`` and ``console_formatter`` called with keywords
    only return a new formatter those keywords configure (bad keys and
    profiles raise ``ConfigError``, wrong types ``TypeError``)."""

    @overload
    def __call__(self, record: LogRecord) -> str: ...
    @overload
    def __call__(
        self,
        *,
        profile: str = ...,
        rename: Dict[str, str] = ...,
        drop: Iterable[str] = ...,
        flatten_fields: bool = ...,
        exception_frames: bool = ...,
        gcp_project: str = ...,
        default: Optional[Callable[[Any], Any]] = ...,
        colors: str = ...,
    ) -> "BuiltinFormatter": ...
    @property
    def default_fallbacks(self) -> int:
        """Values written as ``repr()`` because the ``default=`` hook raised
        or returned something that is not JSON."""
    @property
    def colored(self) -> bool:
        """Whether the console formatter colours standard output."""

@final
class BuiltinWriter(BuiltinStage):
    """A built-in writer: in a pipeline the engine writes each batch with one
    call; called with a line, it writes that line and a newline the same way
    (``OSError`` if the write fails)."""

    def __call__(self, message: str) -> None: ...

thread_enricher: BuiltinEnricher
exception_enricher: BuiltinEnricher
default_json_formatter: BuiltinFormatter
console_formatter: BuiltinFormatter
simple_text_formatter: BuiltinFormatter
compact_formatter: BuiltinFormatter
detailed_formatter: BuiltinFormatter
console_writer: BuiltinWriter
stderr_writer: BuiltinWriter
null_writer: BuiltinWriter

def context_enricher(base_context: LogContext) -> BuiltinEnricher:
    """Merges ``base_context`` under each record's own context (whose set values win)."""

def level_filter(min_level: _Level) -> BuiltinFilter:
    """Keeps records at ``min_level`` or above."""

def field_filter(field_name: str, expected_value: Any) -> BuiltinFilter:
    """Keeps records whose field ``field_name`` equals ``expected_value`` (as engine values)."""

def logger_name_filter(allowed_names: Iterable[str]) -> BuiltinFilter:
    """Keeps records of the loggers named in ``allowed_names``."""

_Rotation = Union[str, int, Sequence[str], None]
_Retention = Union[str, int, None]

def file_writer(
    file_path: Union[str, "os.PathLike[str]"],
    rotation: _Rotation = None,
    retention: _Retention = None,
    compression: Optional[str] = None,
) -> BuiltinWriter:
    """Appends lines to ``file_path``, opened once now (``OSError`` if it cannot be);
    rotated, pruned and compressed as ``rotation``, ``retention`` and ``compression`` say."""

def _register_types(
    *, LogRecord: type, LogContext: type, LogLevel: type, ExceptionInfo: type
) -> None:
    """Hands the extension the package's record types (once, from ``kakashi.core.records``)."""

def _check_async_config(config: Any) -> None:
    """Checks an ``AsyncConfig`` with the Rust core's checks; raises ``ConfigError``."""

def _check_timeout(timeout: Any) -> float:
    """A timeout in seconds checked by the core (range and message); raises ``ConfigError``."""

def _check_level(level: Any) -> int:
    """A level's value as the core reads it; raises ``ValueError`` with the core's message."""

def _check_formatter_type(formatter_type: Any) -> None:
    """Checks a ``formatter_type`` with the core; raises ``ConfigError``."""

def _configure(config: Any, env: bool) -> None:
    """Installs a configuration given as a dict (see ``kakashi.config.configure``)."""

def _configure_from_file(path: Union[str, "os.PathLike[str]"], env: bool) -> None:
    """Installs the configuration of a TOML file."""

def _configure_from_env() -> None:
    """Installs the configuration of the ``KAKASHI_*`` variables."""

def _set_level(name: str, level: Any) -> None:
    """Sets the level of the loggers named ``name`` and below."""

def _clear_level(name: str) -> bool:
    """Removes the level rule for exactly ``name``."""

def _levels() -> Dict[str, int]:
    """The level rules in force."""

def _set_context_var(var: Any) -> None: ...
def _context_used() -> None: ...
def _at_exit() -> None: ...
def _close_gate(by_the_exit: bool) -> None: ...
def _exiting() -> None: ...
def _before_fork() -> None: ...
def _after_fork_in_parent() -> None: ...
def _after_fork_in_child() -> None: ...
