//! The hooks a language binding relies on: waits run inside the caller's
//! scope (`Logger::submit_with`), stages run inside the pipeline's scope
//! (`PipelineConfig::stage_scope`), once per batch, and a stage that reports
//! its own failure (`StageFailed`) is counted like a panic.

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{parse, SlowWriter};
use kakashi::testing::MemoryWriter;
use kakashi::{AsyncConfig, Backend, Level, OverflowStrategy, PipelineConfig, Record, StageFailed};

thread_local! {
    static IN_SCOPE: Cell<bool> = const { Cell::new(false) };
}

#[test]
fn waits_for_room_run_inside_the_callers_scope() {
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 2,
        batch_size: 1,
        overflow_strategy: OverflowStrategy::Block,
        ..AsyncConfig::default()
    })
    .unwrap();
    let slow = SlowWriter::new(Duration::from_millis(2));
    let lines = Arc::clone(&slow.lines);
    let logger = backend.logger("wait", PipelineConfig::new().writer(slow));
    let mut waits = 0;
    for i in 0..50u64 {
        let mut record = Record::new(Level::Info, "wait", "r");
        record.fields.push(("i".into(), i.into()));
        logger.submit_with(record, &mut |wait| {
            waits += 1;
            wait();
            true
        });
    }
    assert!(backend.flush());
    let got: Vec<u64> = parse(&lines.lock().unwrap())
        .iter()
        .map(|r| r["fields"]["i"].as_u64().unwrap())
        .collect();
    assert_eq!(got, (0..50).collect::<Vec<_>>());
    assert!(
        waits > 0,
        "a 2-slot queue behind a slow writer must make the caller wait"
    );
    assert!(backend.stats().producer_waits as usize >= waits);
}

#[test]
fn a_caller_that_gives_up_waiting_has_its_record_counted_as_interrupted() {
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 1,
        batch_size: 1,
        overflow_strategy: OverflowStrategy::Block,
        ..AsyncConfig::default()
    })
    .unwrap();
    let (release, gate) = std::sync::mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let memory = MemoryWriter::new();
    let logger = backend.logger(
        "interrupted",
        PipelineConfig::new()
            .enricher(move |_: &mut Record| {
                let _ = gate.lock().unwrap().recv();
            })
            .writer(memory.clone()),
    );
    // One record held by the worker, one filling the queue: the third waits.
    logger.info("held");
    while backend.stats().queue_size > 0 {
        std::thread::yield_now();
    }
    logger.info("queued");
    let mut asked = 0;
    logger.submit_with(
        Record::new(Level::Info, "interrupted", "given up"),
        &mut |wait| {
            wait();
            asked += 1;
            false
        },
    );
    assert_eq!(asked, 1, "the call waited once, then gave up");
    drop(release);
    assert!(backend.flush());
    let stats = backend.stats();
    assert_eq!(stats.dropped_interrupted, 1);
    assert!(stats.is_balanced(), "{stats:?}");
    assert!(memory.lines().iter().all(|l| !l.contains("given up")));
}

#[test]
fn stages_run_inside_the_scope_once_per_batch() {
    let scopes = Arc::new(AtomicUsize::new(0));
    let outside = Arc::new(AtomicUsize::new(0));
    let memory = MemoryWriter::new();
    let backend = Backend::new(AsyncConfig {
        batch_size: 100,
        ..AsyncConfig::default()
    })
    .unwrap();
    let (s, o) = (Arc::clone(&scopes), Arc::clone(&outside));
    let logger = backend.logger(
        "scoped",
        PipelineConfig::new()
            .enricher(move |_: &mut Record| {
                if !IN_SCOPE.with(Cell::get) {
                    o.fetch_add(1, Ordering::Relaxed);
                }
            })
            .writer(memory.clone())
            .stage_scope(Arc::new(move |run: &mut dyn FnMut()| {
                s.fetch_add(1, Ordering::Relaxed);
                IN_SCOPE.with(|f| f.set(true));
                run();
                IN_SCOPE.with(|f| f.set(false));
            })),
    );
    for i in 0..1000u64 {
        kakashi::info!(logger, "r", i = i);
    }
    assert!(backend.flush());
    assert_eq!(memory.lines().len(), 1000);
    assert_eq!(
        outside.load(Ordering::Relaxed),
        0,
        "every stage ran inside the scope"
    );
    let batches = backend.stats().batches_written as usize;
    assert!(
        scopes.load(Ordering::Relaxed) <= batches,
        "one scope per batch, not per record"
    );
}

#[test]
fn a_stage_that_reports_itself_is_counted_once() {
    let memory = MemoryWriter::new();
    let backend = Backend::new(AsyncConfig::default()).unwrap();
    let logger = backend.logger(
        "self-reported",
        PipelineConfig::new()
            .enricher(|_: &mut Record| std::panic::resume_unwind(Box::new(StageFailed)))
            .writer(memory.clone()),
    );
    for _ in 0..10 {
        logger.info("kept");
    }
    assert!(backend.flush());
    assert_eq!(memory.lines().len(), 10);
    assert_eq!(backend.stats().enricher_errors, 10);
}
