"""``kakashi.install_sigterm_handler``: on SIGTERM every backend is drained,
then the process dies of SIGTERM as it would have (or the previous Python
handler runs). Each scenario is a child interpreter the test signals."""

import os
import select
import json
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import kakashi
from conftest import json_lines, run_python

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

PATIENCE = 120.0  # seconds; a bound on waits, never an expectation


class Child:
    """A Python child whose stdout lines the test can wait for."""

    def __init__(self, code, cwd):
        self.proc = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=str(cwd),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._buffer = b""

    def wait_for(self, predicate):
        """The first stdout line (text) for which ``predicate`` is true."""
        deadline = time.monotonic() + PATIENCE
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self._buffer:
                line, self._buffer = self._buffer.split(b"\n", 1)
                if predicate(line.decode()):
                    return line.decode()
            left = deadline - time.monotonic()
            assert left > 0, "the child did not say it in time"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"the child ended early: {self.finish()}"
                self._buffer += chunk

    def finish(self):
        """Waits for the child to end; returns (returncode, rest of stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=PATIENCE)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate(timeout=PATIENCE)
        return self.proc.returncode, (self._buffer + out).decode(), err.decode()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=PATIENCE)


LOG_200K_FROM_A_THREAD = """
    import threading, time
    import kakashi
    from kakashi.core.async_interface import get_high_performance_logger
    {install}
    logger = get_high_performance_logger("term", "term.log", overflow_strategy="block")

    def work():
        for i in range(200000):
            logger.info("record", i=i)
        print("done", flush=True)

    threading.Thread(target=work, daemon=True).start()
    while True:
        time.sleep(1)
"""


def test_sigterm_after_logging_writes_every_record(tmp_path):
    """200,000 records logged from a thread, then SIGTERM: the child dies of
    SIGTERM (-15) and every record is in the file."""
    code = LOG_200K_FROM_A_THREAD.format(install="kakashi.install_sigterm_handler(timeout=60.0)")
    with Child(code, tmp_path) as child:
        child.wait_for(lambda line: line == "done")
        child.proc.send_signal(signal.SIGTERM)
        returncode, _, err = child.finish()
    assert returncode == -signal.SIGTERM, err
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "term.log")] == list(range(200000))


def test_sigterm_without_the_handler_still_terminates(tmp_path):
    """Without the helper SIGTERM still ends the process at once (-15, no hang)."""
    with Child(LOG_200K_FROM_A_THREAD.format(install=""), tmp_path) as child:
        child.wait_for(lambda line: line == "done")
        child.proc.send_signal(signal.SIGTERM)
        returncode, _, err = child.finish()
    assert returncode == -signal.SIGTERM, err
    # What is there is whole lines, but for the last: SIGTERM's default
    # action ends the process inside a write (Linux stops a write to a file
    # between pages once a fatal signal is pending), which the README's
    # guarantees do not cover (install_sigterm_handler does).
    lines = (tmp_path / "term.log").read_text().splitlines()
    for line in lines[:-1]:
        json.loads(line)


def test_sigterm_while_logging_keeps_every_record_logged_before(tmp_path):
    """The main thread logs without end and reports its progress; SIGTERM
    once the file is non-empty: the child dies of SIGTERM and the file holds
    records 0..N-1, each a valid JSON line, N at least the last count the
    child reported before the signal."""
    code = """
    import kakashi
    from kakashi.core.async_interface import get_high_performance_logger
    kakashi.install_sigterm_handler(timeout=60.0)
    logger = get_high_performance_logger("term", "term.log", overflow_strategy="block", max_queue_size=5000)
    for i in range(100_000_000):
        logger.info("record", i=i)
        if (i + 1) % 10000 == 0:
            print(i + 1, flush=True)
    """
    log = tmp_path / "term.log"
    with Child(code, tmp_path) as child:
        reported = int(child.wait_for(lambda line: int(line) >= 20000))
        deadline = time.monotonic() + PATIENCE
        while not (log.exists() and log.stat().st_size > 0):
            assert time.monotonic() < deadline, "nothing was written"
            reported = int(child.wait_for(lambda line: True))
        child.proc.send_signal(signal.SIGTERM)
        returncode, _, err = child.finish()
    assert returncode == -signal.SIGTERM, err
    seq = [r["fields"]["i"] for r in json_lines(log)]
    assert seq == list(range(len(seq)))
    assert len(seq) >= reported


def test_sigterm_chains_to_the_previous_python_handler(tmp_path):
    """A handler installed before is called after the drain, instead of
    the process being killed; the helper returns it. (The previous handler
    ends with os._exit, so only the drain can have written the records.)"""
    code = """
    import os, signal, sys, time
    import kakashi
    from kakashi.core.async_interface import get_high_performance_logger

    def previous(signum, frame):
        print("previous", signum, flush=True)
        os._exit(3)

    signal.signal(signal.SIGTERM, previous)
    assert kakashi.install_sigterm_handler(timeout=60.0) is previous
    logger = get_high_performance_logger("term", "term.log", overflow_strategy="block")
    for i in range(100000):
        logger.info("record", i=i)
    print("done", flush=True)
    while True:
        time.sleep(1)
    """
    with Child(code, tmp_path) as child:
        child.wait_for(lambda line: line == "done")
        child.proc.send_signal(signal.SIGTERM)
        returncode, out, err = child.finish()
    assert returncode == 3, err
    assert out.split() == ["previous", str(int(signal.SIGTERM))]
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "term.log")] == list(range(100000))


def test_install_returns_the_previous_handler_and_checks_its_arguments(tmp_path):
    proc = run_python(
        """
        import signal, threading
        import kakashi
        assert kakashi.install_sigterm_handler in [getattr(kakashi, n) for n in kakashi.__all__]
        first = kakashi.install_sigterm_handler()
        assert first == signal.SIG_DFL, first
        second = kakashi.install_sigterm_handler(timeout=1)
        assert callable(second), second  # the first helper's handler
        errors = []

        def off_main():
            try:
                kakashi.install_sigterm_handler()
            except ValueError as e:
                errors.append(str(e))

        t = threading.Thread(target=off_main)
        t.start()
        t.join()
        assert errors == ["install_sigterm_handler() must be called from the main thread"], errors
        for bad in (-1.0, float("nan"), float("inf"), "soon"):
            try:
                kakashi.install_sigterm_handler(bad)
            except kakashi.ConfigError:
                pass
            else:
                raise AssertionError(bad)
        print("ok")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["ok"]


def test_ignored_sigterm_stays_ignored(tmp_path):
    """With SIGTERM ignored before, the helper changes nothing: the child
    lives on and its backend keeps running (nothing was shut down)."""
    code = """
    import signal, time
    import kakashi
    from kakashi.core.async_interface import get_high_performance_logger
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    assert kakashi.install_sigterm_handler() == signal.SIG_IGN
    logger = get_high_performance_logger("term", "term.log", overflow_strategy="block")
    print("ready", flush=True)
    input()
    logger.info("after")
    print(logger.flush(60.0), kakashi.get_async_stats()["state"], flush=True)
    """
    with Child(code, tmp_path) as child:
        child.wait_for(lambda line: line == "ready")
        child.proc.send_signal(signal.SIGTERM)
        child.proc.stdin.write(b"go\n")
        child.proc.stdin.flush()
        returncode, out, err = child.finish()
    assert returncode == 0, err
    assert out.split() == ["True", "running"]
    assert [r["message"] for r in json_lines(tmp_path / "term.log")] == ["after"]


def test_the_helper_is_exported():
    assert "install_sigterm_handler" in kakashi.__all__
    from kakashi.signals import install_sigterm_handler

    assert kakashi.install_sigterm_handler is install_sigterm_handler
