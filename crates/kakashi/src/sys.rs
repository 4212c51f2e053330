//! Calls into libc and the CPU that std does not offer (with `ring.rs` and
//! `pipeline/format/spare.rs`, the crate's only `unsafe` code).
//!
//! - [`thread_id`]: the OS thread id (`gettid`), the number `ps -L` and
//!   debuggers show, cached per thread by the caller.
//! - [`at_exit`]: registers a function with C `atexit`, which runs when `main`
//!   returns and on `std::process::exit`, so the global backend can be flushed
//!   without the user holding a guard (Rust runs no destructors for statics).
//! - [`read_tsc`]: the CPU's time-stamp counter (`clock.rs`).
//! - [`catch_sigterm`], [`wait_for_sigterm`], [`resend_sigterm`]: the
//!   opt-in SIGTERM drain (`backend/shutdown.rs`), a handler that only
//!   writes to a pipe, read by an ordinary thread.
//! - [`heavy_barrier`]: a memory barrier run on every CPU that runs one of
//!   this process's threads (`membarrier(2)`), the heavy half of the
//!   queue's asymmetric barrier (`backend/ring.rs`, "One producer"), and
//!   [`compare_exchange_on_this_cpu`], the claim that goes with it.
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

/// A SIGTERM handler that only tells a thread: the handler writes one byte
/// to a pipe (`write(2)` is async-signal-safe); [`wait_for_sigterm`] reads it.
/// Returns the pipe's read end, or the OS error. The previous disposition is
/// kept for [`resend_sigterm`].
#[cfg(unix)]
pub(crate) fn catch_sigterm() -> std::io::Result<libc::c_int> {
    use std::sync::atomic::Ordering::SeqCst;
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes; fcntl(2)
    // on descriptors we own. The write end does not block: a handler that
    // finds the pipe full (signals faster than they are read) loses nothing,
    // one byte is enough to start the drain.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        for fd in fds {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
        let flags = libc::fcntl(fds[1], libc::F_GETFL);
        libc::fcntl(fds[1], libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    SIGTERM_PIPE.store(fds[1], SeqCst);
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value;
    // the handler is an `extern "C" fn(c_int)` that lives for the program.
    let installed = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigterm as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let mut previous: libc::sigaction = std::mem::zeroed();
        let ok = libc::sigaction(libc::SIGTERM, &action, &mut previous) == 0;
        if ok {
            *PREVIOUS_SIGTERM.lock().unwrap_or_else(|e| e.into_inner()) = Some(SigAction(previous));
        }
        ok
    };
    if !installed {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fds[0])
}

#[cfg(unix)]
static SIGTERM_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The disposition SIGTERM had before [`catch_sigterm`].
#[cfg(unix)]
struct SigAction(libc::sigaction);

// SAFETY: a sigaction is plain data (a function address, flags, a mask).
#[cfg(unix)]
unsafe impl Send for SigAction {}

#[cfg(unix)]
static PREVIOUS_SIGTERM: std::sync::Mutex<Option<SigAction>> = std::sync::Mutex::new(None);

#[cfg(unix)]
extern "C" fn on_sigterm(_: libc::c_int) {
    let fd = SIGTERM_PIPE.load(std::sync::atomic::Ordering::SeqCst);
    let byte = 1u8;
    // The interrupted code may be about to read errno: put it back.
    let saved = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
    // SAFETY: write(2) is async-signal-safe; `byte` outlives the call.
    let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    set_errno(saved);
}

#[cfg(target_os = "linux")]
fn set_errno(value: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno, always valid.
    unsafe { *libc::__errno_location() = value };
}

#[cfg(all(unix, not(target_os = "linux")))]
fn set_errno(value: libc::c_int) {
    // SAFETY: __error returns this thread's errno, always valid.
    unsafe { *libc::__error() = value };
}

/// Blocks until [`on_sigterm`] has written to the pipe `fd`.
#[cfg(unix)]
pub(crate) fn wait_for_sigterm(fd: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: `byte` is a valid one-byte buffer for read(2).
        let n = unsafe { libc::read(fd, (&mut byte as *mut u8).cast(), 1) };
        if n == 1
            || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted)
        {
            return;
        }
    }
}

/// Puts SIGTERM's previous disposition back and sends SIGTERM to the
/// process again: it then ends (or is handled) as if kakashi had not been
/// there.
#[cfg(unix)]
pub(crate) fn resend_sigterm() {
    let previous = PREVIOUS_SIGTERM
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take();
    // SAFETY: restoring a disposition sigaction(2) gave us, or the default;
    // kill(2) on our own pid.
    unsafe {
        match previous {
            Some(SigAction(action)) => {
                libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
            }
            None => {
                libc::signal(libc::SIGTERM, libc::SIG_DFL);
            }
        }
        libc::kill(libc::getpid(), libc::SIGTERM);
    }
}

/// `membarrier(2)` commands (`linux/membarrier.h`).
#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_QUERY: libc::c_long = 0;
#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_long = 1 << 3;
#[cfg(target_os = "linux")]
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_long = 1 << 4;

#[cfg(target_os = "linux")]
fn membarrier(cmd: libc::c_long) -> libc::c_long {
    // SAFETY: membarrier(2) takes a command and two integer arguments and
    // touches no memory of ours.
    unsafe {
        libc::syscall(
            libc::SYS_membarrier,
            cmd,
            0 as libc::c_long,
            0 as libc::c_long,
        )
    }
}

const UNKNOWN: u8 = 0;
const YES: u8 = 1;
const NO: u8 = 2;
static HEAVY_BARRIER: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(UNKNOWN);

/// Whether [`heavy_barrier`] works here: Linux 4.14 or later with
/// `membarrier(2)` allowed (a container's seccomp profile may forbid it).
/// The first call registers the process for it, which takes the kernel
/// ~13 ms while other threads of the process run (measured here; it waits
/// for every CPU), so a backend makes it when it is set up, never a
/// logging call ([`heavy_barrier_known`]). The registration is inherited
/// by a forked child. No lock: two threads (or a signal handler and the
/// thread it interrupted) may both ask; the kernel answers alike.
pub(crate) fn heavy_barrier_available() -> bool {
    use std::sync::atomic::Ordering::Relaxed;
    if let Some(known) = heavy_barrier_known() {
        return known;
    }
    #[cfg(target_os = "linux")]
    let works = {
        let commands = membarrier(MEMBARRIER_CMD_QUERY);
        commands >= 0
            && commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED != 0
            && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
            && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0
    };
    #[cfg(not(target_os = "linux"))]
    let works = false;
    HEAVY_BARRIER.store(if works { YES } else { NO }, Relaxed);
    works
}

/// What [`heavy_barrier_available`] found, if it has been asked; never
/// waits.
pub(crate) fn heavy_barrier_known() -> Option<bool> {
    match HEAVY_BARRIER.load(std::sync::atomic::Ordering::Relaxed) {
        YES => Some(true),
        NO => Some(false),
        _ => None,
    }
}

/// Runs a full memory barrier on every CPU that runs a thread of this
/// process, before returning: a thread that only stops its compiler from
/// reordering (`compiler_fence`) is then ordered with the caller as if it
/// had run a SeqCst fence at some point during this call. Costs a system
/// call and an interrupt to each such CPU, so it is for rare events. Only
/// called once [`heavy_barrier_available`] said true.
pub(crate) fn heavy_barrier() {
    #[cfg(target_os = "linux")]
    {
        let done = membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED);
        // It cannot fail once registered (the only errors are an unknown
        // command and a missing registration).
        debug_assert_eq!(done, 0, "membarrier(PRIVATE_EXPEDITED)");
    }
}

/// Whether [`compare_exchange_on_this_cpu`] is the unlocked instruction
/// (x86_64; not under Miri, which runs no inline assembly). Its two `cfg`
/// attributes spell out the same condition.
const UNLOCKED_CLAIM: bool = cfg!(all(target_arch = "x86_64", not(miri)));

/// Whether the ring's owner may claim with [`compare_exchange_on_this_cpu`]:
/// the unlocked instruction, and a heavy barrier to go with it. May take
/// milliseconds the first time (see [`heavy_barrier_available`]).
pub(crate) fn single_producer_claims_available() -> bool {
    UNLOCKED_CLAIM && heavy_barrier_available()
}

/// [`single_producer_claims_available`] if known yet; never waits.
pub(crate) fn single_producer_claims_known() -> Option<bool> {
    if UNLOCKED_CLAIM {
        heavy_barrier_known()
    } else {
        Some(false)
    }
}

/// Sets `*atomic` to `new` if it holds `current`, in one instruction
/// without the `lock` prefix: atomic against anything else that runs on
/// this CPU (a signal handler interrupting the caller runs before or after
/// it, never in the middle), not against other CPUs, and so without the
/// locked instruction's cost (its wait for every earlier store to reach the
/// cache). For a location no other thread writes meanwhile (the ring's
/// tail while its owner claims, `backend/ring.rs`); other threads may read
/// it, the write being one aligned 8-byte store. True when it was set.
#[inline(always)]
pub(crate) fn compare_exchange_on_this_cpu(
    atomic: &std::sync::atomic::AtomicUsize,
    current: usize,
    new: usize,
) -> bool {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        let found: usize;
        // SAFETY: `cmpxchg` reads and writes the aligned, valid `usize`
        // behind `atomic` (its pointer), RAX and the flags; it touches no
        // other memory and not the stack. The caller makes sure that no
        // other thread writes the location meanwhile; reads by others see
        // the old or the new value (one aligned 8-byte store).
        unsafe {
            std::arch::asm!(
                "cmpxchg qword ptr [{place}], {new}",
                place = in(reg) atomic.as_ptr(),
                new = in(reg) new,
                inout("rax") current => found,
                options(nostack),
            );
        }
        found == current
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    {
        // Not called by the ring: `single_producer_claims_available` is
        // false here.
        atomic
            .compare_exchange(
                current,
                new,
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::Relaxed,
            )
            .is_ok()
    }
}
