import sys, time, logging, statistics
from kakashi.core.async_backend import AsyncConfig
from kakashi.core.async_pipeline import AsyncPipeline, AsyncPipelineConfig
from kakashi.core.pipeline import PipelineConfig, null_writer
import kakashi.stdlib
pipeline = AsyncPipeline(AsyncPipelineConfig(PipelineConfig(writers=(null_writer,)), AsyncConfig(max_queue_size=200000)))
h = kakashi.stdlib.KakashiHandler(pipeline.logger("bench"))
root = logging.getLogger(); root.handlers[:] = [h]; root.setLevel(logging.INFO)
log = logging.getLogger("trading")
core = h._core
N = 100000
which = sys.argv[1:] or ["full","direct","direct-noextra","direct-noargs","pyfast","kinfo","loop"]
def t(name, f):
    res = []
    for rep in range(7):
        t0 = time.thread_time_ns()
        f()
        res.append((time.thread_time_ns() - t0) / N)
        pipeline.flush()
    print("%-28s %6.0f ns/call (min %.0f)" % (name, statistics.median(res), min(res)))
extra = {"symbol": "AAPL", "price": 187.25, "qty": 100, "side": "buy"}
def full():
    for i in range(N): log.info("Trade executed %s", i, extra={"symbol": "AAPL", "price": 187.25, "qty": 100, "side": "buy"})
def direct():
    for i in range(N): core._log_stdlib("trading", 20, "Trade executed %s", (i,), extra, False)
def direct_noextra():
    for i in range(N): core._log_stdlib("trading", 20, "Trade executed %s", (i,), None, False)
def direct_noargs():
    for i in range(N): core._log_stdlib("trading", 20, "Trade executed", (), None, False)
def pyfast():
    for i in range(N): kakashi.stdlib._log(log, 20, "Trade executed %s", (i,), None, extra)
def kinfo():
    li = pipeline.logger("bench").info
    for i in range(N): li("Trade executed", i=i, symbol="AAPL", price=187.25, qty=100, side="buy")
def loop():
    for i in range(N): pass
fs = {"full": full, "direct": direct, "direct-noextra": direct_noextra, "direct-noargs": direct_noargs, "pyfast": pyfast, "kinfo": kinfo, "loop": loop}
for w in which: t(w, fs[w])
