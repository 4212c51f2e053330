"""Trace context: with an OpenTelemetry span current, records carry its
``trace_id`` and ``span_id`` (32 and 16 lowercase hex digits) as fields,
after the call's own (as the Rust crate's trace-context hook adds them);
without OpenTelemetry nothing is imported and lines are as before.
Uses the real ``opentelemetry-api`` and ``opentelemetry-sdk`` (installed
into the test environment by ``scripts/python-env.sh``)."""

import asyncio
import json
import re
import threading

import pytest

from kakashi import LogContext, context_scope
from kakashi.core.async_interface import get_high_performance_logger

from conftest import json_lines, run_python

from opentelemetry import trace
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import sampling


def _ids(span):
    ctx = span.get_span_context()
    return {"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}


@pytest.fixture
def tracer():
    """A tracer of its own provider (the global provider is left alone)."""
    return sdk_trace.TracerProvider().get_tracer("kakashi-tests")


def test_without_opentelemetry_nothing_is_imported_and_lines_are_unchanged(tmp_path):
    """A program that never imports OpenTelemetry: kakashi does not import it,
    and a record logged once OpenTelemetry is imported but no span is
    current is byte for byte the line logged before (timestamps aside)."""
    proc = run_python(
        """
        import json, sys
        import kakashi
        from kakashi.core.async_interface import get_high_performance_logger
        log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
        log.info("same", a=1, b="two")
        kakashi.Logger("plain").warning("to stdout")
        kakashi.set_request_context(ip="10.0.0.1")
        log.info("with request context")
        kakashi.clear_request_context()
        log.flush()
        print("imported:", sorted(m for m in sys.modules if m.startswith("opentelemetry")))
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        trace.set_tracer_provider(TracerProvider())
        log.info("same", a=1, b="two")
        log.flush()
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported: []" in proc.stdout
    lines = (tmp_path / "t.log").read_bytes().splitlines()
    assert len(lines) == 3

    def without_time(line):
        return re.sub(rb'^\{"timestamp":[0-9.]+,"datetime":"[^"]+",', b"{", line)

    assert without_time(lines[0]) == without_time(lines[2])
    assert lines[0].endswith(b'"logger":"svc","message":"same","fields":{"a":1,"b":"two"}}')
    assert json.loads(lines[1])["context"] == {"ip": "10.0.0.1"}


def test_records_in_a_span_carry_its_ids(tmp_path, tracer):
    """Inside a span: its ids; in a nested span: the inner one's; after it:
    the outer one's again; outside any span: no ids."""
    log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
    log.info("before")
    with tracer.start_as_current_span("outer") as outer:
        log.info("outer")
        with tracer.start_as_current_span("inner") as inner:
            log.bind(k=1).info("inner")
        log.info("outer again")
    log.info("after")
    log.flush()
    lines = json_lines(tmp_path / "t.log")
    assert [l["message"] for l in lines] == ["before", "outer", "inner", "outer again", "after"]
    assert "fields" not in lines[0] and "fields" not in lines[4]
    assert "context" not in lines[1]
    assert lines[1]["fields"] == _ids(outer) == lines[3]["fields"]
    assert lines[2]["fields"] == {"k": 1, **_ids(inner)}
    assert list(lines[2]["fields"]) == ["k", "trace_id", "span_id"]
    assert _ids(inner)["trace_id"] == _ids(outer)["trace_id"]
    for line in lines[1:4]:
        assert len(line["fields"]["trace_id"]) == 32 and len(line["fields"]["span_id"]) == 16
        assert line["fields"]["trace_id"] == line["fields"]["trace_id"].lower()


def test_ids_leave_the_context_alone_and_a_field_of_the_call_wins(tmp_path, tracer):
    """The request and bound context are as without a span; a ``trace_id``
    the call sets itself is kept, and the span's ids are not added (its
    ``span_id`` beside the call's ``trace_id`` would name no span)."""
    log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
    with tracer.start_as_current_span("op") as span:
        with context_scope(LogContext(ip="10.0.0.1", custom={"tenant": "t1"})):
            log.with_context(LogContext(request_id="r-1")).info("both", trace_id="mine")
    log.flush()
    (line,) = json_lines(tmp_path / "t.log")
    assert line["context"] == {"ip": "10.0.0.1", "request_id": "r-1", "tenant": "t1"}
    assert line["fields"] == {"trace_id": "mine"}


def test_ids_follow_threads_and_tasks(tmp_path, tracer):
    """The span is the calling context's: an asyncio task started in a span
    has it, a new thread (a fresh context) has none."""
    log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")

    async def task():
        log.info("task")

    with tracer.start_as_current_span("op") as span:
        asyncio.run(task())
        t = threading.Thread(target=lambda: log.info("thread"))
        t.start()
        t.join()
    log.flush()
    by_message = {l["message"]: l for l in json_lines(tmp_path / "t.log")}
    assert by_message["task"]["fields"] == _ids(span)
    assert "fields" not in by_message["thread"]


def test_an_invalid_span_adds_nothing_and_an_unsampled_one_adds_its_ids(tmp_path):
    """The invalid span (no trace) adds nothing; a span that is not sampled
    still has valid ids, which are added (they correlate the record with the
    trace's other services)."""
    log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
    with trace.use_span(trace.INVALID_SPAN):
        log.info("invalid")
    unsampled = sdk_trace.TracerProvider(sampler=sampling.ALWAYS_OFF).get_tracer("off")
    with unsampled.start_as_current_span("op") as span:
        assert not span.is_recording()
        log.info("unsampled")
    log.flush()
    first, second = json_lines(tmp_path / "t.log")
    assert "fields" not in first
    assert second["fields"] == _ids(span)


def test_another_runtime_context_is_read_through_the_public_api(tmp_path):
    """With a runtime context that is not OpenTelemetry's contextvars one
    (as OTEL_PYTHON_CONTEXT can choose), the ids come from
    trace.get_current_span(): the same ids, and none outside a span."""
    proc = run_python(
        """
        import json
        import opentelemetry.context as otel_context
        from opentelemetry.context.context import _RuntimeContext as RuntimeContext

        class Delegating(RuntimeContext):
            def __init__(self, inner):
                self.inner = inner
            def attach(self, context):
                return self.inner.attach(context)
            def get_current(self):
                return self.inner.get_current()
            def detach(self, token):
                self.inner.detach(token)

        otel_context._RUNTIME_CONTEXT = Delegating(otel_context._RUNTIME_CONTEXT)
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from kakashi.core.async_interface import get_high_performance_logger

        log = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
        tracer = TracerProvider().get_tracer("t")
        with tracer.start_as_current_span("op") as span:
            log.info("in span")
            ctx = span.get_span_context()
        log.info("outside")
        log.flush()
        print(json.dumps({"trace_id": format(ctx.trace_id, "032x"), "span_id": format(ctx.span_id, "016x")}))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    expected = json.loads(proc.stdout.strip().splitlines()[-1])
    first, second = json_lines(tmp_path / "t.log")
    assert first["fields"] == expected
    assert "fields" not in second


def test_stdlib_logging_through_the_bridge_carries_the_ids(tmp_path, tracer):
    """A ``logging`` call reaching a ``KakashiHandler`` inside a span
    carries its ids, on the fast path (the handler alone) and on the
    ``LogRecord`` path (another handler listening too)."""
    import logging

    from kakashi.stdlib import KakashiHandler

    kakashi_logger = get_high_performance_logger("svc", "t.log", overflow_strategy="block")
    log = logging.getLogger("traced.stdlib")
    log.propagate = False
    log.setLevel(logging.INFO)
    handler = KakashiHandler(kakashi_logger)
    other = logging.NullHandler()
    log.addHandler(handler)
    try:
        with tracer.start_as_current_span("op") as span:
            log.info("alone %s", 1, extra={"k": 1})
            log.addHandler(other)
            log.info("with another handler %s", 2)
        log.info("outside")
    finally:
        log.removeHandler(handler)
        log.removeHandler(other)
    kakashi_logger.flush()
    lines = json_lines(tmp_path / "t.log")
    assert [l["message"] for l in lines] == ["alone 1", "with another handler 2", "outside"]
    assert lines[0]["fields"] == {"k": 1, **_ids(span)}
    assert lines[1]["fields"] == _ids(span)
    assert "fields" not in lines[2]
