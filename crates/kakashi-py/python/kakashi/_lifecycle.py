"""Process lifecycle hooks, installed on import.

- At interpreter exit every backend is drained, flushed and joined while
  Python writers and callbacks can still run (no ``atexit.register`` needed).
- Around ``os.fork()`` the workers are parked between batches; the child gets
  fresh workers, an empty queue and zeroed counters (what was queued is the
  parent's to write), so preforking servers log correctly from every worker.
"""

import atexit
import os

from kakashi import _kakashi

atexit.register(_kakashi._at_exit)

if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_kakashi._before_fork,
        after_in_parent=_kakashi._after_fork_in_parent,
        after_in_child=_kakashi._after_fork_in_child,
    )
