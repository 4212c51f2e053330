"""Environments and request context.

``setup_environment`` and the presets (``development_config``,
``production_config``, ``testing_config``) are Kakashi 0.2.2's; installing an
environment (``set_environment_config``, and ``setup_async_logging`` or
``setup_logging`` which call it) starts a new global backend with that
environment's outputs, and ``get_environment_config()`` returns what is
installed.

The current ``LogContext`` lives in a ``contextvars.ContextVar``, so it
follows each thread and each asyncio task. A logging call attaches it to its
record (merged under a context bound with ``Logger.with_context``).
"""

from __future__ import annotations

import contextvars
import dataclasses
import os
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Union

from kakashi import _kakashi
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.records import LogContext, LogLevel

__all__ = [
    "EnvironmentConfig",
    "LoggerConfig",
    "development_config",
    "production_config",
    "testing_config",
    "setup_environment",
    "get_environment_config",
    "set_environment_config",
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
    """An environment's settings (the original's preset fields), as
    installed by ``set_environment_config``, ``setup_environment``,
    ``setup_logging`` or ``setup_async_logging``. ``enable_async_io`` is
    kept for the original's programs: every kakashi environment is
    asynchronous. ``use_colors``/``bright_colors`` record
    ``configure_colors``; they do not change what is written (colour codes
    follow the terminal and ``NO_COLOR``/``FORCE_COLOR``)."""

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
    use_colors: bool = True
    bright_colors: bool = False


@dataclass(frozen=True)
class LoggerConfig:
    """Kakashi 0.2.2's per-logger settings: a ``name``, the ``pipeline`` its
    records go to (a ``Pipeline``, ``AsyncPipeline`` or the dual pipelines
    of ``create_dual_pipeline``), and a ``base_context`` every record
    carries. ``capture_exceptions`` is always on here (``exception()``
    attaches the exception being handled); ``capture_source`` and
    ``is_async`` are kept for the original's programs: source location is
    the pipeline's (``include_source_location`` of an environment), and
    every pipeline has its own workers unless it is a ``Pipeline``."""

    name: str
    pipeline: Any
    base_context: Optional[LogContext] = None
    capture_source: bool = False
    capture_exceptions: bool = True
    is_async: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise TypeError(f"LoggerConfig.name must be a str, got {type(self.name).__name__}")
        if not callable(getattr(self.pipeline, "logger", None)):
            raise TypeError(
                "LoggerConfig.pipeline must be a Pipeline, an AsyncPipeline or a dual pipeline "
                f"(kakashi.core.pipeline), got {type(self.pipeline).__name__}"
            )
        if self.base_context is not None and not isinstance(self.base_context, LogContext):
            raise TypeError(f"LoggerConfig.base_context must be a LogContext, got {type(self.base_context).__name__}")

    def with_base_context(self, context: LogContext) -> "LoggerConfig":
        """A copy with ``context`` as the base context (every other setting kept)."""
        return dataclasses.replace(self, base_context=context)

    def with_pipeline(self, pipeline: Any) -> "LoggerConfig":
        """A copy with ``pipeline``."""
        return dataclasses.replace(self, pipeline=pipeline)


# === environments ===

_lock = threading.RLock()
_installed: Optional[EnvironmentConfig] = None
# configure_colors before any environment is installed: (use_colors, bright_colors).
_colors_before_setup: Optional[tuple] = None


def _from_engine(env: Dict[str, Any], **extra: Any) -> EnvironmentConfig:
    """An ``EnvironmentConfig`` from the engine's description of one."""
    return EnvironmentConfig(
        environment=env["environment"],
        console_level=LogLevel(env["console_level"]),
        file_level=LogLevel(env["file_level"]),
        log_directory=env["log_directory"],
        include_thread_info=env["include_thread_info"],
        include_source_location=env["include_source_location"],
        service_name=env["service_name"],
        version=env["version"],
        enable_async_io=True,
        async_config=AsyncConfig(
            max_queue_size=env["max_queue_size"],
            queue_overflow_strategy=env["queue_overflow_strategy"],
            worker_count=env["worker_count"],
            batch_size=env["batch_size"],
            batch_timeout=env["batch_timeout"],
            shutdown_timeout=env["shutdown_timeout"],
            enable_batching=env["enable_batching"],
        ),
        **extra,
    )


def _install(
    environment: str,
    service_name: Optional[str],
    version: Optional[str],
    log_directory: Any,
    max_queue_size: int,
    worker_count: int,
    batch_size: int,
    *,
    rotation: Union[str, int, Sequence[str], None] = None,
    retention: Union[str, int, None] = None,
    compression: Optional[str] = None,
    console_level: Any = None,
    file_level: Any = None,
    use_colors: Optional[bool] = None,
    bright_colors: Optional[bool] = None,
) -> EnvironmentConfig:
    """Installs an environment (a new global backend with its outputs) and
    returns it as an ``EnvironmentConfig``."""
    global _installed, _colors_before_setup
    with _lock:
        if _colors_before_setup is not None:
            # configure_colors before any environment: the first one takes it.
            use_colors, bright_colors = _colors_before_setup
        env = _kakashi.setup_async_logging(
            str(environment),
            service_name,
            version,
            os.fspath(log_directory) if log_directory is not None else None,
            max_queue_size,
            worker_count,
            batch_size,
            rotation,
            retention,
            compression,
            console_level,
            file_level,
            # The original's disable_colors(): a development console without
            # colour codes; otherwise they follow the terminal.
            "never" if use_colors is False else None,
        )
        colors = {}
        if use_colors is not None:
            colors["use_colors"] = bool(use_colors)
        if bright_colors is not None:
            colors["bright_colors"] = bool(bright_colors)
        _installed = _from_engine(env, **colors)
        _colors_before_setup = None
        return _installed


def _preset(environment: str, log_directory: Any, service_name: Any, version: Any, **extra: Any) -> EnvironmentConfig:
    # The engine's preset, queue settings included (the original's).
    env = _kakashi.environment_preset(environment)
    env.update(log_directory=os.fspath(log_directory), service_name=service_name)
    if version is not None:
        env["version"] = version
    return _from_engine(env, **extra)


def development_config(
    log_directory: Any = "logs",
    service_name: Optional[str] = None,
    version: Optional[str] = None,
    enable_async_io: bool = False,
    use_structured_logging: bool = True,
) -> EnvironmentConfig:
    """The development preset (not installed): DEBUG and up to the console
    as text and to ``<log_directory>/app.log`` as JSON, source location on.
    ``enable_async_io`` and ``use_structured_logging`` are accepted for the
    original's programs (kakashi is always asynchronous; the file is JSON)."""
    return _preset("development", log_directory, service_name, version, use_colors=True, bright_colors=True)


def production_config(
    log_directory: Any = "/var/log",
    service_name: Optional[str] = None,
    version: Optional[str] = None,
    enable_async_io: bool = True,
) -> EnvironmentConfig:
    """The production preset (not installed): WARNING and up to the console
    (compact), INFO and up to ``<log_directory>/app.log`` (JSON),
    ``drop_oldest`` (drops are counted and reported)."""
    return _preset("production", log_directory, service_name, version, use_colors=False, bright_colors=False)


def testing_config(
    log_directory: Any = "test_logs",
    service_name: Optional[str] = None,
    enable_async_io: bool = False,
    version: Optional[str] = None,
) -> EnvironmentConfig:
    """The testing preset (not installed): WARNING and up to the console,
    DEBUG and up to ``<log_directory>/app.log``; ``version`` defaults to
    ``"test"`` (the original had no ``version`` parameter and raised
    ``TypeError`` when ``setup_logging("testing", version=...)`` passed one)."""
    return _preset("testing", log_directory, service_name, version, use_colors=False, bright_colors=False)


_PRESETS: Dict[str, Callable[..., EnvironmentConfig]] = {
    "development": development_config,
    "production": production_config,
    "testing": testing_config,
}


def set_environment_config(config: EnvironmentConfig) -> None:
    """Installs ``config``: a new global backend with its outputs (the
    previous one is drained first); loggers made afterwards use it."""
    if not isinstance(config, EnvironmentConfig):
        raise TypeError(f"set_environment_config expects an EnvironmentConfig, got {type(config).__name__}")
    queue = config.async_config
    if queue is None:
        preset = _kakashi.environment_preset(str(config.environment))
        queue = AsyncConfig(
            max_queue_size=preset["max_queue_size"],
            worker_count=preset["worker_count"],
            batch_size=preset["batch_size"],
        )
    _install(
        config.environment,
        config.service_name,
        config.version,
        config.log_directory,
        queue.max_queue_size,
        queue.worker_count,
        queue.batch_size,
        console_level=config.console_level,
        file_level=config.file_level,
        use_colors=config.use_colors,
        bright_colors=config.bright_colors,
    )


def get_environment_config() -> EnvironmentConfig:
    """The installed environment, or ``development_config()`` before any
    (then loggers write JSON lines to standard output until one is
    installed)."""
    with _lock:
        if _installed is not None:
            return _installed
        env = development_config()
        if _colors_before_setup is not None:
            env = dataclasses.replace(env, use_colors=_colors_before_setup[0], bright_colors=_colors_before_setup[1])
        return env


def setup_environment(environment: str = "development", **kwargs: Any) -> EnvironmentConfig:
    """Installs the preset ``environment`` (``development``/``dev``,
    ``production``/``prod``, ``testing``/``test``, any case; anything else
    raises ``ConfigError``, a ``ValueError``), with ``kwargs`` passed to the
    preset function (``log_directory``, ``service_name``, ``version``, ...).
    Returns the installed ``EnvironmentConfig``."""
    name = _kakashi.environment_preset(str(environment))["environment"]
    set_environment_config(_PRESETS[name](**kwargs))
    return get_environment_config()


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
