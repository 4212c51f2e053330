"""Process lifecycle hooks, installed on import.

- At interpreter exit every backend is drained, flushed and joined while
  Python writers and callbacks can still run (no ``atexit.register`` needed).
- Around ``os.fork()`` the workers are parked between batches; the child gets
  fresh workers, an empty queue and zeroed counters (what was queued is the
  parent's to write), so preforking servers log correctly from every worker.
- A ``multiprocessing`` child started with ``fork`` or ``forkserver`` ends
  with ``os._exit``, which skips ``atexit``: such a child drains every backend
  in multiprocessing's own exit hook instead (see ``_hook_multiprocessing``).
"""

import atexit
import os
import sys

from kakashi import _kakashi

class _ExitGate:
    """Held only by the ``atexit`` registry, which drops it once every
    handler has run, just before the interpreter starts finalising: then
    kakashi waits for logging calls in progress on other threads and keeps
    daemon threads out of its code from then on (see ``gil.rs``)."""

    __slots__ = ()

    def __del__(self) -> None:
        # The interpreter's own exit clears the registry on the main thread
        # with no Python frame below this one; a program calling
        # ``atexit._clear()`` has a frame there, or is another thread
        # (``_thread.start_new_thread(atexit._clear, ())``). (The exit is
        # also known from threading's hook, which does not run when
        # ``threading`` was first imported by an atexit handler.)
        try:
            sys._getframe(1)
            by_the_exit = False
        except ValueError:
            import threading

            by_the_exit = threading.get_ident() == threading.main_thread().ident
        _kakashi._close_gate(by_the_exit)


def _at_exit(gate: _ExitGate) -> None:
    # ``gate`` is here to be held by the registry.
    _kakashi._at_exit()


atexit.register(_at_exit, _ExitGate())

# Earlier than any atexit handler: from interpreter exit on, a `block` wait
# that has had no room for the longest configured shutdown_timeout ends (a
# writer stuck for ever cannot hold the exit), and the exit gate closes once
# every atexit handler has run.
try:
    import threading

    threading._register_atexit(_kakashi._exiting)
except AttributeError:  # before 3.9
    pass
except RuntimeError:  # imported while the interpreter exits: it is exiting now
    _kakashi._exiting()

# Above every priority the standard library uses (15, Pool), so a child drains
# before multiprocessing closes its queues, pools and manager connections that
# a Python writer or callback may use, and before it joins its own children.
_CHILD_DRAIN_PRIORITY = 100

# Whether this process's multiprocessing registry has the after-fork hook
# (inherited by forked children, whose registry is a copy).
_after_fork_hooked = False
# The child's drain (a ``multiprocessing.util.Finalize``), once registered.
_child_drain = None


def _drain_child():
    """Drains every backend before a multiprocessing child's ``os._exit``
    (which skips ``atexit``), with the drain interpreter exit runs: within
    the longest configured ``shutdown_timeout``. Finalizers of lower
    priority may still log after it: a backend that is shut down writes
    such records on the calling thread."""
    _kakashi._at_exit()


def _register_child_drain(_token=None):
    """In a multiprocessing child: runs ``_drain_child`` from
    ``multiprocessing.util._exit_function``, which the child calls after its
    target returns (or raises), just before ``os._exit``."""
    global _child_drain
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    if _child_drain is not None and _child_drain.still_active():
        return
    _child_drain = util.Finalize(None, _drain_child, exitpriority=_CHILD_DRAIN_PRIORITY)


def _hook_multiprocessing():
    """Makes multiprocessing's children drain before they exit, if this
    process uses multiprocessing (nothing is imported for it otherwise).

    A child clears the finalizers it inherited (``BaseProcess._bootstrap``)
    and then runs the after-fork hooks; the hook registered here registers
    the child's drain there. With ``fork`` the hook is inherited from the
    parent; with ``forkserver`` and ``spawn`` it is registered when kakashi
    is imported in the child before the target runs (while unpickling it).
    When kakashi is first imported by the target itself, the child is
    already running and its drain is registered at once."""
    global _after_fork_hooked
    util = sys.modules.get("multiprocessing.util")
    if util is None:
        return
    if not _after_fork_hooked:
        _after_fork_hooked = True
        util.register_after_fork(_register_child_drain, _register_child_drain)
    process = sys.modules.get("multiprocessing.process")
    if process is not None and getattr(process.current_process(), "_parent_pid", None) is not None:
        _register_child_drain()


def _before_fork():
    # multiprocessing may have been imported after kakashi: hook it now, so
    # the child inherits the hook.
    try:
        _hook_multiprocessing()
    finally:
        _kakashi._before_fork()


_hook_multiprocessing()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_kakashi._after_fork_in_parent,
        after_in_child=_kakashi._after_fork_in_child,
    )
