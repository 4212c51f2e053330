"""The built-in stages have one implementation, the engine's: in a
pipeline and called from Python (by user code, or from inside a user's own
stage on a worker) they behave the same; ``thread_enricher`` names the thread
that made the record; ``file_writer`` opens its file once."""

import gc
import json
import os
import sys
import threading

import pytest

from kakashi import _kakashi
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import (
    Pipeline,
    PipelineConfig,
    compact_formatter,
    console_writer,
    context_enricher,
    default_json_formatter,
    detailed_formatter,
    exception_enricher,
    field_filter,
    file_writer,
    level_filter,
    logger_name_filter,
    null_writer,
    simple_text_formatter,
    stderr_writer,
    thread_enricher,
)
from kakashi.core.records import LogContext, LogLevel, create_log_record

from conftest import json_lines


def test_the_built_ins_are_native_objects():
    """Every built-in is an instance of one of the four native classes."""
    kinds = {
        _kakashi.BuiltinEnricher: (thread_enricher, exception_enricher, context_enricher(LogContext(ip="1"))),
        _kakashi.BuiltinFilter: (level_filter("INFO"), field_filter("a", 1), logger_name_filter(["x"])),
        _kakashi.BuiltinFormatter: (default_json_formatter, simple_text_formatter, compact_formatter, detailed_formatter),
        _kakashi.BuiltinWriter: (console_writer, stderr_writer, null_writer, file_writer("w.log")),
    }
    for cls, objects in kinds.items():
        for obj in objects:
            assert isinstance(obj, cls), obj
            assert callable(obj)
    assert thread_enricher.__name__ == "thread_enricher"
    assert default_json_formatter.__qualname__ == "default_json_formatter"


def test_thread_enricher_inside_a_users_enricher_names_the_logging_thread(tmp_path):
    """Called from a user's enricher running on a worker, thread_enricher
    reports the thread that logged, as the pipeline's own thread_enricher
    does, never the worker."""
    seen = []

    def mine(record):
        enriched = thread_enricher(record)
        seen.append((enriched.thread_name, enriched.thread_id, enriched.process_id))
        return record

    out = tmp_path / "out.log"
    p = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(enrichers=(mine, thread_enricher), writers=(file_writer(out),))))
    made = {}

    def log():
        made["id"] = threading.get_ident()
        p.logger("app").info("hello")

    t = threading.Thread(target=log, name="producer-7")
    t.start()
    t.join()
    assert p.flush()
    p.shutdown()
    assert seen == [("producer-7", made["id"], os.getpid())]
    [line] = json_lines(out)
    assert line["threading"] == {"thread_id": made["id"], "thread_name": "producer-7", "process_id": os.getpid()}


def test_thread_enricher_called_directly_names_the_calling_thread_or_keeps_the_records():
    """A hand-built record without a thread gets the calling thread; one that
    names its thread keeps it."""
    got = {}

    def run():
        got["bare"] = thread_enricher(create_log_record("INFO", "app", "m"))
        got["named"] = thread_enricher(
            create_log_record("INFO", "app", "m", thread_id=42, thread_name="maker")
        )

    t = threading.Thread(target=run, name="caller-3")
    t.start()
    t.join()
    assert got["bare"].thread_name == "caller-3" and got["bare"].process_id == os.getpid()
    assert (got["named"].thread_id, got["named"].thread_name) == (42, "maker")


def test_a_formatter_called_directly_gives_the_line_the_pipeline_writes(tmp_path):
    """default_json_formatter(record) is the line the pipeline writes for it."""
    record = create_log_record(
        "WARNING", "svc", "disk", timestamp=1700000000.25, fields={"pct": 97.5, "mount": "/"},
        context=LogContext(service_name="api"),
    )
    for formatter in (default_json_formatter, simple_text_formatter, compact_formatter, detailed_formatter):
        out = tmp_path / f"{formatter.__name__}.log"
        Pipeline(PipelineConfig(formatter=formatter, writers=(file_writer(out),))).process(record)
        assert out.read_text(encoding="utf-8") == formatter(record) + "\n"


@pytest.mark.parametrize(
    "stage, record_kwargs, expected",
    [
        (field_filter("n", 1), {"fields": {"n": 1}}, True),
        (field_filter("n", 1), {"fields": {"n": 1.0}}, False),
        (field_filter("n", 1), {"fields": {"n": True}}, False),
        (field_filter("n", 1), {}, False),
        (level_filter(LogLevel.WARNING), {}, False),
        (level_filter("info"), {}, True),
        (logger_name_filter(["app"]), {}, True),
        (logger_name_filter(["db"]), {}, False),
    ],
)
def test_a_filter_called_directly_agrees_with_the_pipeline(tmp_path, stage, record_kwargs, expected):
    """A built-in filter gives the same answer called directly as in a pipeline."""
    record = create_log_record("INFO", "app", "m", **record_kwargs)
    assert stage(record) is expected
    out = tmp_path / "out.log"
    Pipeline(PipelineConfig(min_level=LogLevel.DEBUG, filters=(stage,), writers=(file_writer(out),))).process(record)
    assert len(json_lines(out)) == (1 if expected else 0)


def test_context_and_exception_enrichers_called_directly():
    """context_enricher merges its base under the record's context (the
    record's values win); exception_enricher adds the traceback once."""
    record = create_log_record("INFO", "app", "m", context=LogContext(version="2"))
    merged = context_enricher(LogContext(service_name="api", version="1"))(record).context
    assert (merged.service_name, merged.version) == ("api", "2")
    try:
        raise KeyError("missing")
    except KeyError as e:
        failed = create_log_record("ERROR", "app", "m", exception=e)
    enriched = exception_enricher(failed)
    assert enriched.exception is failed.exception
    assert enriched.exception_traceback.startswith("Traceback (most recent call last):")
    assert enriched.exception_traceback.endswith("KeyError: 'missing'")
    assert exception_enricher(enriched) is enriched


def test_file_writer_keeps_its_file_open_and_follows_a_rename(tmp_path):
    """One open file for every line (not one per line); once the file is
    renamed (as by log rotation), the next lines go to a new file at the
    path, directly and through a pipeline, and the renamed file keeps what
    it had."""
    path = tmp_path / "app.log"
    w = file_writer(path)
    w("first")
    w("second")
    moved = tmp_path / "app.log.1"
    os.rename(path, moved)
    w("third")
    p = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(w,))))
    p.logger("app").info("fourth")
    assert p.flush()
    p.shutdown()
    assert moved.read_text(encoding="utf-8").splitlines() == ["first", "second"]
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "third"
    assert len(lines) == 2 and json.loads(lines[1])["message"] == "fourth"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_file_writer_closes_its_file_when_collected(tmp_path):
    """The file is open while the writer lives and closed once it and the
    pipelines using it are gone."""
    path = str(tmp_path / "gc.log")

    def open_on_path():
        fds = "/proc/self/fd"
        return sum(1 for fd in os.listdir(fds) if _link(os.path.join(fds, fd)) == path)

    w = file_writer(path)
    p = Pipeline(PipelineConfig(writers=(w,)))
    assert open_on_path() == 1
    del w, p
    gc.collect()
    assert open_on_path() == 0


def _link(p):
    try:
        return os.readlink(p)
    except OSError:
        return None


def test_console_writer_called_directly_writes_a_line(capfd):
    """console_writer(line) writes the line and a newline to standard output,
    after what print() wrote before it."""
    print("before", end="\n")
    console_writer("from the writer")
    assert capfd.readouterr().out == "before\nfrom the writer\n"
