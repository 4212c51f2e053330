//! Stderr reports of panicking stages: the first in full, then a count at
//! most every ten seconds, never a line per record.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::pipeline::StageFailed;

/// How often a stage that keeps failing is reported again, as a count.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Stderr reports of one kind of stage failure: the first in full, then a
/// count of the others at most every [`REPORT_EVERY`] (a stage that panics
/// on every record must not print a line per record).
pub(super) struct FailureReports {
    what: &'static str,
    consequence: &'static str,
    reported: AtomicBool,
    unreported: AtomicU64,
    /// When the last count was printed, in milliseconds since [`epoch`].
    last_ms: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl FailureReports {
    const fn new(what: &'static str, consequence: &'static str) -> FailureReports {
        FailureReports {
            what,
            consequence,
            reported: AtomicBool::new(false),
            unreported: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    /// Reports a stage's panic. `StageFailed` (a binding's stage that
    /// reported its own error) prints nothing here.
    pub(super) fn report(&self, payload: &(dyn std::any::Any + Send)) {
        if payload.is::<StageFailed>() {
            return;
        }
        let now = epoch().elapsed().as_millis() as u64;
        if !self.reported.swap(true, Relaxed) {
            self.last_ms.store(now, Relaxed);
            eprintln!(
                "kakashi: {} panicked: {}; {} (further failures are counted in the stats)",
                self.what,
                crate::panic_message(payload),
                self.consequence
            );
            return;
        }
        let n = self.unreported.fetch_add(1, Relaxed) + 1;
        let last = self.last_ms.load(Relaxed);
        if now.saturating_sub(last) >= REPORT_EVERY.as_millis() as u64
            && self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            let n = self.unreported.swap(0, Relaxed).max(n.min(1));
            eprintln!(
                "kakashi: {} panicked {n} more times in the last {} s (counted in the stats)",
                self.what,
                (now - last) / 1000
            );
        }
    }
}

pub(super) static ENRICHER_FAILURES: FailureReports =
    FailureReports::new("an enricher", "it is skipped for that record");
pub(super) static FILTER_FAILURES: FailureReports =
    FailureReports::new("a filter", "the record is kept");
pub(super) static FORMATTER_FAILURES: FailureReports =
    FailureReports::new("a formatter", "the record failed for that output");
