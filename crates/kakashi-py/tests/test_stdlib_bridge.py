"""Python's standard ``logging`` into kakashi (``kakashi.stdlib``): what a
program and its libraries log through ``logging.getLogger(__name__)`` comes
out in the kakashi file, whole, in order, never raising into the caller."""

import contextlib
import gc
import importlib
import json
import logging
import logging.config
import logging.handlers
import os
import queue
import sys
import threading
import types
import warnings
import weakref

import pytest

import kakashi
import kakashi.stdlib
from conftest import json_lines, run_python, since
from kakashi.core.async_interface import get_high_performance_logger
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.pipeline import PipelineConfig, default_json_formatter, exception_enricher, file_writer, thread_enricher
from kakashi.stdlib import KakashiHandler


@pytest.fixture(autouse=True)
def _restore_logging():
    """Each test gets the root logger, warnings capture and
    ``raiseExceptions`` back as they were."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    showwarning, raise_exceptions = warnings.showwarning, logging.raiseExceptions
    yield
    for h in list(root.handlers):
        if h not in handlers:
            root.removeHandler(h)
    for h in handlers:
        if h not in root.handlers:
            root.addHandler(h)
    root.setLevel(level)
    logging.captureWarnings(False)
    warnings.showwarning = showwarning
    logging.raiseExceptions = raise_exceptions


def file_logger(tmp_path, name="app.log", **kw):
    """A kakashi JSON file logger under ``block`` (nothing dropped), DEBUG and up."""
    kw.setdefault("overflow_strategy", "block")
    kw.setdefault("min_level", "DEBUG")
    path = tmp_path / name
    return get_high_performance_logger("bridge", str(path), **kw), path


def only_to(handler, name):
    """The stdlib logger ``name``, at INFO, with ``handler`` as its one
    handler (its records do not propagate)."""
    log = logging.getLogger(name)
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    return log


@contextlib.contextmanager
def behind_a_queue(logger, name):
    """A stdlib logger ``name`` whose records go through ``QueueHandler``
    and a ``QueueListener`` to a ``KakashiHandler`` of ``logger`` (stopped,
    and the handler removed, on leaving)."""
    q = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(q, KakashiHandler(logger))
    listener.start()
    log = logging.getLogger(name)
    queue_handler = logging.handlers.QueueHandler(q)
    log.addHandler(queue_handler)
    log.propagate = False
    try:
        yield log
    finally:
        listener.stop()
        log.removeHandler(queue_handler)


def line_of(source, text):
    """The 1-based line number of the line of ``source`` containing ``text``."""
    return next(i for i, line in enumerate(source.splitlines(), 1) if text in line)


THIRD_PARTY = '''\
import logging

log = logging.getLogger(__name__)


def charge(user, amount):
    log.info("charging %s for %.2f", user, amount, extra={"user_id": 42, "currency": "EUR"})


def lookup(table):
    try:
        return table["missing"]
    except KeyError:
        log.error("lookup failed in %s", "orders", exc_info=True)


def trace():
    log.debug("where am I", stack_info=True)
'''


def test_a_third_party_module_reaches_the_kakashi_file(tmp_path, monkeypatch):
    """A library logging through ``logging.getLogger(__name__)`` with ``%s``
    arguments, ``extra``, ``exc_info=True`` and ``stack_info=True``: each
    record is in the kakashi file with its level, the module's logger name,
    the formatted message, the extra keys as fields, its own source (module,
    function, line) and the structured exception."""
    (tmp_path / "payments_lib.py").write_text(THIRD_PARTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "payments_lib", raising=False)
    lib = importlib.import_module("payments_lib")
    logger, path = file_logger(tmp_path)
    handler = kakashi.stdlib.install(logger, level=logging.DEBUG)

    lib.charge("alice", 12.5)
    lib.lookup({})
    lib.trace()
    assert logger.flush()

    charge, failure, trace = json_lines(path)
    assert (charge["level"], charge["logger"], charge["message"]) == ("INFO", "payments_lib", "charging alice for 12.50")
    assert charge["fields"] == {"user_id": 42, "currency": "EUR"}
    assert charge["source"] == {
        "module": "payments_lib",
        "function": "charge",
        "line": line_of(THIRD_PARTY, "log.info("),
    }
    assert (failure["level"], failure["message"]) == ("ERROR", "lookup failed in orders")
    assert failure["exception"]["type"] == "KeyError"
    assert failure["exception"]["message"] == "'missing'"
    tb = failure["exception"]["traceback"]
    assert tb.startswith("Traceback (most recent call last):")
    assert f'payments_lib.py", line {line_of(THIRD_PARTY, "return table")}, in lookup' in tb
    assert tb.endswith("KeyError: 'missing'")
    assert failure["source"]["function"] == "lookup"
    assert (trace["level"], trace["message"]) == ("DEBUG", "where am I")
    stack = trace["fields"]["stack_info"]
    assert stack.startswith("Stack (most recent call last):")
    assert f'payments_lib.py", line {line_of(THIRD_PARTY, "stack_info=True")}, in trace' in stack
    assert handler.errors == 0


def test_dictconfig_switches_by_class_path(tmp_path):
    """An existing ``dictConfig`` switches with one line: the handler by its
    class path, its kakashi logger by ``ext://``, its level as for any
    handler; a ``logging`` formatter named there is not applied (kakashi's
    formatter is)."""
    logger, path = file_logger(tmp_path)
    targets = types.ModuleType("kakashi_bridge_targets")
    targets.trades = logger
    sys.modules["kakashi_bridge_targets"] = targets
    try:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "formatters": {"plain": {"format": "%(levelname)s %(message)s"}},
                "handlers": {
                    "kakashi": {
                        "class": "kakashi.stdlib.KakashiHandler",
                        "logger": "ext://kakashi_bridge_targets.trades",
                        "level": "INFO",
                        "formatter": "plain",
                    }
                },
                "loggers": {"svc": {"handlers": ["kakashi"], "level": "DEBUG", "propagate": False}},
            }
        )
    finally:
        del sys.modules["kakashi_bridge_targets"]
    svc = logging.getLogger("svc")
    svc.debug("below the handler's level")
    svc.warning("disk at %d%%", 91, extra={"mount": "/data"})
    assert logger.flush()
    (line,) = json_lines(path)
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "svc", "disk at 91%")
    assert line["fields"] == {"mount": "/data"}
    (handler,) = svc.handlers
    assert isinstance(handler, KakashiHandler)
    svc.removeHandler(handler)


def test_dictconfig_with_a_bad_logger_fails_at_configuration():
    """A ``logger`` that is not a kakashi logger is an error when the
    configuration is applied, naming what was expected."""
    with pytest.raises(ValueError) as err:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"k": {"class": "kakashi.stdlib.KakashiHandler", "logger": "trading"}},
            }
        )
    assert "takes a kakashi Logger" in str(err.value.__cause__ or err.value)


def test_warnings_are_captured_with_category_and_location(tmp_path):
    """``install()`` routes ``warnings``: each is a WARNING record of
    ``py.warnings`` whose message is the warning's text, with its category,
    file and line as fields and its file and line as the source."""
    logger, path = file_logger(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        kakashi.stdlib.install(logger)
        warnings.warn("old api, use v2", DeprecationWarning)
        here = sys._getframe().f_lineno - 1
    assert logger.flush()
    (line,) = json_lines(path)
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "py.warnings", "old api, use v2")
    assert line["fields"] == {"category": "DeprecationWarning", "warning_filename": __file__, "warning_lineno": here}
    assert line["source"]["line"] == here
    assert line["source"]["module"] == "test_stdlib_bridge"


def test_four_threads_lose_nothing_and_keep_each_threads_order(tmp_path):
    """4 threads x 50,000 stdlib calls under ``block`` through a small queue
    (callers wait for room): every record is in the file once, and each
    thread's records are in the order it made them."""
    per_thread = 50_000
    logger, path = file_logger(tmp_path, max_queue_size=1000, worker_count=2, batch_size=200)
    before = kakashi.get_async_stats()
    handler = KakashiHandler(logger)
    log = logging.getLogger("load")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

    def produce(t):
        for i in range(per_thread):
            log.info("order %s", i, extra={"t": t, "seq": i})

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert logger.flush()
    log.removeHandler(handler)

    seqs = {t: [] for t in range(4)}
    with open(path, encoding="utf-8") as f:
        for raw in f:
            fields = json.loads(raw)["fields"]
            seqs[fields["t"]].append(fields["seq"])
    for t in range(4):
        assert seqs[t] == list(range(per_thread)), f"thread {t}"
    stats = since(before, kakashi.get_async_stats())
    assert stats["messages_dropped"] == 0
    assert handler.errors == 0


def test_a_stopped_backend_writes_on_the_callers_thread_and_never_raises(tmp_path):
    """After the backend is shut down, a record through the handler is
    written by the caller, in order after everything before, and counted as
    written, as for any kakashi logger after shutdown; the call does not
    raise and nothing counts as an error."""
    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    log = only_to(handler, "late")
    log.info("before shutdown")
    kakashi.shutdown_async_backend(timeout=10.0)
    before = kakashi.get_async_stats()
    log.info("after shutdown %d", 1)
    after = since(before, kakashi.get_async_stats())
    assert [line["message"] for line in json_lines(path)] == ["before shutdown", "after shutdown 1"]
    assert (after["messages_submitted"], after["messages_written"]) == (1, 1)
    assert handler.errors == 0
    log.removeHandler(handler)


def test_the_default_handler_writes_json_to_stderr_then_follows_setup(tmp_path):
    """Without a logger, before any setup, records are JSON lines on
    standard error; once ``setup_async_logging`` runs, the same handler
    writes to the environment's file instead."""
    proc = run_python(
        """
        import json, logging, sys
        import kakashi, kakashi.stdlib
        handler = kakashi.stdlib.install()
        logging.getLogger("early").warning("before setup %s", 1)
        kakashi.flush()
        kakashi.setup_async_logging("production", log_directory="logs")
        logging.getLogger("late").warning("after setup %s", 2)
        kakashi.flush()
        print("errors", handler.errors)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (line,) = [json.loads(l) for l in proc.stderr.splitlines() if l.startswith("{")]
    assert (line["level"], line["logger"], line["message"]) == ("WARNING", "early", "before setup 1")
    assert "after setup 2" in (tmp_path / "logs" / "app.log").read_text()
    assert "after setup" not in proc.stderr
    assert "errors 0" in proc.stdout


class Unprintable:
    def __str__(self):
        raise RuntimeError("no str")

    def __repr__(self):
        raise RuntimeError("no repr")


def test_bad_input_never_raises(tmp_path, capsys):
    """An extra value that cannot be printed is logged as a marker; a
    ``logging`` formatter that raises is not applied; a bad ``%`` argument
    goes to ``handleError`` (a report on stderr, counted in ``errors``,
    printed no more once ``logging.raiseExceptions`` is false): no call
    raises, and the good records are all there."""

    class Raising(logging.Formatter):
        def format(self, record):
            raise ValueError("formatter failed")

    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    handler.setFormatter(Raising())
    log = only_to(handler, "bad")

    log.info("odd value", extra={"obj": Unprintable(), "nested": {"deep": [1, {2, 3}]}})
    log.info("bad %d", "not a number")
    logging.raiseExceptions = False
    log.info("bad %s %s", "only one")
    log.info("still fine")
    assert logger.flush()
    log.removeHandler(handler)

    lines = json_lines(path)
    assert [line["message"] for line in lines] == ["odd value", "still fine"]
    assert lines[0]["fields"] == {"obj": "<unprintable object>", "nested": {"deep": [1, "{2, 3}"]}}
    assert handler.errors == 2
    err = capsys.readouterr().err
    assert err.count("--- Logging error ---") == 1
    assert "Message: 'bad %d'" in err


def test_a_bad_format_keeps_nothing_of_its_caller_alive(tmp_path):
    """The error of a call whose ``%`` arguments do not fit (reported
    through ``handleError``) holds the caller's frame in its traceback: it
    is gone once the caller is, with no other call into kakashi between
    (a program that logs only through ``logging`` makes none)."""
    logger, _ = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    log = only_to(handler, "bad_format_frames")
    logging.raiseExceptions = False

    class Payload:
        pass

    def handle_request():
        payload = Payload()
        log.info("done: %s %s", "only one")
        return weakref.ref(payload)

    refs = [handle_request() for _ in range(3)]
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]
    assert handler.errors == 3
    log.removeHandler(handler)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="the vectorcall function exists from 3.10")
def test_the_engine_call_refuses_what_the_method_refuses(tmp_path):
    """``_kakashi._log_stdlib``, the fast path's call, checks its arguments
    as the method does, without running Python code of them."""
    logger, _ = file_logger(tmp_path)
    core = kakashi.stdlib._core_of(logger)
    with pytest.raises(TypeError, match=r"takes 7 positional arguments \(2 given\)"):
        kakashi._kakashi._log_stdlib(core, "t")
    with pytest.raises(TypeError):
        kakashi._kakashi._log_stdlib(core, "t", 20, "m", (), None, 1)
    with pytest.raises(TypeError):
        kakashi._kakashi._log_stdlib(core, "t", 20, "m", (), [], False)
    assert kakashi._kakashi._log_stdlib(core, "t", 20, "m %s", (1,), {"k": 2}, False) is True
    assert logger.flush()


def test_an_argument_that_fails_to_format_is_formatted_once_and_reported_once(tmp_path, capsys):
    """A ``%`` argument whose ``__str__`` logs, then raises: as with
    ``logging``'s own handlers, ``__str__`` runs once, its own record is
    written once, and ``handleError`` gets the record ``logging`` would
    make (the caller's line, the message and arguments). Two arguments, so
    that the call takes the path without a ``LogRecord`` (a single one
    that is not a plain value is left to ``LogRecord``)."""
    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    log = only_to(handler, "fails.to.format")
    calls = []
    reported = []

    class SideThenRaise:
        def __str__(self):
            calls.append(1)
            log.info("side effect")
            raise RuntimeError("boom")

        def __repr__(self):
            return "<SideThenRaise>"

    original = handler.handleError

    def spy(record):
        reported.append((record.msg, record.lineno, record.filename, sys.exc_info()[1]))
        original(record)

    handler.handleError = spy
    line = sys._getframe().f_lineno + 1
    log.info("value %s %s", SideThenRaise(), 2)
    log.info("after")
    assert logger.flush()
    log.removeHandler(handler)
    assert [l["message"] for l in json_lines(path)] == ["side effect", "after"]
    assert len(calls) == 1
    ((msg, lineno, filename, error),) = reported
    assert (msg, lineno, filename) == ("value %s %s", line, "test_stdlib_bridge.py")
    assert str(error) == "boom"
    assert handler.errors == 1
    err = capsys.readouterr().err
    assert err.count("--- Logging error ---") == 1
    assert "RuntimeError: boom" in err
    assert "Message: 'value %s %s'\nArguments: (<SideThenRaise>, 2)" in err


def test_levels_beyond_64_bits_and_task_name_before_3_12(tmp_path):
    """A level number of any size is a level, as ``logging`` takes it
    (above CRITICAL is CRITICAL, below DEBUG is DEBUG), on the fast path
    and through a ``LogRecord``; before 3.12 ``taskName`` in ``extra`` is
    the caller's field (from 3.12 ``logging`` itself refuses it)."""
    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    log = only_to(handler, "huge.levels")
    log.log(2**63, "2**63")
    log.log(10**30, "10**30")
    # (`logging` hands a record below a handler's level to no handler.)
    handler.handle(logging.makeLogRecord({"name": "x", "levelno": -(2**70), "msg": "made low"}))
    handler.handle(logging.makeLogRecord({"name": "x", "levelno": 2**70, "msg": "made"}))
    if sys.version_info < (3, 12):
        log.info("task", extra={"taskName": "mine"})
    assert logger.flush()
    log.removeHandler(handler)
    lines = json_lines(path)
    assert [(l["message"], l["level"]) for l in lines[:4]] == [
        ("2**63", "CRITICAL"),
        ("10**30", "CRITICAL"),
        ("made low", "DEBUG"),
        ("made", "CRITICAL"),
    ]
    if sys.version_info < (3, 12):
        assert lines[4]["fields"] == {"taskName": "mine"}
    assert handler.errors == 0


def test_a_queue_listener_in_front_keeps_the_exception_and_the_callers_thread(tmp_path):
    """``QueueHandler`` + ``QueueListener(KakashiHandler)``: the record
    written on the listener's thread keeps the producer's thread name, its
    message, the exception (type, message, traceback text) and the stack."""
    path = tmp_path / "queued.log"
    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(
                min_level=kakashi.LogLevel.DEBUG,
                enrichers=(thread_enricher, exception_enricher),
                formatter=default_json_formatter,
                writers=(file_writer(str(path)),),
            ),
            AsyncConfig(queue_overflow_strategy="block"),
        )
    )
    logger = pipeline.logger("queued")
    with behind_a_queue(logger, "queued.app") as log:

        def produce():
            try:
                raise ValueError("bad value")
            except ValueError:
                log.exception("payment %s failed", "p-7", stack_info=True)

        producer = threading.Thread(target=produce, name="producer-1")
        producer.start()
        producer.join()
    assert pipeline.flush()
    (line,) = json_lines(path)
    assert line["logger"] == "queued.app"
    assert line["level"] == "ERROR"
    # QueueHandler.prepare formats the traceback and stack into the message
    # and drops the exception: they are split back out.
    assert line["message"] == "payment p-7 failed"
    assert (line["exception"]["type"], line["exception"]["message"]) == ("ValueError", "bad value")
    assert line["exception"]["traceback"].startswith("Traceback (most recent call last):")
    assert line["exception"]["traceback"].endswith("ValueError: bad value")
    assert line["fields"]["stack_info"].startswith("Stack (most recent call last):")
    assert "in produce" in line["fields"]["stack_info"]
    assert line["threading"]["thread_name"] == "producer-1"
    pipeline.shutdown()


def test_a_queue_listener_in_front_reads_any_traceback_back(tmp_path):
    """Behind ``QueueHandler`` the exception is text in the message: the
    one raised is read from the end of its chain, a message of several lines
    stays whole, and an exception group (3.11+) is read inside its margin
    (its own type and message, not a member's); the stack comes apart too."""
    logger, path = file_logger(tmp_path)
    with behind_a_queue(logger, "queued.tracebacks") as log:
        try:
            raise ValueError("multi\nline: message\nend")
        except ValueError:
            log.exception("several lines")
        try:
            try:
                raise ValueError("inner")
            except ValueError as e:
                raise KeyError("outer") from e
        except KeyError:
            log.exception("chained")
        if sys.version_info >= (3, 11):
            try:
                raise ExceptionGroup("batch", [ValueError("a"), TypeError("b")])  # noqa: F821
            except Exception:
                log.error("group", exc_info=True, stack_info=True)
    assert logger.flush()
    lines = json_lines(path)
    got = [(l["message"], l["exception"]["type"], l["exception"]["message"]) for l in lines]
    expected = [
        ("several lines", "ValueError", "multi\nline: message\nend"),
        ("chained", "KeyError", "'outer'"),
    ]
    if sys.version_info >= (3, 11):
        expected.append(("group", "ExceptionGroup", "batch (2 sub-exceptions)"))
        assert lines[2]["fields"]["stack_info"].startswith("Stack (most recent call last):")
        assert "TypeError: b" in lines[2]["exception"]["traceback"]
    assert got == expected
    assert "ValueError: inner" in lines[1]["exception"]["traceback"]


def test_a_record_with_only_exception_text_keeps_it(tmp_path):
    """A record rebuilt from its dict (as ``SocketHandler`` and
    multiprocessing queues carry it: no exception object, ``exc_text`` left)
    keeps the text as the traceback, with the type and message from its
    last line; its own time and thread are kept."""
    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    text = 'Traceback (most recent call last):\n  File "w.py", line 3, in run\nValueError: bad value'
    record = logging.makeLogRecord(
        {
            "name": "worker.3",
            "levelno": logging.ERROR,
            "levelname": "ERROR",
            "msg": "task %s failed",
            "args": ("t-9",),
            "exc_text": text,
            "created": 1767225600.123456,
            "thread": 777,
            "threadName": "Worker-3",
            "process": 4242,
            "pathname": "/srv/w.py",
            "module": "w",
            "funcName": "run",
            "lineno": 3,
            "job": "nightly",
        }
    )
    handler.handle(record)
    assert logger.flush()
    (line,) = json_lines(path)
    assert line["message"] == "task t-9 failed"
    assert line["exception"] == {"type": "ValueError", "message": "bad value", "traceback": text}
    assert line["fields"] == {"job": "nightly"}
    assert line["timestamp"] == 1767225600.123456
    assert line["datetime"] == "2026-01-01T00:00:00.123456+00:00"
    assert line["source"] == {"module": "w", "function": "run", "line": 3}


def test_each_record_shows_the_thread_and_process_it_names(tmp_path):
    """With ``thread_enricher``: a record made on this thread shows this
    thread and process; one rebuilt from another process's dict shows that
    one's thread, name and pid; one whose ``threadName`` is not a string
    shows its thread id without a name; and this thread's next record is
    unchanged by them."""
    path = tmp_path / "threads.log"
    pipeline = AsyncPipeline(
        AsyncPipelineConfig(
            PipelineConfig(
                min_level=kakashi.LogLevel.DEBUG,
                enrichers=(thread_enricher,),
                formatter=default_json_formatter,
                writers=(file_writer(str(path)),),
            ),
            AsyncConfig(queue_overflow_strategy="block"),
        )
    )
    handler = KakashiHandler(pipeline.logger("threads"))
    log = only_to(handler, "threads.app")
    log.info("mine")
    foreign = {"name": "w", "levelno": logging.INFO, "levelname": "INFO", "msg": "theirs"}
    handler.handle(logging.makeLogRecord({**foreign, "thread": 777, "threadName": "Worker-3", "process": 4242}))
    handler.handle(logging.makeLogRecord({**foreign, "thread": 778, "threadName": None}))
    log.info("mine again")
    log.removeHandler(handler)
    assert pipeline.flush()
    me = threading.current_thread()
    mine = {"thread_id": me.ident, "thread_name": me.name, "process_id": os.getpid()}
    got = [(line["message"], line.get("threading")) for line in json_lines(path)]
    assert got == [
        ("mine", mine),
        ("theirs", {"thread_id": 777, "thread_name": "Worker-3", "process_id": 4242}),
        ("theirs", {"thread_id": 778, "process_id": os.getpid()}),
        ("mine again", mine),
    ]


def test_custom_levels_map_to_the_nearest_lower_kakashi_level(tmp_path):
    """Levels between kakashi's map to the one at or below them; below
    DEBUG (a TRACE of 5) is DEBUG, above CRITICAL is CRITICAL."""
    logger, path = file_logger(tmp_path)
    log = logging.getLogger("levels")
    log.addHandler(KakashiHandler(logger))
    log.propagate = False
    log.setLevel(1)
    for n in (5, 15, 25, 35, 45, 55):
        log.log(n, "level %d", n)
    assert logger.flush()
    got = [(line["message"], line["level"]) for line in json_lines(path)]
    assert got == [
        ("level 5", "DEBUG"),
        ("level 15", "DEBUG"),
        ("level 25", "INFO"),
        ("level 35", "WARNING"),
        ("level 45", "ERROR"),
        ("level 55", "CRITICAL"),
    ]
    log.handlers.clear()


def test_filters_apply_and_the_handler_lock_is_not_taken(tmp_path):
    """Handler filters drop records as usual; the handler's lock, held by
    another thread, does not stop a record (kakashi's logger is
    thread-safe, so ``handle`` does not take it)."""
    logger, path = file_logger(tmp_path)
    handler = KakashiHandler(logger)
    handler.addFilter(lambda r: r.getMessage() != "noise")
    log = only_to(handler, "filtered")
    holding, release = threading.Event(), threading.Event()

    def hold():
        with handler.lock:
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    log.info("noise")
    log.info("signal")
    release.set()
    holder.join()
    assert logger.flush()
    assert [line["message"] for line in json_lines(path)] == ["signal"]
    log.removeHandler(handler)


def test_install_twice_adds_one_handler_and_replace_removes_the_others(tmp_path):
    """``install()`` again reuses the handler (retargeted to a new logger),
    keeps other root handlers unless ``replace=True``, and sets the root
    level."""
    root = logging.getLogger()
    other = logging.StreamHandler(sys.stderr)
    root.addHandler(other)
    first_logger, first_path = file_logger(tmp_path, "first.log")
    second_logger, second_path = file_logger(tmp_path, "second.log")
    h1 = kakashi.stdlib.install(first_logger, level=logging.WARNING)
    h2 = kakashi.stdlib.install(second_logger, level="ERROR")
    assert h1 is h2
    assert [h for h in root.handlers if isinstance(h, KakashiHandler)] == [h1]
    assert other in root.handlers
    assert root.level == logging.ERROR
    kakashi.stdlib.install(replace=True)
    assert root.handlers == [h1]
    logging.getLogger("x").error("to the second")
    assert second_logger.flush()
    assert [line["message"] for line in json_lines(second_path)] == ["to the second"]
    assert not first_path.read_text()


def test_a_bad_logger_argument_is_a_clear_error():
    """``KakashiHandler(logger=...)`` checks its argument when made."""
    with pytest.raises(TypeError, match="takes a kakashi Logger"):
        KakashiHandler(logging.getLogger("stdlib"))
    with pytest.raises(ValueError):
        KakashiHandler(level="LOUD")


def test_the_fast_path_and_the_logrecord_path_write_the_same_record(tmp_path, monkeypatch):
    """A call whose record reaches only the KakashiHandler skips building the
    ``LogRecord``; with ``FAST_PATH`` off (or a filter, another handler, an
    exception...) it is built: both give the same line but for the time,
    and ``stacklevel`` still names the caller it asks for."""
    logger, path = file_logger(tmp_path)
    log = only_to(KakashiHandler(logger), "same")

    def helper(n):
        log.info("via helper %d", n, stacklevel=2)

    def user():
        for fast in (True, False):
            monkeypatch.setattr(kakashi.stdlib, "FAST_PATH", fast)
            log.info("trade %s at %.1f", "t-1", 187.5, extra={"qty": 100, "side": "buy"})
        helper(3)

    user()
    assert logger.flush()
    fast, slow, helped = json_lines(path)
    for line in (fast, slow):
        del line["timestamp"], line["datetime"]
    assert fast == slow
    assert fast["message"] == "trade t-1 at 187.5"
    assert fast["fields"] == {"qty": 100, "side": "buy"}
    assert fast["source"]["function"] == "user"
    assert (helped["message"], helped["source"]["function"]) == ("via helper 3", "user")
    log.handlers.clear()


def test_every_call_site_is_named_by_its_own_line_on_every_thread(tmp_path):
    """Call sites are remembered per thread by code object and instruction:
    two sites of one function alternating, the same sites on another
    thread, and another function each name their own line, every time."""
    logger, path = file_logger(tmp_path)
    log = only_to(KakashiHandler(logger), "sites")
    first = second = other_line = 0

    def alternate(tag):
        nonlocal first, second
        for i in range(50):
            first = sys._getframe().f_lineno + 1
            log.info("a %s %d", tag, i)
            second = sys._getframe().f_lineno + 1
            log.info("b %s %d", tag, i)

    def other():
        nonlocal other_line
        other_line = sys._getframe().f_lineno + 1
        log.info("c")

    alternate("main")
    t = threading.Thread(target=alternate, args=("thread",))
    t.start()
    t.join()
    other()
    alternate("again")
    assert logger.flush()
    lines = json_lines(path)
    assert len(lines) == 301
    expected = {"a": ("alternate", first), "b": ("alternate", second), "c": ("other", other_line)}
    for line in lines:
        source = line["source"]
        assert (source["function"], source["line"]) == expected[line["message"][0]], line
    log.handlers.clear()


class _OwnInfo(logging.Logger):
    """A logger class whose ``info`` is a program's own: its frame is the
    call site ``logging`` names."""

    def info(self, msg, *args, **kwargs):
        self._log(logging.INFO, msg, args, **kwargs)


def test_calls_through_wrappers_name_the_call_site_logging_itself_names(tmp_path):
    """``logging.info`` (the module's function), a ``LoggerAdapter`` and a
    logger class with its own ``info`` put frames of their own between the
    call and ``Logger._log``: each call names the site that ``logging``'s
    own path names for the same call (made again with a filter on the
    logger, which takes that path)."""
    logger, path = file_logger(tmp_path)
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, root.filters[:])
    own = _OwnInfo("own")
    adapter = logging.LoggerAdapter(logging.getLogger("adapted"), {})
    calls = {
        "module": (root, lambda: logging.info("module %s", 1)),
        "adapter": (adapter.logger, lambda: adapter.info("adapter %s", 2)),
        "own": (own, lambda: own.info("own %s", 3)),
    }
    try:
        root.handlers = [KakashiHandler(logger)]
        root.setLevel(logging.INFO)
        own.addHandler(KakashiHandler(logger))
        for target, call in calls.values():
            call()
            target.addFilter(lambda record: True)
            call()
            target.filters.clear()
        assert logger.flush()
    finally:
        root.handlers, root.level, root.filters = saved
    lines = json_lines(path)
    assert [line["message"] for line in lines] == ["module 1", "module 1", "adapter 2", "adapter 2", "own 3", "own 3"]
    for fast, logged in zip(lines[::2], lines[1::2]):
        assert fast["source"] == logged["source"], (fast, logged)
    functions = [line["source"]["function"] for line in lines[::2]]
    assert functions == ["<lambda>", "<lambda>", "info"]


def test_an_extra_key_that_is_not_a_string_takes_loggings_path_with_the_same_result(tmp_path, monkeypatch):
    """A key that is not a ``str`` could run Python code to hash or compare:
    the call takes ``logging``'s own path, whose line is the one the fast
    path would have written."""
    logger, path = file_logger(tmp_path)
    log = only_to(KakashiHandler(logger), "keys")
    for fast in (True, False):
        monkeypatch.setattr(kakashi.stdlib, "FAST_PATH", fast)
        log.info("odd keys", extra={7: "seven", "qty": 1})
    assert logger.flush()
    fast, slow = json_lines(path)
    for line in (fast, slow):
        del line["timestamp"], line["datetime"]
    assert fast == slow
    assert fast["fields"]["qty"] == 1
    log.handlers.clear()


def test_the_fast_path_skips_the_frames_logging_skips(tmp_path, monkeypatch):
    """From 3.11 `logging` also skips frames of importlib's bootstrap files
    (a path with "importlib" and "_bootstrap" in it) when it names the
    caller; the fast path names the same call site (it named the helper in
    such a file: a hostile pass)."""
    helpers = tmp_path / "importlib_x"
    helpers.mkdir()
    (helpers / "_bootstrap_helpers_k.py").write_text(
        "import logging\n\ndef helper():\n    logging.getLogger('boot').info('from a bootstrap-named file')\n"
    )
    monkeypatch.syspath_prepend(str(helpers))
    import _bootstrap_helpers_k

    logger, path = file_logger(tmp_path)
    log = only_to(KakashiHandler(logger), "boot")

    def caller():
        _bootstrap_helpers_k.helper()

    for fast in (True, False):
        monkeypatch.setattr(kakashi.stdlib, "FAST_PATH", fast)
        caller()
    assert logger.flush()
    fast, slow = json_lines(path)
    assert fast["source"] == slow["source"], (fast["source"], slow["source"])
    log.handlers.clear()


def test_a_reserved_extra_key_raises_as_logging_does(tmp_path):
    """``extra`` may not overwrite a ``LogRecord`` attribute: ``logging``
    raises ``KeyError`` at the call, with a KakashiHandler as without."""
    logger, path = file_logger(tmp_path)
    log = logging.getLogger("reserved")
    log.addHandler(KakashiHandler(logger))
    log.propagate = False
    with pytest.raises(KeyError, match="Attempt to overwrite 'lineno'"):
        log.warning("x", extra={"lineno": 3})
    log.warning("y", extra={"line": 3})
    assert logger.flush()
    assert [(line["message"], line["fields"]) for line in json_lines(path)] == [("y", {"line": 3})]
    log.handlers.clear()


def test_a_logger_class_that_handles_records_itself_still_sees_them(tmp_path):
    """A ``Logger`` subclass overriding ``handle`` gets every ``LogRecord``
    (the fast path is only for records no one else would see), and the
    record still reaches the kakashi file."""
    seen = []

    class Seeing(logging.Logger):
        def handle(self, record):
            seen.append(record.getMessage())
            super().handle(record)

    logger, path = file_logger(tmp_path)
    log = Seeing("seeing")
    log.addHandler(KakashiHandler(logger))
    log.info("watched %d", 1)
    assert logger.flush()
    assert seen == ["watched 1"]
    assert [line["message"] for line in json_lines(path)] == ["watched 1"]


def test_a_library_replacing_logging_functions_later_still_sees_every_record(tmp_path, monkeypatch):
    """Sentry replaces ``logging.Logger.callHandlers`` and ddtrace
    ``makeRecord``, often after logging is configured: from then on every
    call goes through them (the fast path checks at each call), and the
    records still reach the kakashi file."""
    logger, path = file_logger(tmp_path)
    log = logging.getLogger("patched.lib")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    handler = KakashiHandler(logger)
    log.addHandler(handler)
    log.info("before %d", 1)  # no one else listening: may take the fast path

    seen = []
    original_call_handlers = logging.Logger.callHandlers
    original_make_record = logging.Logger.makeRecord

    def call_handlers(self, record):  # as sentry_sdk's LoggingIntegration does
        seen.append(("callHandlers", record.getMessage()))
        return original_call_handlers(self, record)

    def make_record(self, *args, **kwargs):  # as ddtrace's log injection does
        record = original_make_record(self, *args, **kwargs)
        record.dd_trace_id = "t-1"
        return record

    monkeypatch.setattr(logging.Logger, "callHandlers", call_handlers)
    log.info("during %d", 2)
    monkeypatch.setattr(logging.Logger, "makeRecord", make_record)
    log.warning("both %d", 3)
    monkeypatch.undo()
    log.info("after %d", 4)
    assert logger.flush()
    log.removeHandler(handler)
    assert seen == [("callHandlers", "during 2"), ("callHandlers", "both 3")]
    lines = json_lines(path)
    assert [line["message"] for line in lines] == ["before 1", "during 2", "both 3", "after 4"]
    assert lines[2]["fields"] == {"dd_trace_id": "t-1"}


def test_the_ecs_and_gcp_profiles_name_the_callers_function(tmp_path):
    """A bridged record knows its caller's function: the ECS profile's
    ``log.origin`` and GCP's ``sourceLocation`` carry it, and a text-only
    exception gives its frames to ``exception_frames``."""
    from kakashi.core.pipeline import default_json_formatter as shaped

    outputs = {}
    for name, formatter in (
        ("ecs", shaped(profile="ecs")),
        ("gcp", shaped(profile="gcp")),
        ("frames", shaped(exception_frames=True)),
    ):
        path = tmp_path / f"{name}.log"
        pipeline = AsyncPipeline(
            AsyncPipelineConfig(
                PipelineConfig(min_level=kakashi.LogLevel.DEBUG, formatter=formatter, writers=(file_writer(str(path)),)),
                AsyncConfig(queue_overflow_strategy="block"),
            )
        )
        log = logging.getLogger(f"profiles.{name}")
        log.addHandler(KakashiHandler(pipeline.logger("profiles")))
        log.propagate = False

        def settle_payment():
            log.warning("payment slow")

        settle_payment()
        log.handle(
            logging.makeLogRecord(
                {
                    "name": "worker",
                    "levelno": logging.ERROR,
                    "msg": "task failed",
                    "exc_text": 'Traceback (most recent call last):\n  File "w.py", line 3, in run\n    go()\nValueError: bad',
                }
            )
        )
        assert pipeline.flush()
        pipeline.shutdown()
        log.handlers.clear()
        outputs[name] = json_lines(path)
    assert outputs["ecs"][0]["log"]["origin"]["function"] == "settle_payment"
    assert outputs["ecs"][0]["log"]["origin"]["file"]["name"] == __file__
    location = outputs["gcp"][0]["logging.googleapis.com/sourceLocation"]
    assert (location["function"], location["file"]) == ("settle_payment", __file__)
    assert outputs["frames"][1]["exception"]["frames"] == [{"file": "w.py", "line": 3, "function": "run"}]
