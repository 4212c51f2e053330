"""Where a process's peak resident memory is: runs a command, samples its
/proc/PID/smaps every 5 ms, and prints the sample with the largest total,
split into anonymous and file-backed memory, and its largest mappings.

    python3 bench/rss_by_mapping.py ./bench/target/release/bench one kakashi-block 1 1000000 /tmp/out.log

(The harness's own figure is VmHWM, the kernel's high-water mark; this
shows what that memory is.)"""

import re
import subprocess
import sys
import time


def sample(pid):
    maps, current = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split()
                current = [parts[0], parts[1], parts[5] if len(parts) > 5 else "", 0]
                maps.append(current)
            elif line.startswith("Rss:"):
                current[3] = int(line.split()[1])
    return maps


def main():
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak, peak_total = [], 0
    while proc.poll() is None:
        try:
            maps = sample(proc.pid)
        except (OSError, AttributeError):
            break
        total = sum(m[3] for m in maps)
        if total > peak_total:
            peak, peak_total = maps, total
        time.sleep(0.005)
    anon = sum(m[3] for m in peak if m[2] == "")
    files = sum(m[3] for m in peak if m[2].startswith("/"))
    print(f"peak {peak_total} KiB: anonymous {anon}, file-backed {files}, other {peak_total - anon - files}")
    for address, perms, name, rss in sorted(peak, key=lambda m: -m[3])[:int(__import__("os").environ.get("RSS_TOP", "10"))]:
        start, end = (int(x, 16) for x in address.split("-"))
        print(f"{rss:>8} KiB of {(end - start) // 1024:>8} KiB {perms} {name}")


if __name__ == "__main__":
    main()
