//! Helpers shared by the contract tests: writers with controlled behaviour
//! and readers for what landed in a file.
#![allow(dead_code)]

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kakashi::{Batch, WriteError, Writer};

/// Parses every line of a file as JSON; panics with the line on failure.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("read log file");
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("invalid JSON line {line:?}: {e}"))
        })
        .collect()
}

/// Parses lines kept by a MemoryWriter.
pub fn parse(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON {l:?}: {e}")))
        .collect()
}

/// The `fields.i` of each record from logger `name`.
pub fn field_seq(records: &[serde_json::Value], logger: &str, key: &str) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r["logger"] == logger)
        .map(|r| r["fields"][key].as_u64().expect("numeric field"))
        .collect()
}

/// A memory writer that sleeps before each batch, or waits for a gate.
#[derive(Clone, Default)]
pub struct SlowWriter {
    pub lines: Arc<Mutex<Vec<String>>>,
    pub delay: Duration,
    pub gate: Option<Arc<AtomicBool>>,
}

impl SlowWriter {
    pub fn new(delay: Duration) -> SlowWriter {
        SlowWriter {
            delay,
            ..SlowWriter::default()
        }
    }

    pub fn gated(gate: Arc<AtomicBool>) -> SlowWriter {
        SlowWriter {
            gate: Some(gate),
            ..SlowWriter::default()
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Writer for SlowWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        if let Some(gate) = &self.gate {
            while !gate.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(self.delay);
        let mut lines = self.lines.lock().unwrap();
        for r in batch.records() {
            lines.push(String::from_utf8(r.to_vec()).unwrap());
        }
        Ok(())
    }
}

/// A writer that always fails.
pub struct BrokenWriter;

impl Writer for BrokenWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        Err(WriteError::all(
            batch.len(),
            io::Error::other("disk on fire"),
        ))
    }

    fn name(&self) -> String {
        "broken".to_owned()
    }
}

// === Scenarios in a child process, killed at a deadline ===

/// The environment variable that tells a re-run of this test binary which
/// test's scenario to run.
pub const SCENARIO_VAR: &str = "KAKASHI_SCENARIO";

/// What a child run of a scenario did.
#[derive(Debug)]
pub struct ChildRun {
    /// The test that was re-run.
    pub test: String,
    /// Its exit status; `None` when it was killed at the deadline.
    pub status: Option<std::process::ExitStatus>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    pub deadline: Duration,
}

impl ChildRun {
    pub fn hung(&self) -> bool {
        self.status.is_none()
    }

    /// The exit code, or the signal as `signal N`, or `killed at the deadline`.
    pub fn describe_status(&self) -> String {
        match self.status {
            None => format!("HUNG: killed after {:?} (deadline)", self.deadline),
            Some(s) => {
                #[cfg(unix)]
                {
                    use std::os::unix::process::ExitStatusExt;
                    if let Some(sig) = s.signal() {
                        return format!("killed by signal {sig} after {:?}", self.elapsed);
                    }
                }
                format!("exit code {:?} after {:?}", s.code(), self.elapsed)
            }
        }
    }

    /// The last `n` characters of stderr (and of stdout), for failure messages.
    pub fn tails(&self) -> String {
        fn tail(s: &str, n: usize) -> &str {
            let mut start = s.len().saturating_sub(n);
            while !s.is_char_boundary(start) {
                start += 1;
            }
            &s[start..]
        }
        format!(
            "--- stderr (tail) ---\n{}\n--- stdout (tail) ---\n{}",
            tail(&self.stderr, 3000),
            tail(&self.stdout, 1500)
        )
    }

    /// Panics unless the child finished within the deadline and exited 0.
    pub fn assert_ok(&self, what: &str) {
        assert!(
            !self.hung() && self.status.is_some_and(|s| s.success()),
            "{what}: scenario `{}` {}\n{}",
            self.test,
            self.describe_status(),
            self.tails()
        );
    }

    /// Panics if the child hung (whatever its exit status).
    pub fn assert_finished(&self, what: &str) {
        assert!(
            !self.hung(),
            "{what}: scenario `{}` {}\n{}",
            self.test,
            self.describe_status(),
            self.tails()
        );
    }
}

/// True in the child re-run for `test`: the caller then runs the scenario's
/// body in this process.
pub fn in_child(test: &str) -> bool {
    std::env::var(SCENARIO_VAR).is_ok_and(|v| v == test)
}

/// Re-runs this test binary with only `test` selected and [`SCENARIO_VAR`]
/// set to its name, kills it at `deadline`, and returns what it did. stdout
/// and stderr go to files in a temporary directory (no pipe can fill up).
pub fn run_in_child(test: &str, deadline: Duration, env: &[(&str, &str)]) -> ChildRun {
    use std::process::{Command, Stdio};
    use std::time::Instant;
    let dir = tempfile::tempdir().expect("tempdir for the child's output");
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let out = std::fs::File::create(&out_path).unwrap();
    let err = std::fs::File::create(&err_path).unwrap();
    let mut cmd = Command::new(std::env::current_exe().expect("current_exe"));
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(SCENARIO_VAR, test)
        .env("RUST_BACKTRACE", "0")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn the test binary again");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if started.elapsed() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    ChildRun {
        test: test.to_owned(),
        status,
        stdout: read(&out_path),
        stderr: read(&err_path),
        elapsed,
        deadline,
    }
}

/// Runs `body` in a child process (this test binary, re-run with only `test`
/// selected) and fails unless it exits 0 before `deadline`: a hang, a
/// failed assertion and a crash all fail the calling test with the child's
/// stderr.
pub fn isolated(test: &str, deadline: Duration, body: impl FnOnce()) {
    if in_child(test) {
        body();
        return;
    }
    run_in_child(test, deadline, &[]).assert_ok("the scenario must finish and pass");
}

/// A counter by name from `Stats::counters()`, so that tests compile against
/// engines that do not have it yet; a missing name fails with a clear message.
pub fn counter(stats: &kakashi::Stats, name: &str) -> u64 {
    stats
        .counters()
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| {
            panic!(
                "the stats have no counter `{name}` (the engine must count this); counters: {:?}",
                stats.counters().iter().map(|(k, _)| *k).collect::<Vec<_>>()
            )
        })
}

/// `submitted == written + dropped + filtered + failed`, as a message.
pub fn balance(stats: &kakashi::Stats) -> String {
    format!(
        "submitted {} vs written {} + dropped {} + filtered {} + failed {} (queue_size {})",
        stats.messages_submitted,
        stats.messages_written,
        stats.messages_dropped,
        stats.messages_filtered,
        stats.messages_failed,
        stats.queue_size
    )
}

#[cfg(unix)]
/// Waits for the forked child `pid` to exit, and checks it exited with 0;
/// kills it and fails if it is still alive 30 s after `what`.
pub fn expect_clean_exit(pid: libc::pid_t, what: &str) {
    let started = std::time::Instant::now();
    let mut status = 0;
    loop {
        // SAFETY: a plain waitpid(2) on our own child, into a local.
        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if done == pid {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            // SAFETY: kill(2) and waitpid(2) on our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            panic!("the child was still alive 30 s after {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child did not exit cleanly: wait status {status}"
    );
}

/// A signal sent to the thread that made it, again and again, until
/// [`SignalStorm::stop`]: for tests of handlers that log.
#[cfg(unix)]
pub struct SignalStorm {
    done: Arc<AtomicBool>,
    sender: std::thread::JoinHandle<()>,
}

#[cfg(unix)]
impl SignalStorm {
    /// Installs `handler` for `signal` (empty mask, `SA_RESTART`) and sends
    /// `signal` to the calling thread every `every`.
    pub fn start(
        signal: libc::c_int,
        handler: extern "C" fn(libc::c_int),
        every: Duration,
    ) -> SignalStorm {
        // SAFETY: installs a handler for `signal` with an empty mask.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = handler as usize;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            assert_eq!(libc::sigaction(signal, &sa, std::ptr::null_mut()), 0);
        }
        // SAFETY: pthread_self has no preconditions.
        let target = unsafe { libc::pthread_self() };
        let done = Arc::new(AtomicBool::new(false));
        let sender = {
            let done = Arc::clone(&done);
            std::thread::spawn(move || {
                while !done.load(Ordering::SeqCst) {
                    // SAFETY: the target thread is alive until `stop` returns.
                    unsafe { libc::pthread_kill(target, signal) };
                    std::thread::sleep(every);
                }
            })
        };
        SignalStorm { done, sender }
    }

    /// Stops sending; call it from the thread that started the storm.
    pub fn stop(self) {
        self.done.store(true, Ordering::SeqCst);
        self.sender.join().unwrap();
    }
}
