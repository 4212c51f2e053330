//! Hostile but realistic use of managed files: what a crash, a clock, a
//! second writer of the path, a symlink, odd names or a stuck process do to
//! rotation, retention and compression. Real files in a temporary directory.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use kakashi::{file_writer_with, info, Backend, FileOptions, Logger, PipelineConfig, Retention};

/// A synchronous logger (each record is one batch) writing to `path`.
fn logger(name: &str, path: &Path, options: FileOptions) -> Logger {
    Backend::synchronous().logger(
        name,
        PipelineConfig::new().writer(file_writer_with(path, options).unwrap()),
    )
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The text of a file, through gzip for `.gz`.
fn text_of(path: &Path) -> String {
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = std::fs::read_to_string(path).unwrap();
    }
    text
}

/// Waits (at most `secs`) until `done` holds.
fn wait_for(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

// === compression leftovers ===

/// A crash mid-compression left `X.gz.tmp` beside `X`; at the next start,
/// retention removes `X` (it is beyond the count) before the sweep looks
/// for leftovers, so the `.tmp` is never removed by anyone.
#[test]
fn a_crash_left_tmp_goes_even_when_retention_removes_its_rotated_file() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("app.2026-01-01T00-00-00.1.log");
    std::fs::write(&old, "{\"seq\":1}\n").unwrap();
    let tmp = dir.path().join("app.2026-01-01T00-00-00.1.log.gz.tmp");
    std::fs::write(&tmp, "partial").unwrap();
    for day in 2..=4 {
        let newer = dir
            .path()
            .join(format!("app.2026-01-0{day}T00-00-00.1.log.gz"));
        std::fs::write(newer, "").unwrap();
    }
    let options = FileOptions::new()
        .rotation("1 MB".parse().unwrap())
        .retention(Retention::count(2))
        .compression("gzip".parse().unwrap());
    let _writer = file_writer_with(dir.path().join("app.log"), options).unwrap();
    assert!(!old.exists(), "retention kept a file beyond the count");
    // Give a compression job (if any) time to run: none should be needed.
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !tmp.exists(),
        "a compression leftover stays for ever: {:?}",
        names(dir.path())
    );
}

/// Retention removes a rotated file while the compressor is compressing
/// it (a low count, big files): the compressor fails on the vanished
/// source and leaves its partial `.gz.tmp`, which no sweep ever removes
/// (the sweep only looks beside rotated files that still exist).
#[test]
fn compression_cut_short_by_retention_leaves_no_tmp() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let options = FileOptions::new()
        .rotation("10 MB".parse().unwrap())
        .retention(Retention::count(1))
        .compression("gzip".parse().unwrap());
    let log = logger("big", &path, options);
    // 1 MB records of text that compresses slowly.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let pad: String = (0..1_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"0123456789abcdef"[(state % 16) as usize])
        })
        .collect();
    // Ten records fill the file; the eleventh moves it aside.
    for seq in 0..11 {
        info!(log, "big", seq = seq, pad = pad.as_str());
    }
    // The compressor starts a second after the rotation; once its .tmp
    // exists, fill and rotate again: retention (count 1) removes the file
    // being compressed.
    let compressing = wait_for(10, || names(dir.path()).iter().any(|n| n.ends_with(".tmp")));
    for seq in 11..21 {
        info!(log, "big", seq = seq, pad = pad.as_str());
    }
    // The compressor takes its jobs in order: once the second rotated file
    // is compressed, the first job is over.
    assert!(wait_for(20, || names(dir.path())
        .iter()
        .any(|n| n.ends_with(".log.gz"))));
    let left: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(compressing, "the compressor never started (test setup)");
    assert!(
        left.is_empty(),
        "compression leftovers: {left:?} in {:?}",
        names(dir.path())
    );
}

// === time rotation ===

/// Two writers of one path (two loggers of one file in a process, or two
/// processes): the first rotates at the boundary and starts a new file; the
/// second sees the path changed, reopens it, still holds the passed
/// boundary, and rotates the other writer's brand-new file a second time.
/// One boundary must make one rotated file (the core test asserts `.1.log`
/// for one writer; here `.2.log` files appear).
#[test]
fn one_time_boundary_makes_one_rotation_with_two_writers_of_a_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let options = FileOptions::new().rotation("1 second".parse().unwrap());
    let a = logger("a", &path, options);
    let b = logger("b", &path, options);
    let started = Instant::now();
    let mut seq = 0u64;
    while started.elapsed() < Duration::from_millis(3_500) {
        info!(a, "tick", seq = seq);
        info!(b, "tick", seq = seq);
        seq += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let rotated: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("app.2"))
        .collect();
    assert!(rotated.len() >= 2, "{rotated:?}");
    let twice: Vec<&String> = rotated.iter().filter(|n| !n.ends_with(".1.log")).collect();
    assert!(
        twice.is_empty(),
        "a boundary rotated more than once: {twice:?} among {rotated:?}"
    );
}

/// The same stale boundary, worse: a writer that was idle keeps the
/// boundary it computed at its last write; another writer (here rotating
/// by size) rotated meanwhile. When the idle one writes again, it reopens
/// the path and rotates the other's current file under its old boundary's
/// name, which sorts before older rotated files: names no longer follow
/// the data, and retention by count (oldest name first) removes the newest
/// records first.
#[test]
fn rotated_names_sort_like_their_records_with_an_idle_second_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let idle = logger(
        "idle",
        &path,
        FileOptions::new().rotation("1 second".parse().unwrap()),
    );
    let busy = logger(
        "busy",
        &path,
        FileOptions::new().rotation("2 KB".parse().unwrap()),
    );
    let mut seq = 0u64;
    info!(idle, "m", seq = seq);
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(3_300) {
        seq += 1;
        info!(busy, "m", seq = seq, pad = "p".repeat(200).as_str());
        std::thread::sleep(Duration::from_millis(20));
    }
    seq += 1;
    info!(idle, "m", seq = seq); // rotates busy's current file
    seq += 1;
    info!(busy, "m", seq = seq);
    // Rotated files in name order, then the current file: seq must rise.
    let mut files: Vec<PathBuf> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("app.2"))
        .map(|n| {
            let (stamp, rest) = n["app.".len()..].split_at(19);
            let counter: u32 = rest[1..rest.len() - ".log".len()].parse().unwrap();
            (stamp.to_owned(), counter, dir.path().join(n))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|(_, _, p)| p)
        .collect();
    files.push(path);
    let mut last = None;
    for f in &files {
        for line in text_of(f).lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            let s = r["fields"]["seq"].as_u64().unwrap();
            assert!(
                last.is_none_or(|l| s > l),
                "seq {s} in {f:?} sorts after seq {last:?}: {:?}",
                names(dir.path())
            );
            last = Some(s);
        }
    }
}

/// The log file's modification time is ahead of the clock (a clock set
/// back by NTP after a boot with a fast RTC, a file copied from another
/// host): the first boundary is computed from that future time, so time
/// rotation stops until the clock catches up (here ten days).
#[test]
fn a_log_file_modified_in_the_future_still_rotates_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "{\"old\":true}\n").unwrap();
    let ahead = SystemTime::now() + Duration::from_secs(10 * 86_400);
    std::fs::File::options()
        .append(true)
        .open(&path)
        .unwrap()
        .set_modified(ahead)
        .unwrap();
    let log = logger(
        "t",
        &path,
        FileOptions::new().rotation("1 second".parse().unwrap()),
    );
    let started = Instant::now();
    let mut seq = 0u64;
    while started.elapsed() < Duration::from_millis(2_500) {
        info!(log, "tick", seq = seq);
        seq += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let rotated: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("app.2"))
        .collect();
    assert!(
        !rotated.is_empty(),
        "no rotation by \"1 second\" in 2.5 s: {:?}",
        names(dir.path())
    );
}

/// A crash (SIGKILL, power loss) between `move_aside`'s `link` and
/// `unlink` leaves the current file with two names: the path and a rotated
/// name. The next writer takes the rotated name for a finished rotation
/// (retention counts it, compression compresses it) while it keeps
/// appending to the same inode through the path; the next rotation gives
/// that inode a second rotated name: every record of it is on disk twice.
#[test]
fn a_crash_between_link_and_unlink_duplicates_no_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let before: String = (0..100u64)
        .map(|seq| format!("{{\"fields\":{{\"seq\":{seq}}}}}\n"))
        .collect();
    std::fs::write(&path, before).unwrap();
    std::fs::hard_link(&path, dir.path().join("app.2026-01-01T00-00-00.1.log")).unwrap();
    let log = logger(
        "after",
        &path,
        FileOptions::new().rotation("5 KB".parse().unwrap()),
    );
    for seq in 100..300u64 {
        info!(log, "m", seq = seq);
    }
    let mut seen: HashMap<u64, Vec<String>> = HashMap::new();
    for name in names(dir.path()) {
        if name.starts_with('.') {
            continue;
        }
        for line in text_of(&dir.path().join(&name)).lines() {
            let r: serde_json::Value = serde_json::from_str(line).unwrap();
            seen.entry(r["fields"]["seq"].as_u64().unwrap())
                .or_default()
                .push(name.clone());
        }
    }
    assert_eq!(seen.len(), 300, "records lost");
    let twice = seen.values().filter(|v| v.len() > 1).count();
    assert_eq!(
        twice, 0,
        "records on disk twice, e.g. seq 0 in {:?}",
        seen[&0]
    );
}

// === symlinks and names ===

/// `logs/app.log` is a symlink to `data/app.log` (a common layout). The
/// rotation hard-links the symlink itself (link(2) does not follow it) and
/// unlinks it, so the current file becomes a regular file in `logs/`; the
/// compressor then compresses the target's content through the rotated
/// symlink and removes only the symlink: `data/app.log` keeps every record
/// of the first file for ever, beside its compressed copy.
#[test]
fn a_symlinked_path_rotates_without_leaving_a_copy_of_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::create_dir_all(&logs).unwrap();
    std::os::unix::fs::symlink(data.join("app.log"), logs.join("app.log")).unwrap();
    let options = FileOptions::new()
        .rotation("10 KB".parse().unwrap())
        .compression("gzip".parse().unwrap());
    let log = logger("s", &logs.join("app.log"), options);
    let total = 400u64;
    for seq in 0..total {
        info!(log, "Trade executed", seq = seq, symbol = "AAPL");
    }
    // Every rotated file compressed (a second after its rotation).
    assert!(wait_for(15, || {
        names(&logs)
            .iter()
            .all(|n| n.ends_with(".gz") || n == "app.log" || n.starts_with('.'))
    }));
    let mut seen: HashMap<u64, Vec<PathBuf>> = HashMap::new();
    for d in [&data, &logs] {
        for name in names(d) {
            let p = d.join(&name);
            if name.starts_with('.') || p.symlink_metadata().unwrap().file_type().is_symlink() {
                continue;
            }
            for line in text_of(&p).lines() {
                let r: serde_json::Value = serde_json::from_str(line).unwrap();
                seen.entry(r["fields"]["seq"].as_u64().unwrap())
                    .or_default()
                    .push(p.clone());
            }
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, files)| files.len() > 1).collect();
    assert_eq!(seen.len() as u64, total, "records lost");
    assert!(
        twice.is_empty(),
        "{} records are on disk twice, e.g. {:?}",
        twice.len(),
        twice.first()
    );
}

/// Two log files whose names differ only in bytes that are not UTF-8
/// (`app\xff.log`, `app\xfe.log`: Latin-1 names) get the same lossy rotated
/// names (`app\u{fffd}.<stamp>.<n>.log`), so each one's retention counts
/// and removes the other's rotated files.
#[test]
fn names_that_differ_only_in_non_utf8_bytes_keep_their_own_rotated_files() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let path_a = dir.path().join(OsStr::from_bytes(b"app\xff.log"));
    let path_b = dir.path().join(OsStr::from_bytes(b"app\xfe.log"));
    let small = FileOptions::new().rotation("1 KB".parse().unwrap());
    let b = logger("b", &path_b, small);
    for seq in 0..100u64 {
        info!(b, "kept", seq = seq, pad = "y".repeat(100).as_str());
    }
    let b_files = names(dir.path()).len();
    let a = logger("a", &path_a, small.retention(Retention::count(1)));
    for seq in 0..100u64 {
        info!(a, "pruned", seq = seq, pad = "y".repeat(100).as_str());
    }
    // Every record of b is still on disk (b has no retention).
    let mut b_records = 0;
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().as_bytes().starts_with(b".") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
        b_records += text
            .lines()
            .filter(|l| l.contains("\"logger\":\"b\""))
            .count();
    }
    assert!(b_files > 3, "setup: b rotated");
    assert_eq!(b_records, 100, "a's retention removed b's rotated files");
}

// === a stuck process ===

/// Another process holds the rotation lock and does not let go (stopped
/// with SIGSTOP or in a debugger mid-rotation, simulated by `flock`): every
/// batch of every other process then waits the full lock patience (500 ms)
/// before it is written, for as long as the file is over its size, so a
/// synchronous logger spends half a second in each call. 40 records must
/// not take 20 s.
#[test]
fn a_stuck_rotation_lock_does_not_stall_every_batch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "{}\n".repeat(1_000)).unwrap();
    let lock = dir.path().join(".app.log.lock");
    let mut holder = std::process::Command::new("flock")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .expect("flock(1)");
    assert!(wait_for(5, || {
        // held once a non-blocking flock fails
        !std::process::Command::new("flock")
            .args(["-n"])
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap()
            .success()
    }));
    let log = logger(
        "stuck",
        &path,
        FileOptions::new().rotation("1 KB".parse().unwrap()),
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for seq in 0..40u64 {
            info!(log, "m", seq = seq);
        }
        let _ = tx.send(());
    });
    let finished = rx.recv_timeout(Duration::from_secs(10)).is_ok();
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        finished,
        "40 synchronous records took over 10 s behind a stuck lock holder"
    );
}

// === link without unlink ===

/// A directory where a link can be made but a name not removed (append-only,
/// `chattr +a`; a sticky directory with another user's file behaves alike):
/// `move_aside` links the live file under a rotated name, fails to unlink
/// the path, and leaves the extra name. Every later batch does it again:
/// one more name of the live file per batch, each then "rotated".
#[test]
fn a_failed_unlink_does_not_leave_a_new_name_of_the_live_file_per_batch() {
    let dir = tempfile::Builder::new()
        .tempdir_in(std::env::var_os("KAKASHI_EXT4_DIR").unwrap_or_else(|| "/var/tmp".into()))
        .unwrap();
    let path = dir.path().join("app.log");
    let log = logger(
        "a",
        &path,
        FileOptions::new().rotation("1 KB".parse().unwrap()),
    );
    info!(log, "first", seq = 0u64, pad = "z".repeat(2_000).as_str());
    let ok = std::process::Command::new("chattr")
        .arg("+a")
        .arg(dir.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: chattr +a is not available here");
        return;
    }
    for seq in 1..20u64 {
        info!(log, "m", seq = seq);
    }
    let listed = names(dir.path());
    let _ = std::process::Command::new("chattr")
        .arg("-a")
        .arg(dir.path())
        .status();
    let rotated = listed.iter().filter(|n| n.starts_with("app.2")).count();
    assert!(
        rotated <= 1,
        "{rotated} names of the one live file: {listed:?}"
    );
}

// === symlinks planted in the log directory ===

/// A log directory another (less trusted) user can write to, a logger
/// running with more rights (root, or another user). The compressor opens
/// the rotated file and creates its `.tmp` following symlinks: a symlink
/// planted under the `.tmp` name in the second before compression makes it
/// truncate and overwrite the file it points to.
#[test]
fn a_symlink_planted_as_the_compression_tmp_clobbers_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let victim_dir = tempfile::tempdir().unwrap();
    let victim = victim_dir.path().join("precious.conf");
    std::fs::write(&victim, "precious\n").unwrap();
    let path = dir.path().join("app.log");
    let options = FileOptions::new()
        .rotation("1 KB".parse().unwrap())
        .compression("gzip".parse().unwrap());
    let log = logger("v", &path, options);
    for seq in 0..20u64 {
        info!(log, "m", seq = seq, pad = "q".repeat(100).as_str());
    }
    // Rotated a moment ago; compression comes a second after.
    for name in names(dir.path()) {
        if name.starts_with("app.2") && name.ends_with(".log") {
            std::os::unix::fs::symlink(&victim, dir.path().join(format!("{name}.gz.tmp"))).unwrap();
        }
    }
    assert!(wait_for(10, || {
        names(dir.path())
            .iter()
            .all(|n| !(n.starts_with("app.2") && n.ends_with(".log")))
    }));
    std::thread::sleep(Duration::from_millis(500));
    let now = std::fs::read(&victim).unwrap();
    assert!(
        now == b"precious\n",
        "the compressor wrote through a planted symlink: the victim now holds {} bytes starting {:?}",
        now.len(),
        &now[..now.len().min(4)]
    );
}

/// The same directory: a symlink planted under a rotated name (pointing at
/// a file the planter cannot read) is compressed by the next writer's
/// start-up sweep, through the link, into a `.gz` made with the default
/// mode: the target's content ends up readable in the log directory.
#[test]
fn a_symlink_planted_under_a_rotated_name_is_not_compressed_through() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("shadow");
    std::fs::write(&secret, "root:$6$secret\n").unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let planted = dir.path().join("app.2026-01-01T00-00-00.1.log");
    std::os::unix::fs::symlink(&secret, &planted).unwrap();
    let options = FileOptions::new()
        .rotation("1 MB".parse().unwrap())
        .compression("gzip".parse().unwrap());
    let _writer = file_writer_with(dir.path().join("app.log"), options).unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let gz = dir.path().join("app.2026-01-01T00-00-00.1.log.gz");
    let leaked = gz.exists() && text_of(&gz).contains("secret");
    assert!(
        !leaked,
        "the secret was compressed into {gz:?}, mode {:o}",
        std::fs::metadata(&gz)
            .map(|m| m.permissions().mode())
            .unwrap_or(0)
    );
}

// === modes ===

/// The log holds what only its owner may read: the file is `0600` (made
/// so by the administrator, or by a stricter umask at the time). Rotation
/// creates the next file, and compression the `.gz`, with the process's
/// default mode (`0644` under the usual umask): every record after the
/// first rotation, and every compressed file, is readable by anyone.
#[test]
fn rotation_and_compression_keep_the_files_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    std::fs::write(&path, "").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let options = FileOptions::new()
        .rotation("1 KB".parse().unwrap())
        .compression("gzip".parse().unwrap());
    let log = logger("m", &path, options);
    for seq in 0..20u64 {
        info!(log, "m", seq = seq, pad = "q".repeat(100).as_str());
    }
    assert!(wait_for(10, || names(dir.path())
        .iter()
        .any(|n| n.ends_with(".gz"))));
    let wider: Vec<(String, String)> = names(dir.path())
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .map(|n| {
            let mode = std::fs::metadata(dir.path().join(&n))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            (n, mode)
        })
        .filter(|(_, mode)| mode & 0o077 != 0)
        .map(|(n, mode)| (n, format!("{mode:o}")))
        .collect();
    assert!(wider.is_empty(), "readable beyond the owner: {wider:?}");
}

// === retention meets a file it cannot remove ===

/// One old rotated name cannot be removed (kept by an administrator with
/// `chattr +i`, another user's file in a sticky directory; here a
/// directory of that name, which `unlink` refuses alike). Retention stops
/// at the first failure: the writer cannot be made at all (the error
/// names the log file, which is fine), and at run time nothing after it is
/// ever pruned.
#[test]
fn a_rotated_name_that_cannot_be_removed_does_not_stop_retention() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("app.2026-01-01T00-00-00.1.log")).unwrap();
    for day in 2..=4 {
        std::fs::write(
            dir.path()
                .join(format!("app.2026-01-0{day}T00-00-00.1.log")),
            "{}\n",
        )
        .unwrap();
    }
    let options = FileOptions::new()
        .rotation("1 KB".parse().unwrap())
        .retention(Retention::count(1));
    let made = file_writer_with(dir.path().join("app.log"), options);
    assert!(made.is_ok(), "{:?}", made.err().map(|e| e.to_string()));
    let left: Vec<String> = names(dir.path())
        .into_iter()
        .filter(|n| n.starts_with("app.2026-01"))
        .collect();
    assert_eq!(
        left,
        [
            "app.2026-01-01T00-00-00.1.log",
            "app.2026-01-04T00-00-00.1.log"
        ],
        "retention stopped at the name it could not remove"
    );
}

// === making a logger while another process rotates ===

/// `get_high_performance_logger_with` opens the file, then canonicalizes
/// the path for its registry key: a rotation by another process between
/// the two (the path is absent from the move until the rotating process
/// reopens) makes the logger fail to be made, with "No such file or
/// directory" on a file it has just created. Seen with six processes
/// starting on a "5 KB, 1 second" file: one of them never logged.
#[test]
fn a_logger_is_made_while_another_writer_rotates_the_file() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let stop = Arc::new(AtomicBool::new(false));
    let rotator = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            // Another process's writer: every record rotates the file.
            let options = FileOptions::new()
                .rotation("1".parse().unwrap())
                .retention(Retention::count(3));
            let log = logger("other", &path, options);
            while !stop.load(Ordering::Relaxed) {
                info!(log, "r");
            }
        })
    };
    let mut failures = Vec::new();
    let mut kept = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) && failures.len() < 3 {
        let options = kakashi::HighPerformanceOptions {
            overflow_strategy: kakashi::OverflowStrategy::Block,
            ..kakashi::HighPerformanceOptions::default()
        };
        match kakashi::get_high_performance_logger_with("hp", &path, options) {
            Ok(l) => {
                if kept.is_empty() {
                    kept.push(l);
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    stop.store(true, Ordering::Relaxed);
    rotator.join().unwrap();
    assert!(failures.is_empty(), "{failures:?}");
}

// === a process starting while others log ===

/// A writer may append its batch to a file just after another process
/// rotated it (it checked the path just before): that is why compression
/// waits a second after a rotation. But a process that starts then (a
/// worker restarted, scaled out) sweeps at once: its writer compresses
/// every uncompressed rotated file immediately, the one rotated a moment
/// ago too, and removes it; the late batch then goes to an unlinked file.
/// Seen as 500 records (one batch) missing from six processes logging to a
/// "5 KB, 1 second" file while some of them started.
#[test]
fn a_late_batch_into_a_just_rotated_file_survives_a_process_starting() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // A writer of another process: the path checked, its batch on the way.
    std::fs::write(&path, "{\"seq\":0}\n").unwrap();
    let mut late = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    // A third process rotates the file (as move_aside does).
    let rotated = dir.path().join("app.2026-12-03T10-00-00.1.log");
    std::fs::rename(&path, &rotated).unwrap();
    // A fourth process starts now.
    let options = FileOptions::new()
        .rotation("5 KB".parse().unwrap())
        .compression("gzip".parse().unwrap());
    let _starting = file_writer_with(&path, options).unwrap();
    // The late batch lands well within the second compression waits for.
    std::thread::sleep(Duration::from_millis(100));
    late.write_all(b"{\"seq\":1}\n").unwrap();
    drop(late);
    let gz = dir.path().join("app.2026-12-03T10-00-00.1.log.gz");
    assert!(wait_for(10, || gz.exists() && !rotated.exists()));
    assert_eq!(
        text_of(&gz),
        "{\"seq\":0}\n{\"seq\":1}\n",
        "the late batch was lost with the file compressed under it"
    );
}
