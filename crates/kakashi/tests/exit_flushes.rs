//! G4 (flush and exit): a process that logs and then returns from `main`, or
//! calls `std::process::exit`, or panics, leaves every record in the file,
//! with no guard held.
//!
//! The child is this test binary run again with `KAKASHI_EXIT_CHILD` set.

use std::process::Command;

use kakashi::{get_high_performance_logger_with, info, HighPerformanceOptions, OverflowStrategy};

const RECORDS: u64 = 20_000;

fn child(mode: &str) {
    let path = std::env::var("KAKASHI_EXIT_FILE").unwrap();
    let logger = get_high_performance_logger_with(
        "exit",
        &path,
        HighPerformanceOptions {
            overflow_strategy: OverflowStrategy::Block,
            ..HighPerformanceOptions::default()
        },
    )
    .unwrap();
    for i in 0..RECORDS {
        info!(logger, "m", i = i);
    }
    // Keep the logger alive until exit: nothing is dropped or flushed by hand.
    std::mem::forget(logger);
    match mode {
        "exit" => std::process::exit(0),
        "panic" => panic!("the program crashes after logging"),
        _ => {}
    }
}

#[test]
fn child_entry() {
    if let Ok(mode) = std::env::var("KAKASHI_EXIT_CHILD") {
        child(&mode);
    }
}

fn run_child(mode: &str) -> u64 {
    run_child_expecting(mode, true)
}

fn run_child_expecting(mode: &str, success: bool) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exit.log");
    // The child's own test-harness output (a "FAILED" summary when it
    // panics on purpose) is captured, not mixed into this run's.
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_entry", "--test-threads", "1"])
        .env("KAKASHI_EXIT_CHILD", mode)
        .env("KAKASHI_EXIT_FILE", &path)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        output.status.success(),
        success,
        "child ({mode}) said:\n{said}"
    );
    if !success {
        assert!(said.contains("the program crashes after logging"), "{said}");
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["fields"]["i"].as_u64().unwrap(), i as u64);
        n += 1;
    }
    n
}

#[test]
fn returning_from_main_flushes_everything() {
    assert_eq!(run_child("return"), RECORDS);
}

#[test]
fn process_exit_flushes_everything() {
    assert_eq!(run_child("exit"), RECORDS);
}

#[test]
fn a_panic_after_logging_still_flushes_everything() {
    assert_eq!(run_child_expecting("panic", false), RECORDS);
}
