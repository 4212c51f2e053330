"""Bad configuration fails at construction with a clear message; bad values
and failing stages never reach the logging call and never break a line."""

import gc
import json
import math
import re
import sys

import pytest

import kakashi
from kakashi.core.async_backend import AsyncConfig, ConfigError, configure_async_backend
from kakashi.core.async_interface import (
    get_async_logger,
    get_async_stats,
    get_high_performance_logger,
    get_network_logger,
    setup_async_logging,
)
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, file_writer
from kakashi.core.records import LogLevel

from conftest import json_lines

UNKNOWN = 'unknown overflow strategy "dropp_oldest"; expected block, drop_oldest or drop_newest'


@pytest.mark.parametrize(
    "build",
    [
        lambda: AsyncConfig(queue_overflow_strategy="dropp_oldest"),
        lambda: configure_async_backend(overflow_strategy="dropp_oldest"),
        lambda: get_high_performance_logger("x", "x.log", overflow_strategy="dropp_oldest"),
        lambda: get_network_logger("x", print, overflow_strategy="dropp_oldest"),
    ],
    ids=["AsyncConfig", "configure_async_backend", "high_performance", "network"],
)
def test_unknown_overflow_strategy_is_a_value_error(build):
    """The original silently treated unknown names as drop_newest."""
    with pytest.raises(ValueError) as err:
        build()
    assert isinstance(err.value, ConfigError)
    assert str(err.value) == UNKNOWN


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_queue_size": 0}, "max_queue_size = 0 is out of range; expected 1 to 268435456"),
        ({"worker_count": -1}, "worker_count = -1 is out of range; expected 1 to 1024"),
        ({"worker_count": 1025}, "worker_count = 1025 is out of range; expected 1 to 1024"),
        ({"batch_size": 1.5}, "batch_size must be an integer, got 1.5"),
        ({"batch_size": True}, "batch_size must be an integer, got True"),
        ({"batch_timeout": 0}, "batch_timeout = 0 is out of range; expected more than 0 seconds"),
        ({"batch_timeout": math.nan}, "batch_timeout = nan is out of range; expected more than 0 seconds"),
        ({"batch_timeout": "1"}, "batch_timeout must be a number of seconds, got '1'"),
        ({"shutdown_timeout": -1}, "shutdown_timeout = -1 is out of range; expected 0 to 1000000000 seconds"),
        ({"shutdown_timeout": 1e10}, "shutdown_timeout = 10000000000.0 is out of range; expected 0 to 1000000000 seconds"),
        ({"shutdown_timeout": math.inf}, "shutdown_timeout = inf is out of range; expected 0 to 1000000000 seconds"),
        ({"max_error_retries": -1}, "max_error_retries = -1 is out of range; expected 0 to 4294967295"),
        ({"max_error_retries": 2**32}, "max_error_retries = 4294967296 is out of range; expected 0 to 4294967295"),
        ({"error_retry_delay": -0.5}, "error_retry_delay = -0.5 is out of range; expected 0 to 1000000000 seconds"),
        ({"error_retry_delay": math.nan}, "error_retry_delay = nan is out of range; expected 0 to 1000000000 seconds"),
    ],
)
def test_bad_async_config_values(kwargs, message):
    """The Rust core's checks and messages (naming the setting and the value
    as given), at construction."""
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        AsyncConfig(**kwargs)


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: configure_async_backend(max_queue_size=0), "max_queue_size = 0 is out of range; expected 1 to 268435456"),
        (lambda: configure_async_backend(worker_count=-2), "worker_count = -2 is out of range; expected 1 to 1024"),
        (lambda: configure_async_backend(batch_size=1.5), "batch_size must be an integer, got 1.5"),
        (lambda: setup_async_logging(worker_count=0, log_directory="logs"), "worker_count = 0 is out of range; expected 1 to 1024"),
        (lambda: get_high_performance_logger("x", "x.log", batch_size=-1), "batch_size = -1 is out of range; expected at least 1"),
        (lambda: get_network_logger("x", print, max_retries=-1), "max_retries = -1 is out of range; expected 0 to 4294967295"),
        (lambda: get_network_logger("x", print, retry_delay=-0.5), "retry_delay = -0.5 is out of range; expected 0 to 1000000000 seconds"),
        (lambda: get_network_logger("x", print, retry_delay=2e9), "retry_delay = 2000000000.0 is out of range; expected 0 to 1000000000 seconds"),
        (lambda: get_async_logger("x", formatter_type="xml"), 'unknown formatter_type "xml"; expected default or json'),
        (lambda: kakashi.flush(timeout=-1.0), "timeout = -1.0 is out of range; expected 0 to 1000000000 seconds"),
        (lambda: kakashi.shutdown_async_backend(timeout=1e12), "timeout = 1000000000000.0 is out of range; expected 0 to 1000000000 seconds"),
        (lambda: kakashi.install_sigterm_handler(-1), "timeout = -1 is out of range; expected 0 to 1000000000 seconds"),
        (lambda: kakashi.install_sigterm_handler(math.nan), "timeout = nan is out of range; expected 0 to 1000000000 seconds"),
        (lambda: kakashi.install_sigterm_handler("soon"), "timeout must be a number of seconds, got 'soon'"),
    ],
    ids=[
        "configure-queue", "configure-workers", "configure-type", "setup", "high_performance",
        "network-retries", "network-delay", "network-delay-too-long", "formatter_type",
        "flush-timeout", "shutdown-timeout", "sigterm-timeout", "sigterm-nan", "sigterm-type",
    ],
)
def test_factories_report_the_core_message(build, message):
    """The factories say what AsyncConfig says: one set of checks, the core's."""
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        build()


def test_config_error_is_kakashi_config_error():
    """The exception shows as kakashi.ConfigError (not the extension's
    module), is a ValueError, and every documented path catches it."""
    import traceback

    import kakashi
    import kakashi.core
    import kakashi.core.async_backend

    with pytest.raises(ConfigError) as err:
        AsyncConfig(queue_overflow_strategy="fifo")
    assert str(type(err.value)) == "<class 'kakashi.ConfigError'>"
    assert (type(err.value).__module__, type(err.value).__qualname__) == ("kakashi", "ConfigError")
    shown = "".join(traceback.format_exception(type(err.value), err.value, err.value.__traceback__))
    assert "kakashi.ConfigError: unknown overflow strategy" in shown
    assert "_kakashi" not in shown.splitlines()[-1]
    assert isinstance(err.value, ValueError)
    for cls in (kakashi.ConfigError, kakashi.core.ConfigError, kakashi.core.async_backend.ConfigError):
        try:
            configure_async_backend(overflow_strategy="fifo")
        except cls as e:
            assert type(e) is kakashi.ConfigError
        else:
            raise AssertionError("no ConfigError")


def test_unknown_environment():
    with pytest.raises(ValueError, match="unknown environment"):
        setup_async_logging("staging", log_directory="logs")


def test_unwritable_paths_raise_oserror_at_construction(tmp_path):
    """A log path under a regular file cannot exist: OSError now, not lost records later."""
    (tmp_path / "plain").write_text("x")
    bad = tmp_path / "plain" / "sub" / "app.log"
    with pytest.raises(OSError) as err:
        get_high_performance_logger("x", str(bad))
    assert str(bad) in str(err.value)
    with pytest.raises(OSError):
        file_writer(bad)


LEVELS = "expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50"


@pytest.mark.parametrize(
    "level, message",
    [
        ("LOUD", f'invalid log level "LOUD"; {LEVELS}'),
        (25, f'invalid log level "25"; {LEVELS}'),
    ],
)
def test_a_pipeline_level_is_read_as_a_logging_call_reads_it(level, message):
    """PipelineConfig(min_level=...) takes what the core takes (names in any
    case, "WARN") and rejects the rest with the core's message."""
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        PipelineConfig(min_level=level)
    assert PipelineConfig(min_level="warn").min_level is LogLevel.WARNING
    assert PipelineConfig(min_level=40).min_level is LogLevel.ERROR


def test_bad_level_is_a_value_error():
    logger = get_high_performance_logger("lvl", "lvl.log")
    with pytest.raises(ValueError, match="25"):
        logger.log(25, "not a level")
    with pytest.raises(ValueError):
        PipelineConfig(min_level="LOUD")
    logger.log("warning", "by name")
    logger.log(LogLevel.ERROR, "by enum", code=7)
    logger.flush()
    assert [(r["level"], r["message"]) for r in json_lines("lvl.log")] == [
        ("WARNING", "by name"),
        ("ERROR", "by enum"),
    ]


def test_stages_must_be_callable():
    with pytest.raises(TypeError, match="must be callable"):
        PipelineConfig(writers=("app.log",))
    with pytest.raises(TypeError, match="must be callable"):
        get_network_logger("x", "not a function")


class Unprintable:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


def test_any_value_gives_a_valid_json_line(tmp_path):
    """Non-JSON objects are stringified, cycles and deep nesting are cut,
    NaN and huge values and lone surrogates keep the line valid UTF-8 JSON."""
    logger = get_high_performance_logger("values", "v.log", overflow_strategy="block")
    cyclic = []
    cyclic.append(cyclic)
    deep = current = {}
    for _ in range(200):
        current["d"] = {}
        current = current["d"]
    huge = "x" * 5_000_000
    logger.info(
        "values \ud800 msg",
        s={1},
        b=b"\x00\xff",
        obj=object(),
        bad=Unprintable(),
        nan=math.nan,
        inf=-math.inf,
        big=10**30,
        neg=-(2**63),
        u64=2**64 - 1,
        cyclic=cyclic,
        deep=deep,
        huge=huge,
        surrogate="a\udcffb",
        ctrl="line\nbreak\t\x01",
        tup=(1, "two", None, True),
    )
    logger.flush()
    raw = (tmp_path / "v.log").read_bytes()
    raw.decode("utf-8")  # valid UTF-8
    (record,) = json_lines(tmp_path / "v.log")
    f = record["fields"]
    assert record["message"] == "values \\ud800 msg"
    assert f["s"] == "{1}" and f["b"] == "b'\\x00\\xff'"
    assert f["obj"].startswith("<object object at")
    assert f["bad"] == "<unprintable object>"
    assert f["nan"] == "NaN" and f["inf"] == "-Infinity"
    assert f["big"] == str(10**30) and f["neg"] == -(2**63) and f["u64"] == 2**64 - 1
    assert f["huge"] == huge
    assert f["surrogate"] == "a\\udcffb"
    assert f["ctrl"] == "line\nbreak\t\x01"
    assert f["tup"] == [1, "two", None, True]
    depth, node = 0, f["cyclic"]
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert depth == 64 and isinstance(node, str)


def _raising(*_args):
    raise RuntimeError("stage exploded")


@pytest.mark.parametrize("stage", ["enrichers", "filters", "formatter", "writers"])
def test_a_raising_stage_never_reaches_the_caller_and_is_counted(tmp_path, stage, capfd):
    """logger.info returns normally; the failure is counted and printed once."""
    stages = {"writers": (file_writer("ok.log"),)}
    if stage == "formatter":
        stages["formatter"] = _raising
    elif stage == "writers":
        stages["writers"] = (_raising, file_writer("ok.log"))
    else:
        stages[stage] = (_raising,)
    cfg = AsyncConfig(max_error_retries=1, error_retry_delay=0.001)
    pipeline = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(**stages), cfg))
    logger = pipeline.logger("boom")
    for i in range(20):
        logger.info("r", i=i)
    pipeline.flush()
    s = pipeline.get_stats()
    err = capfd.readouterr().err
    assert err.count("RuntimeError: stage exploded") == 1
    lines = json_lines(tmp_path / "ok.log")
    written = [r["fields"]["i"] for r in lines if r["logger"] == "boom"]
    reports = [r for r in lines if r["logger"] == "kakashi"]
    if stage == "enrichers":
        assert s["enricher_errors"] == 20 and written == list(range(20))
    elif stage == "filters":
        assert s["filter_errors"] == 20 and written == list(range(20))
    elif stage == "formatter":
        assert s["formatter_errors"] == 20 and written == [] and s["messages_failed"] == 20
    else:
        python = [w for w in s["writers"] if w["name"].startswith("python:")][0]
        # The in-band WARNING about the failures reached the file and failed here too.
        assert reports and "stage exploded" in reports[0]["message"]
        assert python["failed"] == 20 + len(reports) and python["retries"] == python["failed"]
        assert written == list(range(20)), "the other writer is unaffected"


def test_network_callback_failures_are_retried_then_counted():
    """A send that fails twice then succeeds delivers everything in order; one
    that always fails is counted after its retries, never raised."""
    attempts = {}
    delivered = []

    def flaky(message):
        i = json.loads(message)["fields"]["i"]
        attempts[i] = attempts.get(i, 0) + 1
        if attempts[i] <= 2:
            raise ConnectionError("connection refused")
        delivered.append(i)

    logger = get_network_logger("flaky", flaky, max_retries=3, retry_delay=0.001)
    for i in range(30):
        logger.info("send", i=i)
    assert logger.flush()
    assert delivered == list(range(30))
    w = [w for w in get_async_stats()["writers"] if w["name"] == "network:flaky"][0]
    assert (w["written"], w["failed"], w["retries"]) == (30, 0, 60)

    dead = get_network_logger("dead", _raising, max_retries=2, retry_delay=0.001)
    dead.info("lost")
    assert dead.flush()
    w = [w for w in get_async_stats()["writers"] if w["name"] == "network:dead"][0]
    # The record failed after 2 retries; so did the in-band WARNING reporting it.
    assert (w["written"], w["failed"], w["retries"]) == (0, 2, 4)


def test_level_methods_take_one_positional_message():
    """Misuse is a TypeError at the call, like any Python function."""
    logger = get_high_performance_logger("args", "args.log")
    with pytest.raises(TypeError, match=r"info\(\) takes the message as its only positional argument \(2 given\)"):
        logger.info("a", "b")
    with pytest.raises(TypeError, match=r"\(0 given\)"):
        logger.warning()
    logger.info(12345, n=1)  # any object as message: str() of it
    logger.flush()
    assert [r["message"] for r in json_lines("args.log")] == ["12345"]


def test_misused_level_methods_keep_nothing_alive():
    """The error of a misused call is the caller's alone: nothing of it is
    kept once the caller has dropped it, with no other call into kakashi
    between (20,000 such calls)."""
    logger = get_high_performance_logger("args", "args.log")
    gc.collect()
    before = sys.getallocatedblocks()
    for _ in range(20_000):
        try:
            logger.info("a", "b")
        except TypeError:
            pass
    gc.collect()
    assert sys.getallocatedblocks() - before < 2_000


def _memory_and_swap_bytes():
    with open("/proc/meminfo") as f:
        kib = {line.split(":")[0]: int(line.split()[1]) for line in f if line.split()[1:2]}
    return (kib.get("MemTotal", 0) + kib.get("SwapTotal", 0)) * 1024


def test_a_queue_larger_than_memory_is_an_error_not_an_out_of_memory_kill(tmp_path):
    """The queue's slots are allocated when its backend is made; a size in
    range whose slots need more than the machine's memory and swap is
    refused then (the extension's allocator would have reserved it, and the
    process would have been killed once the queue filled)."""
    slots = 2**28
    if _memory_and_swap_bytes() >= slots * 200:
        pytest.skip("this machine has the memory for a queue of 2^28 slots")
    message = (
        "max_queue_size = 268435456 is out of range; expected a queue that fits in memory "
        "(its slots are allocated when the backend is made)"
    )
    with pytest.raises(ConfigError, match="^" + re.escape(message) + "$"):
        get_high_performance_logger("huge", str(tmp_path / "huge.log"), max_queue_size=slots)
