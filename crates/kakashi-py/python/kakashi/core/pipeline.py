"""Pipelines: enrichers, filters, a formatter and writers.

``PipelineConfig(min_level, enrichers, filters, formatter, writers)`` takes
the built-ins below or any Python callable. The built-ins are the Rust
engine's stages: in a pipeline they run without the interpreter lock, and each
may also be called yourself with the original's signature
(``default_json_formatter(record)`` returns the JSON line), which runs the
same Rust code.
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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Tuple, Union

from kakashi import _kakashi
from kakashi.core.records import LogContext, LogLevel, LogRecord

if TYPE_CHECKING:
    from kakashi._logger import Logger

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
    "console_formatter",
    "simple_text_formatter",
    "compact_formatter",
    "detailed_formatter",
    "console_writer",
    "stderr_writer",
    "file_writer",
    "null_writer",
    "create_console_pipeline",
    "create_file_pipeline",
    "create_dual_pipeline",
    "DualPipeline",
]

Enricher = Callable[[LogRecord], LogRecord]
Filter = Callable[[LogRecord], bool]
Formatter = Callable[[LogRecord], str]
Writer = Callable[[str], None]


# The built-ins are the engine's own stages, as native objects: a pipeline
# runs them in Rust, and calling one from Python runs the same Rust code on
# the calling thread (see ``kakashi._kakashi.BuiltinEnricher`` and the
# others). The names below are the original's.

# === enrichers ===

#: Adds the id and name of the thread that made the record, and the process
#: id (the ``threading`` object of the JSON output). Called directly, or from
#: inside your own enricher on a worker, it still names the logging thread.
thread_enricher: Enricher = _kakashi.thread_enricher
#: Adds the formatted traceback of the record's exception, if it has one and
#: no traceback yet.
exception_enricher: Enricher = _kakashi.exception_enricher
#: ``context_enricher(base_context)``: merges ``base_context`` under each
#: record's own context (the record's set values win).
context_enricher: Callable[[LogContext], Enricher] = _kakashi.context_enricher

# === filters ===

#: ``level_filter(min_level)``: keeps records at ``min_level`` or above.
level_filter: Callable[[Union[LogLevel, int, str]], Filter] = _kakashi.level_filter
#: ``field_filter(field_name, expected_value)``: keeps records whose field
#: equals ``expected_value`` (compared as the engine's values: ``1`` and
#: ``1.0`` differ, as do ``True`` and ``1``).
field_filter: Callable[[str, Any], Filter] = _kakashi.field_filter
#: ``logger_name_filter(allowed_names)``: keeps records of those loggers.
logger_name_filter: Callable[[Iterable[str]], Filter] = _kakashi.logger_name_filter

# === formatters ===

#: One JSON object in the original's key order: timestamp, datetime, level,
#: level_value, logger, message, fields, context, source, threading,
#: exception. Values that are not JSON are stringified; output is valid UTF-8.
#: Called with keywords only, returns a shaped formatter: ``profile="ecs"`` or
#: ``"gcp"``, ``rename={"level": "severity"}``, ``drop=["threading"]``,
#: ``flatten_fields=True``, ``exception_frames=True``, ``gcp_project=...``,
#: ``default=callable`` (README, "What comes out").
default_json_formatter: _kakashi.BuiltinFormatter = _kakashi.default_json_formatter
#: The development console line, ``HH:MM:SS.mmm LEVEL    logger: message k=v``,
#: coloured by level on a terminal only (``NO_COLOR``, ``FORCE_COLOR``);
#: ``console_formatter(colors="auto"|"always"|"never")``.
console_formatter: _kakashi.BuiltinFormatter = _kakashi.console_formatter
#: ``HH:MM:SS.mmm | LEVEL    | logger | context | message | k=v``.
simple_text_formatter: Formatter = _kakashi.simple_text_formatter
#: ``HH:MM:SS | L | message``.
compact_formatter: Formatter = _kakashi.compact_formatter
#: ``[iso time] [LEVEL] [logger] [T:tid] [P:pid] [module:line] message | Fields: ...``.
detailed_formatter: Formatter = _kakashi.detailed_formatter

# === writers ===

#: Writes to standard output (file descriptor 1, as the engine does).
console_writer: Writer = _kakashi.console_writer
#: Writes to standard error.
stderr_writer: Writer = _kakashi.stderr_writer
#: Discards.
null_writer: Writer = _kakashi.null_writer
#: ``file_writer(file_path)``: appends lines to ``file_path`` (parent
#: directories are created). The file is opened now, once, so a path that
#: cannot be written raises ``OSError`` here; it stays open (append mode),
#: each batch or direct call is one write, and it is closed when the writer
#: and every pipeline using it are gone.
file_writer: Callable[[Union[str, "os.PathLike[str]"]], Writer] = _kakashi.file_writer


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
            # A Kakashi 0.2.2 sink (kakashi.core.sinks) runs as the engine's
            # writer it wraps.
            stages = tuple(getattr(stage, "_kakashi_writer", stage) for stage in stages)
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
    """``level`` (a ``LogLevel``, an int or a name) read by the core, as a
    logging call reads it; ``ValueError`` with the core's message otherwise."""
    return LogLevel(_kakashi._check_level(level))


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

    def logger(self, name: str) -> Logger:
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


# === dual pipelines ===


class DualPipeline:
    """Kakashi 0.2.2's dual pipeline: a console pipeline and a file pipeline,
    each with its own level and formatter (``create_dual_pipeline``,
    ``create_async_dual_pipeline``). ``with_enricher``/``with_filter`` add
    the stage to both (the original rebuilt a console-only JSON pipeline and
    lost the file); ``logger(name)`` gives a logger whose records go to
    both."""

    def __init__(self, console_pipeline: Any, file_pipeline: Any) -> None:
        self.console_pipeline = console_pipeline
        self.file_pipeline = file_pipeline
        levels = (console_pipeline.config, file_pipeline.config)
        first = getattr(levels[0], "pipeline_config", levels[0])
        second = getattr(levels[1], "pipeline_config", levels[1])
        #: The original's ``.config``: the lower of the two levels.
        self.config = PipelineConfig(min_level=min(first.min_level, second.min_level))

    def process(self, record: LogRecord) -> None:
        """Runs ``record`` through both pipelines (each keeps its level)."""
        self.console_pipeline.process(record)
        self.file_pipeline.process(record)

    def logger(self, name: str) -> "Logger":
        """A logger named ``name`` whose records go to both pipelines."""
        from kakashi._logger import _TeeLogger

        return _TeeLogger(self.console_pipeline.logger(name), self.file_pipeline.logger(name))

    def with_enricher(self, enricher: Enricher) -> "DualPipeline":
        """A new dual pipeline with ``enricher`` appended to both."""
        return DualPipeline(self.console_pipeline.with_enricher(enricher), self.file_pipeline.with_enricher(enricher))

    def with_filter(self, filter: Filter) -> "DualPipeline":
        """A new dual pipeline with ``filter`` appended to both."""
        return DualPipeline(self.console_pipeline.with_filter(filter), self.file_pipeline.with_filter(filter))

    def flush(self) -> bool:
        """Flushes both (for asynchronous ones; a ``Pipeline`` writes at once)."""
        done = True
        for p in (self.console_pipeline, self.file_pipeline):
            if hasattr(p, "flush"):
                done = p.flush() and done
        return done


def create_dual_pipeline(
    file_path: Union[str, "os.PathLike[str]"],
    console_level: LogLevel = LogLevel.INFO,
    file_level: LogLevel = LogLevel.DEBUG,
    console_formatter: Formatter = simple_text_formatter,
    file_formatter: Formatter = default_json_formatter,
) -> DualPipeline:
    """Synchronous console and file pipelines, each with its own level and
    formatter (thread and exception enrichers on both)."""
    return DualPipeline(
        create_console_pipeline(console_level, console_formatter),
        create_file_pipeline(file_path, file_level, file_formatter),
    )
