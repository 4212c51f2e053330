"""Pipelines: enrichers, filters, a formatter and writers.

``PipelineConfig(min_level, enrichers, filters, formatter, writers)`` takes
the built-ins below or any Python callable. The built-ins run in the Rust
engine without the interpreter lock; each is also a plain function you may
call yourself (``default_json_formatter(record)`` returns the JSON line).
A Python callable runs on a worker thread, holding the lock only while it
runs; if it raises, the logging call is not affected and the error is counted
in ``get_async_stats()``.

Signatures, as in the original: an enricher takes a ``LogRecord`` and returns
one (or None to keep it), a filter returns a bool, a formatter returns a
``str``, a writer takes the formatted ``str`` (without the newline).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Tuple, Union

from kakashi import _kakashi
from kakashi.core.records import LogContext, LogLevel, LogRecord

__all__ = [
    "Enricher",
    "Filter",
    "Formatter",
    "Writer",
    "PipelineConfig",
    "Pipeline",
    "thread_enricher",
    "exception_enricher",
    "context_enricher",
    "level_filter",
    "field_filter",
    "logger_name_filter",
    "default_json_formatter",
    "simple_text_formatter",
    "compact_formatter",
    "detailed_formatter",
    "console_writer",
    "stderr_writer",
    "file_writer",
    "null_writer",
    "create_console_pipeline",
    "create_file_pipeline",
]

Enricher = Callable[[LogRecord], LogRecord]
Filter = Callable[[LogRecord], bool]
Formatter = Callable[[LogRecord], str]
Writer = Callable[[str], None]


def _builtin(*tag: Any) -> Callable[[Callable[..., Any]], Any]:
    def mark(fn: Callable[..., Any]) -> Any:
        fn._kakashi_builtin = tag  # type: ignore[attr-defined]
        return fn

    return mark


# === enrichers ===


@_builtin("thread_enricher")
def thread_enricher(record: LogRecord) -> LogRecord:
    """Adds the calling thread's ident and name and the process id (the
    ``threading`` object of the JSON output)."""
    return dataclasses.replace(
        record,
        thread_id=threading.get_ident(),
        thread_name=threading.current_thread().name,
        process_id=os.getpid(),
    )


@_builtin("exception_enricher")
def exception_enricher(record: LogRecord) -> LogRecord:
    """Adds the formatted traceback of the record's exception, if it has one
    and no traceback yet."""
    exc = record.exception
    if isinstance(exc, BaseException) and record.exception_traceback is None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        return dataclasses.replace(record, exception_traceback=text.rstrip("\n"))
    return record


def context_enricher(base_context: LogContext) -> Enricher:
    """An enricher merging ``base_context`` under each record's own context
    (the record's values win)."""

    @_builtin("context_enricher", base_context)
    def enrich(record: LogRecord) -> LogRecord:
        merged = base_context.merge(record.context) if record.context else base_context
        return dataclasses.replace(record, context=merged)

    return enrich


# === filters ===


def level_filter(min_level: Union[LogLevel, int]) -> Filter:
    """Keeps records at ``min_level`` or above."""
    level = LogLevel(min_level)

    @_builtin("level_filter", int(level))
    def allows(record: LogRecord) -> bool:
        return record.level >= level

    return allows


def field_filter(field_name: str, expected_value: Any) -> Filter:
    """Keeps records whose field ``field_name`` equals ``expected_value``."""

    @_builtin("field_filter", field_name, expected_value)
    def allows(record: LogRecord) -> bool:
        return bool(record.fields) and record.fields.get(field_name) == expected_value  # type: ignore[union-attr]

    return allows


def logger_name_filter(allowed_names: Iterable[str]) -> Filter:
    """Keeps records of the loggers named in ``allowed_names``."""
    names = frozenset(allowed_names)

    @_builtin("logger_name_filter", tuple(sorted(names)))
    def allows(record: LogRecord) -> bool:
        return record.logger_name in names

    return allows


# === formatters ===


@_builtin("default_json_formatter")
def default_json_formatter(record: LogRecord) -> str:
    """One JSON object in the original's key order: timestamp, datetime,
    level, level_value, logger, message, fields, context, source, threading,
    exception. Values that are not JSON are stringified; output is valid UTF-8."""
    return _kakashi.format_record("default_json_formatter", record)


@_builtin("simple_text_formatter")
def simple_text_formatter(record: LogRecord) -> str:
    """``HH:MM:SS.mmm | LEVEL    | logger | context | message | k=v``."""
    return _kakashi.format_record("simple_text_formatter", record)


@_builtin("compact_formatter")
def compact_formatter(record: LogRecord) -> str:
    """``HH:MM:SS | L | message``."""
    return _kakashi.format_record("compact_formatter", record)


@_builtin("detailed_formatter")
def detailed_formatter(record: LogRecord) -> str:
    """``[iso time] [LEVEL] [logger] [T:tid] [P:pid] [module:line] message | Fields: ...``."""
    return _kakashi.format_record("detailed_formatter", record)


# === writers ===


@_builtin("console_writer")
def console_writer(message: str) -> None:
    """Writes to standard output."""
    print(message, flush=True)


@_builtin("stderr_writer")
def stderr_writer(message: str) -> None:
    """Writes to standard error."""
    print(message, file=sys.stderr, flush=True)


@_builtin("null_writer")
def null_writer(message: str) -> None:
    """Discards."""


def file_writer(file_path: Union[str, "os.PathLike[str]"]) -> Writer:
    """A writer appending lines to ``file_path`` (parent directories are
    created). The file is opened now, so a path that cannot be written raises
    ``OSError`` here rather than losing records later. In a pipeline the
    engine writes each batch with one system call."""
    path = Path(file_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8"):
        pass

    @_builtin("file_writer", str(path))
    def write(message: str) -> None:
        with open(path, "a", encoding="utf-8") as f:
            f.write(message + "\n")

    write.__qualname__ = f"file_writer({str(path)!r})"
    return write


# === configs ===


@dataclass(frozen=True)
class PipelineConfig:
    """The stages of a pipeline. ``formatter=None`` means
    ``default_json_formatter``; no writers means ``console_writer``."""

    min_level: LogLevel = LogLevel.INFO
    enrichers: Tuple[Enricher, ...] = ()
    filters: Tuple[Filter, ...] = ()
    formatter: Optional[Formatter] = None
    writers: Tuple[Writer, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "min_level", _level(self.min_level))
        for name in ("enrichers", "filters", "writers"):
            stages = getattr(self, name)
            if callable(stages) or isinstance(stages, (str, bytes)):
                raise TypeError(f"{name} must be a sequence of callables, got {stages!r}")
            stages = tuple(stages)
            for stage in stages:
                if not callable(stage):
                    raise TypeError(f"every item of {name} must be callable, got {stage!r}")
            object.__setattr__(self, name, stages)
        if self.formatter is None:
            object.__setattr__(self, "formatter", default_json_formatter)
        elif not callable(self.formatter):
            raise TypeError(f"formatter must be callable, got {self.formatter!r}")
        if not self.writers:
            object.__setattr__(self, "writers", (console_writer,))


def _level(level: Any) -> LogLevel:
    if isinstance(level, str):
        try:
            return LogLevel.from_name(level)
        except KeyError:
            raise ValueError(
                f"unknown level {level!r}; expected DEBUG, INFO, WARNING, ERROR or CRITICAL"
            ) from None
    try:
        return LogLevel(level)
    except ValueError:
        raise ValueError(
            f"invalid level {level!r}; expected 10, 20, 30, 40 or 50"
        ) from None


class Pipeline:
    """A synchronous pipeline: ``process(record)`` runs every stage on the
    calling thread before it returns."""

    def __init__(self, config: PipelineConfig) -> None:
        from kakashi.core.async_backend import AsyncConfig

        self.config = config
        self._engine = _kakashi.async_pipeline(config, AsyncConfig(), False, True)

    def process(self, record: LogRecord) -> None:
        """Runs ``record`` through the stages now."""
        self._engine.process(record)

    def logger(self, name: str) -> Any:
        """A logger named ``name`` feeding this pipeline."""
        from kakashi._logger import Logger

        return Logger(self._engine.logger(name))

    def with_enricher(self, enricher: Enricher) -> "Pipeline":
        """A new pipeline with ``enricher`` appended."""
        return Pipeline(dataclasses.replace(self.config, enrichers=self.config.enrichers + (enricher,)))

    def with_filter(self, filter: Filter) -> "Pipeline":
        """A new pipeline with ``filter`` appended."""
        return Pipeline(dataclasses.replace(self.config, filters=self.config.filters + (filter,)))

    def with_writer(self, writer: Writer) -> "Pipeline":
        """A new pipeline with ``writer`` appended."""
        return Pipeline(dataclasses.replace(self.config, writers=self.config.writers + (writer,)))


def _default_enrichers(include_thread_info: bool) -> Tuple[Enricher, ...]:
    """The presets' enrichers: thread info (if asked) and exception traceback."""
    return (thread_enricher, exception_enricher) if include_thread_info else (exception_enricher,)


def create_console_pipeline(
    min_level: LogLevel = LogLevel.INFO,
    formatter: Formatter = simple_text_formatter,
    include_thread_info: bool = True,
) -> Pipeline:
    """A synchronous pipeline to standard output."""
    return Pipeline(
        PipelineConfig(min_level, _default_enrichers(include_thread_info), (), formatter, (console_writer,))
    )


def create_file_pipeline(
    file_path: Union[str, "os.PathLike[str]"],
    min_level: LogLevel = LogLevel.DEBUG,
    formatter: Formatter = default_json_formatter,
    include_thread_info: bool = True,
) -> Pipeline:
    """A synchronous pipeline appending to ``file_path``."""
    return Pipeline(
        PipelineConfig(
            min_level, _default_enrichers(include_thread_info), (), formatter, (file_writer(file_path),)
        )
    )
