//! The cost of a disabled level on the caller's thread: a `debug!` with five
//! fields on an INFO logger must cost about a nanosecond and allocate nothing
//! (no argument is evaluated).
//!
//! `cargo bench --manifest-path bench/Cargo.toml --bench level_gate`
//! (divan's AllocProfiler prints allocations per call beside each time).

use kakashi::{AsyncConfig, Backend, Level, OverflowStrategy, PipelineConfig};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    divan::main();
}

/// A logger on a one-slot `drop_newest` queue feeding `writer`.
fn logger(min_level: Level, writer: impl kakashi::Writer + 'static) -> kakashi::Logger {
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 1,
        overflow_strategy: OverflowStrategy::DropNewest,
        ..AsyncConfig::default()
    })
    .unwrap();
    backend.logger(
        "bench",
        PipelineConfig::new().min_level(min_level).writer(writer),
    )
}

/// `debug!` with five fields on an INFO logger: the level gate only.
#[divan::bench]
fn disabled_level(bencher: divan::Bencher) {
    let logger = logger(Level::Info, kakashi::testing::MemoryWriter::new());
    let mut i = 0u64;
    bencher.bench_local(|| {
        i += 1;
        kakashi::debug!(
            logger,
            "Trade executed",
            seq = divan::black_box(i),
            symbol = "AAPL",
            price = 187.25,
            qty = 100,
            side = "buy"
        );
    });
}

/// Holds its batch until released, so the queue stays full.
struct Held(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl kakashi::Writer for Held {
    fn write_batch(&mut self, _batch: &kakashi::Batch<'_>) -> Result<(), kakashi::WriteError> {
        while !self.0.load(std::sync::atomic::Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
    }
}

/// `info!` with the same five fields into a `drop_newest` logger whose
/// one-slot queue stays full (its worker is held): the whole enabled call
/// on a queue known to be full (one flag read and the drop counted; the
/// record is not built) without any I/O.
#[divan::bench(sample_count = 100, sample_size = 10_000)]
fn enabled_rejected(bencher: divan::Bencher) {
    let release = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let logger = logger(Level::Info, Held(release.clone()));
    kakashi::info!(logger, "taken by the worker, which is held");
    std::thread::sleep(std::time::Duration::from_millis(50));
    kakashi::info!(logger, "fills the one slot");
    let mut i = 0u64;
    bencher.bench_local(|| {
        i += 1;
        kakashi::info!(
            logger,
            "Trade executed",
            seq = divan::black_box(i),
            symbol = "AAPL",
            price = 187.25,
            qty = 100,
            side = "buy"
        );
    });
    release.store(true, std::sync::atomic::Ordering::Release);
}

/// `default_json_formatter` on the workload's record (what a worker does per
/// record, apart from moving it and writing).
#[divan::bench(sample_count = 100, sample_size = 10_000)]
fn format_json(bencher: divan::Bencher) {
    use kakashi::Formatter;
    let formatter = kakashi::default_json_formatter();
    let mut record = kakashi::Record::new(Level::Info, "trading", "Trade executed");
    record.fields.push(("seq".into(), 123_456u64.into()));
    record.fields.push(("symbol".into(), "AAPL".into()));
    record.fields.push(("price".into(), 187.25.into()));
    record.fields.push(("qty".into(), 100i64.into()));
    record.fields.push(("side".into(), "buy".into()));
    let mut out = Vec::with_capacity(1024);
    bencher.bench_local(|| {
        out.clear();
        formatter.format(divan::black_box(&record), &mut out);
        divan::black_box(&out);
    });
}
