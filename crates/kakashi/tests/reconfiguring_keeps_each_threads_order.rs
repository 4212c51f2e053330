//! Reconfiguring the global backend while threads log through
//! `get_logger()`: a thread's records go through the old backend and then
//! the new one, both writing `app.log`. The old one is drained before the
//! new one is seen and then writes on the caller's thread for loggers taken
//! from it, so each thread's lines are in order, none missing, none twice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};

use kakashi::{get_logger, setup_async_logging, AsyncSetup, Environment};

fn setup(dir: &std::path::Path, worker_count: usize) {
    setup_async_logging(AsyncSetup {
        environment: Environment::Testing,
        log_directory: Some(dir.to_path_buf()),
        worker_count,
        max_queue_size: 1_000,
        batch_size: 50,
        ..AsyncSetup::default()
    })
    .unwrap();
}

#[test]
fn each_threads_lines_stay_in_order_across_reconfigurations() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path(), 1);
    let stop = AtomicBool::new(false);
    let logged: Vec<u64> = std::thread::scope(|s| {
        let producers: Vec<_> = (0..3u64)
            .map(|t| {
                let stop = &stop;
                s.spawn(move || {
                    let mut i = 0u64;
                    let mut log = get_logger(&format!("t{t}"));
                    while !stop.load(SeqCst) {
                        // A logger is kept for a few records, as code keeps
                        // one: some outlive the backend they came from.
                        if i % 20 == 0 {
                            log = get_logger(&format!("t{t}"));
                        }
                        kakashi::info!(log, "m", t = t, i = i);
                        i += 1;
                    }
                    i
                })
            })
            .collect();
        for round in 0..20 {
            setup(dir.path(), 1 + round % 2);
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        stop.store(true, SeqCst);
        producers.into_iter().map(|p| p.join().unwrap()).collect()
    });
    assert!(kakashi::flush());
    let mut next: HashMap<u64, u64> = HashMap::new();
    for line in std::fs::read_to_string(dir.path().join("app.log"))
        .unwrap()
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let Some(t) = v["fields"]["t"].as_u64() else {
            continue;
        };
        let i = v["fields"]["i"].as_u64().unwrap();
        let expected = next.entry(t).or_insert(0);
        assert_eq!(
            i, *expected,
            "thread {t}: a line out of order, missing or twice"
        );
        *expected += 1;
    }
    for (t, count) in logged.iter().enumerate() {
        assert_eq!(
            next.get(&(t as u64)).copied().unwrap_or(0),
            *count,
            "thread {t}: every record written"
        );
    }
}
