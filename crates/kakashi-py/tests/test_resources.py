"""Resources follow use: loggers of one file share one backend, and memory
stays bounded while logging flat out with several workers."""

import threading

import pytest

import kakashi
from kakashi.core.async_interface import get_async_stats, get_high_performance_logger

from conftest import json_lines, run_python


def test_loggers_of_one_file_share_its_backend_and_its_order(tmp_path):
    """200 loggers of one file start one set of workers; their records reach
    the file in the order they were logged."""
    before = get_async_stats()["active_workers"]
    loggers = [
        get_high_performance_logger(f"svc{i}", "shared.log", overflow_strategy="block")
        for i in range(200)
    ]
    assert get_async_stats()["active_workers"] - before == 2
    for seq in range(2000):
        loggers[seq % 200].info("m", seq=seq)
    assert loggers[0].flush()
    assert [r["fields"]["seq"] for r in json_lines(tmp_path / "shared.log")] == list(range(2000))
    assert {r["logger"] for r in json_lines(tmp_path / "shared.log")} == {f"svc{i}" for i in range(200)}


def test_other_queue_settings_for_a_shared_file_are_a_config_error(tmp_path):
    """A second logger of a file with another worker_count is refused, naming
    the difference."""
    log = get_high_performance_logger("a", "conflict.log", worker_count=2)
    with pytest.raises(kakashi.ConfigError, match=r"worker_count 2, not 4"):
        get_high_performance_logger("b", "conflict.log", worker_count=4)
    log.info("still fine")
    assert log.flush()


def test_memory_stays_bounded_with_two_workers(tmp_path):
    """Logging flat out for a few seconds with the defaults and 2 workers:
    RSS after a warm-up grows by less than 64 MB."""
    proc = run_python(
        """
        import os, time
        from kakashi.core.async_interface import get_high_performance_logger

        def rss_mb():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmRSS"):
                        return int(line.split()[1]) // 1024

        log = get_high_performance_logger("soak", "soak.log", worker_count=2)
        def burst(n):
            for i in range(n):
                log.info("Trade executed", symbol="AAPL", qty=100, price=187.5, i=i)
            log.flush()
            os.truncate("soak.log", 0)
        burst(200_000)
        warm = rss_mb()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            burst(100_000)
        print(warm, rss_mb())
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    warm, end = map(int, proc.stdout.split())
    assert end - warm < 64, f"RSS grew from {warm} MB to {end} MB"


def test_names_an_enricher_makes_per_record_are_kept_per_record(tmp_path):
    """An enricher that gives every record its own logger and thread name:
    each record keeps the names it was given (the engine keeps no table of
    them that grows with the records, see the Rust test
    names_made_at_run_time_are_not_kept)."""
    import dataclasses
    import json

    from kakashi.core.async_backend import AsyncConfig
    from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
    from kakashi.core.pipeline import PipelineConfig

    received = []

    def rename(record):
        i = record.fields["i"]
        return dataclasses.replace(record, logger_name=f"tenant.{i}", thread_id=i, thread_name=f"task-{i}")

    pipeline = AsyncPipeline(
        AsyncPipelineConfig(PipelineConfig(enrichers=(rename,), writers=(received.append,)), AsyncConfig())
    )
    logger = pipeline.logger("app")
    for i in range(20_000):
        logger.info("n", i=i)
    assert pipeline.flush()
    got = [json.loads(line) for line in received]
    assert [r["logger"] for r in got] == [f"tenant.{i}" for i in range(20_000)]
    assert [r["threading"]["thread_name"] for r in got] == [f"task-{i}" for i in range(20_000)]
