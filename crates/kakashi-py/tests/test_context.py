"""Request context travels with contextvars: right per thread and per
asyncio task; bound context and fields layer over it."""

import asyncio
import threading

from kakashi import (
    LogContext,
    clear_request_context,
    context_scope,
    set_custom_context,
    set_request_context,
    set_user_context,
)
from kakashi.core.async_interface import get_high_performance_logger

from conftest import json_lines


def test_context_setters_merge_like_the_original(tmp_path):
    logger = get_high_performance_logger("ctx", "ctx.log", overflow_strategy="block")
    set_request_context("192.168.1.100", "POST /api/users")
    set_user_context(user_id="42")
    set_custom_context(trace_id="abc-123")
    logger.info("with context")
    clear_request_context()
    logger.info("without")
    logger.flush()
    first, second = json_lines(tmp_path / "ctx.log")
    assert first["context"] == {
        "ip": "192.168.1.100",
        "access": "POST /api/users",
        "user_id": "42",
        "trace_id": "abc-123",
    }
    assert "context" not in second


def test_context_is_per_thread_and_per_task(tmp_path):
    logger = get_high_performance_logger("ctx", "ctx.log", overflow_strategy="block")

    def in_thread(n):
        set_request_context(ip=f"10.0.0.{n}")
        for i in range(100):
            logger.info("thread", n=n, i=i)

    threads = [threading.Thread(target=in_thread, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def task(n):
        with context_scope(LogContext(request_id=f"req-{n}")):
            for i in range(10):
                logger.info("task", n=n, i=i)
                await asyncio.sleep(0)
        logger.info("after scope", n=n)

    async def main():
        await asyncio.gather(*(task(n) for n in range(5)))

    asyncio.run(main())
    logger.flush()
    lines = json_lines(tmp_path / "ctx.log")
    for r in lines:
        n = r["fields"]["n"]
        if r["message"] == "thread":
            assert r["context"] == {"ip": f"10.0.0.{n}"}
        elif r["message"] == "task":
            assert r["context"] == {"request_id": f"req-{n}"}
        else:
            assert "context" not in r
    assert len(lines) == 400 + 55


def test_bind_and_with_context(tmp_path):
    base = get_high_performance_logger("bound", "b.log", overflow_strategy="block")
    logger = base.bind(service="api", region="eu").with_context(LogContext(user_id="u1"))
    set_request_context(ip="1.2.3.4")
    logger.info("hello", region="us", extra=1)
    base.info("plain")
    base.flush()
    clear_request_context()
    first, second = json_lines(tmp_path / "b.log")
    assert first["fields"] == {"service": "api", "region": "us", "extra": 1}
    assert first["context"] == {"ip": "1.2.3.4", "user_id": "u1"}
    assert "fields" not in second


def test_exception_carries_the_active_traceback(tmp_path):
    logger = get_high_performance_logger("exc", "e.log", overflow_strategy="block")
    try:
        {}["missing"]
    except KeyError:
        logger.exception("lookup failed", key="missing")
    logger.error("explicit", exception=ValueError("bad value"))
    logger.flush()
    first, second = json_lines(tmp_path / "e.log")
    assert first["level"] == "ERROR"
    assert first["exception"]["type"] == "KeyError"
    assert first["exception"]["message"] == "'missing'"
    assert "Traceback (most recent call last)" in first["exception"]["traceback"]
    assert "test_exception_carries_the_active_traceback" in first["exception"]["traceback"]
    assert second["exception"]["type"] == "ValueError" and second["exception"]["message"] == "bad value"


def test_testing_capture_is_synchronous():
    """kakashi.testing.capture(): records are there when the call returns."""
    from kakashi.testing import capture

    with capture() as logs:
        log = logs.logger("payments")
        log.warning("card declined", order=42)
        assert [r["message"] for r in logs.records] == ["card declined"]
        log.debug("kept: the capture's level is DEBUG")
        assert logs.records[1]["level"] == "DEBUG"
        assert logs.records[0]["fields"] == {"order": 42}
        logs.clear()
        assert logs.records == []
