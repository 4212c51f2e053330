"""Managed files from Python: ``rotation``, ``retention`` and
``compression`` on ``get_high_performance_logger`` and ``file_writer``, the
same strings as the Rust core (which parses them and words the errors), and
several processes (forked and spawned fresh) sharing one rotating file."""

import gzip
import json
import os
import re

import pytest

import kakashi
from kakashi.core.async_interface import get_high_performance_logger
from kakashi.core.pipeline import file_writer

from test_never_hangs import run_bounded

ROTATED = re.compile(r"^(?P<stem>.+)\.(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d)\.(?P<n>\d+)\.log(?P<gz>\.gz)?$")


def files_in_order(directory, stem):
    """The rotated files (oldest first) and the current file."""
    rotated = []
    for name in os.listdir(directory):
        m = ROTATED.match(name)
        if m and m.group("stem") == stem:
            rotated.append((m.group("stamp"), int(m.group("n")), os.path.join(directory, name)))
    rotated.sort()
    files = [p for _, _, p in rotated]
    current = os.path.join(directory, stem + ".log")
    if os.path.exists(current):
        files.append(current)
    return files


def read_lines(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        text = f.read()
    assert text == "" or text.endswith("\n"), f"{path} ends in a torn line"
    return [json.loads(line) for line in text.splitlines()]


def wait_compressed(directory, stem, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while True:
        pending = [n for n in os.listdir(directory) if ROTATED.match(n) and not n.endswith(".gz") and n.startswith(stem)]
        if not pending:
            return
        assert time.monotonic() < deadline, f"left uncompressed: {pending}"
        time.sleep(0.1)


def test_high_performance_logger_rotates_prunes_and_compresses(tmp_path):
    path = tmp_path / "trades.log"
    logger = get_high_performance_logger(
        "trading",
        str(path),
        overflow_strategy="block",
        rotation="200 KB",
        retention=3,
        compression="gzip",
    )
    for i in range(20_000):
        logger.info("Trade executed", seq=i, symbol="AAPL")
    assert logger.flush(30)
    wait_compressed(str(tmp_path), "trades")
    files = files_in_order(str(tmp_path), "trades")
    assert len(files) == 4, files  # three rotated, compressed, and the current
    assert all(f.endswith(".gz") for f in files[:3])
    seqs = [r["fields"]["seq"] for f in files for r in read_lines(f)]
    assert seqs == list(range(seqs[0], 20_000))  # the newest kept, in order, none torn


def test_file_writer_takes_the_same_options(tmp_path):
    from kakashi.core.async_backend import AsyncConfig
    from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
    from kakashi.core.pipeline import PipelineConfig, default_json_formatter

    path = tmp_path / "app.log"
    writer = file_writer(str(path), rotation=["100 KB", "daily"], retention="10, 7 days")
    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(formatter=default_json_formatter, writers=[writer]),
            AsyncConfig(queue_overflow_strategy="block"),
        )
    )
    from kakashi.core.records import LogLevel, LogRecord

    for i in range(3_000):
        pipeline.process(LogRecord(timestamp=0.0, level=LogLevel.INFO, logger_name="app", message="m", fields={"seq": i}))
    pipeline.shutdown(10)
    files = files_in_order(str(tmp_path), "app")
    assert len(files) >= 3
    seqs = [r["fields"]["seq"] for f in files for r in read_lines(f)]
    assert seqs == list(range(3_000))


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"rotation": "100 XB"}, 'invalid rotation "100 XB"; expected a size'),
        ({"rotation": ["1 MB", "2 MB"]}, 'invalid rotation "1 MB, 2 MB"'),
        ({"retention": "a week"}, 'invalid retention "a week"; expected a count'),
        ({"retention": True}, 'invalid retention "True"'),
        ({"compression": "lz4"}, 'invalid compression "lz4"; expected "gzip", "zstd" or "none"'),
    ],
)
def test_bad_values_are_config_errors_naming_them(tmp_path, kw, message):
    with pytest.raises(kakashi.ConfigError) as e:
        get_high_performance_logger("bad", str(tmp_path / "bad.log"), **kw)
    assert str(e.value).startswith(message), str(e.value)
    with pytest.raises(kakashi.ConfigError) as e:
        file_writer(str(tmp_path / "bad2.log"), **kw)
    assert str(e.value).startswith(message), str(e.value)


CHILD = """
import os, sys
import kakashi
from kakashi.core.async_interface import get_high_performance_logger

def log_all(path, proc, n):
    logger = get_high_performance_logger("p", path, overflow_strategy="block", rotation="1 MB")
    for i in range(n):
        logger.info("Trade executed", proc=proc, seq=i, symbol="AAPL")
    if not logger.flush(60):
        sys.exit(3)
"""


def test_processes_forked_and_spawned_share_one_rotating_file(tmp_path):
    n = 100_000
    path = str(tmp_path / "shared.log")
    code = (
        CHILD
        + f"""
import multiprocessing as mp
if __name__ == "__main__":
    path, n = {path!r}, {n}
    procs = [mp.get_context("fork").Process(target=log_all, args=(path, i, n)) for i in (0, 1)]
    procs += [mp.get_context("spawn").Process(target=log_all, args=(path, i, n)) for i in (2, 3)]
    [p.start() for p in procs]
    [p.join(120) for p in procs]
    print("CODES", [p.exitcode for p in procs], flush=True)
"""
    )
    script = tmp_path / "run.py"
    script.write_text(code)
    proc = run_bounded(f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')", tmp_path, 180, "4 processes logging", stacks=False)
    assert "CODES [0, 0, 0, 0]" in proc.stdout, proc.stdout + proc.stderr
    files = files_in_order(str(tmp_path), "shared")
    rotated = files[:-1]
    assert len(rotated) >= 20, files
    for f in rotated:
        assert os.path.getsize(f) >= 1_000_000, f"{f} rotated under the threshold"
    seen = set()
    nxt = [0, 0, 0, 0]
    for f in files:
        for r in read_lines(f):
            key = (r["fields"]["proc"], r["fields"]["seq"])
            assert key not in seen, f"{key} twice"
            seen.add(key)
            p = key[0]
            assert key[1] == nxt[p], f"process {p} out of order"
            nxt[p] += 1
    assert len(seen) == 4 * n


def test_sighup_reopens_and_does_not_end_the_process(tmp_path):
    proc = run_bounded(
        """
import os, signal, kakashi
from kakashi.core.async_interface import get_high_performance_logger
lg = get_high_performance_logger("h", "app.log", overflow_strategy="block")
lg.info("before", seq=0)
assert lg.flush(10)
kakashi.reopen_files_on_sighup()
os.kill(os.getpid(), signal.SIGHUP)
lg.info("after", seq=1)
assert lg.flush(10)
print("ALIVE", flush=True)
""",
        tmp_path,
        60,
        "SIGHUP with reopen_files_on_sighup",
    )
    assert "ALIVE" in proc.stdout, proc.stderr
    assert [r["fields"]["seq"] for r in read_lines(str(tmp_path / "app.log"))] == [0, 1]


def test_setup_async_logging_presets_take_the_file_options(tmp_path):
    proc = run_bounded(
        """
import kakashi
from kakashi.core.async_interface import setup_async_logging
setup_async_logging("testing", log_directory="logs", rotation="50 KB", retention=2)
log = kakashi.get_logger("svc")
for i in range(3000):
    log.info("Order placed", seq=i)
assert kakashi.flush(30)
print("DONE", flush=True)
""",
        tmp_path,
        60,
        "setup_async_logging with rotation",
    )
    assert "DONE" in proc.stdout, proc.stderr
    files = files_in_order(str(tmp_path / "logs"), "app")
    assert len(files) == 3, files  # two rotated kept, and the current
    seqs = [r["fields"]["seq"] for f in files for r in read_lines(f)]
    assert seqs[-1] == 2999 and seqs == list(range(seqs[0], 3000))


def test_sync_writes_everything_and_returns_true(tmp_path):
    logger = get_high_performance_logger("s", str(tmp_path / "s.log"), overflow_strategy="block", rotation="1 MB")
    for i in range(1000):
        logger.info("m", seq=i)
    assert kakashi.sync(10) is True
    assert [r["fields"]["seq"] for r in read_lines(str(tmp_path / "s.log"))] == list(range(1000))
    with pytest.raises(kakashi.ConfigError):
        kakashi.sync(-1)


def test_a_full_disk_is_counted_and_reported_once_there_is_room(tmp_path):
    """RLIMIT_FSIZE (64 KiB, SIGXFSZ ignored) stands for a full disk: under
    drop_newest the batches fail at once, counted; after the full file is
    moved away, writing resumes and a WARNING record reports the failures."""
    proc = run_bounded(
        """
import json, os, resource, signal, time
import kakashi
from kakashi.core.async_interface import get_high_performance_logger
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
lg = get_high_performance_logger("disk", "app.log", overflow_strategy="drop_newest", batch_size=100)
for i in range(2000):
    lg.info("Trade executed", seq=i, symbol="AAPL")
lg.flush(10)
s = kakashi.get_async_stats()
os.rename("app.log", "app.log.1")
time.sleep(1.1)
for i in range(2000, 2100):
    lg.info("Trade executed", seq=i, symbol="AAPL")
lg.flush(10)
s2 = kakashi.get_async_stats()
print("STATS " + json.dumps({"failed": s["messages_failed"], "written": s["messages_written"],
      "balanced": s2["messages_submitted"] == s2["messages_written"] + s2["messages_dropped"] + s2["messages_filtered"] + s2["messages_failed"]}), flush=True)
""",
        tmp_path,
        60,
        "a full disk",
    )
    line = [l for l in proc.stdout.splitlines() if l.startswith("STATS ")]
    assert line, proc.stderr
    stats = json.loads(line[0][len("STATS "):])
    assert stats["failed"] > 0 and stats["written"] > 0 and stats["balanced"], stats
    full = read_lines(str(tmp_path / "app.log.1"))  # whole lines only
    assert len(full) > 0
    after = read_lines(str(tmp_path / "app.log"))
    reports = [r for r in after if r["level"] == "WARNING" and r["message"].startswith("kakashi failed to write")]
    assert reports and reports[0]["fields"]["failed"] > 0
    assert [r["fields"]["seq"] for r in after if "seq" in r.get("fields", {})] == list(range(2000, 2100))
