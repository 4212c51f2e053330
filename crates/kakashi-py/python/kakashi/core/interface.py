"""Kakashi 0.2.2's environment interface: ``setup_logging``,
``get_legacy_logger``, ``get_structured_logger``, ``get_request_logger``,
``set_log_level``, the colour switches, ``create_custom_logger`` and
``clear_logger_cache``, on the engine.

Loggers are not cached: each call returns a logger on the environment
installed at that moment, so there is no stale logger to clear after a
reconfiguration (``clear_logger_cache()`` has nothing to do and says so in
its docstring). ``set_log_level`` and ``configure_colors`` keep the
environment's queue settings (the original dropped them).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

from kakashi._logger import Logger
from kakashi.core.async_interface import get_async_logger, get_async_structured_logger
from kakashi.core.config import (
    EnvironmentConfig,
    LoggerConfig,
    clear_request_context,
    get_environment_config,
    set_custom_context,
    set_environment_config,
    set_request_context,
    set_user_context,
    setup_environment,
)
from kakashi.core import config as _config
from kakashi.core.functional_logger import FunctionalLogger
from kakashi.core.records import LogContext, LogLevel

__all__ = [
    "get_legacy_logger",
    "get_structured_logger",
    "get_request_logger",
    "setup_logging",
    "set_log_level",
    "set_request_context",
    "set_user_context",
    "set_custom_context",
    "clear_request_context",
    "configure_colors",
    "enable_bright_colors",
    "disable_colors",
    "create_custom_logger",
    "clear_logger_cache",
]


def get_legacy_logger(name: str, log_file: Optional[str] = None, formatter_type: str = "default") -> Logger:
    """Kakashi 0.2.2's environment logger (its ``kakashi.core.interface.get_logger``):
    the environment's console and file outputs, or ``<log_directory>/modules/<log_file>.log``
    for the file; ``formatter_type="json"`` (or ``"default"``) as for ``get_async_logger``."""
    return get_async_logger(name, log_file, formatter_type)


def get_structured_logger(name: str, log_file: Optional[str] = None, **default_fields: Any) -> Logger:
    """A JSON logger on the environment's outputs with ``default_fields``
    bound to every record."""
    return get_async_structured_logger(name, log_file, **default_fields)


def get_request_logger(
    name: str,
    request_id: Any,
    user_id: Any = None,
    ip: Any = None,
    **additional_fields: Any,
) -> Logger:
    """A JSON logger whose records carry ``request_id``, ``user_id`` and
    ``ip`` in their context and ``additional_fields`` as fields."""
    context = LogContext(
        request_id=str(request_id),
        user_id=None if user_id is None else str(user_id),
        ip=None if ip is None else str(ip),
    )
    return get_async_logger(name, None, "json").with_context(context).bind(**additional_fields)


def setup_logging(
    environment: str = "development",
    service_name: Optional[str] = None,
    version: Optional[str] = None,
    log_directory: Optional[str] = None,
    enable_async_io: Optional[bool] = None,
) -> EnvironmentConfig:
    """Installs the preset ``environment`` with the given settings (as
    ``setup_environment``) and returns it. ``enable_async_io`` is accepted:
    every kakashi environment is asynchronous (call ``kakashi.flush()``
    where a program needs its lines written before it goes on)."""
    kwargs: dict = {}
    if service_name:
        kwargs["service_name"] = service_name
    if version:
        kwargs["version"] = version
    if log_directory:
        kwargs["log_directory"] = log_directory
    return setup_environment(environment, **kwargs)


def set_log_level(level: Any) -> None:
    """Changes the installed environment's levels: in development both the
    console and the file level, otherwise the file level. ``level`` is a
    ``LogLevel``, an int level or a name (``"DEBUG"``)."""
    if isinstance(level, str):
        level = LogLevel.from_name(level)
    level = LogLevel(level)
    env = get_environment_config()
    if env.environment == "development":
        env = dataclasses.replace(env, console_level=level, file_level=level)
    else:
        env = dataclasses.replace(env, file_level=level)
    set_environment_config(env)


def configure_colors(use_colors: bool = True, bright_colors: bool = False) -> None:
    """Sets the colour preference of the environment: with ``use_colors``
    false the development console writes no colour codes; with it true they
    follow the terminal and ``NO_COLOR``/``FORCE_COLOR`` (only a terminal is
    coloured). An installed environment is installed again with it (as
    ``set_log_level`` does); before any, it applies to the next one.
    ``bright_colors`` is recorded (``get_environment_config().bright_colors``):
    the console has one palette."""
    with _config._lock:
        env = dataclasses.replace(get_environment_config(), use_colors=bool(use_colors), bright_colors=bool(bright_colors))
        if _config._installed is not None:
            _config.set_environment_config(env)
        else:
            _config._colors_before_setup = (env.use_colors, env.bright_colors)


def enable_bright_colors() -> None:
    """``configure_colors(use_colors=True, bright_colors=True)``."""
    configure_colors(True, True)


def disable_colors() -> None:
    """``configure_colors(use_colors=False, bright_colors=False)``."""
    configure_colors(False, False)


def create_custom_logger(name: str, config: LoggerConfig) -> FunctionalLogger:
    """``FunctionalLogger(config)``; the logger is named ``config.name`` (as
    in the original, ``name`` is not used)."""
    return FunctionalLogger(config)


def clear_logger_cache() -> None:
    """Kakashi 0.2.2 cached environment loggers and needed this after a
    reconfiguration; kakashi keeps no such cache (each factory call returns
    a logger on the environment installed then), so there is nothing to
    clear."""
