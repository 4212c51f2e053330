"""Nothing hangs, aborts or goes missing: re-entrant logging from Python stages
(G5), shutdown while producers are blocked and exit in the same state (G4,
G5), timeouts honoured with slow, stuck or failing writers (G5), fork while
a writer is busy (G5), nothing stranded after shutdown and per-thread order
across it (G3, G4), interpreter exit with daemon loggers and a writer slower
than the exit drain (G5), formatters returning non-strings (G6), and
counters that survive their backend (G1).

Every case that can hang runs in a fresh interpreter (``run_python``) with a
timeout; its stacks are dumped to stderr (faulthandler) shortly before the
timeout, and a failure shows what hung, the exit code and stderr's tail.
Timings are asserted only as generous hang detectors.
"""

import json
import os
import subprocess
import textwrap
import time

import pytest

from conftest import json_lines, run_python


# === helpers ===


def _text(data):
    if data is None:
        return ""
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return data


def _tail(data, n=3000):
    return _text(data)[-n:]


# Defined in every scenario: a forked child's exit code, or "hung" (the
# child then killed) after `seconds`.
WAIT_FOR_CHILD = """
def wait_for_child(pid, seconds):
    import os, time
    deadline = time.monotonic() + seconds
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            return "hung"
        time.sleep(0.05)
"""


def run_bounded(code, cwd, timeout, what, env=None, stacks=True):
    """Runs ``code`` in a fresh interpreter; fails the test with stderr's tail
    (including the stacks faulthandler dumps 5 s before the timeout, unless
    ``stacks`` is false) if it does not exit within ``timeout`` seconds.

    A scenario that forks passes ``stacks=False``: faulthandler's watchdog
    thread is not there in the child, whose exit then waits for it forever
    (a CPython limitation, not kakashi's)."""
    preamble = "import faulthandler, sys\n"
    if stacks:
        preamble += f"faulthandler.dump_traceback_later({max(timeout - 5, 1)}, exit=False)\n"
    preamble += (
        "def step(what):\n"
        "    print('step: ' + what, file=sys.stderr, flush=True)\n"
        + WAIT_FOR_CHILD
    )
    started = time.monotonic()
    hung = None
    try:
        proc = run_python(preamble + textwrap.dedent(code), cwd, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        hung = e
    if hung is not None:  # failed outside the except block: no chained traceback
        pytest.fail(
            f"HUNG: {what}: the interpreter did not exit within {timeout} s\n"
            f"--- stderr (tail) ---\n{_tail(hung.stderr)}\n--- stdout (tail) ---\n{_tail(hung.stdout, 1500)}",
            pytrace=False,
        )
    proc.elapsed = time.monotonic() - started
    return proc


def describe(proc):
    return (
        f"exit code {proc.returncode} after {proc.elapsed:.1f} s\n"
        f"--- stderr (tail) ---\n{_tail(proc.stderr)}\n--- stdout (tail) ---\n{_tail(proc.stdout, 1500)}"
    )


def expect_clean_exit(proc, what):
    assert proc.returncode not in (-6, 134), f"ABORTED: {what}: {describe(proc)}"
    assert proc.returncode == 0, f"{what}: {describe(proc)}"


def result(proc, what):
    """The JSON after the last ``RESULT `` line the child printed."""
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"{what}: the child printed no RESULT: {describe(proc)}"
    return json.loads(lines[-1][len("RESULT "):])


def forked_child_result(proc, what, killed_after):
    """The RESULT of a program that forked a child and printed its exit
    code as ``child`` (``wait_for_child``): the program exited cleanly and
    the child with 0 (a hung child was killed after ``killed_after`` s)."""
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert out["child"] == 0, f"the child: {out['child']} (hung = killed after {killed_after} s)\n{describe(proc)}"
    return out


def balanced(s):
    return s["messages_submitted"] == (
        s["messages_written"] + s["messages_dropped"] + s["messages_filtered"] + s["messages_failed"]
    )


def balance(s):
    return (
        f"submitted {s['messages_submitted']} vs written {s['messages_written']} + dropped "
        f"{s['messages_dropped']} + filtered {s['messages_filtered']} + failed {s['messages_failed']} "
        f"(queue_size {s['queue_size']})"
    )


def need(stats, key):
    assert key in stats, f"the stats have no {key!r} (the engine must count this); keys: {sorted(stats)}"
    return stats[key]


# === re-entrant logging never waits (G5) ===

REENTRANT = """
import json
import kakashi
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, default_json_formatter

STAGE, MODE = {stage!r}, {mode!r}
me = []
received = []

def relog(message):
    # One "inner" record into the stage's own logger per "outer" record.
    if message == "outer" and me:
        me[0].info("inner")

def enricher(record):
    relog(record.message)
    return record

def keep(record):
    relog(record.message)
    return True

def formatter(record):
    relog(record.message)
    return default_json_formatter(record)

def writer(line):
    relog(json.loads(line)["message"])
    received.append(line)

stages = dict(writers=(writer if STAGE == "writer" else received.append,))
if STAGE == "enricher":
    stages["enrichers"] = (enricher,)
if STAGE == "filter":
    stages["filters"] = (keep,)
if STAGE == "formatter":
    stages["formatter"] = formatter
pipeline = AsyncPipeline(
    AsyncPipelineConfig(
        PipelineConfig(**stages),
        AsyncConfig(max_queue_size=4, batch_size=2, worker_count=1, queue_overflow_strategy="block"),
        enable_async=MODE != "synchronous",
    )
)
logger = pipeline.logger("reentrant")
me.append(logger)
if MODE == "after_shutdown":
    assert pipeline.shutdown(timeout=10.0).drained
step(f"logging 1000 outer records ({{STAGE}} stage, {{MODE}})")
for i in range(1000):
    logger.info("outer", i=i)
step("flush")
flushed = logger.flush(timeout=10.0)
step("shutdown")
report = pipeline.shutdown(timeout=10.0)
me.clear()
records = [json.loads(line) for line in received]
print("RESULT " + json.dumps(dict(
    flushed=flushed,
    drained=report.drained,
    outer=[r["fields"]["i"] for r in records if r["logger"] == "reentrant" and r["message"] == "outer"],
    inner=sum(1 for r in records if r["logger"] == "reentrant" and r["message"] == "inner"),
    stats=pipeline.get_stats(),
), default=str), flush=True)
"""

REENTRANT_NETWORK = """
import json
import kakashi
from kakashi.core.async_interface import get_network_logger, get_async_stats, shutdown_async_backend

me = []
received = []

def send(line):
    if json.loads(line)["message"] == "outer" and me:
        me[0].info("inner")
    received.append(line)

logger = get_network_logger("reentrant", send, overflow_strategy="block", max_queue_size=4, batch_size=2)
me.append(logger)
step("logging 1000 outer records (network send that logs)")
for i in range(1000):
    logger.info("outer", i=i)
step("flush")
flushed = logger.flush(timeout=10.0)
step("shutdown")
report = shutdown_async_backend(10.0)
me.clear()
records = [json.loads(line) for line in received]
print("RESULT " + json.dumps(dict(
    flushed=flushed,
    drained=report.drained,
    outer=[r["fields"]["i"] for r in records if r["logger"] == "reentrant" and r["message"] == "outer"],
    inner=sum(1 for r in records if r["logger"] == "reentrant" and r["message"] == "inner"),
    stats=get_async_stats(),
), default=str), flush=True)
"""


def check_reentrant(out, what):
    s = out["stats"]
    assert out["flushed"], f"{what}: flush() did not finish within 10 s; {balance(s)}"
    assert out["drained"], f"{what}: shutdown did not drain; {balance(s)}"
    assert out["outer"] == list(range(1000)), (
        f"{what}: every record logged from the main thread must be written in order "
        f"({len(out['outer'])} of 1000 written)"
    )
    dropped = need(s, "dropped_reentrant")
    assert out["inner"] + dropped == 1000, (
        f"{what}: each re-entrant record is written or counted in dropped_reentrant "
        f"(written {out['inner']}, dropped_reentrant {dropped})"
    )
    assert balanced(s), f"{what}: {balance(s)}"
    assert s["messages_submitted"] == 2000 + s["reports_emitted"], f"{what}: {balance(s)}"
    assert s["queue_size"] == 0, f"{what}: records stranded in the queue"


@pytest.mark.parametrize("mode", ["worker", "synchronous", "after_shutdown"])
@pytest.mark.parametrize("stage", ["enricher", "filter", "formatter", "writer"])
def test_reentrant_logging_from_a_python_stage_never_waits(tmp_path, stage, mode):
    """G5: a Python stage logging into its own logger on every record, under
    block with a 4-record queue: 1,000 records from the main thread are all
    written, flush and shutdown return, the stats balance."""
    what = f"a {stage} that logs ({mode})"
    proc = run_bounded(REENTRANT.format(stage=stage, mode=mode), tmp_path, 30, what)
    expect_clean_exit(proc, what)
    check_reentrant(result(proc, what), what)


def test_reentrant_logging_from_a_network_send_never_waits(tmp_path):
    """G5: get_network_logger whose send function logs into the same logger."""
    what = "a network send that logs"
    proc = run_bounded(REENTRANT_NETWORK, tmp_path, 30, what)
    expect_clean_exit(proc, what)
    check_reentrant(result(proc, what), what)


# === shutdown while producers are blocked, and exit in that state (G4, G5) ===

BLOCKED_PRODUCER = """
import json, threading, time
import kakashi
from kakashi.core.async_interface import get_network_logger, get_async_stats, shutdown_async_backend

def send(line):
    time.sleep(0.01)

log = get_network_logger("net", send, overflow_strategy="block", max_queue_size=10, batch_size=5)
done = threading.Event()

def produce():
    for i in range(1000):
        log.info("r", i=i)
    done.set()

threading.Thread(target=produce, daemon=True).start()
time.sleep(0.5)
"""


def test_shutdown_returns_while_producers_are_blocked(tmp_path):
    """G4, G5: shutdown_async_backend(2.0) with a producer blocked on a full
    queue returns within its timeout plus slack; the producer is released."""
    what = "shutdown_async_backend(2.0) with a blocked producer"
    proc = run_bounded(
        BLOCKED_PRODUCER
        + """
step("shutdown_async_backend(2.0)")
t0 = time.monotonic()
report = shutdown_async_backend(2.0)
took = time.monotonic() - t0
step(f"shutdown returned after {took:.2f} s")
finished = done.wait(30)
step(f"producer finished: {finished}")
for _ in range(1000):
    s = get_async_stats()
    if s["queue_size"] == 0 and s["messages_submitted"] == (
        s["messages_written"] + s["messages_dropped"] + s["messages_filtered"] + s["messages_failed"]
    ):
        break
    time.sleep(0.01)
print("RESULT " + json.dumps(dict(took=took, drained=report.drained, finished=finished, stats=s), default=str), flush=True)
""",
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert out["took"] < 5.0, f"shutdown_async_backend(2.0) took {out['took']:.2f} s (timeout + 3 s)"
    assert out["finished"], "the producer blocked on the full queue was still blocked 30 s after shutdown"
    s = out["stats"]
    assert s["queue_size"] == 0, f"records stranded in the queue: {balance(s)}"
    assert balanced(s), balance(s)


def test_exit_while_producers_are_blocked_terminates(tmp_path):
    """G4, G5: the interpreter exits (code 0, well within 60 s) while a daemon
    producer is blocked on a full queue behind a slow Python writer."""
    what = "interpreter exit with a producer blocked"
    proc = run_bounded(BLOCKED_PRODUCER + "\nstep('exiting')\n", tmp_path, 60, what)
    expect_clean_exit(proc, what)


# === timeouts are honoured (G5) ===


def test_flush_timeout_is_honoured_with_a_slow_python_writer(tmp_path):
    """G5: flush(timeout=0.5) while a Python writer takes 3 s per call
    returns False within about 0.5 s, not after the write."""
    what = "flush(timeout=0.5) with a 3 s writer"
    proc = run_bounded(
        """
        import json, os, threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig

        entered = threading.Event()

        def slow(line):
            entered.set()
            time.sleep(3)

        pipeline = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(slow,)), AsyncConfig(batch_size=1)))
        logger = pipeline.logger("slow")
        for i in range(3):
            logger.info("r", i=i)
        assert entered.wait(10)
        step("flush(timeout=0.5)")
        t0 = time.monotonic()
        ok = logger.flush(timeout=0.5)
        took = time.monotonic() - t0
        print("RESULT " + json.dumps(dict(ok=ok, took=took)), flush=True)
        os._exit(0)
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert out["ok"] is False, "flush said everything was written while the writer was still busy"
    assert out["took"] < 2.0, f"flush(timeout=0.5) took {out['took']:.2f} s: it waited for the 3 s write"


def test_global_flush_returns_with_a_failing_network_endpoint(tmp_path):
    """G5: kakashi.flush() with a send function that always raises (default
    retries: 0.5 s doubling, 5 times) returns within its default timeout."""
    what = "kakashi.flush() with a failing endpoint"
    proc = run_bounded(
        """
        import json, os, time
        import kakashi
        from kakashi.core.async_interface import get_network_logger

        def send(line):
            raise ConnectionError("connection refused")

        log = get_network_logger("refused", send)
        for i in range(5):
            log.info("sent", i=i)
        step("kakashi.flush()")
        t0 = time.monotonic()
        ok = kakashi.flush()
        took = time.monotonic() - t0
        print("RESULT " + json.dumps(dict(ok=ok, took=took)), flush=True)
        os._exit(0)
        """,
        tmp_path,
        90,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert out["took"] < 12.0, f"kakashi.flush() took {out['took']:.1f} s"


def test_logging_after_a_timed_out_shutdown_is_counted_not_written(tmp_path):
    """G5: after shutdown(0.5) timed out because the writer is stuck, a
    further log.info returns promptly and is counted in
    dropped_backend_stopped; it is never written on the caller's thread."""
    what = "log.info after a timed-out shutdown"
    proc = run_bounded(
        """
        import json, os, threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig

        entered = threading.Event()
        never = threading.Event()
        calls = []

        def stuck(line):
            calls.append(line)
            entered.set()
            never.wait()

        pipeline = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(stuck,)), AsyncConfig(batch_size=1)))
        logger = pipeline.logger("stuck")
        for i in range(10):
            logger.info("queued", i=i)
        assert entered.wait(10)
        step("shutdown(0.5) with the writer stuck")
        report = pipeline.shutdown(timeout=0.5)
        before = pipeline.get_stats()
        calls_before = len(calls)
        step("log.info after the timed-out shutdown")
        t0 = time.monotonic()
        logger.info("after shutdown")
        took = time.monotonic() - t0
        step(f"log.info returned after {took:.2f} s")
        after = pipeline.get_stats()
        print("RESULT " + json.dumps(dict(
            drained=report.drained, took=took, before=before, after=after,
            calls_before=calls_before, calls_after=len(calls),
        ), default=str), flush=True)
        os._exit(0)
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    before, after = out["before"], out["after"]
    assert not out["drained"], "shutdown cannot drain with the writer stuck"
    assert out["took"] < 3.0, f"log.info after shutdown took {out['took']:.2f} s"
    assert after["dropped_backend_stopped"] == before["dropped_backend_stopped"] + 1, (
        "the record must be counted in dropped_backend_stopped: "
        f"{before['dropped_backend_stopped']} -> {after['dropped_backend_stopped']}"
    )
    assert out["calls_after"] == out["calls_before"], "the stuck writer was called again"
    assert after["messages_written_sync"] == before["messages_written_sync"], "written on the caller's thread"


# === fork while a writer is busy (G5) ===


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_a_writer_is_busy_returns_and_the_child_logs(tmp_path):
    """G5: os.fork() while a Python send sleeps 8 s returns within 4 s; in the
    child, logger.info and logger.flush(timeout=3) return and the child
    exits; the parent exits too."""
    what = "fork while a writer is busy"
    proc = run_bounded(
        """
        import json, os, sys, threading, time
        from kakashi.core.async_interface import get_network_logger

        entered = threading.Event()

        def send(line):
            entered.set()
            time.sleep(8)

        log = get_network_logger("net", send, overflow_strategy="block")
        log.info("parent before fork")
        assert entered.wait(10)
        step("fork")
        t0 = time.monotonic()
        pid = os.fork()
        if pid == 0:
            step("child: log.info")
            log.info("child")
            step("child: flush(timeout=3)")
            t1 = time.monotonic()
            ok = log.flush(timeout=3)
            step(f"child: flush returned {ok} after {time.monotonic() - t1:.2f} s; exiting")
            sys.exit(0)
        fork_took = time.monotonic() - t0
        step(f"parent: fork returned after {fork_took:.2f} s")
        code = wait_for_child(pid, 40)
        print("RESULT " + json.dumps(dict(fork_took=fork_took, child=code)), flush=True)
        step("parent: exiting")
        """,
        tmp_path,
        120,
        what,
        stacks=False,
    )
    out = result(proc, what)
    assert out["fork_took"] < 4.0, f"os.fork() took {out['fork_took']:.1f} s while the writer was busy"
    assert out["child"] == 0, f"the child: {out['child']} (hung = killed after 40 s)\n{describe(proc)}"
    expect_clean_exit(proc, what)


@pytest.mark.parametrize("records", [300, 0], ids=["child-logs", "child-silent"])
@pytest.mark.parametrize("writer", ["file", "python"])
def test_a_child_forked_off_another_thread_ends_when_that_thread_does(tmp_path, records, writer):
    """G5: a child forked from a thread other than the main one has no main
    to return from; its thread ending (``sys.exit`` there) runs no exit hook,
    and the process ends only once its last thread has. Found: the child's
    kakashi workers kept it alive for ever. Now the thread's end drains the
    backends, whose workers leave, and the child exits with its records
    written, in order."""
    what = "a child forked off another thread"
    proc = run_bounded(
        f"""
        import json, os, sys, threading, time
        from kakashi.core.async_interface import get_high_performance_logger, get_network_logger

        RECORDS = {records}
        if {writer!r} == "file":
            log = get_high_performance_logger(
                "forked", "forked.log", worker_count=2, batch_size=50, overflow_strategy="block"
            )
        else:
            out = open("forked.log", "a")

            def send(line):
                out.write(line + "\\n")
                out.flush()

            log = get_network_logger("forked", send, overflow_strategy="block")
        log.info("parent before the fork")
        assert log.flush(timeout=10)
        kids = []

        def forker():
            pid = os.fork()
            if pid == 0:
                for seq in range(RECORDS):
                    log.info("in the child", seq=seq)
                sys.exit(0)  # ends this thread, the child's only one
            kids.append(pid)

        t = threading.Thread(target=forker)
        t.start()
        t.join()
        code = wait_for_child(kids[0], 30)
        print("RESULT " + json.dumps(dict(child=code)), flush=True)
        """,
        tmp_path,
        90,
        what,
        stacks=False,
    )
    out = forked_child_result(proc, what, killed_after=30)
    seqs = [r["fields"]["seq"] for r in json_lines(tmp_path / "forked.log") if r["message"] == "in the child"]
    assert seqs == list(range(records)), f"the child's records: {len(seqs)} of {records}, in order: {seqs[:20]}"


@pytest.mark.parametrize("after", ["rotation", "new-backend"])
def test_a_thread_a_child_started_keeps_logging_after_the_forking_thread_ended(tmp_path, after):
    """G5, found by a hostile pass: in a child forked off another thread
    than main, a thread the child started (U) logs after the forking thread
    (T) ended. Its rotations started a compression thread, or its new backend
    started workers, after the end drain had run, and either kept the child
    alive for ever. Now the compression thread ends when idle, and the end
    waits for U before it drains every backend (the late one too): the
    child exits with every record written."""
    what = "a child's thread logging after the forking thread ended"
    proc = run_bounded(
        f"""
        import glob, gzip, json, os, sys, threading, time
        from kakashi.core.async_interface import get_high_performance_logger

        AFTER = {after!r}
        log = get_high_performance_logger(
            "main", "app.log", worker_count=2, batch_size=50, overflow_strategy="block",
            rotation=4000, compression="gzip",
        )
        log.info("parent"); assert log.flush(timeout=10)
        kids = []

        def u(t):
            t.join()
            time.sleep(0.5)  # past T's end drain, which runs as its thread exits
            lg = log
            if AFTER == "new-backend":
                lg = get_high_performance_logger("late", "late.log", worker_count=2, overflow_strategy="block")
                globals()["kept"] = lg
            for i in range(300):
                lg.info("u", i=i, pad="x" * 50)

        def forker():
            pid = os.fork()
            if pid == 0:
                threading.Thread(target=u, args=(threading.current_thread(),)).start()
                for i in range(100):
                    log.info("t", i=i)
                sys.exit(0)
            kids.append(pid)

        t = threading.Thread(target=forker)
        t.start()
        t.join()
        code = wait_for_child(kids[0], 40)
        lines = []
        for fn in glob.glob("*.log*"):
            if fn.endswith(".tmp"):
                continue
            opener = gzip.open if fn.endswith(".gz") else open
            with opener(fn, "rt") as f:
                lines += [json.loads(line) for line in f]
        us = sorted(r["fields"]["i"] for r in lines if r["message"] == "u")
        print("RESULT " + json.dumps(dict(child=code, u=us)), flush=True)
        """,
        tmp_path,
        90,
        what,
        stacks=False,
    )
    out = forked_child_result(proc, what, killed_after=40)
    assert out["u"] == list(range(300)), f"U's records: {len(out['u'])} of 300"


@pytest.mark.parametrize("fallback", [True, False])
def test_a_child_thread_feeding_a_slow_writer_past_the_forking_threads_end_loses_nothing(tmp_path, fallback):
    """G1/G5, found by a hostile pass: in a child forked off another thread
    than main, the forking thread ends while a thread the child started
    (U) keeps logging under `block` into a pipeline whose Python writer is
    slow. The end drained the backends at once: with U still feeding it, the
    drain ran out its `shutdown_timeout`, dropped what was queued, and U's
    later records were dropped too (thousands, counted), with
    `fallback_to_sync` on or off. Now the end waits for U to finish, then
    drains: every record is written, in order."""
    what = f"a slow writer fed past the forking thread's end (fallback_to_sync={fallback})"
    proc = run_bounded(
        f"""
        import json, os, sys, threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig

        out = open("slow.log", "a")

        def slow(line):
            time.sleep(0.005)  # 400 records: 2 s, four times the shutdown timeout
            out.write(line + "\\n")
            out.flush()

        pipeline = AsyncPipeline(AsyncPipelineConfig(
            pipeline_config=PipelineConfig(writers=(slow,)),
            async_config=AsyncConfig(queue_overflow_strategy="block", max_queue_size=20, shutdown_timeout=0.5),
            fallback_to_sync={fallback!r},
        ))
        log = pipeline.logger("slow")
        kids = []

        def u():
            for i in range(400):
                log.info("u", i=i)

        def forker():
            pid = os.fork()
            if pid == 0:
                threading.Thread(target=u).start()
                sys.exit(0)
            kids.append(pid)

        t = threading.Thread(target=forker)
        t.start()
        t.join()
        code = wait_for_child(kids[0], 40)
        out.close()
        with open("slow.log") as f:
            us = [json.loads(line)["fields"]["i"] for line in f if '"message":"u"' in line]
        print("RESULT " + json.dumps(dict(child=code, u=us)), flush=True)
        """,
        tmp_path,
        90,
        what,
        stacks=False,
    )
    out = forked_child_result(proc, what, killed_after=40)
    assert out["u"] == list(range(400)), f"U's records: {len(out['u'])} of 400, in order"


@pytest.mark.parametrize("child", ["exits", "logs-and-returns"])
def test_threads_forking_at_the_same_time_never_deadlock_the_parent(tmp_path, child):
    """G5, found by a hostile pass: four threads fork ten children each at
    the same time while another thread logs. One thread, resuming after its
    fork (holding the interpreter lock), waited for kakashi's backend
    registry, which another thread preparing its own fork (without the
    interpreter lock) had taken meanwhile and held while it waited for the
    interpreter lock: the whole parent froze (3 of 5 runs on 3.9, 5 of 5 on
    3.13). Forks are now prepared one at a time. Every fork completes,
    every child exits 0, and the parent's records are all written."""
    what = f"4 threads forking 10 children each at once (children {child})"
    proc = run_bounded(
        f"""
        import json, os, threading, time
        from kakashi.core.async_interface import get_high_performance_logger

        CHILD = {child!r}
        log = get_high_performance_logger("F", "f.log", overflow_strategy="block")
        stop = threading.Event()
        logged = [0]

        def logger():
            while not stop.is_set():
                log.info("m", seq=logged[0])
                logged[0] += 1

        codes = []

        def forker(j):
            for c in range(10):
                pid = os.fork()
                if pid == 0:
                    if CHILD == "exits":
                        os._exit(0)
                    log.info("child", j=j, c=c)
                    return  # the forking thread of the child ends here
                codes.append(wait_for_child(pid, 30))

        threading.Thread(target=logger, daemon=True).start()
        forkers = [threading.Thread(target=forker, args=(j,), daemon=True) for j in range(4)]
        for t in forkers:
            t.start()
        for t in forkers:
            t.join(60)
        hung = any(t.is_alive() for t in forkers)
        stop.set()
        time.sleep(0.05)
        assert log.flush(timeout=30)
        with open("f.log") as f:
            seqs = [json.loads(line)["fields"]["seq"] for line in f if '"message":"m"' in line]
        print("RESULT " + json.dumps(dict(hung=hung, codes=codes, seqs_ok=seqs == list(range(len(seqs))), n=len(seqs))), flush=True)
        """,
        tmp_path,
        90,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert not out["hung"], f"a forking thread never finished\n{describe(proc)}"
    assert out["codes"] == [0] * 40, f"the children's exit codes: {out['codes']}"
    assert out["seqs_ok"] and out["n"] > 0, f"the parent's records: {out['n']}, in order: {out['seqs_ok']}"


@pytest.mark.parametrize("child", ["returns", "raises"])
def test_a_python_writer_that_forks_mid_batch_writes_each_record_once(tmp_path, child):
    """G2/G5, found by hostile passes: a Python writer forks on the 11th
    line of a 60-record batch and the child returns from the writer (or
    raises, as a failed exec does). The child went on writing the rest of
    the parent's batch (49 lines twice), or retried the failed line; and a
    child whose last thread was a worker could abort in the exit hook. Now
    the child stops at the fork: the rest is the parent's."""
    what = "a Python writer forking mid-batch"
    proc = run_bounded(
        f"""
        import json, os, sys, threading, time
        from kakashi.core.async_interface import get_network_logger

        CHILD = {child!r}
        out = open("out.log", "a")
        kids = []

        def send(line):
            out.write(line + "\\n")
            out.flush()
            if '"i":10}}' in line and not kids:
                pid = os.fork()
                if pid == 0:
                    if CHILD == "raises":
                        raise OSError("exec failed")
                    return  # the child returns from the writer
                kids.append(pid)

        log = get_network_logger("w", send, batch_size=100, overflow_strategy="block")
        for i in range(60):
            log.info("r", i=i)
        assert log.flush(timeout=10)
        code = wait_for_child(kids[0], 30)
        print("RESULT " + json.dumps(dict(child=code)), flush=True)
        """,
        tmp_path,
        90,
        what,
        stacks=False,
    )
    expect_clean_exit(proc, what)
    assert result(proc, what)["child"] == 0
    seen = [r["fields"]["i"] for r in json_lines(tmp_path / "out.log")]
    assert sorted(seen) == list(range(60)), f"{len(seen)} lines for 60 records: {sorted(seen)}"


@pytest.mark.parametrize("backends", [2, 4])
def test_records_a_writer_logs_into_an_earlier_backend_at_exit_are_written(tmp_path, backends):
    """G1/G5, found by hostile passes: at exit, a Python writer of a later
    backend logging into an earlier one, already drained, left its records
    queued there, neither written nor counted (11 of 200); with a chain of
    four (each writer logging into the previous backend), a whole backend's
    100. The exit now drains newest first, and again what is left queued."""
    what = "writers logging into earlier backends at exit"
    proc = run_bounded(
        f"""
        import time
        from kakashi.core.async_interface import get_network_logger

        N = {backends}
        loggers = []

        def writer(i):
            out = open(f"b{{i}}.log", "a")

            def send(line):
                out.write(line + "\\n")
                out.flush()
                time.sleep(0.0005)
                if i > 0:
                    loggers[i - 1].info("hop", frm=i)

            return send

        for i in range(N):
            loggers.append(get_network_logger(f"b{{i}}", writer(i), max_queue_size=1000, batch_size=4,
                                              overflow_strategy="block"))
        for k in range(100):
            loggers[-1].info("t", k=k)
        # no flush: the exit drains them all
        """,
        tmp_path,
        90,
        what,
    )
    expect_clean_exit(proc, what)
    for i in range(backends):
        lines = json_lines(tmp_path / f"b{i}.log")
        assert len(lines) == 100, f"backend b{i}: {len(lines)} of 100 records written at exit"


def test_the_exit_drain_of_what_a_writer_logged_late_keeps_its_deadline(tmp_path):
    """G5, found by a hostile pass: records a writer logged into an earlier
    backend once its workers were gone were written on the exiting thread
    with no deadline: 30 s for a 5 s shutdown_timeout. Now what is left at
    the deadline is counted (the bound below only detects a hang)."""
    what = "the exit's late drain with a slow writer"
    proc = run_bounded(
        """
        import atexit, json, sys, time
        stats = {}
        def report():
            from kakashi.core.async_interface import get_async_stats
            s = get_async_stats()
            print("RESULT " + json.dumps({k: s[k] for k in ("messages_submitted", "messages_written",
                  "messages_dropped", "messages_failed", "dropped_shutdown_timeout", "queue_size")}), flush=True)
        atexit.register(report)  # before kakashi's: runs after its drain
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, default_json_formatter

        def pipeline(writer, **kw):
            return AsyncPipeline(AsyncPipelineConfig(
                PipelineConfig(formatter=default_json_formatter, writers=[writer]),
                AsyncConfig(queue_overflow_strategy="block", shutdown_timeout=1.0, **kw)))

        exiting = []

        def send(line):
            time.sleep(0.0005)
            if exiting:
                slow.info("late")

        slow_pipeline = pipeline(lambda line: time.sleep(0.05), max_queue_size=1000, batch_size=4)
        slow = slow_pipeline.logger("slow")
        fast_pipeline = pipeline(send, max_queue_size=1000, batch_size=4)
        fast = fast_pipeline.logger("fast")
        for i in range(400):
            fast.info("t", i=i)
        atexit.register(exiting.append, 1)  # after kakashi's: runs before its drain
        """,
        tmp_path,
        20,
        what,
    )
    expect_clean_exit(proc, what)
    s = result(proc, what)
    assert s["queue_size"] == 0, s
    assert s["dropped_shutdown_timeout"] > 0, f"the slow writer cannot have written 400 records in 1 s: {s}"


# === after shutdown nothing is stranded; per-thread order across it (G3, G4) ===

STRANDED = """
import json, threading, time
from kakashi.core.async_interface import get_high_performance_logger, get_async_stats, shutdown_async_backend

log = get_high_performance_logger(
    "stranded", "stranded.log", max_queue_size=1000, worker_count=2, batch_size=100, overflow_strategy="block"
)
N = 5000
progress = [0] * 8

def produce(t):
    for seq in range(N):
        log.info("m", t=t, seq=seq)
        progress[t] = seq + 1

threads = [threading.Thread(target=produce, args=(t,), daemon=True) for t in range(8)]
for th in threads:
    th.start()
while sum(progress) < 8000:
    time.sleep(0.001)
step("shutdown_async_backend({timeout}) with 8 producers logging flat out")
report = shutdown_async_backend({timeout})
step(f"shutdown returned: drained={{report.drained}} dropped={{report.dropped}} in_flight={{report.in_flight}}")
for th in threads:
    th.join(60)
alive = sum(th.is_alive() for th in threads)
step(f"producers stopped ({{alive}} still alive)")
for _ in range(1000):
    s = get_async_stats()
    if s["queue_size"] == 0 and s["messages_submitted"] == (
        s["messages_written"] + s["messages_dropped"] + s["messages_filtered"] + s["messages_failed"]
    ):
        break
    time.sleep(0.01)
print("RESULT " + json.dumps(dict(
    alive=alive, drained=report.drained, dropped=report.dropped, in_flight=report.in_flight, stats=s,
), default=str), flush=True)
"""


@pytest.mark.parametrize("timeout", [0.001, 30.0], ids=["shutdown-times-out", "shutdown-completes"])
def test_after_shutdown_nothing_is_stranded_and_order_holds(tmp_path, timeout):
    """G3, G4: 8 threads logging flat out under block while shutdown runs: once
    they stop the queue is empty and the stats balance; in the file each
    thread's sequence numbers strictly increase (records logged after
    shutdown are written on the caller's thread)."""
    what = f"shutdown({timeout}) under 8 producers"
    proc = run_bounded(STRANDED.format(timeout=timeout), tmp_path, 120, what)
    expect_clean_exit(proc, what)
    out = result(proc, what)
    s = out["stats"]
    report = f"report drained={out['drained']} dropped={out['dropped']} in_flight={out['in_flight']}"
    assert out["alive"] == 0, f"{out['alive']} producers were still logging 60 s after shutdown"
    assert s["queue_size"] == 0, f"{s['queue_size']} records stranded in the queue after shutdown; {report}"
    assert balanced(s), f"stats do not balance 10 s after the producers stopped: {balance(s)}; {report}"
    last = {}
    lines = json_lines(tmp_path / "stranded.log")
    for n, r in enumerate(lines):
        if r["logger"] != "stranded":
            continue  # an in-band report about drops
        t, seq = r["fields"]["t"], r["fields"]["seq"]
        assert seq > last.get(t, -1), f"thread {t}: seq {seq} written after {last[t]} (line {n}); {report}"
        last[t] = seq
    assert len(lines) == s["messages_written"], f"{len(lines)} lines vs messages_written {s['messages_written']}"
    if out["drained"] and out["dropped"] == 0 and out["in_flight"] == 0:
        mine = sum(1 for r in lines if r["logger"] == "stranded")
        assert mine == 8 * 5000, f"block with a completed shutdown lost records: {mine} of 40000"


# === interpreter exit never aborts or hangs (G5) ===

FILE_LOGGER = """
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("exit", "exit.log", overflow_strategy="block")
"""

PYTHON_WRITER_LOGGER = """
from kakashi.core.async_interface import get_network_logger
out = open("net.log", "a")
log = get_network_logger("exit", lambda line: out.write(line + "\\n"), overflow_strategy="block")
"""


@pytest.mark.parametrize("logger_code", [FILE_LOGGER, PYTHON_WRITER_LOGGER], ids=["file", "python-writer"])
def test_exit_with_a_daemon_thread_logging_flat_out(tmp_path, logger_code):
    """G5: a daemon thread logging as fast as it can while the interpreter exits."""
    what = "exit with a daemon thread logging flat out"
    proc = run_bounded(
        logger_code
        + """
import threading, time

def spin():
    i = 0
    while True:
        log.info("spin", i=i)
        i += 1

threading.Thread(target=spin, daemon=True).start()
time.sleep(0.3)
step("exiting")
""",
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)


def test_exit_with_daemon_threads_logging_objects_ten_times(tmp_path):
    """G5: daemon threads log values whose ``__str__`` is Python code (and
    one JSON cannot carry, through a ``default=`` hook) while the
    interpreter exits. CPython before 3.14 ends such a thread with
    ``pthread_exit`` when it takes the interpreter lock back during
    finalisation; inside a logging call that aborted the process. Ten runs,
    none may abort; every line written is whole."""
    for run in range(10):
        what = f"exit with daemon threads logging objects (run {run + 1} of 10)"
        proc = run_bounded(
            """
import threading, time
from kakashi.core.async_interface import get_high_performance_logger

log = get_high_performance_logger("exit", "exit.log", overflow_strategy="block", max_queue_size=64)

class Order:
    def __str__(self):
        return "-".join(str(i) for i in range(20))

def spin(t):
    i = 0
    while True:
        log.info("spin", order=Order(), t=t, i=i)
        i += 1

for t in range(6):
    threading.Thread(target=spin, args=(t,), daemon=True).start()
time.sleep(0.2)
step("exiting")
""",
            tmp_path,
            60,
            what,
        )
        expect_clean_exit(proc, what)
        records = [json.loads(line) for line in (tmp_path / "exit.log").read_text().splitlines()]
        # Besides the records, the exit may write kakashi's in-band report of
        # what the daemon threads logged past the deadline (G1).
        spins = [r for r in records if r["message"] == "spin"]
        assert spins and all(r["fields"]["order"].startswith("0-1-2") for r in spins), what
        others = [r["message"] for r in records if r["message"] != "spin"]
        assert all(m.startswith("kakashi dropped ") for m in others), f"{what}: {others[:3]}"
        os.remove(tmp_path / "exit.log")


# Threads other `atexit` handlers wait for must not be stopped by kakashi's
# exit: each scenario hung for ever when kakashi parked threads that logged
# from its own `atexit` handler on (the others run after it).
EXIT_WAITS_FOR_LOGGING_THREADS = {
    # logging.shutdown takes the lock of a handler a daemon thread holds
    # while it logs to kakashi.
    "logging-shutdown-handler-lock": """
import logging, threading, time
from kakashi.core.async_interface import get_high_performance_logger
klog = get_high_performance_logger("fwd", "exit.log")
class Fwd(logging.Handler):
    def emit(self, record):
        klog.info(record.getMessage())
root = logging.getLogger(); root.addHandler(Fwd()); root.setLevel(logging.INFO)
def spin():
    while True:
        logging.info("x %s", 1)
threading.Thread(target=spin, daemon=True).start()
time.sleep(0.2)
""",
    # An atexit handler registered before kakashi starts a thread that logs
    # and joins it.
    "atexit-handler-joins-a-logging-thread": """
import atexit, threading
def final():
    t = threading.Thread(target=lambda: log.info("bye")); t.start(); t.join()
atexit.register(final)
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("a", "exit.log")
log.info("main")
""",
    # multiprocessing's exit function waits for a pool's result thread,
    # whose callback logs (a callback is running at exit: 200 of 5 ms
    # each). Few enough results that they all fit in the pipe at once: with
    # more, a worker can block writing one while holding the result queue's
    # lock after the result thread has stopped reading, and the exit
    # function then waits for that lock for ever, with or without kakashi
    # (CPython 3.9: 6 runs in 80, two at a time, with a callback of 1 µs).
    "pool-callback-logs": """
import multiprocessing as mp, time
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("p", "exit.log")
def work(i):
    return i
def cb(r):
    time.sleep(0.005)
    log.info("done", r=r)
pool = mp.get_context("fork").Pool(2)
for i in range(200):
    pool.apply_async(work, (i,), callback=cb)
time.sleep(0.3)
""",
    # A value's __str__ that logs itself, on daemon threads: the nested call
    # finishes while the exit waits for the outer one.
    "nested-call-in-str": """
import threading, time
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("n", "exit.log")
class Obj:
    def __str__(self):
        time.sleep(0.001); log.info("inner"); return "obj"
def spin():
    while True:
        log.info(Obj())
for _ in range(2):
    threading.Thread(target=spin, daemon=True).start()
time.sleep(0.2)
""",
}


@pytest.mark.parametrize("scenario", sorted(EXIT_WAITS_FOR_LOGGING_THREADS))
def test_exit_never_stops_a_thread_another_exit_handler_waits_for(tmp_path, scenario):
    """G5: three runs of each scenario exit with code 0 (a hang is killed
    after 60 s and fails)."""
    for run in range(3):
        what = f"{scenario} (run {run + 1} of 3)"
        proc = run_bounded(EXIT_WAITS_FOR_LOGGING_THREADS[scenario] + "\nstep('exiting')\n", tmp_path, 60, what)
        expect_clean_exit(proc, what)


def test_a_program_that_clears_the_atexit_registry_keeps_logging_from_threads(tmp_path):
    """G5: kakashi keeps threads out of its code only once the interpreter
    is exiting; `atexit._clear()` in a running program changes nothing."""
    proc = run_bounded(
        """
import atexit, threading
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("c", "clear.log")
atexit._clear()
th = threading.Thread(target=lambda: log.info("from a thread")); th.start(); th.join(20)
step(f"thread alive: {th.is_alive()}")
log.flush()
""",
        tmp_path,
        60,
        "atexit._clear() then log from a thread",
    )
    expect_clean_exit(proc, "atexit._clear()")
    assert "thread alive: False" in proc.stdout + proc.stderr, proc.stdout[-300:]
    assert [r["message"] for r in json_lines(tmp_path / "clear.log")] == ["from a thread"]


def test_records_a_later_exit_handler_logs_reach_a_python_writer(tmp_path):
    """G4: `logging.shutdown` (an atexit handler that runs after kakashi's)
    flushes a MemoryHandler into a KakashiHandler whose logger writes through
    a Python writer: every buffered record is written."""
    proc = run_bounded(
        """
import logging, logging.handlers
import kakashi.stdlib
from kakashi.core.async_interface import get_network_logger
out = open("net.out", "w")
log = get_network_logger("n", lambda s: (out.write(s + "\\n"), out.flush()))
mh = logging.handlers.MemoryHandler(100, logging.CRITICAL, kakashi.stdlib.KakashiHandler(log))
logging.getLogger().addHandler(mh); logging.getLogger().setLevel(logging.INFO)
for i in range(10):
    logging.warning("buffered %d", i)
""",
        tmp_path,
        60,
        "MemoryHandler flushed at exit",
    )
    expect_clean_exit(proc, "MemoryHandler flushed at exit")
    lines = [json.loads(line) for line in (tmp_path / "net.out").read_text().splitlines()]
    assert [r["message"] for r in lines] == [f"buffered {i}" for i in range(10)], proc.stderr[-500:]


def test_a_child_forked_while_the_parent_exits_runs_to_its_end(tmp_path):
    """G5: a daemon thread forks children in a loop while the parent exits
    and another thread holds the exit's wait open (a slow __str__); every
    child logs and ends (none is left parked by the parent's exit)."""
    proc = run_bounded(
        """
import os, threading, time
from kakashi.core.async_interface import get_high_performance_logger
log = get_high_performance_logger("f", "fork.log")
class Slow:
    def __str__(self):
        time.sleep(0.5); return "slow"
def slow_logger():
    while True:
        log.info(Slow())
def forker():
    while True:
        pid = os.fork()
        if pid == 0:
            with open("child.pids", "a") as f:
                f.write(f"{os.getpid()}\\n")
            log.info("child")
            os._exit(0)
        os.waitpid(pid, 0)
threading.Thread(target=slow_logger, daemon=True).start()
threading.Thread(target=forker, daemon=True).start()
time.sleep(0.3)
while not os.path.exists("child.pids"):  # at least one child, on a loaded machine
    time.sleep(0.01)
""",
        tmp_path,
        60,
        "fork while exiting",
        stacks=False,
    )
    expect_clean_exit(proc, "fork while exiting")

    def alive(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                return "\tZ" not in next(line for line in f if line.startswith("State:"))
        except (FileNotFoundError, StopIteration):
            return False

    pids = [int(p) for p in (tmp_path / "child.pids").read_text().split()]
    deadline = time.monotonic() + 20
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [p for p in pids if alive(p)]
    for p in left:
        os.kill(p, 9)
    assert not left, f"{len(left)} of {len(pids)} forked children never ended"


def test_exit_with_a_daemon_heartbeat_ten_times(tmp_path):
    """G5: a daemon thread logging every 1 ms (through a Python writer) while
    the interpreter exits; ten runs, none may abort or hang."""
    for run in range(10):
        what = f"exit with a 1 ms heartbeat (run {run + 1} of 10)"
        proc = run_bounded(
            PYTHON_WRITER_LOGGER
            + """
import threading, time

def heartbeat():
    i = 0
    while True:
        log.info("beat", i=i)
        i += 1
        time.sleep(0.001)

threading.Thread(target=heartbeat, daemon=True).start()
time.sleep(0.2)
step("exiting")
""",
            tmp_path,
            60,
            what,
        )
        expect_clean_exit(proc, what)


def test_exit_while_a_worker_is_inside_a_python_writer_slower_than_the_drain(tmp_path):
    """G5: the worker is inside a Python writer that sleeps 15 s (longer than
    the exit drain, 5 s by default) when the interpreter exits: exit code 0,
    no abort, no hang."""
    what = "exit while a 15 s Python writer runs"
    proc = run_bounded(
        """
        import threading, time
        from kakashi.core.async_interface import get_network_logger

        entered = threading.Event()

        def send(line):
            entered.set()
            time.sleep(15)

        log = get_network_logger("net", send, overflow_strategy="block")
        log.info("slow")
        assert entered.wait(10)
        step("exiting while the writer sleeps")
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)


SLOW_OBJECT_STAGES = {
    # The engine reads the attributes of the object an enricher returns.
    "enricher-result": """
class Slow:
    def __init__(self, rec):
        self._rec = rec
    def __getattr__(self, name):
        time.sleep(0.05)
        return getattr(self._rec, name)
stages = dict(enrichers=[lambda rec: Slow(rec)])
""",
    # The engine asks a filter's result whether it is true.
    "filter-result": """
class Slow:
    def __bool__(self):
        time.sleep(0.05)
        return True
stages = dict(filters=[lambda rec: Slow()])
""",
}


def slow_stage_pipeline(stage):
    """Code (at column 0, needing `time`) that logs 200 records through a
    file pipeline with the slow `stage` of `SLOW_OBJECT_STAGES` and a 0.3 s
    `shutdown_timeout`, then sleeps 0.2 s: the exit drain times out with a
    worker inside that stage's Python code."""
    return SLOW_OBJECT_STAGES[stage] + """
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, default_json_formatter, file_writer
config = PipelineConfig(formatter=default_json_formatter, writers=[file_writer("slow.log")], **stages)
log = AsyncPipeline(AsyncPipelineConfig(config, AsyncConfig(shutdown_timeout=0.3))).logger("slow")
for i in range(200):
    log.info("m", i=i)
time.sleep(0.2)
"""


@pytest.mark.parametrize("stage", sorted(SLOW_OBJECT_STAGES))
def test_exit_while_a_worker_runs_python_code_around_a_stage_three_times(tmp_path, stage):
    """G5: after an exit drain that timed out, a worker is still running
    Python code of a stage's result (not the stage's own call: reading an
    enricher's returned object, a filter result's ``__bool__``) when the
    interpreter finalises. That aborted ("FATAL: exception not rethrown",
    3 of 3 runs): the exit now waits for such code and keeps workers out of
    Python from then on."""
    for run in range(3):
        what = f"exit while a worker reads a slow {stage} (run {run + 1} of 3)"
        code = "import time\n" + slow_stage_pipeline(stage) + "step(\"exiting while a worker runs the stage's Python code\")\n"
        proc = run_bounded(code, tmp_path, 60, what)
        expect_clean_exit(proc, what)
        assert "shutdown timed out" in proc.stderr, f"{what}: the drain was expected to time out: {describe(proc)}"


IMPORTED_WHILE_EXITING = {
    # `threading` is first imported here, so its exit hook never runs.
    "in-an-atexit-handler": (
        "import atexit, time\ndef late():\n"
        + textwrap.indent(slow_stage_pipeline("enricher-result"), "    ")
        + "atexit.register(late)\n"
    ),
    # Main has returned: `threading` is already shutting down.
    "in-a-thread-after-main-returned": (
        "import threading, time\ndef late():\n    time.sleep(0.3)\n"
        + textwrap.indent(slow_stage_pipeline("enricher-result"), "    ")
        + "threading.Thread(target=late).start()\n"
    ),
}


@pytest.mark.parametrize("where", sorted(IMPORTED_WHILE_EXITING))
def test_exit_when_kakashi_is_first_imported_while_the_interpreter_exits(tmp_path, where):
    """G5: kakashi first imported, and its workers busy in Python code around
    a stage, once the interpreter has begun to exit. Its exit hooks could
    not register (or never ran), so the gate never closed and the worker
    met finalisation: "FATAL: exception not rethrown", 5 of 5 runs on 3.11
    and 3.13 (found by a hostile pass). Three runs each."""
    for run in range(3):
        what = f"kakashi imported {where} (run {run + 1} of 3)"
        proc = run_bounded(IMPORTED_WHILE_EXITING[where], tmp_path, 60, what)
        expect_clean_exit(proc, what)


# Non-daemon threads that log under `block` through a slow but working
# Python writer after the main thread has returned.
AFTER_MAIN = {
    # Found: 570-586 of 600 written, 'interrupted' counted, flush True:
    # threading's exit hook runs before such threads are joined.
    "one-thread": dict(threads=1, records=600, per_line=0.002, queue=10, batch=5),
    # Found: 11-18 of 40 dropped in 5 of 6 runs: a starved thread's wait
    # passed the exit's timeout while the others kept getting room.
    "four-threads-contending": dict(threads=4, records=10, per_line=0.04, queue=2, batch=1),
}


@pytest.mark.parametrize("case", sorted(AFTER_MAIN))
def test_threads_still_logging_after_main_returns_lose_nothing_under_block(tmp_path, case):
    """G2, G5: the interpreter is exiting (threading's hook ran) but joins
    these threads first: their waits for room must not end at the exit's
    timeout while the writer gives room to some thread (both cases found
    by hostile passes, 3.9-3.13). Every record is written, each thread's in
    order, and flush says so. Two runs each."""
    c = AFTER_MAIN[case]
    code = f"""
        import json, threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, default_json_formatter

        out = open("w.log", "w")

        def writer(line):
            time.sleep({c["per_line"]})
            out.write(line + "\\n")
            out.flush()

        p = AsyncPipeline(AsyncPipelineConfig(
            PipelineConfig(formatter=default_json_formatter, writers=[writer]),
            AsyncConfig(shutdown_timeout=0.5, max_queue_size={c["queue"]}, batch_size={c["batch"]},
                        queue_overflow_strategy="block")))
        log = p.logger("after")

        def work(k):
            time.sleep(0.2)  # main has returned by now
            for i in range({c["records"]}):
                log.info("m", t=k, i=i)

        threads = [threading.Thread(target=work, args=(k,)) for k in range({c["threads"]})]
        for t in threads:
            t.start()

        def report():
            for t in threads:
                t.join()
            ok = p.flush()
            s = p.get_stats()
            print("RESULT " + json.dumps(dict(flushed=ok, written=s["messages_written"],
                                              dropped=s["messages_dropped"])), flush=True)

        threading.Thread(target=report).start()
        """
    total = c["threads"] * c["records"]
    for run in range(2):
        what = f"{case} logging after main returned (run {run + 1} of 2)"
        proc = run_bounded(code, tmp_path, 60, what)
        expect_clean_exit(proc, what)
        out = result(proc, what)
        assert out == {"flushed": True, "written": total, "dropped": 0}, f"{what}: {out}"
        lines = [json.loads(line)["fields"] for line in (tmp_path / "w.log").read_text().splitlines()]
        for k in range(c["threads"]):
            mine = [f["i"] for f in lines if f["t"] == k]
            assert mine == list(range(c["records"])), f"{what}: thread {k} wrote {mine}"

FORKER_BESIDE = """
import os, sys, time, threading
from kakashi.core import get_async_stats
from kakashi.core.async_interface import get_network_logger
busy = threading.Event()
def send(line):
    busy.set()
    time.sleep(0.8)
log = get_network_logger("net", send, overflow_strategy="block")
log.info("slow")
busy.wait(5)
def forker():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
threading.Thread(target=forker, daemon=True).start()
time.sleep(0.1)  # the forker is preparing the fork: waiting for the busy worker
"""


@pytest.mark.parametrize("then", ["get_async_stats", "exit"])
def test_a_fork_being_prepared_never_deadlocks_another_thread(tmp_path, then):
    """G5: while a thread prepares a fork (it holds kakashi's registries and
    waits, without the interpreter lock, for a busy worker), the main thread
    reads the stats or exits. Both took a registry holding the interpreter
    lock, which the forker needed back: a deadlock, every run (a hostile
    pass). Registries are now taken without the interpreter lock."""
    code = FORKER_BESIDE + ("get_async_stats()\nprint('RESULT {}', flush=True)\n" if then == "get_async_stats" else "")
    what = f"{then} while another thread prepares a fork"
    proc = run_bounded(code, tmp_path, 60, what, stacks=False)
    expect_clean_exit(proc, what)


def test_a_stage_that_forks_never_hangs_the_exit(tmp_path):
    """G5: an enricher calls os.fork() (the child exits at once); the main
    thread then flushes and exits. The exit's hook took the backends'
    registry, held by the forking worker, holding the interpreter lock the
    worker needed back: a hang (2 of 3 runs, a hostile pass)."""
    what = "exit after a stage forked"
    proc = run_bounded(
        """
        import os
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, default_json_formatter, file_writer

        done = []

        def enrich(r):
            if not done:
                done.append(1)
                pid = os.fork()
                if pid == 0:
                    os._exit(0)
                os.waitpid(pid, 0)
            return None

        p = AsyncPipeline(AsyncPipelineConfig(
            PipelineConfig(enrichers=[enrich], formatter=default_json_formatter, writers=[file_writer("f.log")]),
            AsyncConfig(shutdown_timeout=1.0)))
        log = p.logger("fk")
        log.info("m")
        p.flush()
        """,
        tmp_path,
        60,
        what,
        stacks=False,
    )
    expect_clean_exit(proc, what)
    assert len(json_lines(tmp_path / "f.log")) == 1, f"{what}: {describe(proc)}"


def test_atexit_cleared_from_a_thread_without_frames_leaves_the_program_running(tmp_path):
    """A program clears the atexit registry from a thread with no Python
    frame (`_thread.start_new_thread(atexit._clear, ())`): the exit gate
    took that for the interpreter's own exit and parked the main thread at
    its next logging call for ever (3 of 3 runs on 3.9, 3.11, 3.13: a
    hostile pass). The program runs on and every record is written."""
    what = "atexit._clear() from a frameless thread"
    proc = run_bounded(
        """
        import _thread, atexit, threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, default_json_formatter, file_writer

        p = AsyncPipeline(AsyncPipelineConfig(
            PipelineConfig(formatter=default_json_formatter, writers=[file_writer("a.log")]),
            AsyncConfig(shutdown_timeout=0.5)))
        log = p.logger("a")
        log.info("before")
        _thread.start_new_thread(atexit._clear, ())
        time.sleep(0.5)
        for i in range(5):
            log.info("after", i=i)
        t = threading.Thread(target=lambda: [log.info("thread", i=i) for i in range(5)])
        t.start()
        t.join()
        p.flush()
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    assert len(json_lines(tmp_path / "a.log")) == 11, f"{what}: {describe(proc)}"


def test_exit_with_many_records_behind_a_stuck_writer_is_bounded(tmp_path):
    """G5: a non-daemon thread logs 700 records under `block` into a
    one-record queue whose writer is stuck for ever, after main returned.
    Once a wait has had its timeout at exit, each later one still waited a
    100 ms slice: 70 s (a hang at 60 s: a hostile pass). Now every later
    wait ends at once."""
    what = "700 records behind a stuck writer at exit"
    proc = run_bounded(
        """
        import threading, time
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, default_json_formatter

        stop = threading.Event()
        log = AsyncPipeline(AsyncPipelineConfig(
            PipelineConfig(formatter=default_json_formatter, writers=(lambda line: stop.wait(),)),
            AsyncConfig(shutdown_timeout=0.5, queue_overflow_strategy="block", max_queue_size=1,
                        batch_size=1))).logger("f")

        def work():
            for i in range(700):
                log.info("x", i=i)

        threading.Thread(target=work).start()
        time.sleep(0.2)
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)


# === a formatter returning a non-string is a formatter error (G6) ===


class _Opaque:
    def __str__(self):
        return "opaque"


@pytest.mark.parametrize(
    "value", [None, 42, b"bytes", _Opaque()], ids=["None", "int", "bytes", "object"]
)
def test_a_formatter_returning_a_non_string_is_a_formatter_error(value):
    """G6: the record is counted in formatter_errors and failed, and no line
    is written for it."""
    from kakashi.core.async_backend import AsyncConfig
    from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
    from kakashi.core.pipeline import PipelineConfig

    received = []
    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(formatter=lambda record: value, writers=(received.append,)),
            AsyncConfig(batch_size=10),
        )
    )
    logger = pipeline.logger("bad-format")
    for i in range(5):
        logger.info("r", i=i)
    assert pipeline.flush()
    assert pipeline.shutdown(timeout=10.0).drained
    s = pipeline.get_stats()
    assert received == [], f"lines were written for a formatter returning {value!r}: {received[:3]}"
    assert s["formatter_errors"] == 5, f"formatter_errors {s['formatter_errors']}, expected 5"
    assert s["messages_failed"] == 5, f"messages_failed {s['messages_failed']}; {balance(s)}"
    assert balanced(s), balance(s)


# === counters never go backwards (G1) ===


@pytest.mark.parametrize("kind", ["high_performance", "async_pipeline"])
def test_counters_never_go_backwards_when_a_backend_is_collected(tmp_path, kind):
    """G1: 1,000 records written, every handle deleted and collected:
    get_async_stats()['messages_written'] stays >= 1,000."""
    what = f"stats after the {kind} backend is collected"
    proc = run_bounded(
        """
        import gc, json
        from kakashi.core.async_interface import get_async_stats, get_high_performance_logger
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
        from kakashi.core.pipeline import PipelineConfig, file_writer

        if __KIND__ == "high_performance":
            owner = get_high_performance_logger("gone", "gone.log", overflow_strategy="block")
            log = owner
        else:
            owner = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(file_writer("gone.log"),))))
            log = owner.logger("gone")
        for i in range(1000):
            log.info("m", i=i)
        assert log.flush()
        during = get_async_stats()
        del log, owner
        gc.collect()
        after = get_async_stats()
        print("RESULT " + json.dumps(dict(during=during, after=after), default=str), flush=True)
        """.replace("__KIND__", repr(kind)),
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    during, after = out["during"], out["after"]
    assert len(json_lines(tmp_path / "gone.log")) == 1000
    assert after["messages_written"] >= 1000, (
        f"get_async_stats()['messages_written'] went from {during['messages_written']} to "
        f"{after['messages_written']} once the backend was collected: counters must never go backwards"
    )
    assert after["messages_submitted"] >= during["messages_submitted"], (
        f"messages_submitted went backwards: {during['messages_submitted']} -> {after['messages_submitted']}"
    )


# === Ctrl-C during a block wait ===


def test_ctrl_c_ends_a_block_wait_with_keyboard_interrupt(tmp_path):
    """SIGINT while log.info waits for room (the writer is stuck) raises
    KeyboardInterrupt from that call, promptly; the record it carried is
    counted as dropped (`interrupted`), and logging goes on afterwards."""
    what = "SIGINT during a block wait"
    proc = run_bounded(
        """
        import json, os, signal, threading, time
        from kakashi.core.async_interface import get_network_logger

        release = threading.Event()

        def send(line):
            release.wait()

        log = get_network_logger("net", send, overflow_strategy="block", max_queue_size=4, batch_size=1)
        threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        logged, raised, took = 0, None, None
        t0 = time.monotonic()
        try:
            for i in range(1000):
                log.info("r", i=i)
                logged += 1
        except KeyboardInterrupt:
            raised = "KeyboardInterrupt"
            took = time.monotonic() - t0
        step(f"logged {logged}, then {raised} after {took}")
        release.set()
        log.info("after the interrupt")
        ok = log.flush(timeout=10)
        from kakashi.core.async_interface import get_async_stats
        s = get_async_stats()
        print("RESULT " + json.dumps(dict(logged=logged, raised=raised, took=took, flushed=ok,
                                          interrupted=s["dropped_interrupted"], written=s["messages_written"])), flush=True)
        """,
        tmp_path,
        60,
        what,
    )
    expect_clean_exit(proc, what)
    out = result(proc, what)
    assert out["raised"] == "KeyboardInterrupt", out
    assert out["took"] < 4.0, f"KeyboardInterrupt arrived {out['took']:.1f} s after the wait began (SIGINT at 1 s)"
    assert out["interrupted"] == 1, out
    assert out["flushed"], out
    # Every record logged before the interrupt, and the one after it.
    assert out["written"] >= out["logged"] + 1, out
