"""Shared fixtures: each test runs in its own directory; code that changes the
process-wide environment runs in a fresh interpreter (``run_python``)."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import kakashi


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    yield
    kakashi.shutdown_async_backend(timeout=10.0)


@pytest.fixture(params=[1, 4], ids=["1-worker", "4-workers"])
def workers(request):
    """Each case over worker_count 1 and 4."""
    return request.param


def run_python(code, cwd, env=None, timeout=120):
    """Runs ``code`` in a fresh interpreter in ``cwd``; returns the completed process."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=str(cwd),
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def since(before, after):
    """The counters of ``after`` minus those of ``before`` (global stats keep
    the totals of backends that are gone, so a test counts from its start)."""
    return {
        k: (v - before.get(k, 0) if isinstance(v, int) and not isinstance(v, bool) else v)
        for k, v in after.items()
    }


def json_lines(path):
    """Every line of ``path`` parsed as JSON (fails on a torn or invalid line)."""
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f.read().splitlines()]
