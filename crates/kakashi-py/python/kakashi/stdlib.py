"""Python's standard ``logging`` into kakashi: what a program and every
library it uses already log reaches kakashi's queue, workers and files.

    import logging
    import kakashi.stdlib

    kakashi.stdlib.install()                  # the root logger now feeds kakashi
    logging.getLogger("app.db").warning("slow query %s", "q1", extra={"ms": 812})

or, in an existing ``logging.config.dictConfig``, one line::

    "handlers": {"kakashi": {"class": "kakashi.stdlib.KakashiHandler"}}

A ``KakashiHandler`` turns each ``logging.LogRecord`` into a kakashi record
in one call into the engine: the level (a custom level goes to the nearest
kakashi level at or below it; below DEBUG is DEBUG), the logger's name, the
``%``-formatted message (``getMessage()``), the ``extra`` keys as fields,
``exc_info`` as the structured exception (or the text when only ``exc_text``
is left), ``stack_info`` as a field, and the record's own source
(``module``, ``funcName``, ``lineno``, ``pathname``), thread, process and
time. The logger's pipeline formats it: ``logging`` formatters are not
applied.

A call whose record would reach nothing but one ``KakashiHandler`` skips
the ``LogRecord`` altogether (building it is most of a ``logging`` call's
cost): the first handler made puts ``_log`` in place of
``logging.Logger._log``, which takes that path when no one else could see
the record and calls the original otherwise (``FAST_PATH = False`` turns
it off). The same line comes out either way.
"""

from __future__ import annotations

import logging
import sys
import threading
import warnings
from typing import Any, FrozenSet, Optional, Tuple, Union

from kakashi import _kakashi
from kakashi._logger import Logger

__all__ = ["KakashiHandler", "install", "STANDARD_ATTRIBUTES"]


def _standard_attributes() -> Tuple[Tuple[str, ...], FrozenSet[str]]:
    # A fresh record's attributes, in the order its __dict__ holds them
    # (every record `logging` makes starts with these, in this order), plus
    # what formatters and handlers add later.
    fresh = logging.LogRecord("", logging.INFO, "", 0, "", (), None)
    order = tuple(fresh.__dict__)
    # `taskName` is one of a fresh record's from 3.12; before, it is a key
    # like any other in `extra`.
    later = {"message", "asctime", "exc_text", "stack_info", "exc_info", "msg", "args"}
    return order, frozenset(order) | frozenset(later)


_ORDER, STANDARD_ATTRIBUTES = _standard_attributes()
"""Attribute names of a ``LogRecord`` that are not ``extra`` fields: a fresh
record's (with ``taskName`` from 3.12), plus ``message`` and ``asctime``,
which formatters add."""

# Python 3.12 and later: a filter may return a replacement record, and
# `Filterer.filter` returns the record rather than True.
_FILTER_RETURNS_RECORD = sys.version_info >= (3, 12)


def _core_of(logger: Any) -> Any:
    if isinstance(logger, Logger):
        return logger._core
    if isinstance(logger, _kakashi.Logger):
        return logger
    raise TypeError(
        "KakashiHandler(logger=...) takes a kakashi Logger (from get_logger, "
        f"get_high_performance_logger, ...), got {type(logger).__name__}"
    )


class KakashiHandler(logging.Handler):
    """A ``logging.Handler`` that hands every record to a kakashi logger.

    ``logger``: a kakashi ``Logger`` whose pipeline (level, enrichers,
    formatter, writers) and backend (queue, overflow strategy) the records
    go through; only its pipeline and backend matter, each record keeps its
    own ``logging`` logger name. Default: the global backend, through the
    outputs ``setup_async_logging`` installed, or JSON lines to standard
    error while nothing is set up (followed when the global backend is set
    up again or shut down). ``level``: the handler's own threshold, as for
    any handler.

    A record is converted and queued in one call into the engine; the call
    waits only as the logger's overflow strategy says (``block`` with a
    full queue). It never raises into the logging call: a failure (a bad
    ``%`` argument, say) goes to ``handleError`` as with any handler
    (printed to stderr when ``logging.raiseExceptions`` is true) and is
    counted in ``errors``. Filters work as usual; the handler's lock is not
    taken around each record, as the kakashi logger is thread-safe.
    """

    def __init__(self, logger: Optional[Any] = None, level: Union[int, str] = logging.NOTSET) -> None:
        core = None if logger is None else _core_of(logger)
        super().__init__(level)
        self._core = core
        self._follow_global = logger is None
        #: Records that failed (each went to ``handleError``).
        self.errors = 0
        if not _patched:
            _enable_fast_path()

    def _default_core(self) -> Any:
        # Taken on first use (a handler made by dictConfig before
        # setup_async_logging follows the setup), and again once the global
        # backend it used has stopped. Under the handler's own lock, which
        # `logging` makes anew in a forked child: a lock of our own, held by
        # another thread while it made the logger (which lets go of the
        # interpreter lock) when the process forked, would stay held in the
        # child for ever, and its first record would hang.
        with self.lock:  # type: ignore[union-attr]
            self._core = _kakashi._stdlib_logger()
            return self._core

    def handle(self, record: logging.LogRecord) -> Any:
        """Filters, then emits ``record`` without taking the handler's lock
        (``logging.Handler.handle`` takes it around every ``emit``)."""
        rv: Any
        if self.filters:
            rv = self.filter(record)
            if not rv:
                return rv
            if isinstance(rv, logging.LogRecord):
                record = rv
        else:
            rv = record if _FILTER_RETURNS_RECORD else True
        self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Hands ``record`` to the kakashi logger; a failure goes to
        ``handleError``."""
        try:
            core = self._core
            if core is None:
                core = self._default_core()
            if not core._emit_stdlib(record, STANDARD_ATTRIBUTES, _ORDER, self._follow_global):
                self._default_core()._emit_stdlib(record, STANDARD_ATTRIBUTES, _ORDER, False)
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """Counts the failure in ``errors``, then does what
        ``logging.Handler.handleError`` does (a traceback on stderr when
        ``logging.raiseExceptions`` is true; never a raise)."""
        self.errors += 1
        super().handleError(record)

    def flush(self, timeout: Optional[float] = None) -> bool:  # type: ignore[override]
        """Waits until every record handed over so far is written and
        flushed (at most ``timeout`` seconds; default: the backend's
        ``shutdown_timeout``); False if that took longer."""
        core = self._core
        return True if core is None else bool(core.flush(timeout))

    def __repr__(self) -> str:
        target = "default" if self._follow_global else repr(self._core)
        return f"<KakashiHandler {logging.getLevelName(self.level)} -> {target}>"


# === the call without a LogRecord ===

#: Whether a ``logging`` call whose record would reach nothing but one
#: ``KakashiHandler`` skips building the ``LogRecord`` (see ``_log``).
#: ``False`` sends every record through ``LogRecord`` and ``handle``.
FAST_PATH = hasattr(logging, "_logRecordFactory")


def _logging_own(name: str) -> Any:
    """``logging.Logger.<name>`` if it is still ``logging``'s own function
    (not replaced by another library: Sentry replaces ``callHandlers``,
    ddtrace ``makeRecord``), else None."""
    f = getattr(logging.Logger, name, None)
    return f if getattr(f, "__module__", None) == "logging" else None


# What a plain logging.Logger builds and dispatches records with. A call
# takes the fast path only while its logger's class still has these very
# functions (checked per call: a library may replace one at any time, and
# then sees every record again).
_MAKE_RECORD = _logging_own("makeRecord")
_HANDLE = _logging_own("handle")
_CALL_HANDLERS = _logging_own("callHandlers")
# A class with a findCaller of its own (absl's ABSLLogger, wrappers that
# skip their own frames) names the call site itself: its records take
# logging's path, which asks it.
_FIND_CALLER = _logging_own("findCaller")
if _MAKE_RECORD is None or _HANDLE is None or _CALL_HANDLERS is None or _FIND_CALLER is None:
    FAST_PATH = False

#: ``logging.Logger._log`` as it was when the first KakashiHandler was
#: made: what every call that does not take the fast path runs.
_LOG = logging.Logger._log
#: Whether that ``_log`` was ``logging``'s own: if another library had
#: replaced it, no call skips it.
_LOG_IS_LOGGINGS = False
# `logging`'s findCaller must not take `_log`'s frame for the caller's. From
# 3.11 it counts `stacklevel` over the frames outside `logging`, which
# `_log`'s is: one more skips it. Before, it skips `logging`'s own frames
# after counting `stacklevel` over every frame from `Logger.info`'s on,
# which `_log` shifts by one: one more when `stacklevel` > 1.
_COUNTS_OUTSIDE_FRAMES = sys.version_info >= (3, 11)

#: The engine's call for a fast-path record: ``core._log_stdlib(...)``,
#: through a module function that takes its arguments without a tuple
#: built for them (3.10 and later), or the method itself.
_LOG_STDLIB = getattr(_kakashi, "_log_stdlib", None) or _kakashi.Logger._log_stdlib

_patched = False
_patching = threading.Lock()


def _log(
    self: logging.Logger,
    level: int,
    msg: Any,
    args: Any,
    exc_info: Any = None,
    extra: Any = None,
    stack_info: bool = False,
    stacklevel: int = 1,
) -> None:
    # ``logging.Logger._log`` once a KakashiHandler exists. When the record
    # would reach exactly one handler, a KakashiHandler of that exact class
    # without filters, on a logger without filters whose class finds the
    # caller, makes and dispatches records as logging.Logger does, with the
    # default record factory, and the call has no exception, stack or
    # stacklevel, no one but that handler would see the LogRecord: the
    # call goes to the engine without it (the same record comes out; the
    # LogRecord's own construction is most of a logging call's cost).
    # Anything else, or anything the engine declines (a reserved extra key,
    # which logging raises for; a bad % argument, which handleError reports),
    # takes logging's own path.
    cls = type(self)
    if (
        FAST_PATH
        and _LOG_IS_LOGGINGS
        and not exc_info
        and not stack_info
        and stacklevel == 1
        and (extra is None or type(extra) is dict)
        and not self.disabled
        and not self.filters
        and cls.callHandlers is _CALL_HANDLERS
        and cls.makeRecord is _MAKE_RECORD
        and cls.handle is _HANDLE
        and cls.findCaller is _FIND_CALLER
        and logging._logRecordFactory is logging.LogRecord  # type: ignore[attr-defined]
    ):
        target = None
        c: Optional[logging.Logger] = self
        while c is not None:
            for h in c.handlers:
                if level >= h.level:
                    if target is not None or type(h) is not KakashiHandler or h.filters:
                        target = None
                        c = None
                        break
                    target = h
            if c is None or not c.propagate:
                break
            c = c.parent
        if target is not None:
            core = target._core
            try:
                done = None if core is None else _LOG_STDLIB(core, self.name, level, msg, args, extra, target._follow_global)
            except Exception:
                done = None
            if done is True:
                return
            if done is not None and done is not False:
                _format_failed(self, target, level, msg, args, extra, done)
                return
    if _COUNTS_OUTSIDE_FRAMES or stacklevel > 1:
        stacklevel += 1
    return _LOG(self, level, msg, args, exc_info, extra, stack_info, stacklevel)


def _format_failed(
    logger: logging.Logger,
    handler: "KakashiHandler",
    level: int,
    msg: Any,
    args: Any,
    extra: Any,
    error: BaseException,
) -> None:
    # `msg % args` raised on the fast path (`error`), and nothing was
    # logged. Reported as `logging`'s own path would report it: the
    # `LogRecord` it makes, then the handler's `handleError` while the error
    # is being handled; formatting again would run the arguments' `__str__`
    # a second time. The caller is two frames further out than from `_log`
    # (see `_COUNTS_OUTSIDE_FRAMES`).
    fn, lno, func, sinfo = "(unknown file)", 0, "(unknown function)", None
    if logging._srcfile:  # type: ignore[attr-defined]
        try:
            fn, lno, func, sinfo = logger.findCaller(False, 3 if _COUNTS_OUTSIDE_FRAMES else 1)
        except ValueError:
            pass
    record = logger.makeRecord(logger.name, level, fn, lno, msg, args, None, func, extra, sinfo)
    try:
        raise error
    except Exception:
        handler.handleError(record)
    finally:
        del error


def _enable_fast_path() -> None:
    global _patched, _LOG, _LOG_IS_LOGGINGS
    with _patching:
        if not _patched:
            # The `_log` in place now (another library's replacement, if
            # one was made since this module was imported, keeps running).
            _LOG = logging.Logger._log
            _LOG_IS_LOGGINGS = getattr(_LOG, "__module__", None) == "logging"
            _kakashi._stdlib_setup(
                STANDARD_ATTRIBUTES, [logging.Logger.info.__code__.co_filename, _log.__code__.co_filename]
            )
            logging.Logger._log = _log  # type: ignore[method-assign]
            _patched = True


def _show_warning(
    message: Any,
    category: Any,
    filename: str,
    lineno: int,
    file: Any = None,
    line: Optional[str] = None,
) -> None:
    # `logging.captureWarnings`'s hook, with the warning's parts kept: the
    # record's source is where the warning was issued, its message the
    # warning's text, and the category, file and line are fields.
    if file is not None:
        original = getattr(logging, "_warnings_showwarning", None)
        if original is not None:
            original(message, category, filename, lineno, file, line)
        return
    logger = logging.getLogger("py.warnings")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    if not logger.isEnabledFor(logging.WARNING):
        return
    name = getattr(category, "__name__", str(category))
    record = logger.makeRecord(
        logger.name,
        logging.WARNING,
        filename,
        lineno,
        "%s",
        (str(message),),
        None,
        extra={"category": name, "warning_filename": filename, "warning_lineno": lineno},
    )
    logger.handle(record)


_installing = threading.Lock()


def install(
    logger: Optional[Any] = None,
    level: Union[int, str] = logging.INFO,
    capture_warnings: bool = True,
    replace: bool = False,
) -> KakashiHandler:
    """Puts a ``KakashiHandler`` on the root logger and returns it.

    ``logger``: as for ``KakashiHandler`` (default: the global backend).
    ``level``: the root logger's level. ``capture_warnings``: ``warnings``
    go to the ``py.warnings`` logger (``logging.captureWarnings``), each as
    a WARNING record with the warning's text as its message, its category,
    file and line as the fields ``category``, ``warning_filename`` and
    ``warning_lineno``, and its file and line as the record's source.
    ``replace``: remove (and close) the root logger's other handlers;
    otherwise they stay. Calling it again reuses the handler already
    installed (retargeted when ``logger`` is given): never a second one.
    """
    new_core = None if logger is None else _core_of(logger)
    root = logging.getLogger()
    with _installing:
        handler = next((h for h in root.handlers if isinstance(h, KakashiHandler)), None)
        if handler is None:
            handler = KakashiHandler()
            root.addHandler(handler)
        if new_core is not None:
            handler._core = new_core
            handler._follow_global = False
        if replace:
            for other in [h for h in root.handlers if h is not handler]:
                root.removeHandler(other)
                other.close()
        root.setLevel(level)
    if capture_warnings:
        logging.captureWarnings(True)
        warnings.showwarning = _show_warning
    return handler
