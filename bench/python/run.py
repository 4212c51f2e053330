"""Runs the Python logging benchmark side by side and writes a Markdown table.

    python run.py [--records N] [--reps R] [--threads 1,4] [--only a,b]
                  [--python PY] [--python-022 PY] [--out DIR]

Each (logger, threads) pair runs R times, each in a fresh process (one.py),
alternating loggers so that a noisy moment hits them all; the table reports
medians and each end-to-end figure as a ratio to stdlib FileHandler measured
in the same run with the same thread count. A run that uses under 2% of a
core for 20 s (a deadlock: picologging with 4 threads here) or passes --timeout seconds is
killed and reported as such.
"""

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

LOGGERS = [
    ("stdlib-file", "stdlib logging, FileHandler + JSON formatter"),
    ("stdlib-queue", "stdlib logging, QueueHandler + QueueListener(FileHandler)"),
    ("structlog-orjson", "structlog + orjson, BytesLogger to a file"),
    ("loguru", "loguru, serialize=True"),
    ("loguru-enqueue", "loguru, serialize=True, enqueue=True"),
    ("picologging", "picologging FileHandler, JSON-shaped format string"),
    ("kakashi-0.2.2", "original kakashi 0.2.2, sync file pipeline (its async factories crash)"),
    ("kakashi-block", "kakashi (this package), get_high_performance_logger, block"),
    ("kakashi-drop_oldest", "kakashi (this package), get_high_performance_logger, drop_oldest (default)"),
    ("kakashi-stdlib", "stdlib logging calls, kakashi.stdlib.KakashiHandler into the kakashi-block logger"),
]


def cpu_ticks(pid):
    """User + system CPU ticks of a process (Linux /proc), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None


def run_one(python, logger, threads, records, timeout, stall=20.0):
    """One fresh-process run. A run that uses almost no CPU for ``stall``
    seconds is deadlocked: it is killed and reported as such (so is one past
    ``timeout``)."""
    python = os.path.abspath(python) if os.sep in python else python
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "bench.log")
        proc = subprocess.Popen(
            [python, os.path.join(HERE, "one.py"), logger, str(threads), str(records), out],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp,
        )
        started = time.monotonic()
        history = []  # (time, CPU ticks), to spot a run that stopped working
        error = None
        while proc.poll() is None:
            time.sleep(0.5)
            now = time.monotonic()
            history.append((now, cpu_ticks(proc.pid) or 0))
            while history and now - history[0][0] > stall:
                history.pop(0)
            # Under 2% of one core over the last `stall` seconds (100 ticks/s).
            if now - started > stall and history[-1][1] - history[0][1] < 2 * stall:
                error = f"deadlocked: under 2% CPU for {stall:.0f} s, killed"
            elif now - started > timeout:
                error = f"timeout after {timeout:.0f} s, killed"
            if error:
                proc.kill()
                proc.communicate()
                return {"error": error}
        stdout, stderr = proc.communicate()
        if proc.returncode != 0:
            tail = (stderr.strip().splitlines() or ["?"])[-1]
            return {"error": f"exit {proc.returncode}: {tail}"}
        return json.loads(stdout.strip().splitlines()[-1])


def fmt_rate(x):
    return f"{x / 1e3:,.0f}k" if x < 1e6 else f"{x / 1e6:,.2f}M"


def fmt_ns(x):
    return f"{x / 1e3:.1f} µs" if x >= 1000 else f"{x:.0f} ns"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", default="1,4")
    ap.add_argument("--only", default="")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--python-022", default="")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "results"))
    args = ap.parse_args()

    only = set(filter(None, args.only.split(",")))
    loggers = [(name, desc) for name, desc in LOGGERS if not only or name in only]
    if not args.python_022:
        loggers = [(n, d) for n, d in loggers if n != "kakashi-0.2.2"]
    thread_counts = [int(t) for t in args.threads.split(",")]
    raw = []
    for threads in thread_counts:
        for rep in range(args.reps):
            for name, _ in loggers:
                python = args.python_022 if name == "kakashi-0.2.2" else args.python
                result = run_one(python, name, threads, args.records, args.timeout)
                result.update({"logger": name, "threads": threads, "rep": rep})
                raw.append(result)
                status = result.get("error") or f"e2e {fmt_rate(result['e2e_per_s'])}/s lost {result['lost']}"
                print(f"[{threads}t rep {rep}] {name}: {status}", file=sys.stderr, flush=True)

    def med(name, threads, key):
        vals = [r[key] for r in raw if r["logger"] == name and r["threads"] == threads and "error" not in r]
        return statistics.median(vals) if vals else None

    lines = []
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines.append(f"Python loggers, {args.records:,} records per run, medians of {args.reps} fresh-process runs ({stamp}).")
    lines.append(f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}, Linux {platform.release()}.")
    lines.append("")
    for threads in thread_counts:
        base = med("stdlib-file", threads, "e2e_per_s")
        lines.append(f"**{threads} thread{'s' if threads > 1 else ''}** (ratio = end-to-end throughput / stdlib FileHandler's, same run)")
        lines.append("")
        lines.append("| logger | calls/s | end-to-end/s | ratio | p50 | p99 | p99.9 | lost |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for name, desc in loggers:
            e2e = med(name, threads, "e2e_per_s")
            if e2e is None:
                errs = {r["error"] for r in raw if r["logger"] == name and r["threads"] == threads}
                lines.append(f"| {name} | {'; '.join(sorted(errs))} | | | | | | |")
                continue
            ratio = f"{e2e / base:.2f}x" if base else "?"
            lines.append(
                f"| {name} | {fmt_rate(med(name, threads, 'caller_per_s'))} | {fmt_rate(e2e)} | {ratio} | "
                f"{fmt_ns(med(name, threads, 'p50_ns'))} | {fmt_ns(med(name, threads, 'p99_ns'))} | "
                f"{fmt_ns(med(name, threads, 'p999_ns'))} | {int(med(name, threads, 'lost')):,} |"
            )
        lines.append("")
    lines.append("Loggers: " + "; ".join(f"`{n}`: {d}" for n, d in loggers) + ".")
    table = "\n".join(lines)
    print(table)
    os.makedirs(args.out, exist_ok=True)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    with open(os.path.join(args.out, f"{day}-python.md"), "w") as f:
        f.write(table + "\n")
    keys = ["logger", "threads", "rep", "records", "caller_per_s", "e2e_per_s", "p50_ns", "p99_ns", "p999_ns", "max_ns", "lines", "lost", "error"]
    with open(os.path.join(args.out, f"{day}-python-raw.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys, extrasaction="ignore")
        w.writeheader()
        w.writerows(raw)


if __name__ == "__main__":
    main()
