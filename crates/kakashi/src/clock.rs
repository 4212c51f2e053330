//! The wall clock behind [`Timestamp::now`](crate::Timestamp::now): the CPU's
//! time-stamp counter, anchored to the system clock.
//!
//! Why: reading the counter costs a fraction of a system clock read
//! (`SystemTime::now`, a vDSO `clock_gettime`), which would otherwise be a
//! large share of a logging call (figures in BENCHMARKS.md, "Design
//! decisions"). The counter is used only where the kernel itself keeps time
//! with it (its clocksource is `tsc`, which it picks only when the counter
//! runs at a constant rate and in step on every CPU). A record's time is
//! then extrapolated from the last anchor, a pair (counter, system time)
//! read together:
//!
//! ```text
//! now = anchor.time + (counter - anchor.counter) * ns_per_tick
//! ```
//!
//! `ns_per_tick` is measured between consecutive anchors (system time
//! elapsed over ticks elapsed), so it follows NTP's corrections of the
//! system clock's rate. The first rate is measured over the process's first
//! 10 ms of clock reads (which read the system clock directly); an anchor is
//! used for ten times the interval its rate was measured over, at most a
//! second (10 ms, then 100 ms, then a second at a time), so an error in a
//! short first measurement is soon replaced. A new anchor is taken by
//! whichever call first finds the last one expired, and an anchor whose two
//! counter reads (around the system clock read) are more than 2 µs apart is
//! not used (the thread was interrupted in between).
//!
//! Invariant: a timestamp stays within microseconds of the system clock
//! (the output shows microseconds; the test below checks 100 µs). A step
//! of the system clock (`date -s`, an NTP step) shows at the next anchor,
//! within a second; the rate measured across it would be wrong, so the last
//! one is kept and measured again 100 ms later.
//!
//! Anywhere else (another clocksource, another architecture, a counter that
//! misbehaves: a measured rate outside 0.1-20 GHz) every call reads the
//! system clock.
//!
//! The anchor is read with a sequence lock: a writer makes the sequence odd,
//! writes, and makes it even again; a reader that sees it change or odd
//! reads the system clock instead of waiting.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicU8, Ordering::*};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sys;

/// Nanoseconds since the Unix epoch.
pub(crate) fn now_nanos() -> u64 {
    if MODE.load(Relaxed) == COUNTER {
        let seq = SEQ.load(Acquire);
        let (counter, time, mult, limit) = (
            ANCHOR_COUNTER.load(Relaxed),
            ANCHOR_TIME.load(Relaxed),
            MULT.load(Relaxed),
            LIMIT.load(Relaxed),
        );
        fence(Acquire);
        if seq & 1 == 0 && seq != 0 && SEQ.load(Relaxed) == seq {
            let ticks = sys::read_tsc().wrapping_sub(counter);
            // A counter read below the anchor (another CPU's read, reordered)
            // wraps to a huge number: the slow path.
            if ticks < limit {
                return time + ((u128::from(ticks) * u128::from(mult)) >> 32) as u64;
            }
        }
    }
    slow_path()
}

/// The system clock.
fn system_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

const UNKNOWN: u8 = 0;
const SYSTEM: u8 = 1;
const COUNTER: u8 = 2;

static MODE: AtomicU8 = AtomicU8::new(UNKNOWN);
/// Even when the anchor is whole; 0 until the first one.
static SEQ: AtomicU64 = AtomicU64::new(0);
static ANCHOR_COUNTER: AtomicU64 = AtomicU64::new(0);
static ANCHOR_TIME: AtomicU64 = AtomicU64::new(0);
/// Nanoseconds per tick, 32.32 fixed point.
static MULT: AtomicU64 = AtomicU64::new(0);
/// Ticks after the anchor past which a new one is taken.
static LIMIT: AtomicU64 = AtomicU64::new(0);
/// The first reading, before any rate is known.
static START_COUNTER: AtomicU64 = AtomicU64::new(0);
static START_TIME: AtomicU64 = AtomicU64::new(0);
/// One writer at a time.
static WRITING: AtomicBool = AtomicBool::new(false);
/// The last anchor kept the rate before it across a step of the system clock.
static STEPPED: AtomicBool = AtomicBool::new(false);

/// How long an anchor is used at most.
const ANCHOR_NS: u64 = 1_000_000_000;
/// How long the first rate is measured over.
const FIRST_NS: u64 = 10_000_000;
/// The most time two counter reads around a system clock read may span.
const READ_WINDOW_NS: u64 = 2_000;

#[cold]
#[inline(never)]
fn slow_path() -> u64 {
    match MODE.load(Relaxed) {
        SYSTEM => system_nanos(),
        COUNTER => {
            let now = system_nanos();
            // Until the first rate can be measured, calls only read the
            // system clock.
            let start = START_TIME.load(Relaxed);
            let due = SEQ.load(Relaxed) != 0 || start == 0 || now >= start + FIRST_NS;
            if !due
                || WRITING
                    .compare_exchange(false, true, Acquire, Relaxed)
                    .is_err()
            {
                return now;
            }
            let now = anchor();
            WRITING.store(false, Release);
            now
        }
        _ => {
            let usable = tsc_is_the_kernels_clock();
            let _ = MODE.compare_exchange(
                UNKNOWN,
                if usable { COUNTER } else { SYSTEM },
                Relaxed,
                Relaxed,
            );
            system_nanos()
        }
    }
}

/// True when the kernel keeps time with the time-stamp counter (it has
/// checked that the counter is constant-rate and synchronised across CPUs).
fn tsc_is_the_kernels_clock() -> bool {
    cfg!(all(target_arch = "x86_64", target_os = "linux"))
        && std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        )
        .is_ok_and(|s| s.trim() == "tsc")
}

/// Reads the counter and the system clock together; takes a new anchor when
/// the rate can be measured. Returns the system time read. Called by one
/// thread at a time.
fn anchor() -> u64 {
    let before = sys::read_tsc();
    let now = system_nanos();
    let after = sys::read_tsc();
    let counter = before / 2 + after / 2;
    let anchored = SEQ.load(Relaxed) != 0;
    let (from_counter, from_time) = if anchored {
        (ANCHOR_COUNTER.load(Relaxed), ANCHOR_TIME.load(Relaxed))
    } else {
        if START_TIME.load(Relaxed) == 0 {
            START_COUNTER.store(counter, Relaxed);
            START_TIME.store(now, Relaxed);
            return now;
        }
        (START_COUNTER.load(Relaxed), START_TIME.load(Relaxed))
    };
    let ticks = counter.wrapping_sub(from_counter);
    if after < before || ticks == 0 || ticks > u64::MAX / 4 {
        return now;
    }
    // After a step, the next measurement decides: the counter's rate may
    // really have changed (a virtual machine moved to another host).
    let previous = if anchored && !STEPPED.load(Relaxed) {
        MULT.load(Relaxed)
    } else {
        0
    };
    let Some(Rate {
        mult,
        valid,
        stepped,
    }) = next_rate(previous, from_time, now, ticks)
    else {
        if !anchored && now < from_time {
            // Stepped back before the first anchor: measure from here.
            START_COUNTER.store(counter, Relaxed);
            START_TIME.store(now, Relaxed);
        } else if !anchored && now >= from_time + FIRST_NS {
            // Not a plausible counter: the system clock from now on.
            MODE.store(SYSTEM, Relaxed);
        }
        return now;
    };
    let window = ((u128::from(after.wrapping_sub(before)) * u128::from(mult)) >> 32) as u64;
    if window > READ_WINDOW_NS {
        // Interrupted between the reads: try again on a later call.
        return now;
    }
    STEPPED.store(stepped, Relaxed);
    let limit = ((u128::from(valid) << 32) / u128::from(mult)) as u64;
    let seq = SEQ.load(Relaxed);
    SEQ.store(seq + 1, Relaxed);
    fence(Release);
    ANCHOR_COUNTER.store(counter, Relaxed);
    ANCHOR_TIME.store(now, Relaxed);
    MULT.store(mult, Relaxed);
    LIMIT.store(limit, Relaxed);
    SEQ.store(seq + 2, Release);
    now
}

/// A new anchor's rate and how long to use it.
#[derive(Debug, PartialEq)]
struct Rate {
    /// Nanoseconds per tick, 32.32 fixed point.
    mult: u64,
    /// How long the anchor is used, in nanoseconds.
    valid: u64,
    /// The system clock was stepped: the last rate was kept.
    stepped: bool,
}

/// The rate for a new anchor taken `ticks` after the last one (or the first
/// reading), at `from_time`; `None` when there is none yet. `previous` is
/// the last anchor's rate, 0 when the measurement is to decide alone (the
/// first one, and the one after a step). A system clock stepped back or
/// forward between two anchors (NTP, `date -s`) shows as a rate far from
/// the last one: then the last rate is kept, anchored at the new time, and
/// the next measurement, 100 ms later, decides (the counter's own rate may
/// have changed: a virtual machine moved to another host).
fn next_rate(previous: u64, from_time: u64, now: u64, ticks: u64) -> Option<Rate> {
    let plausible = |mult: u64| ((1 << 32) / 20..=10 << 32).contains(&mult); // 0.1-20 GHz
    let elapsed = now.checked_sub(from_time);
    let measured = elapsed
        .filter(|&e| e >= FIRST_NS)
        .map(|e| ((u128::from(e) << 32) / u128::from(ticks)) as u64);
    let valid = |e: u64| e.saturating_mul(10).min(ANCHOR_NS);
    if previous == 0 {
        return Some(Rate {
            mult: measured.filter(|&m| plausible(m))?,
            valid: valid(elapsed?),
            stepped: false,
        });
    }
    match (elapsed, measured) {
        // Too soon to measure again (an anchor expires only after ten
        // times this).
        (Some(_), None) => None,
        (Some(e), Some(m)) if m.abs_diff(previous) <= previous / 64 => Some(Rate {
            mult: m,
            valid: valid(e),
            stepped: false,
        }),
        _ => Some(Rate {
            mult: previous,
            valid: 10 * FIRST_NS,
            stepped: true,
        }),
    }
}

/// In a forked child: a thread of the parent may have been taking an anchor.
pub(crate) fn after_fork_in_child() {
    WRITING.store(false, Relaxed);
    let seq = SEQ.load(Relaxed);
    if seq & 1 == 1 {
        // Torn: start over from the system clock.
        START_TIME.store(0, Relaxed);
        SEQ.store(0, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stepped_system_clock_keeps_the_last_rate() {
        let ghz3 = (1u64 << 32) / 3; // 1/3 ns a tick
        let ticks_per_s = 3_000_000_000;
        let t0 = 1_800_000_000_000_000_000;
        let rate = |mult, valid, stepped| {
            Some(Rate {
                mult,
                valid,
                stepped,
            })
        };
        // First measurement: needs 10 ms, then takes the rate it finds.
        assert_eq!(next_rate(0, t0, t0 + 1_000_000, 3_000_000), None);
        let first = next_rate(0, t0, t0 + 10_000_000, 30_000_000).unwrap();
        assert!(first.mult.abs_diff(ghz3) <= 1 && first.valid == 100_000_000 && !first.stepped);
        // An implausible counter (1 kHz) gives no rate.
        assert_eq!(next_rate(0, t0, t0 + 10_000_000, 10), None);
        // A second later, a rate within 1/64 of the last is taken.
        let next = next_rate(ghz3, t0, t0 + 1_000_000_000, ticks_per_s + 30_000).unwrap();
        assert!(next.mult < ghz3 && next.mult.abs_diff(ghz3) < ghz3 / 64);
        assert!(next.valid == ANCHOR_NS && !next.stepped);
        // The clock stepped forward an hour, or back a minute: the last rate
        // is kept, anchored anew, and measured again after 100 ms.
        let hour = 3_600_000_000_000;
        let stepped = rate(ghz3, 100_000_000, true);
        assert_eq!(
            next_rate(ghz3, t0, t0 + hour + 1_000_000_000, ticks_per_s),
            stepped
        );
        assert_eq!(
            next_rate(ghz3, t0, t0 - 60_000_000_000, ticks_per_s),
            stepped
        );
        // After a step the measurement decides alone: a counter now running
        // at 2 GHz is believed.
        let after = next_rate(0, t0, t0 + 100_000_000, 200_000_000).unwrap();
        assert!(after.mult.abs_diff((1 << 32) / 2) <= 1 && !after.stepped);
    }

    #[test]
    fn stays_with_the_system_clock_and_never_goes_back_within_a_thread() {
        // Long enough for the first anchors (10 ms, 100 ms, 1 s) and a
        // re-anchor after a second.
        let end = system_nanos() + 1_300_000_000;
        let mut last = 0;
        let mut worst: u64 = 0;
        loop {
            let before = system_nanos();
            let t = now_nanos();
            let after = system_nanos();
            // Within the two system clock reads around it, give or take the
            // extrapolation's error.
            let off = before.saturating_sub(t).max(t.saturating_sub(after));
            worst = worst.max(off);
            assert!(t + 500_000 >= last, "went back: {last} then {t}");
            last = t;
            if after > end {
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        assert!(worst < 100_000, "off the system clock by {worst} ns");
        if tsc_is_the_kernels_clock() {
            assert_eq!(MODE.load(Relaxed), COUNTER);
            assert!(SEQ.load(Relaxed) >= 4, "anchored at least twice");
        }
    }
}
