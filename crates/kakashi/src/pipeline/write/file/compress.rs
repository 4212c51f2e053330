//! Compression of rotated files, on one background thread per process at
//! the lowest priority (nice 19; started by a rotation, ended after
//! [`IDLE`] without a job), never on a worker's write path: when the
//! program logs faster than the CPU it leaves can compress, rotated files
//! wait uncompressed rather than slow the logging.
//!
//! Crash safety: a file is compressed into `<name>.<ext>.tmp`, synced, and
//! renamed to `<name>.<ext>`; only then is the rotated file removed. A crash
//! at any point leaves the rotated file whole (and at most a `.tmp`, which
//! is not a rotated name, so retention never counts it); the next writer
//! made for the path compresses what was left and removes stale `.tmp`s.
//!
//! Another process may append its last batch to a file just after it was
//! rotated (its check of the path came just before the rotation), so a job
//! starts [`SETTLE`] after the rotation, and a file that changed while it
//! was compressed is compressed again.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::error::ConfigError;

/// How long after a rotation its file is left alone before compression.
pub(super) const SETTLE: Duration = Duration::from_secs(1);

/// How rotated files are compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Compression {
    /// Left as they are.
    #[default]
    None,
    /// gzip (`.gz`), at its fastest level: a log file a program writes at
    /// full speed must be compressed about as fast as it is written.
    Gzip,
    /// zstd (`.zst`), level 3 (its default: faster and smaller than gzip).
    Zstd,
}

/// The suffixes of compressed rotated files (what rotated-name matching
/// strips, and the start-up sweep leaves alone).
pub(super) const SUFFIXES: [&str; 2] = [".gz", ".zst"];

/// `path` with `suffix` appended to its name, byte for byte (a name need not
/// be UTF-8).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

impl Compression {
    /// The suffix a compressed file gets (`.gz`), empty for none.
    pub fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

impl FromStr for Compression {
    type Err = ConfigError;

    /// `"gzip"` (or `"gz"`), `"zstd"` (or `"zst"`), `"none"`.
    fn from_str(text: &str) -> Result<Compression, ConfigError> {
        let bad = || {
            ConfigError::invalid(
                "compression",
                text,
                "\"gzip\", \"zstd\" or \"none\" (of those this build has)",
            )
        };
        match text.trim().to_ascii_lowercase().as_str() {
            "none" | "" => Ok(Compression::None),
            "gzip" | "gz" if cfg!(feature = "gzip") => Ok(Compression::Gzip),
            "zstd" | "zst" if cfg!(feature = "zstd") => Ok(Compression::Zstd),
            _ => Err(bad()),
        }
    }
}

struct Job {
    path: PathBuf,
    how: Compression,
    not_before: Instant,
}

/// Hands `path` (a rotated file) to the compression thread.
pub(super) fn submit(path: PathBuf, how: Compression, delay: Duration) {
    if how == Compression::None {
        return;
    }
    let job = Job {
        path,
        how,
        not_before: Instant::now() + delay,
    };
    // If the thread could not be started, the file stays uncompressed, and
    // the next writer made for this path compresses it.
    let mut current = SENDER.lock().unwrap_or_else(|e| e.into_inner());
    let pid = std::process::id();
    let thread = match current.take() {
        Some(thread) if thread.pid == pid => thread,
        Some(parents) => {
            // A forked child: the parent's thread is not here, and its
            // channel is the parent's; a fresh thread of its own.
            std::mem::forget(parents);
            start(pid)
        }
        None => start(pid),
    };
    let _ = thread.jobs.send(job);
    *current = Some(thread);
}

/// Lets this process's compression thread end once it has compressed what
/// it was given (a forked child whose program has ended: the thread would
/// keep it alive). A later rotation starts another.
pub(crate) fn release_thread() {
    let mut current = SENDER.lock().unwrap_or_else(|e| e.into_inner());
    if current
        .as_ref()
        .is_some_and(|t| t.pid == std::process::id())
    {
        *current = None;
    }
}

/// Locks the compression thread's channel for the thread preparing a
/// `fork()` (`backend/fork.rs`): a child must not inherit it held by a
/// rotation of another thread's.
pub(crate) fn hold_for_fork(deadline: Instant) -> Option<crate::backend::HeldForFork> {
    crate::backend::lock_for_fork(&SENDER, deadline)
}

/// The compression thread jobs are sent to (jobs are sent holding the lock).
static SENDER: Mutex<Option<CompressionThread>> = Mutex::new(None);

/// A compression thread's channel, the process it was started in, and
/// which of the process's compression threads it is.
struct CompressionThread {
    pid: u32,
    id: u64,
    jobs: Sender<Job>,
}

/// How long the compression thread waits for a job before it ends (the
/// next rotation starts another): a thread left waiting would keep a
/// process alive that ends when its last thread does (a child forked off a
/// thread other than main's, `backend/fork.rs`).
const IDLE: Duration = Duration::from_secs(2);

fn start(pid: u32) -> CompressionThread {
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, Relaxed);
    let (jobs, rx) = channel::<Job>();
    let _ = std::thread::Builder::new()
        .name("kakashi-compress".into())
        .spawn(move || {
            let _own = crate::backend::OwnThread::enter();
            // Logging first: compression runs on what the workers and the
            // program leave of the CPU.
            crate::sys::lower_thread_priority();
            while let Some(job) = next_job(&rx, id) {
                let wait = job.not_before.saturating_duration_since(Instant::now());
                std::thread::sleep(wait);
                // A failure leaves the rotated file as it was; nothing to report
                // to a caller, and the next writer's sweep tries again.
                let _ = compress(&job.path, job.how);
            }
        });
    CompressionThread { pid, id, jobs }
}

/// The compression thread `id`'s next job; None when it is to end: its
/// channel was let go of, or no job came for [`IDLE`]. Then, under the
/// lock jobs are sent with, it is no longer the thread jobs go to.
fn next_job(rx: &Receiver<Job>, id: u64) -> Option<Job> {
    match rx.recv_timeout(IDLE) {
        Ok(job) => Some(job),
        Err(RecvTimeoutError::Disconnected) => None,
        Err(RecvTimeoutError::Timeout) => {
            let mut current = SENDER.lock().unwrap_or_else(|e| e.into_inner());
            if let Ok(job) = rx.try_recv() {
                return Some(job);
            }
            if current.as_ref().is_some_and(|t| t.id == id) {
                *current = None;
            }
            None
        }
    }
}

/// Compresses `path` into `path` + suffix, then removes `path`. Returns the
/// compressed file's path.
pub(super) fn compress(path: &Path, how: Compression) -> io::Result<PathBuf> {
    let target = with_suffix(path, how.suffix());
    let tmp = with_suffix(&target, ".tmp");
    let mut created = false;
    let done = compress_into(path, &target, &tmp, how, &mut created);
    if done.is_err() && created {
        // The source vanished (retention, another process), the disk is
        // full...: a partial .tmp beside no rotated file is never swept.
        let _ = fs::remove_file(&tmp);
    }
    done
}

fn compress_into(
    path: &Path,
    target: &Path,
    tmp: &Path,
    how: Compression,
    created: &mut bool,
) -> io::Result<PathBuf> {
    loop {
        let before = stamp(path)?;
        {
            // Never through a symlink (planted in a directory others can
            // write to): neither the rotated file nor the .tmp.
            let mut input = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(path)?;
            let meta = input.metadata()?;
            if !meta.is_file() {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                ));
            }
            match fs::remove_file(tmp) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            // The rotated file's mode: a log only its owner reads stays so.
            let out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(meta.mode() & 0o777)
                .open(tmp)?;
            *created = true;
            let out = encode(&mut input, BufWriter::new(out), how)?;
            out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        if stamp(path)? == before {
            fs::rename(tmp, target)?;
            fs::remove_file(path)?;
            return Ok(target.to_path_buf());
        }
        // Appended to while compressed (a last batch of another process).
    }
}

/// Size and modification time: what changes when a file is appended to.
fn stamp(path: &Path) -> io::Result<(u64, Option<SystemTime>)> {
    let m = fs::symlink_metadata(path)?;
    Ok((m.len(), m.modified().ok()))
}

#[cfg_attr(not(any(feature = "gzip", feature = "zstd")), allow(unused_variables))]
fn encode(input: &mut File, out: BufWriter<File>, how: Compression) -> io::Result<BufWriter<File>> {
    match how {
        Compression::None => Ok(out),
        #[cfg(feature = "gzip")]
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
            io::copy(input, &mut enc)?;
            enc.finish()
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, 3)?;
            io::copy(input, &mut enc)?;
            enc.finish()
        }
        #[allow(unreachable_patterns)]
        _ => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this build has no such compression",
        )),
    }
}

/// At start-up: removes `.tmp`s a crash left, and queues rotated files
/// that were never compressed.
pub(super) fn sweep(rotated: &[PathBuf], how: Compression) {
    if how == Compression::None {
        return;
    }
    for path in rotated {
        let name = path.as_os_str().as_bytes();
        if SUFFIXES.iter().any(|s| name.ends_with(s.as_bytes())) {
            continue;
        }
        let target = with_suffix(path, how.suffix());
        let _ = fs::remove_file(with_suffix(&target, ".tmp"));
        if target.exists() {
            // Compressed, but the crash came before the original was removed.
            let _ = fs::remove_file(path);
        } else {
            // Maybe rotated a moment ago by a process still running, which
            // another may still append a last batch to: the same wait.
            submit(path.clone(), how, SETTLE);
        }
    }
}

/// A file's bytes, decompressed as its suffix says (tests).
#[cfg(test)]
pub(crate) fn decompress(path: &Path) -> io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    let file = File::open(path)?;
    let name = path.to_string_lossy();
    if name.ends_with(".gz") {
        #[cfg(feature = "gzip")]
        flate2::read::GzDecoder::new(file).read_to_end(&mut out)?;
    } else if name.ends_with(".zst") {
        #[cfg(feature = "zstd")]
        zstd::stream::read::Decoder::new(file)?.read_to_end(&mut out)?;
    } else {
        let mut file = file;
        file.read_to_end(&mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_files_read_back_and_the_original_goes() {
        let dir = tempfile::tempdir().unwrap();
        for how in [Compression::Gzip, Compression::Zstd] {
            let path = dir
                .path()
                .join(format!("app.2026-01-01T00-00-00.1.log{how:?}"));
            let text = "{\"seq\":1}\n".repeat(10_000);
            fs::write(&path, &text).unwrap();
            let out = compress(&path, how).unwrap();
            assert!(!path.exists());
            assert!(fs::metadata(&out).unwrap().len() < text.len() as u64 / 10);
            assert_eq!(decompress(&out).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn a_name_that_is_not_utf8_keeps_its_bytes() {
        use std::ffi::OsStr;
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join(OsStr::from_bytes(b"app\xff.2026-01-01T00-00-00.1.log"));
        fs::write(&path, "{}\n").unwrap();
        let out = compress(&path, Compression::Gzip).unwrap();
        assert_eq!(
            out.file_name().unwrap().as_bytes(),
            b"app\xff.2026-01-01T00-00-00.1.log.gz"
        );
        assert_eq!(decompress(&out).unwrap(), b"{}\n");
    }

    #[test]
    fn names_parse() {
        assert_eq!("gzip".parse::<Compression>().unwrap(), Compression::Gzip);
        assert_eq!("zstd".parse::<Compression>().unwrap(), Compression::Zstd);
        assert_eq!("none".parse::<Compression>().unwrap(), Compression::None);
        assert_eq!(
            "lz4".parse::<Compression>().unwrap_err().to_string(),
            "invalid compression \"lz4\"; expected \"gzip\", \"zstd\" or \"none\" (of those this build has)"
        );
    }
}
