"""A logging call never raises because of the data logged: containers that
change while they are copied are logged as they were, and an ``Exception``
from a value's ``__str__`` is swallowed (the value is stringified by the
fallback). ``KeyboardInterrupt`` and ``SystemExit`` from ``__str__`` are not
errors of the data: they propagate, as with the standard library's logging."""

import gc
import sys
import threading
import time
import weakref

import pytest

from kakashi.testing import capture

class Mutates:
    """``str()`` changes ``target`` (a dict or list) the first time."""

    def __init__(self, target, how):
        self.target, self.how, self.done = target, how, False

    def __str__(self):
        if not self.done:
            self.done = True
            self.how(self.target)
        return "mutated"


def grow(d):
    for k in range(100):
        d[f"new{k}"] = k


@pytest.fixture
def logs():
    with capture() as c:
        yield c
    # A failing (xfail) test's traceback holds its frame, and so the capture's
    # backend, in a cycle: collected now, not in a later test that counts
    # the live backends' records (get_async_stats).
    del c
    gc.collect()


def only_record(logs):
    (record,) = logs.records
    return record


@pytest.mark.parametrize("how", [grow, dict.clear, lambda d: d.pop("a")], ids=["grow", "clear", "pop"])
def test_a_dict_value_changed_by_str_is_logged_as_it_was(logs, how, capfd):
    d = {"a": 1, "s": "x"}
    d["obj"] = Mutates(d, how)
    d["z"] = [1, 2]
    logs.logger().info("m", payload=d)
    assert only_record(logs)["fields"]["payload"] == {"a": 1, "s": "x", "obj": "mutated", "z": [1, 2]}
    assert "panicked" not in capfd.readouterr().err


def test_a_nested_value_changing_the_outer_dict(logs):
    outer = {"first": 1}
    outer["inner"] = {"x": Mutates(outer, grow), "y": 2}
    outer["last"] = 3
    logs.logger().info("m", payload=outer)
    assert only_record(logs)["fields"]["payload"] == {"first": 1, "inner": {"x": "mutated", "y": 2}, "last": 3}


class Key:
    def __init__(self, d):
        self.d = d

    def __str__(self):
        grow(self.d)
        return "key"

    def __hash__(self):
        return 7

    def __eq__(self, other):
        return self is other


def test_a_dict_key_changing_the_dict(logs):
    d = {"a": 1}
    d[Key(d)] = 2
    d["b"] = 3
    logs.logger().info("m", payload=d)
    assert only_record(logs)["fields"]["payload"] == {"a": 1, "key": 2, "b": 3}


@pytest.mark.parametrize("how", [list.clear, lambda l: l.extend(range(100))], ids=["clear", "extend"])
def test_a_list_changed_by_str_is_logged_as_it_was(logs, how):
    items = [1, "two"]
    items.append(Mutates(items, how))
    items.append(4)
    logs.logger().info("m", items=items)
    assert only_record(logs)["fields"]["items"] == [1, "two", "mutated", 4]


def test_bind_with_a_dict_changed_by_str(logs):
    d = {"a": 1}
    d["obj"] = Mutates(d, grow)
    log = logs.logger().bind(payload=d)
    log.info("m")
    assert only_record(logs)["fields"]["payload"] == {"a": 1, "obj": "mutated"}


def test_fields_dict_changed_by_str(logs):
    """Logger.log(level, message, fields=d) with d changed by a value's str()."""
    d = {"a": 1}
    d["obj"] = Mutates(d, grow)
    d["z"] = 2
    logs.logger().log("INFO", "m", fields=d)
    assert only_record(logs)["fields"] == {"a": 1, "obj": "mutated", "z": 2}


class Yields:
    """``str()`` lets other threads run."""

    def __str__(self):
        time.sleep(0.0001)
        return "yielded"


def test_a_dict_changed_by_another_thread_while_logged(logs):
    d = {f"k{k}": Yields() for k in range(4)}
    stop = threading.Event()

    def mutate():
        while not stop.is_set():
            for k in range(100):
                d[f"extra{k}"] = k
            for k in range(100):
                del d[f"extra{k}"]

    t = threading.Thread(target=mutate)
    t.start()
    try:
        log = logs.logger()
        for _ in range(30):
            log.info("m", payload=d)
    finally:
        stop.set()
        t.join(60)
    assert len(logs.records) == 30
    assert all(r["fields"]["payload"]["k0"] == "yielded" for r in logs.records)


# === exceptions raised by __str__ ===


class Raises:
    def __init__(self, exc):
        self.exc = exc

    def __str__(self):
        raise self.exc

    def __repr__(self):
        return "<Raises>"


def test_an_exception_in_str_is_swallowed(logs):
    log = logs.logger()
    log.info(Raises(ValueError("no")), v=Raises(RuntimeError("no")), nested={"x": [Raises(LookupError())]})
    r = only_record(logs)
    assert r["message"] == "<Raises>"
    assert r["fields"] == {"v": "<Raises>", "nested": {"x": ["<Raises>"]}}


class RaisingException(Exception):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def __str__(self):
        raise self.inner


INTERRUPTS = [KeyboardInterrupt, SystemExit]

PLACES = {
    "message": lambda log, obj: log.info(obj),
    "field": lambda log, obj: log.info("m", v=obj),
    "nested": lambda log, obj: log.info("m", v={"a": [1, obj]}),
    "key": lambda log, obj: log.log("INFO", "m", v={KeyOf(obj): 1}),
    "log": lambda log, obj: log.log("WARNING", "m", v=obj),
    "exception": lambda log, obj: log.error("m", exception=RaisingException(obj.exc)),
    "bound": lambda log, obj: log.bind(a=1).info("m", v=obj),
}


class KeyOf:
    def __init__(self, obj):
        self.obj = obj

    def __str__(self):
        return str(self.obj)


@pytest.mark.parametrize("place", list(PLACES))
@pytest.mark.parametrize("exc", INTERRUPTS, ids=lambda e: e.__name__)
def test_an_interrupt_in_str_propagates(logs, exc, place):
    """The call raises it, and logs nothing (as logging's `except Exception`)."""
    log = logs.logger()
    raised = None
    try:
        PLACES[place](log, Raises(exc()))
    except BaseException as e:  # noqa: B902
        raised = type(e)
    assert raised is exc, f"{place}: {raised!r}"
    assert logs.records == []


@pytest.mark.parametrize("exc", INTERRUPTS, ids=lambda e: e.__name__)
def test_an_interrupt_does_not_linger(logs, exc):
    """Whether or not an interrupt propagated, the calls after it log
    normally and raise nothing: neither after a logging call nor after a
    bind() (which cannot raise it), nor at the same call site."""
    log = logs.logger()
    try:
        log.bind(v=Raises(exc()))
    except exc:
        pass
    log.info("after bind", v=1)
    values = [Raises(exc()), 2, 3]
    raised = []
    for v in values:
        try:
            log.info("loop", v=v)
        except exc:
            raised.append(v)
    log.info("after loop", v=4)
    r = logs.records
    assert raised in ([], values[:1])
    assert [(x["message"], x["fields"]["v"]) for x in r if isinstance(x["fields"]["v"], int)] == [
        ("after bind", 1),
        ("loop", 2),
        ("loop", 3),
        ("after loop", 4),
    ]


def test_an_interrupt_in_another_thread_does_not_reach_this_one(logs):
    log = logs.logger()
    t = threading.Thread(target=lambda: _swallow(lambda: log.info("m", v=Raises(SystemExit()))))
    t.start()
    t.join(60)
    log.info("here", v=1)
    assert logs.records[-1]["fields"] == {"v": 1}


def _swallow(f):
    try:
        f()
    except BaseException:  # noqa: B902
        pass


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is 3.11+")
def test_an_exception_group_of_exceptions_is_swallowed(logs):
    logs.logger().info("m", v=Raises(ExceptionGroup("g", [ValueError()])))  # noqa: F821
    assert only_record(logs)["fields"] == {"v": "<Raises>"}


class RaisesNew:
    """``str()`` raises a new ``cls()`` (no cycle through a kept instance)."""

    def __init__(self, cls):
        self.cls = cls

    def __str__(self):
        raise self.cls()


class LogsWhenPrinted:
    def __init__(self, log):
        self.log = log

    def __str__(self):
        self.log.info("inner", v=1)
        return "printed"


def test_an_interrupt_survives_a_str_that_logs(logs):
    """The call's interrupt is kept while a later value's __str__ logs."""
    log = logs.logger()
    raised = None
    try:
        log.info("m", a=RaisesNew(KeyboardInterrupt), b=LogsWhenPrinted(log))
    except KeyboardInterrupt:
        raised = KeyboardInterrupt
    assert raised is KeyboardInterrupt
    assert [r["message"] for r in logs.records] == ["inner"]


def test_a_kept_interrupt_keeps_nothing_alive_after_the_next_call(logs):
    """An interrupt no call raised (bind cannot) holds the frames of its
    traceback until the next logging call on the thread, not longer."""
    log = logs.logger()

    class Big:
        pass

    def bind():
        big = Big()
        log.bind(v=RaisesNew(SystemExit))
        return weakref.ref(big)

    ref = bind()
    log.info("next", v=1)
    assert ref() is None
    assert logs.records[-1]["fields"] == {"v": 1}


def test_an_interrupt_in_a_context_value_propagates():
    """LogContext(...) raises it (a context is built by the call itself)."""
    from kakashi import LogContext

    with pytest.raises(KeyboardInterrupt):
        LogContext(user_id=RaisesNew(KeyboardInterrupt))
    assert LogContext(user_id=Raises(ValueError())).user_id is not None


class Index:
    def __init__(self, exc):
        self.exc = exc

    def __index__(self):
        raise self.exc

    def __repr__(self):
        return "<Index>"


def test_an_interrupt_in_a_level_propagates(logs):
    """A level's __index__ raising KeyboardInterrupt is not a bad level."""
    log = logs.logger()
    with pytest.raises(KeyboardInterrupt):
        log.log(Index(KeyboardInterrupt()), "m")
    with pytest.raises(ValueError, match="invalid log level \"<Index>\""):
        log.log(Index(TypeError()), "m")
    assert logs.records == []
