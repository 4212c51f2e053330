//! [`Timestamp`]: when a record was made.

/// An instant as nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Now: the system clock's time, read through the CPU's time-stamp
    /// counter where the kernel keeps time with it (within microseconds of
    /// the system clock, and cheaper to read; see the crate's "How it
    /// works").
    #[inline]
    pub fn now() -> Timestamp {
        Timestamp(crate::clock::now_nanos())
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// Microseconds within the second.
    pub fn subsec_micros(self) -> u32 {
        ((self.0 % 1_000_000_000) / 1_000) as u32
    }
}
