//! Rotated files: their names, the lock that makes one process rotate at a
//! threshold, and retention.
//!
//! A rotated file is named `<stem>.<UTC second>.<n><ext>` beside the file
//! (`app.log` -> `app.2026-12-02T13-00-00.1.log`): the second sorts by name,
//! and `n` is one above the highest of that second still there (compressed
//! or not), so a rotation never replaces a file and the newest always sorts
//! last. The move is one `renameat2(RENAME_NOREPLACE)` where Linux and the
//! filesystem have it, else `link` then `unlink`: both fail rather than
//! replace an existing name, where a plain `rename` would replace it.
//!
//! Several processes: the decision to rotate is taken under an advisory
//! lock (`flock`) on a sibling file `.<name>.lock`, opened afresh each time
//! (a forked child shares its parent's open files, and with them a lock
//! held through them). Under the lock, the writer looks again: if the path
//! is no longer the file it has open, another process rotated it, and it
//! only reopens. So one threshold makes one rotation, whatever the number of
//! processes. The lock is only tried, for up to [`LOCK_PATIENCE`], and not
//! again for [`LOCK_BACKOFF`]: a holder that is stopped delays a rotation,
//! and the writes only by that much now and then.
//!
//! Cost: a rotation lists the directory once, under the lock, and both the
//! move (its counter) and retention work from that [`Listing`]: a rotation
//! runs on the worker that writes the file, so its cost must not grow with
//! the rotated files kept beyond that one listing. Nothing is remembered
//! from one rotation's listing to the next: other processes rotate, prune
//! and compress the same files, and files are deleted by hand.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::compress::SUFFIXES;
use super::policy::Retention;
use crate::pipeline::format::file_stamp;

/// How long a writer tries for the rotation lock (its holder needs it for a
/// rename, an open and a directory listing) before it writes on.
pub(super) const LOCK_PATIENCE: Duration = Duration::from_millis(50);

/// How long a writer that could not have the lock waits before trying
/// again, so that a stopped holder costs a batch a pause now and then, not
/// every batch.
pub(super) const LOCK_BACKOFF: Duration = Duration::from_secs(1);

/// The parts a rotated name is made of: bytes, as a name need not be
/// UTF-8 (two names differing only in such bytes keep apart).
#[derive(Debug)]
pub(super) struct Names {
    dir: PathBuf,
    /// `app.` for `app.log`.
    prefix: Vec<u8>,
    /// `.log` for `app.log`, empty for a name without an extension.
    ext: Vec<u8>,
    /// `.app.log.lock`.
    lock: PathBuf,
}

/// A rotated name's sort key: its stamp (`2026-12-02T13-00-00`, which
/// sorts as the time) and its counter.
type Key = ([u8; 19], u32);

/// One listing of the directory: this file's rotated files, in the
/// directory's order (sorted only where the order matters: retention).
pub(super) type Listing = Vec<Rotated>;

/// A rotated file, as listed. One rotation may have two (its file and,
/// while it is being made or after a crash, its compressed copy): they
/// share the key.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Rotated {
    key: Key,
    /// The name in the directory.
    name: OsString,
}

impl Names {
    pub(super) fn of(path: &Path) -> Names {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name: &[u8] = path.file_name().map_or(&[], |n| n.as_bytes());
        let (stem, ext) = match name.iter().rposition(|&b| b == b'.') {
            Some(dot) if dot > 0 => name.split_at(dot),
            _ => (name, &[][..]),
        };
        Names {
            lock: dir.join(OsStr::from_bytes(&[b".", name, b".lock"].concat())),
            dir,
            prefix: [stem, b"."].concat(),
            ext: ext.to_vec(),
        }
    }

    /// `<stem>.<stamp>.<n><ext>` in the directory.
    fn rotated(&self, secs: u64, n: u32) -> PathBuf {
        let middle = format!("{}.{n}", file_stamp(secs));
        let name = [&self.prefix[..], middle.as_bytes(), &self.ext[..]].concat();
        self.dir.join(OsStr::from_bytes(&name))
    }

    /// Whether `file_name` is one of this file's rotated names, and its
    /// sort key (stamp, counter).
    fn parse(&self, file_name: &OsStr) -> Option<Key> {
        let file_name = file_name.as_bytes();
        let file_name = SUFFIXES
            .iter()
            .find_map(|c| file_name.strip_suffix(c.as_bytes()))
            .unwrap_or(file_name);
        let middle = file_name
            .strip_prefix(&self.prefix[..])?
            .strip_suffix(&self.ext[..])?;
        let middle = std::str::from_utf8(middle).ok()?;
        let (stamp, n) = middle.rsplit_once('.')?;
        let valid_stamp = stamp.len() == 19
            && stamp.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 | 13 | 16 => b == b'-',
                10 => b == b'T',
                _ => b.is_ascii_digit(),
            });
        let n = n.parse::<u32>().ok().filter(|n| *n >= 1)?;
        let stamp: [u8; 19] = stamp.as_bytes().try_into().ok()?;
        valid_stamp.then_some((stamp, n))
    }

    /// This file's rotated files, oldest first.
    pub(super) fn rotated_files(&self) -> io::Result<Vec<PathBuf>> {
        let mut listing = self.list()?;
        listing.sort_unstable();
        Ok(listing.iter().map(|r| self.dir.join(&r.name)).collect())
    }

    /// Lists the directory once: this file's rotated files.
    pub(super) fn list(&self) -> io::Result<Listing> {
        let mut listing = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            if let Some(key) = self.parse(&name) {
                listing.push(Rotated { key, name });
            }
        }
        Ok(listing)
    }

    /// Takes the rotation lock, trying for at most `patience`; `None` when
    /// another process holds it that long.
    pub(super) fn lock(&self, patience: Duration) -> io::Result<Option<File>> {
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.lock)?;
        let deadline = Instant::now() + patience;
        loop {
            if crate::sys::try_lock_exclusive(&file)? {
                return Ok(Some(file));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Gives `path` its rotated name for the second `secs`, never replacing
    /// a file, and adds it to `listing` (taken under the lock, so that no
    /// other process rotates meanwhile). Returns the new name.
    pub(super) fn move_aside(
        &self,
        path: &Path,
        secs: u64,
        listing: &mut Listing,
    ) -> io::Result<PathBuf> {
        // Above every counter of this second still there (compressed or
        // not): a name freed by retention is never reused, or the newest
        // file would sort before older ones of its second.
        let stamp = file_stamp(secs);
        let first = listing
            .iter()
            .filter(|r| r.key.0 == stamp.as_bytes())
            .map(|r| r.key.1.saturating_add(1))
            .max()
            .unwrap_or(1);
        for n in first..=u32::MAX {
            let target = self.rotated(secs, n);
            // In one step where the OS can: a crash never leaves the file
            // with two names, and where a name can be added but not removed
            // (an append-only directory) nothing is added.
            match crate::sys::rename_noreplace(path, &target) {
                Ok(true) => return Ok(Self::listed(listing, &stamp, n, target)),
                Ok(false) => continue,
                Err(e) if e.kind() == io::ErrorKind::Unsupported => {}
                Err(e) => return Err(e),
            }
            match fs::hard_link(path, &target) {
                Ok(()) => {
                    fs::remove_file(path)?;
                    return Ok(Self::listed(listing, &stamp, n, target));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "every rotated name is taken",
        ))
    }

    /// Adds the file just moved to `target` to `listing`; returns `target`.
    fn listed(listing: &mut Listing, stamp: &str, n: u32, target: PathBuf) -> PathBuf {
        if let (Ok(stamp), Some(name)) = (stamp.as_bytes().try_into(), target.file_name()) {
            listing.push(Rotated {
                key: (stamp, n),
                name: name.to_os_string(),
            });
        }
        target
    }

    /// Removes the rotated names of the file `identity` (device, inode): a
    /// crash between a move's link and unlink left the current file with
    /// one, which would be compressed, counted and rotated again with it.
    /// Under the lock, where no move is under way.
    pub(super) fn forget_half_moves(&self, identity: (u64, u64)) {
        let Ok(Some(_lock)) = self.lock(LOCK_PATIENCE) else {
            return;
        };
        for file in self.rotated_files().unwrap_or_default() {
            if fs::symlink_metadata(&file).is_ok_and(|m| (m.dev(), m.ino()) == identity) {
                let _ = fs::remove_file(&file);
            }
        }
    }

    /// Removes the rotated files `retention` does not keep; the current file
    /// is never one of them. Returns how many rotations' files were removed.
    pub(super) fn apply(&self, retention: Retention, now: SystemTime) -> io::Result<usize> {
        if retention.keeps_all() {
            return Ok(0);
        }
        let mut listing = self.list()?;
        Ok(self.prune(&mut listing, retention, now))
    }

    /// [`Names::apply`] on a listing already taken (which it sorts). By
    /// age, a rotation goes when each of its files was last modified longer
    /// ago than the maximum age.
    pub(super) fn prune(
        &self,
        listing: &mut Listing,
        retention: Retention,
        now: SystemTime,
    ) -> usize {
        if retention.keeps_all() {
            return 0;
        }
        listing.sort_unstable();
        let groups: Vec<&[Rotated]> = listing.chunk_by(|a, b| a.key == b.key).collect();
        let over = retention
            .count
            .map_or(0, |keep| groups.len().saturating_sub(keep));
        let mut removed = 0;
        for (i, group) in groups.iter().enumerate() {
            let too_many = i < over;
            let too_old = !too_many
                && retention.max_age.is_some_and(|age| {
                    group.iter().all(|file| {
                        fs::metadata(self.dir.join(&file.name))
                            .and_then(|m| m.modified())
                            .ok()
                            .and_then(|m| now.duration_since(m).ok())
                            .is_some_and(|d| d > age)
                    })
                });
            if !(too_many || too_old) {
                continue;
            }
            let mut gone = true;
            for file in *group {
                let path = self.dir.join(&file.name);
                for path in std::iter::once(path.clone()).chain(compressed_copies(&path)) {
                    match fs::remove_file(&path) {
                        Ok(()) => {}
                        // Another process's retention (or the compressor) got there first.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        // Kept on purpose (immutable, another user's): the
                        // others are still pruned, and the writer still made.
                        Err(_) => gone = false,
                    }
                }
            }
            removed += usize::from(gone);
        }
        removed
    }
}

/// The names a compression of the uncompressed rotated file `path` makes
/// (none for a compressed one): one that appeared since the listing (the
/// compressor finished meanwhile) goes with its rotation.
fn compressed_copies(path: &Path) -> Vec<PathBuf> {
    let name = path.as_os_str().as_bytes();
    if SUFFIXES.iter().any(|s| name.ends_with(s.as_bytes())) {
        return Vec::new();
    }
    SUFFIXES
        .iter()
        .map(|s| PathBuf::from(OsStr::from_bytes(&[name, s.as_bytes()].concat())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotated_names_sort_and_only_this_files_count() {
        let dir = tempfile::tempdir().unwrap();
        let names = Names::of(&dir.path().join("app.log"));
        let a = names.rotated(1_764_680_400, 2);
        assert_eq!(a.file_name().unwrap(), "app.2025-12-02T13-00-00.2.log");
        for p in [
            names.rotated(1_764_680_400, 10),
            names.rotated(1_764_680_400, 2),
            names.rotated(1_764_676_800, 1),
            dir.path().join("app.log"),
            dir.path().join("app.2025-12-02T13-00-00.x.log"),
            dir.path().join("other.2025-12-02T13-00-00.1.log"),
            dir.path().join("app.2025-12-02T13-00-00.1.log.gz.tmp"),
        ] {
            fs::write(p, "x").unwrap();
        }
        let found: Vec<String> = names
            .rotated_files()
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            found,
            [
                "app.2025-12-02T12-00-00.1.log",
                "app.2025-12-02T13-00-00.2.log",
                "app.2025-12-02T13-00-00.10.log"
            ]
        );
    }

    #[test]
    fn moving_aside_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let names = Names::of(&path);
        fs::write(names.rotated(0, 1), "older").unwrap();
        fs::write(&path, "current").unwrap();
        let moved = names
            .move_aside(&path, 0, &mut names.list().unwrap())
            .unwrap();
        assert_eq!(moved, names.rotated(0, 2));
        assert_eq!(fs::read_to_string(names.rotated(0, 1)).unwrap(), "older");
        assert_eq!(fs::read_to_string(moved).unwrap(), "current");
        assert!(!path.exists());
        // Counter 2 compressed, 1 removed by retention: the next is 3, not 1.
        fs::rename(
            names.rotated(0, 2),
            format!("{}.gz", names.rotated(0, 2).display()),
        )
        .unwrap();
        fs::remove_file(names.rotated(0, 1)).unwrap();
        fs::write(&path, "newest").unwrap();
        let mut listing = names.list().unwrap();
        assert_eq!(
            names.move_aside(&path, 0, &mut listing).unwrap(),
            names.rotated(0, 3)
        );
        // The listing has the moved file, which sorts last.
        listing.sort_unstable();
        let listed: Vec<PathBuf> = listing.iter().map(|r| dir.path().join(&r.name)).collect();
        let compressed = PathBuf::from(format!("{}.gz", names.rotated(0, 2).display()));
        assert_eq!(listed, [compressed, names.rotated(0, 3)]);
    }

    #[test]
    fn retention_keeps_the_newest_and_never_the_current_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let names = Names::of(&path);
        fs::write(&path, "current").unwrap();
        for s in 0..5 {
            fs::write(names.rotated(s * 3600, 1), "x").unwrap();
        }
        let removed = names.apply(Retention::count(2), SystemTime::now()).unwrap();
        assert_eq!(removed, 3);
        assert_eq!(
            names.rotated_files().unwrap(),
            [names.rotated(3 * 3600, 1), names.rotated(4 * 3600, 1)]
        );
        assert!(path.exists());
        let later = SystemTime::now() + Duration::from_secs(3600);
        let by_age = Retention {
            count: None,
            max_age: Some(Duration::from_secs(60)),
        };
        assert_eq!(names.apply(by_age, later).unwrap(), 2);
        assert!(path.exists());
    }

    #[test]
    fn pruning_a_listing_takes_a_copy_compressed_since() {
        let dir = tempfile::tempdir().unwrap();
        let names = Names::of(&dir.path().join("app.log"));
        for s in 0..3 {
            fs::write(names.rotated(s * 3600, 1), "x").unwrap();
        }
        let mut listing = names.list().unwrap();
        // The compressor finishes the oldest after the listing.
        let oldest = names.rotated(0, 1);
        let compressed = PathBuf::from(format!("{}.gz", oldest.display()));
        fs::rename(&oldest, &compressed).unwrap();
        let removed = names.prune(&mut listing, Retention::count(2), SystemTime::now());
        assert_eq!(removed, 1);
        assert!(!compressed.exists());
        assert_eq!(
            names.rotated_files().unwrap(),
            [names.rotated(3600, 1), names.rotated(7200, 1)]
        );
    }
}
