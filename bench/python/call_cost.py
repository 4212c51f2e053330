"""The cost of one Python level-method call on the engine, as seen by the
caller: a five-field ``info`` on a pipeline whose writer discards (so the
workers' I/O is not measured), timed over a loop as the calling thread's
CPU time (``time.thread_time_ns``: what the calls cost the caller, less
disturbed than wall time by other processes on a shared machine; a wait
for room in the queue would not show, and the queue is large enough that
there is none), in a fresh interpreter per run. Scenarios: ``plain`` (OpenTelemetry never imported), ``otel`` (the
program imported OpenTelemetry and set a provider, but no span is current),
``span`` (inside a span: each record carries its ids), ``stdlib`` (a standard
library ``logging`` call, ``log.info("Trade executed %s", i, extra={...})``,
through ``kakashi.stdlib.KakashiHandler`` onto the same pipeline).

    python bench/python/call_cost.py --python A --python B [--calls N --reps R]

runs every scenario on every interpreter (each with its own kakashi build),
interleaved, and prints ns per call (median and min-max over the runs) and
the ratio to the first interpreter's ``plain``. Each run checks that every
record was written (``messages_written`` counts them all); a run that lost
one fails. Not a test.
"""

import argparse
import json
import statistics
import subprocess
import sys

CHILD = r"""
import sys, time
scenario, calls = sys.argv[1], int(sys.argv[2])
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, null_writer
pipeline = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(null_writer,)), AsyncConfig(max_queue_size=100000)))
info = pipeline.logger("bench").info
span = None
if scenario in ("otel", "span"):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    trace.set_tracer_provider(TracerProvider())
    if scenario == "span":
        span = trace.get_tracer("bench").start_as_current_span("op")
        span.__enter__()
if scenario == "stdlib":
    import logging
    import kakashi.stdlib
    log = logging.getLogger("bench")
    log.addHandler(kakashi.stdlib.KakashiHandler(pipeline.logger("bench")))
    log.setLevel(logging.INFO)
    log.propagate = False
    extra = {"symbol": "AAPL", "qty": 100, "price": 187.5, "side": "buy", "venue": "XNAS"}
    for i in range(1000):
        log.info("warm-up %s", i)
    pipeline.flush()
    start = time.thread_time_ns()
    for i in range(calls):
        log.info("Trade executed %s", i, extra=extra)
else:
    for i in range(1000):
        info("warm-up", i=i)
    pipeline.flush()
    start = time.thread_time_ns()
    for i in range(calls):
        info("Trade executed", symbol="AAPL", qty=100, price=187.5, side="buy", venue="XNAS")
elapsed = time.thread_time_ns() - start
pipeline.flush()
written = pipeline.get_stats()["messages_written"]
assert written == calls + 1000, (written, calls)
print(elapsed / calls)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python", action="append", required=True, help="an interpreter with kakashi (repeat)")
    ap.add_argument("--calls", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--scenarios", default="plain,otel,span")
    args = ap.parse_args()
    scenarios = args.scenarios.split(",")
    results = {(p, s): [] for p in args.python for s in scenarios}
    for _ in range(args.reps):
        for s in scenarios:
            for p in args.python:
                out = subprocess.run([p, "-c", CHILD, s, str(args.calls)], capture_output=True, text=True, check=True)
                results[(p, s)].append(float(out.stdout.strip()))
    base = statistics.median(results[(args.python[0], scenarios[0])])
    print(json.dumps({f"{p} {s}": v for (p, s), v in results.items()}), file=sys.stderr)
    for (p, s), values in results.items():
        med = statistics.median(values)
        print(f"{p:60} {s:6} {med:7.0f} ns/call (min {min(values):.0f}, max {max(values):.0f})  x{med / base:.2f}")


if __name__ == "__main__":
    main()
