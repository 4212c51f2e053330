//! Profiling aid: 20M enabled calls into a full `drop_newest` queue (after
//! the first, each takes the early-drop path: the record is not built).
use kakashi::{AsyncConfig, Backend, OverflowStrategy, PipelineConfig};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

struct Held(Arc<AtomicBool>);
impl kakashi::Writer for Held {
    fn write_batch(&mut self, _b: &kakashi::Batch<'_>) -> Result<(), kakashi::WriteError> {
        while !self.0.load(Ordering::Acquire) {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        Ok(())
    }
}

fn main() {
    let release = Arc::new(AtomicBool::new(false));
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 1,
        overflow_strategy: OverflowStrategy::DropNewest,
        ..AsyncConfig::default()
    })
    .unwrap();
    let logger = backend.logger("b", PipelineConfig::new().writer(Held(release.clone())));
    kakashi::info!(logger, "held");
    std::thread::sleep(std::time::Duration::from_millis(50));
    kakashi::info!(logger, "fills");
    let t = std::time::Instant::now();
    let n = 20_000_000u64;
    for i in 0..n {
        kakashi::info!(
            logger,
            "Trade executed",
            seq = std::hint::black_box(i),
            symbol = "AAPL",
            price = 187.25,
            qty = 100,
            side = "buy"
        );
    }
    println!("{:.1} ns/call", t.elapsed().as_nanos() as f64 / n as f64);
    release.store(true, Ordering::Release);
}
