import json, os, sys, threading, time, subprocess
import kakashi
d = sys.argv[1]
kakashi.setup_async_logging("testing", log_directory=d, worker_count=2, batch_size=3, max_queue_size=32)
stop = False
def reconf():
    k = 0
    while not stop:
        kakashi.setup_async_logging("testing", log_directory=d, worker_count=1 + k % 3, batch_size=1 + k % 5,
                                    max_queue_size=8 + k % 50)
        k += 1
def logs():
    i = 0
    while not stop:
        kakashi.get_logger("l").info("m", i=i)
        i += 1
bg = [threading.Thread(target=reconf), threading.Thread(target=logs), threading.Thread(target=logs)]
[t.start() for t in bg]
kids = []
def forker():
    for j in range(10):
        pid = os.fork()
        if pid == 0:
            ok = False
            try:
                lg = kakashi.get_logger("child")
                for i in range(50):
                    lg.info("c", i=i)
                s = kakashi.get_async_stats()
                ok = kakashi.flush(5) and s["messages_submitted"] >= 50
            finally:
                os._exit(0 if ok else 3)
        kids.append(pid)
        time.sleep(0.02)
f = threading.Thread(target=forker)
f.start(); f.join()
stop = True
[t.join() for t in bg]
codes = []
deadline = time.monotonic() + 15
for pid in kids:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            codes.append(os.waitstatus_to_exitcode(status))
            break
        if time.monotonic() > deadline:
            out = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply all bt 30"], capture_output=True, text=True, timeout=60).stdout
            open(f"/tmp/fk/hang-{os.getpid()}-{pid}.txt", "w").write(out)
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            codes.append("hung")
            break
        time.sleep(0.05)
print(json.dumps(codes), flush=True)
