"""Programs written for Kakashi 0.2.2 run unchanged: its README's and docs'
usage patterns, its constructors and factories, its environment functions,
and its ``kakashi.core`` names, with their records on this engine in the
files and streams the original used, with its JSON keys (and without its
defects: B5, B14, B15, B16, B24, B25, as README.md's "What differs on
purpose" labels them)."""

import json
import os

import pytest

import kakashi
import kakashi.core
from kakashi import LogContext, LogLevel
from kakashi.core import (
    BoundLogger,
    LoggerConfig,
    create_dual_pipeline,
    create_file_pipeline,
    create_logger,
    create_structured_logger,
    context_enricher,
)

from conftest import json_lines, run_python

#: The original's top-level API names (its ``kakashi.__all__`` without metadata).
TOP_LEVEL_0_2_2 = """
Logger AsyncLogger LogFormatter get_logger get_async_logger clear_logger_cache shutdown_async_logging
LOG_LEVEL_DEBUG LOG_LEVEL_INFO LOG_LEVEL_WARNING LOG_LEVEL_ERROR LOG_LEVEL_CRITICAL
LogRecord LogContext LogLevel create_log_record EnvironmentConfig LoggerConfig
development_config production_config testing_config setup_environment get_environment_config
set_environment_config context_scope get_legacy_logger get_structured_logger get_request_logger
setup_logging set_log_level set_request_context set_user_context set_custom_context
clear_request_context configure_colors enable_bright_colors disable_colors create_custom_logger
""".split()

#: The original's JSON keys, in the order its formatter writes them, as far
#: as a record has them.
KEY_ORDER = ["timestamp", "datetime", "level", "level_value", "logger", "message", "fields", "context", "source", "threading", "exception"]


def _lines(text):
    """The JSON lines of ``text`` (every line must parse)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _in_key_order(line):
    keys = list(line)
    assert keys == [k for k in KEY_ORDER if k in line], keys


def _ran(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def test_every_top_level_name_of_0_2_2_exists():
    """``from kakashi import X`` works for each of the original's 38 names."""
    missing = [n for n in TOP_LEVEL_0_2_2 if not hasattr(kakashi, n)]
    assert missing == []
    assert [kakashi.LOG_LEVEL_DEBUG, kakashi.LOG_LEVEL_CRITICAL] == [10, 50]
    assert kakashi.version == kakashi.__version__


def test_readme_program_production_setup_writes_app_log(tmp_path):
    """The original README's program: setup_logging("production", ...) then
    get_logger(__name__) and get_structured_logger: JSON lines in
    <log_directory>/app.log with the original's keys and the service context."""
    _ran(
        run_python(
            """
            from kakashi import get_logger, setup_logging, get_structured_logger
            setup_logging("production", service_name="my-api", version="1.0.0", log_directory="logs")
            logger = get_logger(__name__)
            logger.info("User logged in", user_id=123, action="login")
            logger.debug("not at production's file level")
            api = get_structured_logger("api", component="auth")
            api.warning("Slow request", duration_ms=812)
            """,
            tmp_path,
        )
    )
    lines = json_lines(tmp_path / "logs" / "app.log")
    assert [(l["logger"], l["level"], l["message"]) for l in lines] == [
        ("__main__", "INFO", "User logged in"),
        ("api", "WARNING", "Slow request"),
    ]
    for line in lines:
        _in_key_order(line)
        assert line["context"] == {"service_name": "my-api", "version": "1.0.0", "environment": "production"}
    assert lines[0]["fields"] == {"user_id": 123, "action": "login"}
    assert lines[1]["fields"] == {"component": "auth", "duration_ms": 812}
    assert lines[0]["level_value"] == 20 and lines[1]["level_value"] == 30


def test_context_setters_give_the_documented_context_line(tmp_path):
    """The original's documented sample: the request, user and custom
    setters merge into one JSON ``context`` object."""
    _ran(
        run_python(
            """
            from kakashi import (setup_logging, get_structured_logger, set_request_context,
                                 set_user_context, set_custom_context, clear_request_context)
            setup_logging("development", log_directory="logs")
            log = get_structured_logger("web")
            set_request_context("192.168.1.100", "POST /api/users")
            set_user_context(user_id="42")
            set_custom_context(trace_id="abc-123")
            log.info("Creating user")
            clear_request_context()
            log.info("no context")
            """,
            tmp_path,
        )
    )
    first, second = json_lines(tmp_path / "logs" / "app.log")
    assert first["context"] == {
        "ip": "192.168.1.100",
        "access": "POST /api/users",
        "user_id": "42",
        "trace_id": "abc-123",
    }
    assert "context" not in second


def test_fast_logger_api_without_setup_writes_json_to_stdout(tmp_path):
    """Logger(name), Logger(name, min_level=30), get_logger(name, 30),
    AsyncLogger + flush(), exception() without fields (B25), a cached
    AsyncLogger after shutdown_async_logging() (B14), and 25 unflushed lines
    at exit (B15): every record on stdout, in order, nothing lost."""
    proc = _ran(
        run_python(
            """
            from kakashi import Logger, AsyncLogger, get_logger, get_async_logger, shutdown_async_logging, LogLevel
            log = Logger("plain")
            log.info("one", a=1)
            quiet = Logger("quiet", min_level=30)
            quiet.info("dropped by min_level")
            quiet.warning("two")
            get_logger("fast", 30).info("dropped too")
            get_logger("fast", min_level=LogLevel.ERROR).error("three")
            alog = get_async_logger("worker", 20)
            alog.info("four")
            assert alog.flush()
            try:
                raise KeyError("missing")
            except KeyError:
                AsyncLogger("errs").exception("five")
            shutdown_async_logging()
            alog.info("six, after shutdown")
            for i in range(25):
                log.info("burst", i=i)
            """,
            tmp_path,
        )
    )
    lines = _lines(proc.stdout)
    assert [l["message"] for l in lines][:6] == ["one", "two", "three", "four", "five", "six, after shutdown"]
    assert [l["fields"]["i"] for l in lines[6:]] == list(range(25))
    assert [l["logger"] for l in lines[:6]] == ["plain", "quiet", "fast", "worker", "errs", "worker"]
    assert lines[4]["exception"]["type"] == "KeyError"
    assert lines[4]["exception"]["message"] == "'missing'"
    for line in lines:
        _in_key_order(line)


def test_min_level_is_checked_by_every_method():
    """A logger's own min_level: below it every method is silent; is_enabled_for and min_level say so."""
    logger = kakashi.Logger("x", min_level=40)
    assert logger.min_level == 40
    assert not logger.is_enabled_for(LogLevel.WARNING)
    assert logger.is_enabled_for("ERROR")
    bound = logger.bind(k=1)
    assert bound.min_level == 40 and isinstance(bound, kakashi.Logger)
    assert isinstance(kakashi.AsyncLogger("y"), kakashi.Logger)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: kakashi.get_logger("x", 1.5), "the second argument is log_file (a str) or Kakashi 0.2.2's min_level (an int level), got float"),
        (lambda: kakashi.get_async_logger("x", [20]), "got list"),
        (lambda: kakashi.get_logger("x", True), "got bool"),
        (lambda: kakashi.get_logger("x", 20, min_level=30), "got min_level twice"),
        (lambda: kakashi.Logger(5), "name must be a str, got int"),
        (lambda: kakashi.Logger("x", min_level="high"), "min_level must be an int level"),
        (lambda: kakashi.Logger("x", min_level=True), "min_level must be an int level"),
    ],
)
def test_a_wrong_type_is_a_type_error_naming_it(call, message):
    """The two call styles never misroute a value: anything else is a TypeError."""
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        call()


def test_environment_functions(tmp_path):
    """setup_environment("prod"), set_log_level (keeps the async settings:
    B16), configure_colors, testing with a version (B24), an unknown
    environment: each does what it says, and records follow."""
    proc = _ran(
        run_python(
            """
            import kakashi
            from kakashi import (setup_environment, get_environment_config, set_log_level, get_logger,
                                 configure_colors, setup_logging, flush, ConfigError)
            env = setup_environment("Prod", log_directory="logs", service_name="svc")
            assert env.environment == "production", env
            assert get_environment_config() == env
            get_logger("a").debug("hidden: production's file level is INFO")
            set_log_level("DEBUG")
            env = get_environment_config()
            assert env.file_level == 10 and env.console_level == 30, env
            assert env.async_config.queue_overflow_strategy == "drop_oldest", env.async_config
            get_logger("a").debug("shown after set_log_level")
            kakashi.Logger("direct").debug("not shown: Logger's own default min_level is INFO, as in 0.2.2")
            kakashi.Logger("direct", min_level=10).debug("shown: min_level=10")
            configure_colors(use_colors=False)
            assert get_environment_config().use_colors is False
            assert get_environment_config().async_config.queue_overflow_strategy == "drop_oldest"
            flush()
            test = setup_logging("testing", version="9.9", log_directory="t")
            assert (test.environment, test.version) == ("testing", "9.9"), test
            try:
                setup_logging("staging")
            except ValueError as e:
                print("error:", e)
            """,
            tmp_path,
        )
    )
    assert 'error: unknown environment "staging"; expected development, production or testing' in proc.stdout
    lines = json_lines(tmp_path / "logs" / "app.log")
    assert [(l["logger"], l["level"], l["message"]) for l in lines] == [
        ("a", "DEBUG", "shown after set_log_level"),
        ("direct", "DEBUG", "shown: min_level=10"),
    ]


def test_get_request_logger_and_presets(tmp_path):
    """get_request_logger binds the request context and fields; the presets
    are the original's (not installed until set_environment_config)."""
    _ran(
        run_python(
            """
            from kakashi import (development_config, production_config, testing_config,
                                 set_environment_config, get_request_logger, LogLevel)
            dev = development_config(log_directory="d", service_name="svc")
            assert (dev.console_level, dev.file_level, dev.include_source_location) == (LogLevel.DEBUG, LogLevel.DEBUG, True)
            prod = production_config(log_directory="p")
            assert (prod.console_level, prod.file_level) == (LogLevel.WARNING, LogLevel.INFO)
            assert prod.async_config.queue_overflow_strategy == "drop_oldest"
            assert testing_config().version == "test"
            # The original's queue settings per preset, as the engine gives them.
            queues = {
                name: (c.async_config.max_queue_size, c.async_config.worker_count,
                       c.async_config.batch_size, c.async_config.queue_overflow_strategy)
                for name, c in [("development", dev), ("production", prod), ("testing", testing_config())]
            }
            assert queues == {
                "development": (5000, 1, 50, "block"),
                "production": (25000, 2, 200, "drop_oldest"),
                "testing": (1000, 1, 10, "block"),
            }, queues
            set_environment_config(prod)
            get_request_logger("req", "r-17", user_id=42, ip="10.0.0.9", route="/users").info("handled")
            """,
            tmp_path,
        )
    )
    (line,) = json_lines(tmp_path / "p" / "app.log")
    assert line["fields"] == {"route": "/users"}
    assert line["context"] == {"ip": "10.0.0.9", "request_id": "r-17", "user_id": "42"}
    assert line["logger"] == "req" and line["message"] == "handled"


def test_structured_logger_helpers_use_the_original_field_names(tmp_path):
    """create_structured_logger(name, pipeline).metric/counter/timer/event/
    audit/request/security: the original's field names for each helper,
    before the caller's fields."""
    path = tmp_path / "s.log"
    log = create_structured_logger("metrics", pipeline=create_file_pipeline(path))
    log.metric("latency", 12.5, host="h1")
    log.counter("logins")
    log.timer("db.query", 3.2)
    log.event("signup", plan="pro")
    log.audit("delete", "user/7")
    log.request("GET", "/missing", 404, 1.5)
    log.security("login_failed", "warning", user="bob")
    log.with_trace("t-1", "s-1").info("traced")
    log.with_user("u9", tier="gold").info("user")
    log.debug("below INFO")
    lines = json_lines(path)
    assert [(l["level"], l["message"]) for l in lines] == [
        ("INFO", "Metric: latency"),
        ("INFO", "Counter: logins"),
        ("INFO", "Timer: db.query"),
        ("INFO", "Event: signup"),
        ("INFO", "Audit: delete on user/7"),
        ("ERROR", "GET /missing 404"),
        ("WARNING", "Security: login_failed"),
        ("INFO", "traced"),
        ("INFO", "user"),
    ]
    f = [l.get("fields", {}) for l in lines]
    assert f[0] == {"metric_name": "latency", "metric_value": 12.5, "metric_type": "gauge", "host": "h1"}
    assert f[1] == {"counter_name": "logins", "counter_increment": 1, "metric_type": "counter"}
    assert f[2] == {"operation": "db.query", "duration_ms": 3.2, "metric_type": "timer"}
    assert f[3] == {"event_name": "signup", "event_type": "custom", "plan": "pro"}
    assert list(f[4]) == ["audit_action", "audit_resource", "audit_timestamp"]
    assert f[5] == {"http_method": "GET", "http_path": "/missing", "http_status_code": 404, "http_duration_ms": 1.5}
    assert list(f[6]) == ["security_event_type", "security_severity", "security_timestamp", "user"]
    assert lines[7]["context"] == {"trace_id": "t-1", "span_id": "s-1"}
    assert lines[8]["context"] == {"user_id": "u9"} and f[8] == {"tier": "gold"}


def test_functional_and_bound_loggers_on_a_pipeline(tmp_path):
    """LoggerConfig + create_logger / FunctionalLogger / BoundLogger /
    create_custom_logger: records in the pipeline's file with the base
    context and bound fields."""
    path = tmp_path / "f.log"
    config = LoggerConfig("orders", create_file_pipeline(path), base_context=LogContext(service_name="shop"))
    log = create_logger(config)
    assert isinstance(log, kakashi.Logger) and log.name == "orders"
    log.info("placed", order=1)
    BoundLogger(log, {"order": 2}, LogContext(request_id="r2")).warning("bound")
    kakashi.create_custom_logger("ignored", config).with_fields(order=3).log("ERROR", "custom")
    lines = json_lines(path)
    assert [(l["message"], l["fields"]["order"], l["level_value"]) for l in lines] == [
        ("placed", 1, 20),
        ("bound", 2, 30),
        ("custom", 3, 40),
    ]
    assert lines[1]["context"] == {"request_id": "r2", "service_name": "shop"}
    assert all(l["logger"] == "orders" for l in lines)


def test_dual_pipeline_keeps_its_file_after_with_enricher(tmp_path):
    """create_dual_pipeline(...).with_enricher(...) (what a service_name did,
    B5): the file still gets every record at its level, enriched."""
    path = tmp_path / "dual.log"
    dual = create_dual_pipeline(path, console_level=LogLevel.CRITICAL, file_level=LogLevel.DEBUG)
    dual = dual.with_enricher(context_enricher(LogContext(service_name="svc")))
    log = create_logger(LoggerConfig("dual", dual))
    log.debug("d")
    log.info("i", n=1)
    log.flush()
    lines = json_lines(path)
    assert [(l["level"], l["message"]) for l in lines] == [("DEBUG", "d"), ("INFO", "i")]
    assert all(l["context"] == {"service_name": "svc"} for l in lines)


def test_sinks_are_writers(tmp_path):
    """FileSink in a pipeline and by write(); RotatingFileSink rotates and
    keeps every line (the original wrote nothing: B19); bad settings are
    errors at construction."""
    from kakashi.core import ConsoleSink, FileSink, PipelineConfig, Pipeline, RotatingFileSink, SinkResult

    sink = FileSink("app", tmp_path / "sink.log")
    logger = Pipeline(PipelineConfig(writers=(sink,))).logger("s")
    logger.info("through the pipeline")
    assert sink.write("direct line") is SinkResult.SUCCESS
    text = (tmp_path / "sink.log").read_text().splitlines()
    assert json.loads(text[0])["message"] == "through the pipeline"
    assert text[1] == "direct line"
    assert sink.get_stats()["messages_sent"] == 1

    rotating = RotatingFileSink("rot", tmp_path / "rot" / "app.log", max_bytes=200, backup_count=50)
    for i in range(20):
        assert rotating.write(f"line {i:02d} " + "x" * 40) is SinkResult.SUCCESS
    files = sorted(os.listdir(tmp_path / "rot"))
    assert len([f for f in files if f.endswith(".log")]) > 1, files
    written = []
    for name in files:
        if name.endswith(".log"):
            written += (tmp_path / "rot" / name).read_text().splitlines()
    assert sorted(written) == [f"line {i:02d} " + "x" * 40 for i in range(20)]

    with pytest.raises(ValueError, match='unknown stream "stdlog"'):
        ConsoleSink("c", "stdlog")
    with pytest.raises(ValueError, match="kakashi writes UTF-8"):
        FileSink("latin", tmp_path / "l.log", encoding="latin-1")
    with pytest.raises(ValueError, match='unknown rotation_type "weekly"'):
        RotatingFileSink("r", tmp_path / "r.log", rotation_type="weekly")


def test_optimized_json_formatter_with_a_context(tmp_path):
    """The original raised on any record with a context (B17) and wrote local
    time as Z (B23): here the UTC instant and the context flattened."""
    from kakashi.core import LogRecord, optimized_json_formatter

    record = LogRecord(
        timestamp=1767225600.5,
        level=LogLevel.INFO,
        logger_name="svc",
        message="hi",
        fields={"a": 1},
        context=LogContext(request_id="r", custom={"tenant": "t"}),
        thread_id=7,
        thread_name="T",
    )
    assert json.loads(optimized_json_formatter(record)) == {
        "@timestamp": "2026-01-01T00:00:00.500000Z",
        "level": "INFO",
        "message": "hi",
        "a": 1,
        "request_id": "r",
        "tenant": "t",
        "thread": {"id": 7, "name": "T"},
        "logger": "svc",
    }


def test_core_names_import_or_say_what_to_use_instead():
    """Every kakashi.core name imports; the original's names with no meaning
    here raise NotImplementedError naming the replacement (never a silent no-op)."""
    for name in kakashi.core.__all__:
        assert getattr(kakashi.core, name) is not None, name
    from kakashi.core import AsyncLogger, LogLevel as CoreLevel, Logger, create_structured_logger  # noqa: F401

    assert CoreLevel is LogLevel
    with pytest.raises(NotImplementedError, match="UDPSink .* use a pipeline with several writers"):
        from kakashi.core import UDPSink  # noqa: F401
    with pytest.raises(NotImplementedError, match="elk_stack_formatter .* optimized_json_formatter"):
        kakashi.core.elk_stack_formatter
    with pytest.raises(AttributeError):
        kakashi.core.no_such_name


def test_clear_logger_cache_and_log_formatter():
    """clear_logger_cache() exists and returns None; LogFormatter prints the
    original fast logger's line."""
    assert kakashi.clear_logger_cache() is None
    line = kakashi.LogFormatter().format_message(30, "disk low", "mon", {"free": "2%"})
    stamp, rest = line.split(" ", 1)
    assert stamp.isdigit() and rest == "[WARNING] mon: disk low free=2%"
    assert kakashi.LogFormatter().format_message(25, "x", "n").endswith("[UNKNOWN] n: x")


def test_disable_colors_takes_the_colour_codes_off_the_development_console(tmp_path):
    """FORCE_COLOR colours the development console even on a pipe;
    disable_colors() (installed environment: again at once; before any: the
    next one) takes the codes off; configure_colors() puts them back."""
    proc = _ran(
        run_python(
            """
            import sys
            from kakashi import setup_logging, get_logger, flush, disable_colors, configure_colors
            setup_logging("development", log_directory="logs")
            get_logger("c").warning("coloured")
            flush(); sys.stdout.flush()
            disable_colors()
            get_logger("c").warning("plain")
            flush(); sys.stdout.flush()
            configure_colors(use_colors=True)
            get_logger("c").warning("coloured again")
            flush(); sys.stdout.flush()
            """,
            tmp_path,
            env={"FORCE_COLOR": "1", "NO_COLOR": ""},
        )
    )
    by_message = {}
    for line in proc.stdout.splitlines():
        for message in ("coloured again", "coloured", "plain"):
            if message in line:
                by_message.setdefault(message, line)
                break
    assert set(by_message) == {"coloured", "plain", "coloured again"}, proc.stdout
    assert "\x1b[" in by_message["coloured"], by_message
    assert "\x1b[" not in by_message["plain"], by_message
    assert "\x1b[" in by_message["coloured again"], by_message

    before_setup = _ran(
        run_python(
            """
            from kakashi import setup_logging, get_logger, flush, disable_colors
            disable_colors()
            setup_logging("development", log_directory="logs")
            get_logger("c").warning("plain from the start")
            flush()
            """,
            tmp_path,
            env={"FORCE_COLOR": "1", "NO_COLOR": ""},
        )
    )
    assert "plain from the start" in before_setup.stdout
    assert "\x1b[" not in before_setup.stdout, before_setup.stdout
