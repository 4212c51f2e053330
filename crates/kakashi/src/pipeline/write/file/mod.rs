//! The file writer: appends each batch with one `write` call, and keeps the
//! file it writes the one at its path: rotated, pruned, reopened.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("logs/app.log");
//! let writer = kakashi::file_writer(&path).unwrap(); // creates logs/
//! assert_eq!(writer.path(), path.as_path());
//! let err = kakashi::file_writer(dir.path()).unwrap_err(); // a directory
//! assert!(err.to_string().starts_with("cannot open log file"));
//!
//! let options = kakashi::FileOptions::new()
//!     .rotation("100 MB, daily".parse()?)
//!     .retention("10".parse()?);
//! let rotating = kakashi::file_writer_with(dir.path().join("app.log"), options)?;
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! Guarantees:
//! - a batch is appended whole (one `write` on a file opened `O_APPEND`, so
//!   batches of several processes never interleave within a line) or, if
//!   the OS fails part-way, cut back to its last complete line when no
//!   other process appended since, so the file never holds a torn line;
//! - before each batch, the path is compared with the open file (device and
//!   inode): a file moved or deleted from outside (logrotate's default
//!   mode) is followed by a new one at the path, never written unlinked;
//!   [`reopen_files`] asks every file writer to reopen before its next batch;
//! - with a [`Rotation`], the file is moved aside to a rotated name once it
//!   reached the size (so a rotated file holds at least that much) or a time
//!   boundary passed, one rotation per threshold across processes (see
//!   `rotate.rs`); with a [`Retention`], rotated files beyond it are removed
//!   after each rotation and when the writer is made; with a
//!   [`Compression`], rotated files are compressed on a background thread
//!   (`compress.rs`);
//! - an error (a full disk, a removed directory, no permission) fails the
//!   batch, counted by the pipeline, and the next batch tries again: the
//!   writer reopens its path (creating the directory) until it can write.

mod compress;
mod policy;
mod rotate;

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pub use compress::Compression;
pub(crate) use compress::{
    hold_for_fork as hold_compression_for_fork, release_thread as release_compression_thread,
};
pub use policy::{Boundary, Fsync, Retention, Rotation};
use rotate::{Names, LOCK_BACKOFF, LOCK_PATIENCE};

use crate::error::ConfigError;
use crate::pipeline::{Batch, WriteError, Writer};

/// What a file writer does beyond appending: [`file_writer_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FileOptions {
    /// When to rotate (default: never).
    pub rotation: Rotation,
    /// Which rotated files to keep (default: all).
    pub retention: Retention,
    /// When to force data to the disk (default: never; the OS writes back).
    pub fsync: Fsync,
    /// How rotated files are compressed (default: not), on a background
    /// thread.
    pub compression: Compression,
}

impl FileOptions {
    /// One file, kept forever, not synced: what [`file_writer`] does.
    pub fn new() -> FileOptions {
        FileOptions::default()
    }

    /// Sets the rotation.
    pub fn rotation(mut self, rotation: Rotation) -> FileOptions {
        self.rotation = rotation;
        self
    }

    /// Sets the retention.
    pub fn retention(mut self, retention: Retention) -> FileOptions {
        self.retention = retention;
        self
    }

    /// Sets the compression of rotated files.
    pub fn compression(mut self, compression: Compression) -> FileOptions {
        self.compression = compression;
        self
    }

    /// Sets the fsync policy.
    pub fn fsync(mut self, fsync: Fsync) -> FileOptions {
        self.fsync = fsync;
        self
    }
}

/// Bumped by [`reopen_files`]; each writer reopens when it sees a new value.
static REOPEN: AtomicU64 = AtomicU64::new(0);

/// Asks every file writer of the process to reopen its path before its next
/// batch (what a `SIGHUP` from logrotate's `postrotate` usually means).
/// Only an atomic increment: safe to call from a signal handler.
pub fn reopen_files() {
    REOPEN.fetch_add(1, Relaxed);
}

/// Makes `SIGHUP` call [`reopen_files`], as logrotate's `postrotate` with
/// `kill -HUP` expects (opt-in: it replaces the signal's disposition, which
/// by default ends the process). The handler only increments an atomic.
///
/// # Errors
/// The OS error of `sigaction`.
#[cfg(unix)]
pub fn reopen_files_on_sighup() -> io::Result<()> {
    extern "C" fn on_sighup(_: libc::c_int) {
        reopen_files();
    }
    crate::sys::on_sighup(on_sighup)
}

/// Appends batches to a file. Built by [`file_writer`] or [`file_writer_with`].
#[derive(Debug)]
pub struct FileWriter {
    path: PathBuf,
    /// `path` made absolute (and a symlink resolved) when the writer was
    /// made: a later `chdir` of the process must not move the file.
    at: PathBuf,
    /// `None` after a reopen failed: the next batch tries again.
    file: Option<File>,
    /// Device and inode of `file`.
    identity: (u64, u64),
    /// The permission bits of `file`: a file this writer creates (after a
    /// rotation, or a deletion) gets them, so a log kept private stays so.
    mode: u32,
    options: FileOptions,
    names: Names,
    /// The next time boundary (seconds since the epoch), when rotating by time.
    next_boundary: Option<u64>,
    /// The [`REOPEN`] value last acted on.
    reopened: u64,
    last_sync: Instant,
    /// After the rotation lock could not be had: no new try before this.
    lock_again_at: Option<Instant>,
    /// A failed rotation or retention was reported on stderr.
    said_rotation_failed: bool,
}

/// Opens `path` for appending, creating it and its parent directories.
///
/// # Errors
/// [`ConfigError::File`] when the directory cannot be created or the file
/// cannot be opened for writing (a directory, no permission, ...).
pub fn file_writer(path: impl AsRef<Path>) -> Result<FileWriter, ConfigError> {
    file_writer_with(path, FileOptions::new())
}

/// [`file_writer`] with rotation, retention, compression and an fsync
/// policy. Retention is applied once here, before the first batch, and
/// rotated files a crash left uncompressed are handed to the compressor.
///
/// # Errors
/// As [`file_writer`], and [`ConfigError::File`] when the rotated files
/// cannot be listed for retention.
pub fn file_writer_with(
    path: impl AsRef<Path>,
    options: FileOptions,
) -> Result<FileWriter, ConfigError> {
    let path = path.as_ref().to_path_buf();
    let wrap = |source| ConfigError::File {
        path: path.clone(),
        source,
    };
    let at = std::path::absolute(&path).map_err(wrap)?;
    let (file, identity, mode) = open(&at, 0o666).map_err(wrap)?;
    // A symlinked path (`logs/app.log -> data/app.log`): the file is the
    // target, resolved once, and rotated beside it; the link keeps naming
    // the current file. (Rotating the link itself moved the link and left
    // the target's records behind, beside their compressed copy.)
    let at = match std::fs::symlink_metadata(&at) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(&at).map_err(wrap)?,
        _ => at,
    };
    let names = Names::of(&at);
    if file.metadata().is_ok_and(|m| m.nlink() > 1) {
        names.forget_half_moves(identity);
    }
    // The sweep first: it removes a crash's .tmp beside each rotated file,
    // which retention may remove next.
    compress::sweep(&names.rotated_files().map_err(wrap)?, options.compression);
    names
        .apply(options.retention, SystemTime::now())
        .map_err(wrap)?;
    let mut writer = FileWriter {
        names,
        file: Some(file),
        identity,
        mode,
        options,
        next_boundary: None,
        reopened: REOPEN.load(Relaxed),
        last_sync: Instant::now(),
        lock_again_at: None,
        said_rotation_failed: false,
        path,
        at,
    };
    writer.next_boundary = writer.first_boundary();
    Ok(writer)
}

/// Opens `path` for appending (creating it, with `mode` less the umask,
/// and its directory) and reads its identity and permission bits.
fn open(path: &Path, mode: u32) -> io::Result<(File, (u64, u64), u32)> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .open(path)?;
    let meta = file.metadata()?;
    Ok((file, (meta.dev(), meta.ino()), meta.mode() & 0o777))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl FileWriter {
    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reopens the path now (see [`reopen_files`] for writers already handed
    /// to a pipeline).
    ///
    /// # Errors
    /// The error opening the path; the next batch tries again.
    pub fn reopen(&mut self) -> io::Result<()> {
        self.file = None;
        let (file, identity, mode) = open(&self.at, self.mode)?;
        self.file = Some(file);
        self.identity = identity;
        self.mode = mode;
        Ok(())
    }

    /// The boundary after the open file's last change: a file left from an
    /// earlier period rotates before its first batch.
    fn first_boundary(&self) -> Option<u64> {
        let every = self.options.rotation.every?;
        let since = self
            .file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .filter(|m| m.len() > 0)
            .and_then(|m| m.modified().ok())
            .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
            .map_or_else(now_secs, |d| d.as_secs())
            // A modification time ahead of the clock (set back since, or a
            // file from another host) must not put the boundary off.
            .min(now_secs());
        Some(every.next_after(since))
    }

    /// Before a batch: follows the path if it changed or a reopen was asked
    /// for, then rotates if due.
    fn prepare(&mut self) -> io::Result<()> {
        let asked = REOPEN.load(Relaxed);
        if asked != self.reopened || self.file.is_none() || !self.path_is_open_file() {
            self.reopened = asked;
            self.reopen()?;
            // Another writer of the path may have rotated it: the boundary
            // is the new file's, not the one this writer last computed.
            self.next_boundary = self.first_boundary();
        }
        if !self.options.rotation.is_never() && self.rotation_due().is_some() {
            if self.is_empty() {
                // Nothing to move aside: the period just starts over.
                self.next_boundary = self.first_boundary();
            } else {
                self.rotate()?;
            }
        }
        Ok(())
    }

    fn is_empty(&self) -> bool {
        self.file
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() == 0)
    }

    /// Whether the path still names the open file.
    fn path_is_open_file(&self) -> bool {
        std::fs::metadata(&self.at).is_ok_and(|m| (m.dev(), m.ino()) == self.identity)
    }

    /// The second a rotation due now is named by: the boundary passed, or
    /// now for a size reached.
    fn rotation_due(&self) -> Option<u64> {
        let now = now_secs();
        if let Some(at) = self.next_boundary.filter(|at| now >= *at) {
            return Some(at);
        }
        let limit = self.options.rotation.size?;
        let len = self.file.as_ref()?.metadata().ok()?.len();
        (len >= limit).then_some(now)
    }

    /// Moves the file aside under the rotation lock (unless another process
    /// did already), reopens the path and applies retention.
    fn rotate(&mut self) -> io::Result<()> {
        if self.lock_again_at.is_some_and(|at| Instant::now() < at) {
            return Ok(());
        }
        let Some(_lock) = self.names.lock(LOCK_PATIENCE)? else {
            // Held by a stopped or slow process: write on, and try again
            // after a pause rather than before every batch.
            self.lock_again_at = Some(Instant::now() + LOCK_BACKOFF);
            return Ok(());
        };
        self.lock_again_at = None;
        // One listing for the move and retention both (see `rotate.rs`),
        // taken only when one of them needs it.
        let due = self
            .path_is_open_file()
            .then(|| self.rotation_due())
            .flatten();
        let retention = self.options.retention;
        let mut listing = if due.is_some() || !retention.keeps_all() {
            self.names.list()?
        } else {
            Vec::new()
        };
        if let Some(secs) = due {
            let rotated = self.names.move_aside(&self.at, secs, &mut listing)?;
            compress::submit(rotated, self.options.compression, compress::SETTLE);
        }
        self.reopen()?;
        if let Some(every) = self.options.rotation.every {
            self.next_boundary = Some(every.next_after(now_secs()));
        }
        self.names.prune(&mut listing, retention, SystemTime::now());
        Ok(())
    }

    fn sync_if_due(&mut self) {
        let due = match self.options.fsync {
            Fsync::Never => false,
            Fsync::EveryBatch => true,
            Fsync::Every(period) => self.last_sync.elapsed() >= period,
        };
        if due {
            if let Some(file) = &self.file {
                // A failed fsync leaves the data with the OS; the next one tries again.
                let _ = file.sync_data();
            }
            self.last_sync = Instant::now();
        }
    }

    /// After a failed write of which `done` bytes landed: cut a torn last
    /// line back off the file, when nothing was appended after it (another
    /// process's lines must stay), and report the complete lines as
    /// delivered.
    fn partial(&mut self, batch: &Batch<'_>, done: usize, error: io::Error) -> WriteError {
        let complete = batch.ends().partition_point(|&end| end <= done);
        let complete_bytes = if complete == 0 {
            0
        } else {
            batch.ends()[complete - 1]
        };
        let torn = (done - complete_bytes) as u64;
        if let Some(file) = self.file.as_mut().filter(|_| torn > 0) {
            let ours_is_last = match (file.stream_position(), file.metadata()) {
                (Ok(end), Ok(meta)) => meta.len() == end,
                _ => false,
            };
            if ours_is_last {
                if let Ok(end) = file.stream_position() {
                    let _ = file.set_len(end.saturating_sub(torn));
                }
            }
        }
        WriteError {
            written: complete,
            failed: batch.len() - complete,
            error,
        }
    }
}

impl Writer for FileWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        if let Err(e) = self.prepare() {
            if self.file.is_none() {
                return Err(WriteError::all(batch.len(), e));
            }
            // A rotation or retention failed: the batch still goes to the
            // open file (nothing is lost), and the next batch tries again;
            // said once on stderr, so that a file growing past its rotation
            // is not a mystery.
            if !self.said_rotation_failed {
                self.said_rotation_failed = true;
                eprintln!(
                    "kakashi: writer file:{}: rotation or retention failed: {e} \
                     (writing on to the current file; tried again at each batch)",
                    self.path.display()
                );
            }
        }
        let bytes = batch.bytes();
        let mut done = 0;
        while done < bytes.len() {
            let Some(file) = self.file.as_mut() else {
                return Err(WriteError::all(batch.len(), io::ErrorKind::NotFound.into()));
            };
            match file.write(&bytes[done..]) {
                Ok(0) => return Err(self.partial(batch, done, io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.partial(batch, done, e)),
            }
        }
        self.sync_if_due();
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Every batch is written through: a flush has nothing to push, but a
        // policy that syncs on a period should not leave the last batch behind.
        if !matches!(self.options.fsync, Fsync::Never) {
            if let Some(file) = &self.file {
                file.sync_data()?;
            }
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        match &self.file {
            Some(file) => file.sync_data(),
            None => Ok(()),
        }
    }

    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }
}
