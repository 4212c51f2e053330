//! Calls into libc and the CPU that std does not offer. (The crate denies
//! `unsafe` code; this module is one of the few that allow it, each saying
//! why in its docs: `grep -rn 'allow(unsafe_code)' src` lists them.)
//!
//! - [`thread_id`]: the OS thread id (`gettid`), the number `ps -L` and
//!   debuggers show, cached per thread by the caller.
//! - [`is_first_thread`]: whether the calling thread is the process's
//!   first one (`gettid() == getpid()`), for fork (`backend/fork.rs`).
//! - [`is_calling_thread`]: whether a `JoinHandle` is the calling thread's
//!   own (`pthread_self`), which must not be joined.
//! - [`at_exit`]: registers a function with C `atexit`, which runs when `main`
//!   returns and on `std::process::exit`, so the global backend can be flushed
//!   without the user holding a guard (Rust runs no destructors for statics).
//! - [`read_tsc`]: the CPU's time-stamp counter (`clock.rs`).
//! - [`try_lock_exclusive`]: `flock(2)`, for the file writer's rotation
//!   (`File::try_lock` is newer than the crate's minimum Rust).
//! - [`lower_thread_priority`]: nice 19 for the compression thread.
//! - [`on_sighup`]: the opt-in SIGHUP handler that reopens log files.
//! - [`rename_noreplace`]: `renameat2(RENAME_NOREPLACE)`, the rotation's
//!   move in one step (no moment where the file has two names).
//! - [`catch_sigterm`], [`wait_for_sigterm`], [`resend_sigterm`]: the
//!   opt-in SIGTERM drain (`backend/shutdown.rs`), a handler that only
//!   writes to a pipe, read by an ordinary thread.
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

/// Whether the calling thread is the process's first thread (its thread id
/// is the process id). True where that cannot be told.
pub(crate) fn is_first_thread() -> bool {
    #[cfg(target_os = "linux")]
    {
        thread_id() == u64::from(std::process::id())
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Whether `handle` is the calling thread's own: joining it would fail
/// (`EDEADLK`, which std turns into a panic). Compared by `pthread_t`, which
/// holds while the thread is being torn down, when std's own idea of the
/// current thread may already be gone.
pub(crate) fn is_calling_thread<T>(handle: &std::thread::JoinHandle<T>) -> bool {
    use std::os::unix::thread::JoinHandleExt;
    // SAFETY: pthread_self(3) takes no arguments and cannot fail.
    let me = unsafe { libc::pthread_self() };
    handle.as_pthread_t() == me
}

/// Tries once to take an exclusive advisory lock (`flock(2)`) on `file`:
/// `Ok(false)` when another open file description holds it. Released when
/// the file is closed.
#[cfg(unix)]
pub(crate) fn try_lock_exclusive(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    loop {
        // SAFETY: flock(2) on a descriptor `file` owns; it touches no memory.
        let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

/// How many threads of this process are running now, where the system
/// says (`/proc/self/task` on Linux); `None` elsewhere or when it cannot be
/// read. A listing of the threads (no file of theirs read: a process may
/// have hundreds, and this is asked again and again), less the process's
/// first thread if it has ended: that one stays listed, a zombie, until the
/// others end too (a forked child whose forking thread ended).
pub(crate) fn threads_in_process() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let listed = std::fs::read_dir("/proc/self/task").ok()?.count();
        // `pid (comm) S ...`: the state follows the last `)` (a name may
        // hold one).
        let stat = std::fs::read(format!("/proc/self/task/{}/stat", std::process::id()));
        let first_ended = stat.map_or(true, |stat| {
            let state = stat
                .iter()
                .rposition(|&b| b == b')')
                .and_then(|end| stat.get(end + 2));
            matches!(state, None | Some(b'Z' | b'X' | b'x'))
        });
        Some(listed - usize::from(first_ended && listed > 0))
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The machine's memory and swap together, in bytes, where the system says
/// (`sysinfo(2)` on Linux); `None` elsewhere or on error.
pub(crate) fn memory_and_swap() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `sysinfo` only writes the struct it is given, which is
        // plain data and valid when zeroed.
        unsafe {
            let mut info: libc::sysinfo = std::mem::zeroed();
            if libc::sysinfo(&mut info) != 0 {
                return None;
            }
            // `c_ulong`: 32 bits on 32-bit targets, where the conversion is not
            // useless.
            #[allow(clippy::useless_conversion)]
            let total = u64::from(info.totalram).saturating_add(u64::from(info.totalswap));
            Some(total.saturating_mul(u64::from(info.mem_unit.max(1))))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Lowers the calling thread's scheduling priority to the least (nice 19),
/// so that it runs on what the other threads leave (file compression).
/// Best effort: an error leaves the priority as it was.
pub(crate) fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: gettid(2) and setpriority(2) with a thread id of this
        // process and a valid nice value; neither touches memory.
        unsafe {
            let tid = libc::gettid();
            let _ = libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, 19);
        }
    }
}

/// Renames `from` to `to` in one step unless `to` exists: `Ok(false)` when
/// it does; an [`std::io::ErrorKind::Unsupported`] error where the OS or the
/// filesystem cannot (the caller then links and unlinks).
pub(crate) fn rename_noreplace(
    from: &std::path::Path,
    to: &std::path::Path,
) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let unsupported = || std::io::Error::from(std::io::ErrorKind::Unsupported);
        let from =
            std::ffi::CString::new(from.as_os_str().as_bytes()).map_err(|_| unsupported())?;
        let to = std::ffi::CString::new(to.as_os_str().as_bytes()).map_err(|_| unsupported())?;
        loop {
            // SAFETY: renameat2(2) reads two NUL-terminated strings that live
            // across the call; it touches no other memory.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_renameat2,
                    libc::AT_FDCWD,
                    from.as_ptr(),
                    libc::AT_FDCWD,
                    to.as_ptr(),
                    libc::RENAME_NOREPLACE,
                )
            };
            if r == 0 {
                return Ok(true);
            }
            let e = std::io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EEXIST) => Ok(false),
                Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP) => Err(unsupported()),
                _ => Err(e),
            };
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (from, to);
        Err(std::io::ErrorKind::Unsupported.into())
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

/// Installs `handler` for SIGHUP (`SA_RESTART`), replacing what was there.
#[cfg(unix)]
pub(crate) fn on_sighup(handler: extern "C" fn(libc::c_int)) -> std::io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value;
    // the handler is an `extern "C" fn(c_int)` that lives for the program.
    let ok = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGHUP, &action, std::ptr::null_mut()) == 0
    };
    if ok {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
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
