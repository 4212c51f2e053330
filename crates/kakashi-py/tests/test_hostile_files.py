"""Hostile but realistic use of managed files from Python: a preforking
server (the parent made the logger, the workers are forked) and two loggers
of one file in a process."""

import os

from test_managed_files import ROTATED
from test_never_hangs import run_bounded


def test_a_forked_child_compresses_its_rotated_files(tmp_path):
    # The parent logs (and compresses one rotation: the compression thread
    # starts), then forks a worker, as a preforking server does. The
    # compression thread is not restarted in the child: its rotations are
    # queued to a thread that does not exist there, and stay uncompressed.
    path = str(tmp_path / "app.log")
    code = f"""
    import os, time
    from kakashi.core.async_interface import get_high_performance_logger
    logger = get_high_performance_logger("srv", {path!r}, overflow_strategy="block",
                                         rotation="10 KB", compression="gzip")
    for i in range(300):
        logger.info("parent", seq=i)
    assert logger.flush(10)
    logger.info("parent", seq=-1)   # rotates the first file
    assert logger.flush(10)
    deadline = time.monotonic() + 10
    while not any(n.endswith(".gz") for n in os.listdir({str(tmp_path)!r})):
        assert time.monotonic() < deadline, "parent never compressed"
        time.sleep(0.05)
    pid = os.fork()
    if pid == 0:
        for i in range(3000):
            logger.info("child", seq=i)
        logger.flush(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            left = [n for n in os.listdir({str(tmp_path)!r}) if n.endswith(".log") and n != "app.log"]
            if not left:
                break
            time.sleep(0.1)
        print("LEFT", sorted(left), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
    """
    proc = run_bounded(code, tmp_path, 60, "a forked worker logging", stacks=False)
    assert "LEFT" in proc.stdout, proc.stdout + proc.stderr
    rotated = [n for n in os.listdir(tmp_path) if ROTATED.match(n)]
    left = [n for n in rotated if not n.endswith(".gz")]
    assert len(rotated) >= 3, rotated
    assert left == [], f"the child's rotated files were never compressed: {sorted(left)}"
