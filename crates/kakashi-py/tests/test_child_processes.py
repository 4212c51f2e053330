"""multiprocessing children write everything they logged before they exit.

A child started with ``fork`` or ``forkserver`` ends with ``os._exit`` (no
``atexit``); ``spawn`` children exit normally. Each scenario runs in a fresh
interpreter, with the loggers kept alive to the end of the child (as a
module-level logger is)."""

import json
import multiprocessing

import pytest

from conftest import json_lines, run_python

METHODS = [m for m in ("fork", "forkserver", "spawn") if m in multiprocessing.get_all_start_methods()]
CHILDREN = 4
RECORDS = 20_000

# The children's module: importable by spawn and forkserver children.
CHILD_MODULE = """
import os
{top_import}

LOGGERS = []


def child(path, n):
    from kakashi.core.async_interface import get_high_performance_logger

    logger = get_high_performance_logger("child", log_file=path, overflow_strategy="block")
    LOGGERS.append(logger)  # alive until os._exit, like a module-level logger
    for i in range(n):
        logger.info("record", i=i, pid=os.getpid())


def task(k):
    child("task-%d.log" % k, {task_records})
    return os.getpid()
"""

# How kakashi reaches the child: imported by the parent before multiprocessing
# (util is loaded only when a process starts), after multiprocessing.util, or
# only by the target inside the child.
IMPORTS = {
    "kakashi-then-multiprocessing": ("import kakashi; import multiprocessing", "import kakashi"),
    "multiprocessing-then-kakashi": ("import multiprocessing, multiprocessing.util; import kakashi", "import kakashi"),
    "only-in-child": ("import multiprocessing", ""),
}

TASK_RECORDS = 5_000
TASKS = 6


def write_child_module(tmp_path, top_import):
    (tmp_path / "mp_child.py").write_text(CHILD_MODULE.format(top_import=top_import, task_records=TASK_RECORDS))


@pytest.mark.parametrize("imports", list(IMPORTS), ids=list(IMPORTS))
@pytest.mark.parametrize("method", METHODS)
def test_process_children_write_every_record(tmp_path, method, imports):
    """4 children each log 20,000 records under block and return: every
    child's file has all of them, each a valid JSON line, and exit code 0."""
    parent_imports, child_import = IMPORTS[imports]
    write_child_module(tmp_path, child_import)
    proc = run_python(
        f"""
        import json, sys
        {parent_imports}
        import mp_child
        if {imports == "only-in-child"}:
            assert "kakashi" not in sys.modules
        ctx = multiprocessing.get_context({method!r})
        procs = [ctx.Process(target=mp_child.child, args=("child-%d.log" % k, {RECORDS})) for k in range({CHILDREN})]
        for p in procs:
            p.start()
        for p in procs:
            p.join(100)
        print(json.dumps([p.exitcode for p in procs]))
        """,
        tmp_path,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [0] * CHILDREN, proc.stderr
    for k in range(CHILDREN):
        lines = json_lines(tmp_path / f"child-{k}.log")
        assert [r["fields"]["i"] for r in lines] == list(range(RECORDS)), f"child {k} ({method}, {imports})"
        assert len({r["fields"]["pid"] for r in lines}) == 1


@pytest.mark.parametrize("method", METHODS)
def test_pool_workers_write_every_record(tmp_path, method):
    """Pool workers (closed and joined, so they exit normally) write every
    record of every task they ran."""
    write_child_module(tmp_path, "import kakashi")
    proc = run_python(
        f"""
        import json
        import kakashi
        import multiprocessing
        import mp_child
        pool = multiprocessing.get_context({method!r}).Pool(2)
        pids = pool.map(mp_child.task, range({TASKS}))
        pool.close()
        pool.join()
        print(json.dumps(len(set(pids))))
        """,
        tmp_path,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    for k in range(TASKS):
        lines = json_lines(tmp_path / f"task-{k}.log")
        assert [r["fields"]["i"] for r in lines] == list(range(TASK_RECORDS)), f"task {k} ({method})"
