"""Drain on SIGTERM: ``install_sigterm_handler``; reopen files on SIGHUP:
``reopen_files_on_sighup``.

SIGTERM's default action ends the process at once, with records still
queued; ``atexit`` does not run. This opt-in handler drains every backend
first and then ends the process exactly as the default action would (killed
by SIGTERM: exit status -15 to ``subprocess``, 143 to a shell).

    import kakashi

    kakashi.install_sigterm_handler(timeout=5.0)
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from kakashi import _kakashi

__all__ = ["install_sigterm_handler", "reopen_files", "reopen_files_on_sighup"]


def reopen_files() -> None:
    """Asks every kakashi file writer to reopen its path before its next
    batch (after a log rotation that kept the file's name, e.g. logrotate's
    ``copytruncate`` is *not* it: see the README). Cheap; callable anywhere."""
    _kakashi.reopen_files()


def reopen_files_on_sighup() -> Any:
    """Makes ``SIGHUP`` call ``reopen_files()`` (what logrotate's
    ``postrotate`` with ``kill -HUP`` expects), chaining to a Python handler
    installed before, if any. Opt-in: by default SIGHUP ends the process.
    Must be called from the main thread (``ValueError`` otherwise, as
    ``signal.signal``). Returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("reopen_files_on_sighup() must be called from the main thread")
    previous = signal.getsignal(signal.SIGHUP)

    def _on_sighup(signum: int, frame: Any) -> None:
        _kakashi.reopen_files()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGHUP, _on_sighup)
    return previous


def install_sigterm_handler(timeout: float = 5.0) -> Any:
    """Installs a ``signal.SIGTERM`` handler that drains every backend
    (``shutdown_async_backend(timeout)``: at most ``timeout`` seconds), then:

    - if a Python handler was installed before, calls it (chains) instead of
      ending the process;
    - otherwise restores the default disposition and raises SIGTERM again, so
      the process ends as it would have without this handler;
    - if SIGTERM was ignored (``SIG_IGN``), it stays ignored: nothing is
      drained.

    Logging still works after the drain (records are written on the calling
    thread). In a child forked off a thread other than the main one, once
    that thread has ended, no Python signal handler runs (CPython runs them
    on that thread only), this one included: SIGTERM then does nothing
    there. Must be called from the main thread (``ValueError`` otherwise,
    as ``signal.signal``). Returns the previous handler (as ``signal.signal``:
    ``SIG_DFL``, ``SIG_IGN``, a callable, or None if it was not installed
    from Python, which is treated as the default). A ``timeout`` that is not
    a number of seconds from 0 to 1000000000 raises ``ConfigError``."""
    # The core's check and message, as for every other timeout.
    seconds = _kakashi._check_timeout(timeout)
    if threading.current_thread() is not threading.main_thread():
        raise ValueError("install_sigterm_handler() must be called from the main thread")

    previous = signal.getsignal(signal.SIGTERM)
    if previous == signal.SIG_IGN:
        # Left as it is: a handler would not be inherited by exec'd children
        # the way an ignored signal is.
        return previous

    def _on_sigterm(signum: int, frame: Any) -> None:
        try:
            _kakashi.shutdown_async_backend(seconds)
        finally:
            if callable(previous):
                previous(signum, frame)
            else:
                _die_by(signum)

    return signal.signal(signal.SIGTERM, _on_sigterm)


def _die_by(signum: int) -> None:
    """Ends the process with ``signum``'s default action."""
    signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "raise_signal"):  # 3.8 and newer
        signal.raise_signal(signum)
    else:
        os.kill(os.getpid(), signum)
