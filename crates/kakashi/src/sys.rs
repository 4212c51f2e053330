//! Calls into libc and the CPU that std does not offer (with `ring.rs` and
//! `pipeline/format/spare.rs`, the crate's only `unsafe` code).
//!
//! - [`thread_id`]: the OS thread id (`gettid`), the number `ps -L` and
//!   debuggers show, cached per thread by the caller.
//! - [`at_exit`]: registers a function with C `atexit`, which runs when `main`
//!   returns and on `std::process::exit`, so the global backend can be flushed
//!   without the user holding a guard (Rust runs no destructors for statics).
//! - [`read_tsc`]: the CPU's time-stamp counter (`clock.rs`).
#![allow(unsafe_code)]

/// The CPU's time-stamp counter (0 where there is none; `clock.rs` then
/// never uses it).
#[inline(always)]
pub(crate) fn read_tsc() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC reads a register; it has no memory effects and exists
        // on every x86_64 CPU.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        0
    }
}

/// The calling thread's OS thread id.
pub(crate) fn thread_id() -> u64 {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid(2) takes no arguments, cannot fail and touches no memory.
        let tid = unsafe { libc::gettid() };
        tid as u64
    }
    #[cfg(not(target_os = "linux"))]
    {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(1);
        NEXT.fetch_add(1, Ordering::Relaxed)
    }
}

/// Registers `f` to run at normal process exit. Returns false if libc refused.
pub(crate) fn at_exit(f: extern "C" fn()) -> bool {
    // SAFETY: `f` is a plain `extern "C" fn()` with 'static lifetime, which is
    // exactly what atexit(3) requires; it is called at most once per registration.
    unsafe { libc::atexit(f) == 0 }
}
