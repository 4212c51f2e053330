"""Every code block of the "Async Backends" page, run as written (with only
the imports the page leaves out), checked for what it should produce."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import urllib.request


from conftest import json_lines, run_python, since


def test_basic_async_setup_installs_production_and_logs(tmp_path):
    """setup_async_logging(environment="production", ...) as on the page:
    production writes INFO JSON to app.log with the service context. The one
    change to the page's code: log_directory= names the test's directory, so
    the test never writes to production's default, /var/log (the Rust preset
    test checks that default)."""
    proc = run_python(
        """
        from kakashi.core.async_interface import setup_async_logging

        # Enable async logging for production
        config = setup_async_logging(
        environment="production",
        service_name="my-api",
        version="1.0.0",
        max_queue_size=25000,
        worker_count=2,
        batch_size=200,
        log_directory=LOG_DIRECTORY,
        )

        import kakashi, uuid, json
        marker = str(uuid.uuid4())
        kakashi.get_logger("api").info("started", marker=marker)
        kakashi.shutdown_async_backend(timeout=10.0)
        print(json.dumps({"marker": marker, "env": config.environment,
                          "dir": config.log_directory,
                          "strategy": config.async_config.queue_overflow_strategy,
                          "queue": config.async_config.max_queue_size,
                          "workers": config.async_config.worker_count,
                          "batch": config.async_config.batch_size}))
        """.replace("LOG_DIRECTORY", repr(str(tmp_path / "var-log"))),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["env"] == "production"
    assert out["dir"] == str(tmp_path / "var-log")
    assert (out["strategy"], out["queue"], out["workers"], out["batch"]) == ("drop_oldest", 25000, 2, 200)
    mine = [r for r in json_lines(tmp_path / "var-log" / "app.log") if r.get("fields", {}).get("marker") == out["marker"]]
    assert len(mine) == 1
    assert mine[0]["context"] == {"service_name": "my-api", "version": "1.0.0", "environment": "production"}


def test_async_pipeline_block_writes_json_with_threading(tmp_path):
    """The AsyncPipeline block: the pipeline starts its workers and writes app.log."""
    from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
    from kakashi.core.pipeline import PipelineConfig
    from kakashi.core.async_backend import AsyncConfig
    # Left out by the page:
    from kakashi.core.records import LogLevel
    from kakashi.core.pipeline import thread_enricher, exception_enricher, default_json_formatter, file_writer

    # Create standard pipeline config
    pipeline_config = PipelineConfig(
    min_level=LogLevel.INFO,
    enrichers=(thread_enricher, exception_enricher),
    filters=(),
    formatter=default_json_formatter,
    writers=(file_writer("app.log"),)
    )

    # Create async config
    async_config = AsyncConfig(
    max_queue_size=25000,
    worker_count=2,
    batch_size=200,
    batch_timeout=0.1,
    enable_batching=True
    )

    # Create async pipeline config
    async_pipeline_config = AsyncPipelineConfig(
    pipeline_config=pipeline_config,
    async_config=async_config,
    enable_async=True,
    fallback_to_sync=True
    )

    pipeline = AsyncPipeline(async_pipeline_config)

    stats = pipeline.get_stats()
    assert (stats["state"], stats["worker_count"], stats["active_workers"]) == ("running", 2, 2)
    logger = pipeline.logger("api")
    for i in range(500):
        logger.info("request", i=i)
    logger.debug("below INFO: not written")
    assert pipeline.flush()
    lines = json_lines(tmp_path / "app.log")
    assert [r["fields"]["i"] for r in lines] == list(range(500))
    assert lines[0]["threading"]["thread_name"] == threading.current_thread().name
    assert lines[0]["threading"]["thread_id"] == threading.get_ident()
    assert list(lines[0])[:6] == ["timestamp", "datetime", "level", "level_value", "logger", "message"]
    report = pipeline.shutdown(timeout=5.0)
    assert report.drained and report.dropped == 0


def test_backend_configuration_block_from_async_backend():
    """configure_async_backend imported from kakashi.core.async_backend (the
    page's import, which failed in the original) returns a running backend."""
    from kakashi.core.async_backend import AsyncConfig, configure_async_backend

    # Configure global async backend
    backend = configure_async_backend(
    max_queue_size=50000,
    worker_count=4,
    batch_size=500,
    enable_batching=True,
    overflow_strategy="drop_oldest"
    )

    stats = backend.get_stats()
    assert stats["state"] == "running"
    assert stats["max_queue_size"] == 50000
    assert stats["worker_count"] == 4
    assert backend.is_running()
    assert isinstance(AsyncConfig(), AsyncConfig)


class Trade:
    def __init__(self, i):
        self.i = i

    def to_dict(self):
        return {"trade_id": f"T{self.i}", "symbol": "ACME", "qty": 100 + self.i, "price": 12.5, "side": "buy"}


def test_high_performance_logger_block_writes_every_trade_in_order(tmp_path):
    """get_high_performance_logger with the page's arguments; the trading loop
    logs **trade.to_dict(); every trade lands in trades.log, in order."""
    from kakashi.core.async_interface import get_high_performance_logger

    trades = [Trade(i) for i in range(20000)]

    # Get ultra-high-performance logger
    logger = get_high_performance_logger(
    name="trading",
    log_file="trades.log",
    max_queue_size=100000,
    worker_count=8,
    batch_size=1000
    )

    # In high-frequency trading loop:
    for trade in trades:
        logger.info("Trade executed", **trade.to_dict()) # Microsecond latency

    assert logger.flush()
    lines = json_lines(tmp_path / "trades.log")
    assert len(lines) == 20000
    assert [r["fields"]["trade_id"] for r in lines] == [f"T{i}" for i in range(20000)]
    assert lines[0] == {
        "timestamp": lines[0]["timestamp"],
        "datetime": lines[0]["datetime"],
        "level": "INFO",
        "level_value": 20,
        "logger": "trading",
        "message": "Trade executed",
        "fields": {"trade_id": "T0", "symbol": "ACME", "qty": 100, "price": 12.5, "side": "buy"},
    }


class _Elasticsearch(BaseHTTPRequestHandler):
    """A loopback HTTP endpoint taking ``POST /<index>/_doc`` like Elasticsearch."""

    docs = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).docs.append((self.path, json.loads(body)))
        self.send_response(201)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


class _EsClient:
    """The smallest client of the endpoint above: index(index, body)."""

    def __init__(self, port):
        self.port = port

    def index(self, index, body):
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{index}/_doc",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert resp.status == 201


def test_network_logger_block_sends_every_message_to_a_real_server():
    """get_network_logger("api", send_to_elasticsearch): the callback runs off
    the caller's thread and the server receives every document, in order."""
    from kakashi.core.async_interface import get_network_logger

    _Elasticsearch.docs = []
    server = HTTPServer(("127.0.0.1", 0), _Elasticsearch)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    es_client = _EsClient(server.server_address[1])
    callers = []
    try:
        def send_to_elasticsearch(message):
            # Your Elasticsearch client code
            callers.append(threading.current_thread().name)
            es_client.index(index="logs", body=json.loads(message))

        logger = get_network_logger("api", send_to_elasticsearch)
        logger.info("API call", endpoint="/users", response_time=45)
        # Sent to Elasticsearch asynchronously
        for i in range(50):
            logger.info("API call", endpoint=f"/users/{i}", response_time=i)
        assert logger.flush()
    finally:
        server.shutdown()
        server.server_close()
    docs = _Elasticsearch.docs
    assert len(docs) == 51
    assert all(path == "/logs/_doc" for path, _ in docs)
    assert docs[0][1]["fields"] == {"endpoint": "/users", "response_time": 45}
    assert [d["fields"]["endpoint"] for _, d in docs[1:]] == [f"/users/{i}" for i in range(50)]
    assert threading.current_thread().name not in callers


def test_performance_monitoring_block_prints_real_counts(tmp_path):
    """get_async_stats() as on the page, after 300 records (in a fresh
    interpreter: global counters keep the totals of earlier tests' backends)."""
    proc = run_python(
        """
        from kakashi.core.async_interface import get_high_performance_logger

        logger = get_high_performance_logger("stats", "stats.log", overflow_strategy="block")
        for i in range(300):
            logger.info("tick", i=i)
        logger.flush()

        from kakashi.core.async_interface import get_async_stats

        # Get runtime statistics
        stats = get_async_stats()
        print(f"Queue size: {stats['queue_size']}")
        print(f"Messages processed: {stats['messages_enqueued']}")
        print(f"Active workers: {stats['active_workers']}")
        print(stats["messages_written"], list(stats)[:8])
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[:3] == ["Queue size: 0", "Messages processed: 300", "Active workers: 2"]
    assert out[3] == "300 " + str([
        "state", "queue_size", "max_queue_size", "worker_count",
        "messages_enqueued", "messages_dropped", "messages_written", "active_workers",
    ])


def test_web_server_block(tmp_path):
    """setup_web_server_logging() as on the page (production, queue 100000, 8
    workers), with log_directory= naming the test's directory instead of
    production's default, /var/log."""
    proc = run_python(
        """
        from kakashi.core.async_interface import setup_async_logging

        def setup_web_server_logging():
            \"\"\"Optimized for web servers with high request volume.\"\"\"

            return setup_async_logging(
            environment="production",
            service_name="web-api",
            version="2.1.0",
            max_queue_size=100000,
            worker_count=8,
            batch_size=1000,
            log_directory=LOG_DIRECTORY,
            )

        config = setup_web_server_logging()
        from kakashi.core.async_interface import get_async_stats
        s = get_async_stats()
        print(config.async_config.max_queue_size, config.async_config.worker_count, s["state"], s["active_workers"] >= 8)
        """.replace("LOG_DIRECTORY", repr(str(tmp_path / "var-log"))),
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["100000", "8", "running", "True"]
    assert (tmp_path / "var-log" / "app.log").exists()


def test_real_time_analytics_block(tmp_path):
    """get_async_structured_logger("analytics", service=..., version=...):
    service and version are in every record's fields (JSON)."""
    proc = run_python(
        """
        from kakashi.core.async_interface import get_async_structured_logger

        def setup_analytics_logging():
            \"\"\"Logger for real-time analytics with low latency.\"\"\"

            logger = get_async_structured_logger(
            "analytics",
            service="user-analytics",
            version="1.0.0"
            )

            return logger

        logger = setup_analytics_logging()
        logger.info("User signed up", user_id=123, email="user@example.com")
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads(proc.stdout.strip())
    assert record["logger"] == "analytics"
    assert record["fields"] == {"service": "user-analytics", "version": "1.0.0", "user_id": 123, "email": "user@example.com"}


def test_structured_logger_takes_log_file_and_async_config(tmp_path):
    """get_async_structured_logger(name, log_file, async_config, **fields),
    as in Rust: log_file names a module file; an async_config equal to the
    global backend's starts no new workers, another one replaces it."""
    proc = run_python(
        """
        from kakashi.core.async_backend import AsyncConfig
        from kakashi.core.async_interface import (
            flush, get_async_stats, get_async_structured_logger, setup_async_logging,
        )

        setup_async_logging("testing", log_directory="logs")  # console: WARNING and up
        three = AsyncConfig(max_queue_size=1000, worker_count=3, batch_size=10)
        first = get_async_structured_logger("analytics", "analytics", three, service="svc")
        print(get_async_stats()["active_workers"])
        again = get_async_structured_logger("analytics", "analytics", three, service="svc")
        print(get_async_stats()["active_workers"])
        first.info("one", n=1)
        again.info("two", n=2)
        assert flush()
        other = get_async_structured_logger("other", None, AsyncConfig(worker_count=2), service="x")
        print(get_async_stats()["active_workers"])
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["3", "3", "2"]
    lines = json_lines(tmp_path / "logs" / "modules" / "analytics.log")
    assert [(r["message"], r["fields"]) for r in lines] == [
        ("one", {"service": "svc", "n": 1}),
        ("two", {"service": "svc", "n": 2}),
    ]


def test_error_handling_block_drains_before_returning(tmp_path, capsys):
    """graceful_shutdown() drains everything queued, then prints."""
    from kakashi.core.async_interface import get_high_performance_logger, get_async_stats

    before = get_async_stats()
    logger = get_high_performance_logger("shutdown", "shutdown.log", overflow_strategy="block")
    for i in range(5000):
        logger.info("queued", i=i)

    from kakashi.core.async_interface import shutdown_async_backend

    def graceful_shutdown():
        """Gracefully shutdown the async logging backend."""
        try:
            shutdown_async_backend(timeout=10.0)
            print("Async logging shutdown complete")
        except Exception as e:
            print(f"Error during shutdown: {e}")

    graceful_shutdown()
    assert capsys.readouterr().out == "Async logging shutdown complete\n"
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "shutdown.log")] == list(range(5000))
    stats = since(before, get_async_stats())
    assert stats["messages_dropped"] == 0


def test_best_practices_atexit_registration(tmp_path):
    """atexit.register(shutdown_async_backend): a script that exits right
    after logging still has every line on disk."""
    proc = run_python(
        """
        import atexit
        from kakashi.core.async_interface import shutdown_async_backend

        # Register shutdown handler
        atexit.register(shutdown_async_backend)

        # Or manually at exit:
        def cleanup():
            shutdown_async_backend(timeout=10.0)

        from kakashi.core.async_interface import get_high_performance_logger
        logger = get_high_performance_logger("exit", "exit.log", overflow_strategy="block")
        for i in range(100000):
            logger.info("record", i=i)
        """,
        tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert [r["fields"]["i"] for r in json_lines(tmp_path / "exit.log")] == list(range(100000))


def test_the_factories_defaults_are_the_pages_and_the_cores():
    """The page's factories show the original's defaults in their
    signatures, and those are the Rust core's option structs' defaults
    (read from the engine, not copied)."""
    import inspect

    import kakashi
    from kakashi import _kakashi
    from kakashi.core.async_backend import OVERFLOW_STRATEGIES

    def defaults(function):
        return {
            name: p.default
            for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty and p.default is not None
        }

    page = {
        kakashi.setup_async_logging: {
            "environment": "production", "max_queue_size": 25000, "worker_count": 2, "batch_size": 200,
        },
        kakashi.get_high_performance_logger: {
            "max_queue_size": 50000, "worker_count": 2, "batch_size": 500,
            "overflow_strategy": "drop_oldest", "min_level": 20,
        },
        kakashi.get_network_logger: {
            "max_queue_size": 20000, "batch_size": 100, "max_retries": 5, "retry_delay": 0.5,
            "overflow_strategy": "drop_oldest", "min_level": 20,
        },
        kakashi.configure_async_backend: {
            "max_queue_size": 25000, "worker_count": 2, "batch_size": 200,
            "enable_batching": True, "overflow_strategy": "drop_oldest",
        },
    }
    for function, expected in page.items():
        assert defaults(function) == expected, function.__name__
        assert _kakashi.FACTORY_DEFAULTS[function.__name__] == expected, function.__name__
    assert OVERFLOW_STRATEGIES == ("block", "drop_oldest", "drop_newest")
