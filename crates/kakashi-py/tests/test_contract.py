"""The engine's contract, from Python: nothing lost silently, order kept,
honest accounting under each overflow strategy, shutdown that drains or says
what it left, a flush at exit, and logging that keeps working after fork."""

import os
import threading
import time

import pytest

from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_interface import get_async_stats, get_high_performance_logger
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig

from conftest import json_lines, run_python, since


def balanced(s):
    return s["messages_submitted"] == (
        s["messages_written"] + s["messages_dropped"] + s["messages_filtered"] + s["messages_failed"]
    )


def test_block_loses_nothing_with_four_threads(tmp_path, workers):
    """4 threads x 25,000 records through a 1,000-record queue under block:
    every record is on disk, each thread's records in its order."""
    before = get_async_stats()
    logger = get_high_performance_logger(
        "load", "load.log", max_queue_size=1000, worker_count=workers, batch_size=100,
        overflow_strategy="block",
    )

    def produce(t):
        for i in range(25000):
            logger.info("Trade executed", t=t, seq=i, symbol="AAPL", price=187.25, qty=100)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert logger.flush()
    lines = json_lines(tmp_path / "load.log")
    assert len(lines) == 100000
    for t in range(4):
        assert [r["fields"]["seq"] for r in lines if r["fields"]["t"] == t] == list(range(25000))
    s = since(before, get_async_stats())
    assert s["messages_dropped"] == 0 and s["messages_written"] == 100000 and balanced(s)


def test_order_kept_with_python_writer_and_several_workers(workers):
    """A Python writer receives records in the order they were logged, with
    Python enrichers and filters running on several workers."""
    received = []

    def tag(record):
        return record.with_fields(tagged=True)

    def odd_only(record):
        return record.fields["i"] % 2 == 1

    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(enrichers=(tag,), filters=(odd_only,), writers=(received.append,)),
            AsyncConfig(worker_count=workers, batch_size=50, max_queue_size=500),
        )
    )
    logger = pipeline.logger("ordered")
    for i in range(4000):
        logger.info("n", i=i)
    assert pipeline.flush()
    import json

    got = [json.loads(line)["fields"] for line in received]
    assert [f["i"] for f in got] == list(range(1, 4000, 2))
    assert all(f["tagged"] is True for f in got)
    s = pipeline.get_stats()
    assert s["messages_filtered"] == 2000 and s["messages_written"] == 2000 and balanced(s)


@pytest.mark.parametrize("strategy", ["block", "drop_newest", "drop_oldest"])
def test_every_record_is_accounted_for(strategy, workers):
    """A slow writer and a 50-record queue: block writes all; the drop
    strategies drop some, say so in-band (WARNING from logger "kakashi" with
    the counts), and submitted == written + dropped + filtered + failed."""
    received = []

    def slow(line):
        time.sleep(0.0002)
        received.append(line)

    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(writers=(slow,)),
            AsyncConfig(max_queue_size=50, worker_count=workers, batch_size=10, queue_overflow_strategy=strategy),
        )
    )
    logger = pipeline.logger("acct")
    for i in range(2000):
        logger.info("r", i=i)
    pipeline.flush()
    report = pipeline.shutdown(timeout=30.0)
    assert report.drained
    import json

    records = [json.loads(line) for line in received]
    mine = [r["fields"]["i"] for r in records if r["logger"] == "acct"]
    reports = [r for r in records if r["logger"] == "kakashi"]
    s = pipeline.get_stats()
    assert balanced(s)
    assert mine == sorted(mine), "order kept"
    assert len(mine) + s["messages_dropped"] == 2000
    if strategy == "block":
        assert mine == list(range(2000)) and s["messages_dropped"] == 0 and not reports
    else:
        assert s["messages_dropped"] > 0
        reason = "queue_full" if strategy == "drop_newest" else "evicted_oldest"
        assert s["dropped_queue_full" if strategy == "drop_newest" else "dropped_evicted"] == s["messages_dropped"]
        assert reports and all(r["level"] == "WARNING" for r in reports)
        assert sum(r["fields"]["dropped"] for r in reports) == s["messages_dropped"]
        assert all(r["fields"]["reason"] == reason for r in reports)
        if strategy == "drop_oldest":
            assert mine[-1] == 1999, "the newest record is kept"


def test_drop_newest_converts_nothing_while_the_queue_is_full():
    """drop_newest with a held writer and a 4-record queue: once a call has
    found the queue full, the following calls drop without converting their
    values (an object's __str__ is not called), every drop is counted and
    reported, and records are accepted again once the writer lets go."""
    gate = threading.Event()
    received = []

    def held(line):
        gate.wait(30)
        received.append(line)

    converted = []

    class Costly:
        def __str__(self):
            converted.append(1)
            return "costly"

    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(writers=(held,)),
            AsyncConfig(max_queue_size=4, worker_count=1, batch_size=1, queue_overflow_strategy="drop_newest"),
        )
    )
    logger = pipeline.logger("full")
    for i in range(500):
        logger.info("held", i=i, obj=Costly())
    assert len(converted) < 20, f"{len(converted)} of 500 calls converted their values on a full queue"
    s = pipeline.get_stats()
    assert s["messages_submitted"] == 500 and s["dropped_queue_full"] >= 480
    gate.set()
    assert pipeline.flush()
    for i in range(3):
        logger.info("after", i=i, obj=Costly())
        assert pipeline.flush()
    assert pipeline.shutdown(timeout=30.0).drained
    import json

    records = [json.loads(line) for line in received]
    mine = [r for r in records if r["logger"] == "full"]
    assert [r["message"] for r in mine][-3:] == ["after"] * 3
    assert all(r["fields"]["obj"] == "costly" for r in mine)
    s = pipeline.get_stats()
    assert balanced(s)
    assert len(mine) + s["dropped_queue_full"] == 503
    assert sum(r["fields"]["dropped"] for r in records if r["logger"] == "kakashi") == s["messages_dropped"]


def test_shutdown_timeout_returns_and_counts_what_it_left():
    """shutdown(timeout) with a writer far too slow returns a report that
    says what was dropped; the counts still add up once the last write ends."""
    release = threading.Event()

    def stuck(line):
        release.wait(10)

    pipeline = AsyncPipeline(
        AsyncPipelineConfig(PipelineConfig(writers=(stuck,)), AsyncConfig(max_queue_size=1000, batch_size=10))
    )
    logger = pipeline.logger("slow")
    for i in range(500):
        logger.info("r", i=i)
    report = pipeline.shutdown(timeout=0.3)
    assert not report.drained
    assert report.dropped > 0
    assert report.dropped + report.in_flight <= 500
    release.set()
    for _ in range(500):
        s = pipeline.get_stats()
        if balanced(s):
            break
        time.sleep(0.01)
    assert balanced(s)
    assert s["dropped_shutdown_timeout"] == report.dropped
    # Logging after shutdown still works: written on the caller's thread.
    logger.info("after")


@pytest.mark.parametrize(
    "ending",
    ["pass", "import sys; sys.exit(3)", "raise RuntimeError('crash')"],
    ids=["return", "sys.exit", "uncaught-exception"],
)
def test_exit_flushes_without_registering_anything(tmp_path, ending):
    """A script that logs 50,000 records and ends (normally, by sys.exit or an
    uncaught exception) has all of them on disk, file and Python writer alike."""
    proc = run_python(
        f"""
        from kakashi.core.async_interface import get_high_performance_logger, get_network_logger
        logger = get_high_performance_logger("exit", "exit.log", overflow_strategy="block")
        out = open("net.log", "w")
        net = get_network_logger("net", lambda m: out.write(m + "\\n"), overflow_strategy="block")
        for i in range(50000):
            logger.info("record", i=i)
            if i % 10 == 0:
                net.info("sent", i=i)
        {ending}
        """,
        tmp_path,
    )
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "exit.log")] == list(range(50000))
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "net.log")] == list(range(0, 50000, 10))
    if ending == "pass":
        assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_logs_with_fresh_workers(tmp_path):
    """After os.fork() the child's loggers work (fresh workers, zeroed stats)
    and the parent's queued records are written once, by the parent."""
    proc = run_python(
        """
        import json, os, sys
        import kakashi
        from kakashi.core.async_interface import get_high_performance_logger, get_async_stats
        logger = get_high_performance_logger("fork", "fork.log", overflow_strategy="block", worker_count=2)
        for i in range(20000):
            logger.info("parent", i=i)
        pid = os.fork()
        if pid == 0:
            for i in range(3000):
                logger.info("child", i=i)
            s = get_async_stats()
            with open("child.json", "w") as f:
                json.dump({"active": s["active_workers"], "submitted": s["messages_submitted"]}, f)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        for i in range(20000, 21000):
            logger.info("parent", i=i)
        kakashi.shutdown_async_backend(10.0)
        print(os.waitstatus_to_exitcode(status))
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0"]
    lines = json_lines(tmp_path / "fork.log")
    parent = [r["fields"]["i"] for r in lines if r["message"] == "parent"]
    child = [r["fields"]["i"] for r in lines if r["message"] == "child"]
    assert parent == list(range(21000))
    assert child == list(range(3000))
    import json

    with open(tmp_path / "child.json") as f:
        info = json.load(f)
    assert info == {"active": 2, "submitted": 3000}


def test_flush_is_a_barrier(tmp_path):
    """Everything logged before flush() is in the file when it returns."""
    logger = get_high_performance_logger("barrier", "b.log", overflow_strategy="block", worker_count=4)
    for round_ in range(5):
        for i in range(1000):
            logger.info("r", round=round_, i=i)
        assert logger.flush()
        assert len(json_lines(tmp_path / "b.log")) == 1000 * (round_ + 1)


def test_async_backend_constructed_directly():
    """AsyncBackend(config) as in the original: running at once (no start()
    needed), stats with the configured sizes, stop() drains."""
    from kakashi.core.async_backend import AsyncBackend

    backend = AsyncBackend(AsyncConfig(max_queue_size=123, worker_count=3))
    stats = backend.get_stats()
    assert (stats["state"], stats["max_queue_size"], stats["worker_count"], stats["active_workers"]) == (
        "running",
        123,
        3,
        3,
    )
    assert backend.start() is True
    report = backend.stop()
    assert report.drained and not backend.is_running()
    assert backend.get_stats()["active_workers"] == 0
    with pytest.raises(ValueError, match="unknown overflow strategy"):
        AsyncBackend(AsyncConfig(queue_overflow_strategy="fifo"))


def test_same_async_config_does_not_start_more_workers():
    """get_async_logger(..., async_config=cfg) twice: one backend, not two."""
    from kakashi.core.async_interface import get_async_logger

    cfg = AsyncConfig(max_queue_size=321, worker_count=2)
    get_async_logger("a", async_config=cfg)
    before = get_async_stats()["active_workers"]
    for name in ("b", "c", "d"):
        get_async_logger(name, async_config=AsyncConfig(max_queue_size=321, worker_count=2))
    assert get_async_stats()["active_workers"] == before
