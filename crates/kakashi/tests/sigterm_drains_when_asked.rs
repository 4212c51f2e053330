//! `install_sigterm_handler`: on SIGTERM every backend is drained within the
//! timeout, then the process ends by SIGTERM as it would have anyway.
#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use kakashi::{get_high_performance_logger_with, HighPerformanceOptions, OverflowStrategy};

const RECORDS: u64 = 200_000;

/// The child: logs `RECORDS` records under `block`, says so, and waits for
/// the signal.
fn child(path: &str) {
    kakashi::install_sigterm_handler(Duration::from_secs(5)).unwrap();
    // A second call only changes the timeout (installing the handler again
    // would make it chain to itself, and SIGTERM would never end the process).
    kakashi::install_sigterm_handler(Duration::from_secs(30)).unwrap();
    let log = get_high_performance_logger_with(
        "term",
        path,
        HighPerformanceOptions {
            max_queue_size: 100_000,
            overflow_strategy: OverflowStrategy::Block,
            ..HighPerformanceOptions::default()
        },
    )
    .unwrap();
    for seq in 0..RECORDS {
        kakashi::info!(log, "queued at SIGTERM", seq = seq);
    }
    println!("logged");
    loop {
        std::thread::sleep(Duration::from_secs(1));
    }
}

#[test]
fn sigterm_drains_every_record_then_ends_the_process_by_sigterm() {
    if let Ok(path) = std::env::var("KAKASHI_SIGTERM_CHILD") {
        return child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("term.log");
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "sigterm_drains_every_record_then_ends_the_process_by_sigterm",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("KAKASHI_SIGTERM_CHILD", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(proc.stdout.take().unwrap());
    let said = stdout
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("logged"));
    assert!(said, "the child never finished logging");
    // SAFETY: kill(2) on the child we started.
    unsafe {
        libc::kill(proc.id() as libc::pid_t, libc::SIGTERM);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = proc.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = proc.kill();
            panic!("SIGTERM did not end the child within 60 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let text = std::fs::read_to_string(&path).unwrap();
    let seqs: Vec<u64> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"]["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs.len() as u64, RECORDS, "records lost at SIGTERM");
    assert!(seqs.iter().copied().eq(0..RECORDS));
}
