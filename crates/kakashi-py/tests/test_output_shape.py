"""What comes out: ``default_json_formatter(...)`` keywords
(rename, drop, flatten_fields, default=, exception_frames, profile), the ECS
and Google Cloud profiles checked against the fields those products require,
structured exception frames that never carry local variables, and
``console_formatter``'s colours (a terminal only, ``NO_COLOR``,
``FORCE_COLOR``, never a file)."""

import json
import os
import select
import subprocess
import sys
import textwrap

import pytest

import kakashi
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import (
    Pipeline,
    PipelineConfig,
    console_formatter,
    console_writer,
    default_json_formatter,
    file_writer,
    simple_text_formatter,
)

from kakashi.core.records import create_log_record

from conftest import json_lines

SECRET = "hunter2-do-not-log"


def log_through(formatter, tmp_path, emit, name="app"):
    """Runs ``emit(logger)`` through a pipeline with ``formatter`` into a
    new file; returns the file's text."""
    out = tmp_path / ("out%d.log" % len(list(tmp_path.glob("out*.log"))))
    p = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(formatter=formatter, writers=(file_writer(out),))))
    emit(p.logger(name))
    assert p.flush()
    p.shutdown()
    return out.read_text(encoding="utf-8")


def lines_of(text):
    """Each line parsed as a JSON object with unique keys."""

    def unique(pairs):
        keys = [k for k, _ in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    return [json.loads(line, object_pairs_hook=unique) for line in text.splitlines()]


def charge(card):
    password = SECRET  # a local a traceback renderer with locals would print
    raise ValueError("card %s declined" % card[-4:])


def failing(logger):
    try:
        charge("4111111111111111")
    except ValueError as e:
        logger.error("payment failed", order_id=17, exception=e)


class Money:
    def __init__(self, cents):
        self.cents = cents

    def __repr__(self):
        return "Money(%d)" % self.cents


# === shape keywords ===


def test_the_bare_formatter_is_unchanged_and_calling_it_bare_returns_it(tmp_path):
    """``default_json_formatter`` used bare writes today's wire format;
    ``default_json_formatter()`` is the same object; keywords make a new one
    whose repr says how it was made."""
    assert default_json_formatter() is default_json_formatter
    [line] = lines_of(log_through(default_json_formatter, tmp_path, lambda log: log.info("m", a=1)))
    assert list(line)[:7] == ["timestamp", "datetime", "level", "level_value", "logger", "message", "fields"]
    shaped = default_json_formatter(rename={"level": "severity"}, flatten_fields=True)
    assert shaped is not default_json_formatter
    assert repr(shaped) == "default_json_formatter(rename={'level': 'severity'}, flatten_fields=True)"
    assert isinstance(shaped, kakashi._kakashi.BuiltinFormatter)


def test_rename_drop_and_flatten(tmp_path):
    """Renamed keys carry the value under the new name, dropped keys are
    gone, fields sit at the top level where they do not clash."""
    f = default_json_formatter(
        rename={"level": "severity", "message": "@message"},
        drop=["level_value", "datetime"],
        flatten_fields=True,
    )
    text = log_through(f, tmp_path, lambda log: log.warning("disk low", free_mb=12, message="spoof"))
    [line] = lines_of(text)
    assert list(line) == ["timestamp", "severity", "logger", "@message", "free_mb", "message"]
    assert line["severity"] == "WARNING" and line["@message"] == "disk low"
    assert line["free_mb"] == 12 and line["message"] == "spoof"
    # A field clashing with a key the line writes keeps both.
    [line] = lines_of(log_through(default_json_formatter(flatten_fields=True), tmp_path, lambda log: log.info("real", message="spoof")))
    assert line["message"] == "real" and line["fields.message"] == "spoof"


@pytest.mark.parametrize(
    "kwargs, error, text",
    [
        ({"drop": ["thread"]}, kakashi.ConfigError, 'invalid drop key "thread"; expected one of timestamp,'),
        ({"rename": {"lvl": "severity"}}, kakashi.ConfigError, 'invalid rename key "lvl"; expected one of'),
        ({"rename": {"level": "message"}}, kakashi.ConfigError, 'invalid rename target "message"'),
        ({"profile": "splunk"}, kakashi.ConfigError, 'invalid profile "splunk"; expected kakashi, ecs or gcp'),
        ({"profile": "ecs", "drop": ["level"]}, kakashi.ConfigError, 'invalid drop key "level"; expected no drops with the ecs or gcp profile'),
        ({"rename": ["level"]}, TypeError, "rename must be a dict of str to str"),
        ({"drop": "level"}, TypeError, "drop must be a list of key names, not a str"),
        ({"default": 42}, TypeError, "default must be callable, got 42"),
        ({"indent": 2}, TypeError, "default_json_formatter() got an unexpected keyword argument 'indent'"),
    ],
)
def test_bad_shapes_fail_when_made_naming_the_key(kwargs, error, text):
    """A bad key, profile or type is an error when the formatter is made."""
    with pytest.raises(error) as info:
        default_json_formatter(**kwargs)
    assert str(info.value).startswith(text), str(info.value)


def test_a_default_hook_encodes_what_json_cannot_and_never_raises(tmp_path):
    """``default=`` is called with the object; when it raises or returns
    something unencodable the value is ``repr(obj)``, the line is still
    written and the formatter counts the fallback."""

    def hook(obj):
        if isinstance(obj, Money):
            if obj.cents < 0:
                raise RuntimeError("negative")
            if obj.cents == 0:
                return obj  # not JSON either
            return {"cents": obj.cents}
        return str(obj)

    f = default_json_formatter(default=hook)
    assert f.default_fallbacks == 0

    def emit(log):
        log.info("a", price=Money(250))
        log.info("b", price=Money(-1))
        log.info("c", price=[Money(0), Money(5)])
        log.info("d", n=1)

    lines = lines_of(log_through(f, tmp_path, emit))
    assert [l["message"] for l in lines] == ["a", "b", "c", "d"]
    assert lines[0]["fields"]["price"] == {"cents": 250}
    assert lines[1]["fields"]["price"] == "Money(-1)"
    assert lines[2]["fields"]["price"] == ["Money(0)", {"cents": 5}]
    assert f.default_fallbacks == 2
    # A record built by hand and processed goes through the hook too.
    out = tmp_path / "processed.log"
    Pipeline(PipelineConfig(formatter=f, writers=(file_writer(out),))).process(
        create_log_record("INFO", "app", "p", fields={"price": Money(9)})
    )
    assert json_lines(out)[0]["fields"]["price"] == {"cents": 9}
    # A hook that keeps wrapping the object ends at the depth limit.
    wraps = default_json_formatter(default=lambda obj: [obj])
    [line] = lines_of(log_through(wraps, tmp_path, lambda log: log.info("w", m=Money(3))))
    depth, value = 0, line["fields"]["m"]
    while isinstance(value, list):
        depth, value = depth + 1, value[0]
    assert value == "<nested too deeply>" and 20 < depth <= 64
    # Without a hook, the original's str().
    [line] = lines_of(log_through(default_json_formatter, tmp_path, lambda log: log.info("m", price=Money(1))))
    assert line["fields"]["price"] == "Money(1)"


def test_a_hook_that_refers_back_to_its_formatter_is_collected():
    """A formatter holding a bound method of the object that holds the
    formatter is a reference cycle the garbage collector can see and free."""
    import gc
    import weakref

    class Holder:
        def encode(self, obj):
            return repr(obj)

    h = Holder()
    h.formatter = default_json_formatter(default=h.encode)
    gone = weakref.ref(h)
    del h
    gc.collect()
    assert gone() is None


# === exceptions ===


def test_exception_frames_are_structured_and_never_hold_locals(tmp_path):
    """``exception_frames=True`` adds the frames (file, line, function) of
    the traceback; no output of any formatter carries a local's value."""
    text = log_through(default_json_formatter(exception_frames=True), tmp_path, failing)
    [line] = lines_of(text)
    ex = line["exception"]
    assert ex["type"] == "ValueError" and ex["message"] == "card 1111 declined"
    frames = ex["frames"]
    assert [f["function"] for f in frames] == ["failing", "charge"]
    assert all(f["file"] == __file__ for f in frames)
    assert all(isinstance(f["line"], int) and f["line"] > 0 for f in frames)
    for formatter in (
        default_json_formatter,
        default_json_formatter(exception_frames=True),
        default_json_formatter(profile="ecs"),
        default_json_formatter(profile="gcp"),
        console_formatter,
        simple_text_formatter,
    ):
        out = log_through(formatter, tmp_path, failing)
        assert "card 1111 declined" in out
        assert SECRET not in out, formatter
    # The default layout keeps its bytes: no frames.
    [line] = lines_of(log_through(default_json_formatter, tmp_path, failing))
    assert "frames" not in line["exception"]


# === profiles ===


def test_ecs_lines_carry_what_ecs_requires(tmp_path):
    """Elastic Common Schema (ecs-logging spec): every line has
    ``@timestamp``, ``log.level``, ``message`` (these three first) and
    ``ecs.version``; the logger is ``log.logger``, the process and thread
    ``process.pid`` / ``process.thread.id``/``name``, an exception
    ``error.type``/``message``/``stack_trace``; fields at the top level."""
    text = log_through(default_json_formatter(profile="ecs"), tmp_path, failing, name="shop.pay")
    [line] = lines_of(text)
    assert list(line)[:4] == ["@timestamp", "log.level", "message", "ecs.version"]
    assert line["@timestamp"].endswith("Z") and line["@timestamp"][10] == "T"
    assert line["log.level"] == "error" and line["message"] == "payment failed"
    assert line["log"]["logger"] == "shop.pay"
    assert line["process"]["pid"] == os.getpid()
    assert line["process"]["thread"]["name"] == "MainThread"
    assert line["error"]["type"] == "ValueError"
    assert line["error"]["message"] == "card 1111 declined"
    trace = line["error"]["stack_trace"]
    assert trace.startswith("Traceback (most recent call last):\n")
    assert trace.rstrip().endswith("ValueError: card 1111 declined")
    assert line["order_id"] == 17


def test_gcp_lines_carry_what_cloud_logging_reads(tmp_path):
    """Google Cloud Logging structured JSON: ``severity`` (DEBUG, INFO,
    WARNING, ERROR, CRITICAL), ``message``, ``time`` (RFC 3339),
    ``logging.googleapis.com/sourceLocation`` {file, line, function} (here
    where the exception was raised), ``logging.googleapis.com/trace`` and
    ``spanId`` from ``trace_id``/``span_id`` fields; Error Reporting finds
    the Python traceback in ``stack_trace``."""
    f = default_json_formatter(profile="gcp", gcp_project="my-proj")

    def emit(log):
        failing(log)
        log.info("traced", trace_id="4bf92f35", span_id="00f067aa")
        log.critical("down")

    lines = lines_of(log_through(f, tmp_path, emit))
    err, traced, down = lines
    for line in lines:
        assert {"severity", "message", "time"} <= set(line)
        assert line["time"].endswith("Z")
    assert [l["severity"] for l in lines] == ["ERROR", "INFO", "CRITICAL"]
    loc = err["logging.googleapis.com/sourceLocation"]
    assert loc["file"] == __file__ and loc["function"] == "charge" and loc["line"] > 0
    assert err["stack_trace"].startswith("Traceback (most recent call last):\n  File ")
    assert "@type" not in err
    assert traced["logging.googleapis.com/trace"] == "projects/my-proj/traces/4bf92f35"
    assert traced["logging.googleapis.com/spanId"] == "00f067aa"
    assert "trace_id" not in traced and "span_id" not in traced


# === the console ===

CHILD = """
import sys, kakashi
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, console_formatter, console_writer, file_writer
writers = (file_writer("out.log"),) if sys.argv[1] == "file" else (console_writer,)
f = console_formatter(colors=sys.argv[2])
p = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(formatter=f, writers=writers)))
p.logger("app").warning("hot", temp=90)
p.flush()
p.shutdown()
"""


def run_child(tmp_path, tty, env, target="console", colors="auto"):
    """Runs CHILD with stdout on a pseudo-terminal (``tty``) or a pipe,
    with ``env`` added to a copy of the environment without NO_COLOR and
    FORCE_COLOR; returns what it wrote (to stdout, or to its file)."""
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full.update(env)
    argv = [sys.executable, "-c", CHILD, target, colors]
    if tty:
        import pty

        master, slave = pty.openpty()
        proc = subprocess.Popen(argv, cwd=tmp_path, env=full, stdout=slave, stderr=subprocess.PIPE)
        os.close(slave)
        chunks = []
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        _, err = proc.communicate(timeout=60)
        out = b"".join(chunks).decode()
    else:
        proc = subprocess.run(argv, cwd=tmp_path, env=full, capture_output=True, timeout=60)
        out, err = proc.stdout.decode(), proc.stderr
    assert proc.returncode == 0, err
    if target == "file":
        return (tmp_path / "out.log").read_text()
    return out


@pytest.mark.parametrize(
    "tty, env, target, colors, coloured",
    [
        (True, {}, "console", "auto", True),
        (True, {"NO_COLOR": "1"}, "console", "auto", False),
        (True, {"NO_COLOR": ""}, "console", "auto", True),
        (False, {}, "console", "auto", False),
        (False, {"FORCE_COLOR": "1"}, "console", "auto", True),
        (False, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, "console", "auto", False),
        (True, {"FORCE_COLOR": "1"}, "file", "auto", False),
        (False, {}, "console", "always", True),
        (True, {"FORCE_COLOR": "1"}, "console", "never", False),
    ],
    ids=["tty", "tty-NO_COLOR", "tty-empty-NO_COLOR", "pipe", "pipe-FORCE_COLOR",
         "both-NO_COLOR-wins", "file-never", "always", "never"],
)
def test_console_colours_a_terminal_only_as_the_environment_allows(tmp_path, tty, env, target, colors, coloured):
    """Colours by level on a terminal; ``NO_COLOR`` (non-empty) turns them
    off, ``FORCE_COLOR`` on for a pipe; a file never gets them on ``auto``;
    ``always``/``never`` are what they say."""
    out = run_child(tmp_path, tty, env, target, colors)
    plain = out.replace("\x1b[33m", "").replace("\x1b[2m", "").replace("\x1b[0m", "")
    assert plain.rstrip().endswith(" WARNING  app: hot temp=90"), repr(out)
    assert ("\x1b[33mWARNING\x1b[0m" in out) is coloured, repr(out)
    assert ("\x1b[" in out) is coloured


def test_console_formatter_keywords_and_placeholders(tmp_path):
    """``colors`` must be auto, always or never; the line has no ``N/A``
    for missing context and shows the logger name and fields."""
    with pytest.raises(kakashi.ConfigError, match='invalid colors "rainbow"; expected auto, always or never'):
        console_formatter(colors="rainbow")
    assert console_formatter(colors="never").colored is False
    assert console_formatter(colors="always").colored is True
    out = log_through(console_formatter, tmp_path, lambda log: log.info("ready", port=8080), name="web")
    assert out.rstrip().endswith(" INFO     web: ready port=8080")
    assert "N/A" not in out and "\x1b" not in out


def test_the_development_preset_prints_the_console_line(tmp_path):
    """``setup_async_logging("development")`` prints the console line (no
    ``|``-separated placeholders) and still writes JSON to its file."""
    code = textwrap.dedent(
        """
        import os, kakashi
        kakashi.setup_async_logging("development", log_directory=os.getcwd())
        kakashi.get_logger("svc").info("started", port=1)
        kakashi.flush(10)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    [printed] = [l for l in proc.stdout.splitlines() if "started" in l]
    assert printed.endswith(" INFO     svc: started port=1"), printed
    assert "N/A" not in printed and "\x1b" not in printed
    [line] = json_lines(tmp_path / "app.log")
    assert line["message"] == "started" and line["fields"] == {"port": 1}
