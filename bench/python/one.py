"""One benchmark run: one logger, one thread count, in this fresh process.

    python one.py LOGGER THREADS RECORDS OUT_FILE

Logs RECORDS records ("Trade executed" with seq, symbol, price, qty, side; one
JSON line each) split over THREADS threads, timing every call with
perf_counter_ns, then waits until every record is on disk (flush/close/stop as
the logger requires), counts the lines in OUT_FILE and prints one JSON object:
caller throughput, end-to-end throughput, latency percentiles, lines found.
"""

import json
import os
import sys
import threading
import time
from array import array

LOGGER, THREADS, RECORDS, OUT = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


PRICES = [187.25 + k / 100 for k in range(100)]


def fields(i):
    """The record's fields as a dict (for the APIs that take one)."""
    return {"seq": i, "symbol": "AAPL", "price": PRICES[i % 100], "qty": 100, "side": "buy"}


# === each logger: setup() -> (log(i), finish()) ===


def stdlib_json_formatter():
    import logging

    class JsonFormatter(logging.Formatter):
        def format(self, record):
            body = {
                "timestamp": record.created,
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                "fields": record.fields,
            }
            return json.dumps(body, separators=(",", ":"), default=str)

    return JsonFormatter()


def setup_stdlib_file():
    import logging

    handler = logging.FileHandler(OUT)
    handler.setFormatter(stdlib_json_formatter())
    log = logging.getLogger("trading")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False

    def call(i):
        log.info("Trade executed", extra={"fields": fields(i)})

    def finish():
        handler.close()

    return call, finish


def setup_stdlib_queue():
    import logging
    import logging.handlers
    import queue

    q = queue.Queue(-1)
    handler = logging.FileHandler(OUT)
    handler.setFormatter(stdlib_json_formatter())
    listener = logging.handlers.QueueListener(q, handler)
    listener.start()
    log = logging.getLogger("trading")
    log.addHandler(logging.handlers.QueueHandler(q))
    log.setLevel(logging.INFO)
    log.propagate = False

    def call(i):
        log.info("Trade executed", extra={"fields": fields(i)})

    def finish():
        listener.stop()
        handler.close()

    return call, finish


def setup_structlog():
    import orjson
    import structlog

    out = open(OUT, "wb")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(serializer=orjson.dumps),
        ],
        logger_factory=structlog.BytesLoggerFactory(file=out),
        cache_logger_on_first_use=True,
    )
    log = structlog.get_logger("trading")

    def call(i):
        log.info("Trade executed", seq=i, symbol="AAPL", price=PRICES[i % 100], qty=100, side="buy")

    def finish():
        out.flush()
        out.close()

    return call, finish


def setup_loguru(enqueue):
    from loguru import logger

    logger.remove()
    sink = logger.add(OUT, serialize=True, enqueue=enqueue, level="INFO")

    def call(i):
        logger.info("Trade executed", seq=i, symbol="AAPL", price=PRICES[i % 100], qty=100, side="buy")

    def finish():
        logger.remove(sink)

    return call, finish


def setup_picologging():
    # picologging has no `extra` fields in its format strings: the fields go
    # in as %-arguments of a JSON-shaped message, formatted by its C code.
    import picologging

    handler = picologging.FileHandler(OUT)
    handler.setFormatter(
        picologging.Formatter(
            '{"timestamp":%(created)f,"level":"%(levelname)s","logger":"%(name)s",'
            '"message":"Trade executed","fields":%(message)s}'
        )
    )
    log = picologging.getLogger("trading")
    log.addHandler(handler)
    log.setLevel(picologging.INFO)
    template = '{"seq":%d,"symbol":"%s","price":%r,"qty":%d,"side":"%s"}'

    def call(i):
        log.info(template, i, "AAPL", PRICES[i % 100], 100, "buy")

    def finish():
        handler.close()

    return call, finish


def setup_kakashi(strategy):
    import kakashi
    from kakashi.core.async_interface import get_high_performance_logger

    log = get_high_performance_logger("trading", OUT, overflow_strategy=strategy)

    def call(i):
        log.info("Trade executed", seq=i, symbol="AAPL", price=PRICES[i % 100], qty=100, side="buy")

    def finish():
        kakashi.shutdown_async_backend(timeout=60.0)

    return call, finish


def setup_kakashi_stdlib():
    # Python's standard logging, the call a program or library already
    # makes, through kakashi.stdlib.KakashiHandler into the same kakashi
    # file logger as kakashi-block (end to end: until every record is on disk).
    import logging

    import kakashi
    import kakashi.stdlib
    from kakashi.core.async_interface import get_high_performance_logger

    target = get_high_performance_logger("trading", OUT, overflow_strategy="block")
    log = logging.getLogger("trading")
    log.addHandler(kakashi.stdlib.KakashiHandler(target))
    log.setLevel(logging.INFO)
    log.propagate = False

    def call(i):
        log.info("Trade executed %s", i, extra=fields(i))

    def finish():
        kakashi.shutdown_async_backend(timeout=60.0)

    return call, finish


def setup_kakashi_022():
    # The original's one JSON-to-file path that works: a sync file pipeline
    # under a FunctionalLogger (its async factories raise at construction).
    from kakashi.core.config import LoggerConfig
    from kakashi.core.functional_logger import FunctionalLogger
    from kakashi.core.pipeline import create_file_pipeline
    from kakashi.core.records import LogLevel

    pipeline = create_file_pipeline(OUT, min_level=LogLevel.INFO, include_thread_info=False)
    log = FunctionalLogger(LoggerConfig(name="trading", pipeline=pipeline))

    def call(i):
        log.info("Trade executed", seq=i, symbol="AAPL", price=PRICES[i % 100], qty=100, side="buy")

    def finish():
        pass

    return call, finish


SETUPS = {
    "stdlib-file": setup_stdlib_file,
    "stdlib-queue": setup_stdlib_queue,
    "structlog-orjson": setup_structlog,
    "loguru": lambda: setup_loguru(False),
    "loguru-enqueue": lambda: setup_loguru(True),
    "picologging": setup_picologging,
    "kakashi-block": lambda: setup_kakashi("block"),
    "kakashi-drop_oldest": lambda: setup_kakashi("drop_oldest"),
    "kakashi-stdlib": setup_kakashi_stdlib,
    "kakashi-0.2.2": setup_kakashi_022,
}


def main():
    call, finish = SETUPS[LOGGER]()
    failures = []
    threading.excepthook = lambda hook_args: failures.append(repr(hook_args.exc_value))
    per_thread = RECORDS // THREADS
    latencies = [array("q", bytes(8 * per_thread)) for _ in range(THREADS)]
    start_gate = threading.Barrier(THREADS + 1)
    clock = time.perf_counter_ns

    def produce(t):
        lat = latencies[t]
        base = t * per_thread
        start_gate.wait()
        for k in range(per_thread):
            t0 = clock()
            call(base + k)
            lat[k] = clock() - t0

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    start_gate.wait()
    t_start = clock()
    for th in threads:
        th.join()
    t_calls = clock()
    if failures:
        print(f"a producer thread failed: {failures[0]}", file=sys.stderr)
        os._exit(1)
    finish()
    t_disk = clock()
    with open(OUT, "rb") as f:
        # Only the workload's lines (an in-band drop report is not a record).
        lines = sum(1 for line in f if b"Trade executed" in line)
    all_lat = sorted(x for lat in latencies for x in lat)
    n = len(all_lat)

    def pct(p):
        return all_lat[min(n - 1, int(p * n))]

    logged = per_thread * THREADS
    print(
        json.dumps(
            {
                "logger": LOGGER,
                "threads": THREADS,
                "records": logged,
                "caller_per_s": logged / ((t_calls - t_start) / 1e9),
                "e2e_per_s": logged / ((t_disk - t_start) / 1e9),
                "p50_ns": pct(0.50),
                "p99_ns": pct(0.99),
                "p999_ns": pct(0.999),
                "max_ns": all_lat[-1],
                "lines": lines,
                "lost": logged - lines,
            }
        )
    )
    sys.stdout.flush()
    os._exit(0)  # the file is complete; skip interpreter teardown


if __name__ == "__main__":
    main()
