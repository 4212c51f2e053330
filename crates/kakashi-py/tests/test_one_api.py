"""One API: each public function is defined once and re-exported under every
documented path; the modules import each other without a cycle; the Python
defaults and annotations are the engine's."""

import ast
import inspect
import subprocess
import sys
import typing

import kakashi
import kakashi.core
from kakashi import _kakashi
from kakashi.core import async_backend, async_interface


def test_get_async_stats_and_shutdown_are_defined_once():
    assert kakashi.get_async_stats is kakashi.core.get_async_stats
    assert async_interface.get_async_stats is async_backend.get_async_stats is kakashi.get_async_stats
    assert kakashi.shutdown_async_backend is async_interface.shutdown_async_backend
    assert async_backend.shutdown_async_logging is kakashi.core.shutdown_async_logging
    assert kakashi.core.shutdown_async_logging is kakashi.shutdown_async_backend
    assert kakashi.configure_async_backend is async_backend.configure_async_backend
    assert async_interface.configure_async_backend is async_backend.configure_async_backend


def _imported_modules(module):
    names = set()
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_async_backend_does_not_import_async_interface():
    """async_interface uses async_backend; async_backend never imports it
    back (not even inside a function)."""
    assert "kakashi.core.async_interface" not in _imported_modules(async_backend)
    assert "kakashi.core.async_backend" in _imported_modules(async_interface)


def test_each_module_imports_alone():
    """Every module can be the first one imported (no import-order cycle)."""
    for name in ("kakashi.core.async_backend", "kakashi.core.async_interface", "kakashi.core.records"):
        subprocess.run([sys.executable, "-c", f"import {name}"], check=True, timeout=60)


def test_async_config_defaults_are_the_cores():
    defaults = _kakashi.ASYNC_CONFIG_DEFAULTS
    config = kakashi.AsyncConfig()
    for name, value in defaults.items():
        assert getattr(config, name) == value, name
    assert config.thread_name_prefix == "kakashi"


def test_factories_are_annotated():
    hints = {name: typing.get_type_hints(getattr(kakashi, name)).get("return") for name in (
        "get_async_logger",
        "get_high_performance_logger",
        "get_network_logger",
        "get_async_structured_logger",
        "get_logger",
        "get_structured_logger",
    )}
    assert hints == dict.fromkeys(hints, kakashi.Logger)
    assert typing.get_type_hints(kakashi.shutdown_async_backend)["return"] is kakashi.ShutdownReport
    assert typing.get_type_hints(kakashi.configure_async_backend)["return"] is async_backend.AsyncBackend
