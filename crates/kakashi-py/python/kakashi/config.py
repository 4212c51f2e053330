"""Configuration from data, and per-logger levels at run time.

    import kakashi.config

    kakashi.config.configure({
        "level": "info,myapp.db=debug",          # a level, or directives
        "outputs": [{"type": "file", "path": "logs/app.log", "rotation": "100 MB"}],
        "async": {"overflow_strategy": "block"},
    })
    kakashi.config.set_level("myapp.web", "warning")   # existing and future loggers

The dict has the same shape as the Rust crate's ``kakashi::config::Config``
and a TOML file (see the README, "Configuration from data"). The Rust core
checks all of it before anything changes and words every error:
``kakashi.ConfigError`` names the bad key by its path (``async.batch_size``,
``outputs[0].rotation``) or the environment variable. With ``env=True`` (the
default) the ``KAKASHI_*`` environment variables are laid over the data, and
win. Installing a configuration drains the previous global backend, makes the
new one the one ``kakashi.get_logger`` uses, and replaces the level rules.

Not ``kakashi.core.config``, which holds the original's request context.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Union

from kakashi import _kakashi

__all__ = [
    "configure",
    "configure_from_file",
    "configure_from_env",
    "set_level",
    "clear_level",
    "levels",
]


def configure(config: Dict[str, Any], *, env: bool = True) -> None:
    """Installs ``config`` (a dict of str, int, float, bool, None, lists and
    dicts; paths may be ``pathlib.Path``) as the global setup. Raises
    ``kakashi.ConfigError`` naming the first bad key (nothing is changed
    then), ``OSError`` for an output file that cannot be opened."""
    _kakashi._configure(config, env)


def configure_from_file(path: Union[str, "os.PathLike[str]"], *, env: bool = True) -> None:
    """Installs the configuration in the TOML file at ``path``; as
    ``configure``. ``OSError`` (``FileNotFoundError``, ...) when the file
    cannot be read, ``kakashi.ConfigError`` when it is not UTF-8."""
    _kakashi._configure_from_file(os.fspath(path), env)


def configure_from_env() -> None:
    """Installs the configuration the ``KAKASHI_*`` environment variables
    describe (defaults for the rest: INFO, JSON to standard output)."""
    _kakashi._configure_from_env()


def set_level(name: str, level: Any) -> None:
    """Sets the level (a ``LogLevel``, an int or a name) of the loggers named
    ``name`` and of those below it (``name.x``; ``::`` is the same separator
    as ``.``), existing and future, on every backend, atomically per logger.
    A rule for a longer name still wins below it. ``ValueError`` for a bad
    level, ``kakashi.ConfigError`` for a name that cannot be one."""
    _kakashi._set_level(name, level)


def clear_level(name: str) -> bool:
    """Removes the rule for exactly ``name``: its loggers follow the next
    matching rule, or their pipeline's level. Returns whether there was one."""
    return _kakashi._clear_level(name)


def levels() -> Dict[str, int]:
    """The rules in force: ``{name: level value}``, names with ``.`` for
    ``::``."""
    return dict(_kakashi._levels())
