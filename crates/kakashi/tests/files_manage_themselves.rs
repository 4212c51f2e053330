//! The file writer keeps its path's file managed: rotated by size and by
//! time, pruned by retention, followed when moved or deleted from outside,
//! and shared by several processes without a lost, duplicated or torn line
//! (G10). Real files in a temporary directory, real child processes.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use kakashi::{
    file_writer, file_writer_with, info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig,
    FileOptions, OverflowStrategy, PipelineConfig, Retention, Rotation,
};

/// The file and its rotated files, oldest first (rotated names sort by
/// time, then by counter; the current file is the newest).
fn files_in_order(dir: &Path, stem: &str) -> Vec<PathBuf> {
    rotated_then_current(dir, stem, ".log")
}

/// The rotated files whose names end in `ext` (`.log`, `.log.gz`), oldest
/// first, then the current file if there is one.
fn rotated_then_current(dir: &Path, stem: &str, ext: &str) -> Vec<PathBuf> {
    let mut rotated: Vec<(String, u32, PathBuf)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let middle = name
                .strip_prefix(&format!("{stem}."))?
                .strip_suffix(ext)?
                .to_owned();
            let (stamp, n) = middle.rsplit_once('.')?;
            Some((stamp.to_owned(), n.parse().ok()?, p))
        })
        .collect();
    rotated.sort();
    let mut files: Vec<PathBuf> = rotated.into_iter().map(|(_, _, p)| p).collect();
    let current = dir.join(format!("{stem}.log"));
    if current.exists() {
        files.push(current);
    }
    files
}

/// `dir/app.log` and a logger that writes it on the calling thread.
fn synchronous_file_logger(dir: &Path, name: &str) -> (PathBuf, kakashi::Logger) {
    let path = dir.join("app.log");
    let writer = file_writer(&path).unwrap();
    let logger = kakashi::Backend::synchronous().logger(name, PipelineConfig::new().writer(writer));
    (path, logger)
}

fn pipeline(path: &Path, options: FileOptions, workers: usize) -> AsyncPipeline {
    pipeline_with(path, options, workers, OverflowStrategy::Block)
}

fn pipeline_with(
    path: &Path,
    options: FileOptions,
    workers: usize,
    overflow_strategy: OverflowStrategy,
) -> AsyncPipeline {
    AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(file_writer_with(path, options).unwrap()),
        AsyncConfig {
            max_queue_size: 2_000,
            worker_count: workers,
            batch_size: 200,
            overflow_strategy,
            ..AsyncConfig::default()
        },
    ))
    .unwrap()
}

/// Runs `body` in a child process (this test binary again, `test` only)
/// whose files cannot grow past 64 KiB, with a pipeline of `strategy` on
/// `app.log` in a temporary directory.
fn with_a_full_disk(
    test: &str,
    strategy: OverflowStrategy,
    body: impl FnOnce(&Path, &AsyncPipeline, &kakashi::Logger),
) {
    common::isolated(test, Duration::from_secs(60), || {
        limit_file_size_to_64_kib();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let p = pipeline_with(&path, FileOptions::new(), 1, strategy);
        let logger = p.logger("disk");
        body(&path, &p, &logger);
    });
}

/// In this process: writes past 64 KiB in any file fail with `EFBIG`, as
/// on a full disk (`RLIMIT_FSIZE`, with `SIGXFSZ` ignored so that it does
/// not kill the process).
fn limit_file_size_to_64_kib() {
    // SAFETY: plain libc calls with valid arguments, made before any
    // thread of this test's process writes a file.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        let limit = libc::rlimit {
            rlim_cur: 64 * 1024,
            rlim_max: libc::RLIM_INFINITY,
        };
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

/// Logs `per_thread` records from each of `threads` threads, fields
/// `thread` and `seq`.
fn log_from_threads(pipeline: &AsyncPipeline, threads: u64, per_thread: u64) {
    std::thread::scope(|s| {
        for t in 0..threads {
            let logger = pipeline.logger("rot");
            s.spawn(move || {
                for seq in 0..per_thread {
                    info!(
                        logger,
                        "Trade executed",
                        thread = t,
                        seq = seq,
                        symbol = "AAPL"
                    );
                }
            });
        }
    });
}

/// The records of 4 threads (fields `thread`, `seq`): each thread's
/// `per_thread` records, each once, in its order.
fn assert_each_thread_complete_in_order(records: &[serde_json::Value], per_thread: u64) {
    let mut next = [0u64; 4];
    for r in records {
        let t = r["fields"]["thread"].as_u64().unwrap() as usize;
        let seq = r["fields"]["seq"].as_u64().unwrap();
        assert_eq!(seq, next[t], "thread {t} out of order");
        next[t] += 1;
    }
    assert_eq!(next, [per_thread; 4]);
}

/// Every line of `files` in order, parsed; panics on a torn or invalid line.
fn records(files: &[PathBuf]) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{f:?} ends in a torn line"
        );
        for line in text.lines() {
            out.push(
                serde_json::from_str(line)
                    .unwrap_or_else(|e| panic!("{f:?}: not a JSON line ({e}): {line:?}")),
            );
        }
    }
    out
}

#[test]
fn size_rotation_keeps_every_record_in_order_across_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let limit = 1_000_000;
    let p = pipeline(&path, FileOptions::new().rotation(Rotation::size(limit)), 2);
    log_from_threads(&p, 4, 50_000);
    assert!(p.shutdown(Duration::from_secs(60)).completed());

    let files = files_in_order(dir.path(), "app");
    assert!(files.len() >= 10, "{} files", files.len());
    let (rotated, current) = files.split_at(files.len() - 1);
    for f in rotated {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(len >= limit, "{f:?} is {len} bytes, under the threshold");
        assert!(
            len < limit + 200 * 300,
            "{f:?} is {len} bytes, over by more than a batch"
        );
    }
    assert!(std::fs::metadata(&current[0]).unwrap().len() < limit + 200 * 300);

    assert_each_thread_complete_in_order(&records(&files), 50_000);
    let stats = p.stats();
    assert_eq!(
        (stats.messages_written, stats.messages_dropped),
        (200_000, 0)
    );
}

/// Every line of the gzip-compressed rotated files and the current file,
/// once no rotated file is left uncompressed (compression runs on a
/// background thread, a second after each rotation).
fn gzip_files_when_compressed(dir: &Path, stem: &str) -> Vec<PathBuf> {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let pending = std::fs::read_dir(dir).unwrap().any(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with(&format!("{stem}."))
                && name != format!("{stem}.log")
                && !name.ends_with(".gz")
        });
        if !pending {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rotated files left uncompressed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    rotated_then_current(dir, stem, ".log.gz")
}

/// `records`, reading `.gz` files through gzip.
fn records_any(files: &[PathBuf]) -> Vec<serde_json::Value> {
    use std::io::Read;
    let mut out = Vec::new();
    for f in files {
        let mut text = String::new();
        if f.extension().is_some_and(|e| e == "gz") {
            flate2::read::GzDecoder::new(std::fs::File::open(f).unwrap())
                .read_to_string(&mut text)
                .unwrap();
        } else {
            text = std::fs::read_to_string(f).unwrap();
        }
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "{f:?} ends in a torn line"
        );
        for line in text.lines() {
            out.push(serde_json::from_str(line).unwrap());
        }
    }
    out
}

#[test]
fn gzip_rotation_keeps_every_record_in_order() {
    // 4 x 250,000 with KAKASHI_FULL=1 (the million), a fifth of it otherwise.
    let full = std::env::var_os("KAKASHI_FULL").is_some_and(|v| v == "1");
    let per_thread: u64 = if full { 250_000 } else { 50_000 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let options = FileOptions::new()
        .rotation(Rotation::size(1_000_000))
        .compression("gzip".parse().unwrap());
    let p = pipeline(&path, options, 2);
    log_from_threads(&p, 4, per_thread);
    assert!(p.shutdown(Duration::from_secs(60)).completed());

    let files = gzip_files_when_compressed(dir.path(), "app");
    assert!(files.len() >= 10, "{files:?}");
    assert_each_thread_complete_in_order(&records_any(&files), per_thread);
    // No compression leftovers.
    let tmp = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(tmp, 0);
}

#[test]
fn rotated_files_left_uncompressed_by_a_crash_are_compressed_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let left = dir.path().join("app.2026-01-01T00-00-00.1.log");
    std::fs::write(&left, "{\"seq\":1}\n").unwrap();
    // A crash mid-compression: a partial .tmp beside the whole original.
    std::fs::write(
        dir.path().join("app.2026-01-01T00-00-00.1.log.gz.tmp"),
        "partial",
    )
    .unwrap();
    let options = FileOptions::new()
        .rotation(Rotation::size(1_000_000))
        .compression("gzip".parse().unwrap());
    let _writer = file_writer_with(&path, options).unwrap();
    let files = gzip_files_when_compressed(dir.path(), "app");
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(records_any(&files[..1])[0]["seq"], 1);
    assert!(!dir
        .path()
        .join("app.2026-01-01T00-00-00.1.log.gz.tmp")
        .exists());
}

#[test]
fn retention_keeps_the_configured_number_of_rotated_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // Left from an earlier run, and a file that only looks alike: retention
    // counts the first and never touches the second.
    std::fs::write(dir.path().join("app.2000-01-01T00-00-00.1.log"), "{}\n").unwrap();
    std::fs::write(dir.path().join("app.notes.log"), "mine\n").unwrap();
    let options = FileOptions::new()
        .rotation("200 KB".parse().unwrap())
        .retention(Retention::count(3));
    let p = pipeline(&path, options, 1);
    log_from_threads(&p, 1, 20_000);
    assert!(p.shutdown(Duration::from_secs(60)).completed());

    let files = files_in_order(dir.path(), "app");
    assert_eq!(files.len(), 4, "3 rotated and the current: {files:?}");
    assert!(!dir.path().join("app.2000-01-01T00-00-00.1.log").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("app.notes.log")).unwrap(),
        "mine\n"
    );
    // What is kept is the newest, in order: one run of sequence numbers
    // ending with the last record.
    let seqs: Vec<u64> = records(&files)
        .iter()
        .map(|r| r["fields"]["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs.last(), Some(&19_999));
    let first = seqs[0];
    assert!(first > 0, "the oldest records were kept");
    assert_eq!(seqs, (first..20_000).collect::<Vec<_>>());
}

#[test]
fn time_rotation_splits_at_the_boundaries_and_names_files_by_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let options = FileOptions::new().rotation("1 second".parse().unwrap());
    let writer = file_writer_with(&path, options).unwrap();
    let logger =
        kakashi::Backend::synchronous().logger("tick", PipelineConfig::new().writer(writer));
    let started = std::time::Instant::now();
    let mut seq = 0u64;
    while started.elapsed() < Duration::from_millis(3_500) {
        info!(logger, "tick", seq = seq);
        seq += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let files = files_in_order(dir.path(), "app");
    assert!((3..=5).contains(&files.len()), "{files:?}");
    // Each rotated file is named by the boundary it ended at (one a second,
    // each once), and every record in it was made before that second.
    let mut stamps = Vec::new();
    for f in &files[..files.len() - 1] {
        let name = f.file_name().unwrap().to_str().unwrap();
        let stamp = name["app.".len().."app.".len() + 19].to_owned();
        assert!(name.ends_with(".1.log"), "{name}");
        assert!(stamp.ends_with(|c: char| c.is_ascii_digit()), "{name}");
        for r in records(std::slice::from_ref(f)) {
            let made = r["datetime"].as_str().unwrap()[..19].replace(':', "-");
            assert!(made < stamp, "{name} holds a record of {made}");
        }
        stamps.push(stamp);
    }
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "{stamps:?}");
    let all = records(&files);
    assert_eq!(all.len() as u64, seq);
    for (i, r) in all.iter().enumerate() {
        assert_eq!(r["fields"]["seq"], i as u64);
    }
}

#[test]
fn a_file_moved_or_deleted_from_outside_is_followed_by_a_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (path, logger) = synchronous_file_logger(dir.path(), "out");
    for seq in 0..100 {
        info!(logger, "before", seq = seq);
    }
    // logrotate's default: rename, and the program keeps logging.
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    for seq in 100..200 {
        info!(logger, "after rename", seq = seq);
    }
    // Deleted: the records must not go into the unlinked file.
    std::fs::remove_file(&path).unwrap();
    for seq in 200..300 {
        info!(logger, "after delete", seq = seq);
    }
    let renamed = records(&[dir.path().join("app.log.1")]);
    assert_eq!(renamed.len(), 100);
    assert_eq!(renamed[99]["fields"]["seq"], 99);
    let current = records(std::slice::from_ref(&path));
    assert_eq!(current.len(), 100);
    assert_eq!(current[0]["fields"]["seq"], 200);
    assert_eq!(current[99]["fields"]["seq"], 299);

    // Asked to reopen (a SIGHUP's postrotate): the next batch goes to the path.
    std::fs::rename(&path, dir.path().join("app.log.2")).unwrap();
    std::fs::write(&path, "").unwrap();
    kakashi::reopen_files();
    info!(logger, "after reopen", seq = 300);
    assert_eq!(records(&[path])[0]["fields"]["seq"], 300);
}

/// logrotate's default mode mid-run, under load: 4 threads log while the
/// file is renamed; every record is in one of the two files, each thread's
/// in order across them, none twice.
#[test]
fn a_rename_mid_run_under_load_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let moved = dir.path().join("app.log.1");
    let p = pipeline(&path, FileOptions::new(), 2);
    std::thread::scope(|s| {
        s.spawn(|| {
            while std::fs::metadata(&path).map_or(0, |m| m.len()) < 800_000 {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::fs::rename(&path, &moved).unwrap();
        });
        log_from_threads(&p, 4, 20_000);
    });
    assert!(p.shutdown(Duration::from_secs(60)).completed());
    let before = records(std::slice::from_ref(&moved));
    let after = records(std::slice::from_ref(&path));
    assert!(!before.is_empty() && !after.is_empty());
    let all: Vec<_> = before.into_iter().chain(after).collect();
    assert_each_thread_complete_in_order(&all, 20_000);
}

/// A process that holds the rotation lock and never lets go (stopped, or
/// hung) delays rotations, never the writes: every record is written while
/// it holds it, and the file rotates once it is gone.
#[test]
fn a_stuck_holder_of_the_rotation_lock_delays_rotation_not_records() {
    use std::os::unix::io::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let lock = std::fs::File::create(dir.path().join(".app.log.lock")).unwrap();
    // SAFETY: flock(2) on a descriptor `lock` owns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let p = pipeline(
        &path,
        FileOptions::new().rotation(Rotation::size(100_000)),
        1,
    );
    log_from_threads(&p, 1, 5_000);
    assert!(p.flush());
    assert_eq!(
        files_in_order(dir.path(), "app").len(),
        1,
        "rotated under a held lock"
    );
    drop(lock);
    std::thread::sleep(Duration::from_millis(1_100)); // the writer's pause between tries
    let logger = p.logger("rot");
    info!(logger, "after", thread = 9, seq = 0);
    assert!(p.shutdown(Duration::from_secs(10)).completed());
    let files = files_in_order(dir.path(), "app");
    assert_eq!(files.len(), 2, "{files:?}");
    assert_eq!(records(&files).len(), 5_001);
}

/// logrotate's `copytruncate`: the file is copied, then truncated in
/// place. The writer appends (`O_APPEND`), so the next lines start the
/// truncated file (no hole of zero bytes where the old content was); lines
/// written between the copy and the truncation are in neither file, which
/// is why `copytruncate` loses records with any logger (README).
#[test]
fn copytruncate_leaves_a_file_of_whole_new_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (path, logger) = synchronous_file_logger(dir.path(), "ct");
    for seq in 0..100 {
        info!(logger, "before", seq = seq);
    }
    std::fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    for seq in 100..150 {
        info!(logger, "after", seq = seq);
    }
    let bytes = std::fs::read(&path).unwrap();
    assert!(!bytes.contains(&0), "a hole of zero bytes");
    let after = records(std::slice::from_ref(&path));
    assert_eq!(after.len(), 50);
    assert_eq!(after[0]["fields"]["seq"], 100);
    assert_eq!(records(&[dir.path().join("app.log.1")]).len(), 100);
}

/// `reopen_files_on_sighup`: SIGHUP no longer ends the process, and the
/// writers reopen their paths.
#[test]
fn sighup_asks_the_writers_to_reopen() {
    common::isolated(
        "sighup_asks_the_writers_to_reopen",
        Duration::from_secs(30),
        || {
            let dir = tempfile::tempdir().unwrap();
            let (path, logger) = synchronous_file_logger(dir.path(), "hup");
            info!(logger, "before", seq = 0);
            kakashi::reopen_files_on_sighup().unwrap();
            // SAFETY: raise(3) with a valid signal number.
            assert_eq!(unsafe { libc::raise(libc::SIGHUP) }, 0);
            info!(logger, "after", seq = 1);
            let seqs: Vec<u64> = records(std::slice::from_ref(&path))
                .iter()
                .map(|r| r["fields"]["seq"].as_u64().unwrap())
                .collect();
            assert_eq!(seqs, [0, 1]);
        },
    );
}

#[test]
fn a_removed_directory_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("logs");
    let path = sub.join("app.log");
    let p = pipeline(&path, FileOptions::new(), 1);
    let logger = p.logger("dir");
    info!(logger, "first", seq = 0);
    assert!(p.flush());
    std::fs::remove_dir_all(&sub).unwrap();
    // The writer recreates the directory: nothing is lost.
    info!(logger, "second", seq = 1);
    assert!(p.shutdown(Duration::from_secs(10)).completed());
    let kept = records(&[path]);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["fields"]["seq"], 1);
    let stats = p.stats();
    assert_eq!(stats.messages_written, 2);
}

/// A full disk under a drop strategy (a file size limit, `RLIMIT_FSIZE`,
/// in a child process): batches fail and are counted, lines stay whole, and
/// once there is room again (the full file moved away, as logrotate does)
/// writing resumes by itself and a WARNING record reports the failures.
#[test]
fn a_full_disk_fails_batches_counted_and_writing_resumes_with_a_report() {
    with_a_full_disk(
        "a_full_disk_fails_batches_counted_and_writing_resumes_with_a_report",
        OverflowStrategy::DropNewest,
        |path, p, logger| {
            for seq in 0..2_000u64 {
                info!(logger, "Trade executed", seq = seq, symbol = "AAPL");
            }
            assert!(p.flush());
            let full = p.stats();
            assert!(
                full.messages_failed > 0 && full.messages_written > 0,
                "{full:?}"
            );
            assert!(full.is_balanced(), "{full:?}");
            let kept = records(&[path.to_path_buf()]); // whole lines only
            assert_eq!(kept.len() as u64, full.messages_written);

            std::fs::rename(path, path.with_extension("log.1")).unwrap();
            // Reports of failures go out at most once a second.
            std::thread::sleep(Duration::from_millis(1_100));
            for seq in 2_000..2_100u64 {
                info!(logger, "Trade executed", seq = seq, symbol = "AAPL");
            }
            assert!(p.shutdown(Duration::from_secs(10)).completed());
            let after = records(&[path.to_path_buf()]);
            let report = after
                .iter()
                .find(|r| r["level"] == "WARNING")
                .expect("a WARNING record reports the failures");
            assert!(report["message"]
                .as_str()
                .unwrap()
                .starts_with("kakashi failed to write"));
            assert!(report["fields"]["failed"].as_u64().unwrap() > 0);
            let resumed: Vec<u64> = after
                .iter()
                .filter_map(|r| r["fields"]["seq"].as_u64())
                .collect();
            assert_eq!(resumed, (2_000..2_100).collect::<Vec<_>>());
            let end = p.stats();
            assert!(end.is_balanced(), "{end:?}");
            assert_eq!(end.messages_dropped, 0);
        },
    );
}

/// A full disk under `block`: the worker waits for room (retrying), and
/// when room comes back every record is written: 600 records, about 110 KB,
/// against a 64 KiB limit, the full file moved away once.
#[test]
fn a_full_disk_under_block_loses_nothing_once_there_is_room() {
    with_a_full_disk(
        "a_full_disk_under_block_loses_nothing_once_there_is_room",
        OverflowStrategy::Block,
        |path, p, logger| {
            let moved = path.with_extension("log.1");
            std::thread::scope(|s| {
                s.spawn(|| {
                    // Room comes back once the file is full and callers wait.
                    while std::fs::metadata(path).map_or(0, |m| m.len()) < 60 * 1024 {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    std::fs::rename(path, &moved).unwrap();
                });
                for seq in 0..600u64 {
                    info!(logger, "Trade executed", seq = seq, symbol = "AAPL");
                }
            });
            assert!(p.shutdown(Duration::from_secs(30)).completed());
            let seqs: Vec<u64> = records(&[moved.clone(), path.to_path_buf()])
                .iter()
                .map(|r| r["fields"]["seq"].as_u64().unwrap())
                .collect();
            assert_eq!(seqs, (0..600).collect::<Vec<_>>());
            let stats = p.stats();
            assert_eq!(
                (stats.messages_failed, stats.messages_dropped),
                (0, 0),
                "{stats:?}"
            );
            assert!(stats.write_retries > 0, "{stats:?}");
        },
    );
}

/// A writer that counts its flushes and syncs.
struct Counting {
    flushes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    syncs: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl kakashi::Writer for Counting {
    fn write_batch(&mut self, _: &kakashi::Batch<'_>) -> Result<(), kakashi::WriteError> {
        Ok(())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.syncs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

/// `flush` reaches the OS (writers flushed), `sync` the disk: after the
/// barrier, every writer's `sync` (`fsync` for a file).
#[test]
fn sync_flushes_then_syncs_every_writer() {
    use std::sync::atomic::Ordering::SeqCst;
    let dir = tempfile::tempdir().unwrap();
    let flushes = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let syncs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let backend = kakashi::Backend::new(AsyncConfig::default()).unwrap();
    let logger = backend.logger(
        "sync",
        PipelineConfig::new()
            .writer(Counting {
                flushes: flushes.clone(),
                syncs: syncs.clone(),
            })
            .writer(file_writer(dir.path().join("app.log")).unwrap()),
    );
    info!(logger, "first", seq = 0);
    assert!(backend.flush());
    assert_eq!(syncs.load(SeqCst), 0, "flush does not sync");
    let flushed = flushes.load(SeqCst);
    info!(logger, "second", seq = 1);
    assert!(backend.sync(Duration::from_secs(10)));
    assert_eq!(syncs.load(SeqCst), 1);
    assert!(flushes.load(SeqCst) > flushed, "sync flushes first");
    assert_eq!(records(&[dir.path().join("app.log")]).len(), 2);
}

// === Several processes, one path ===

const CHILD_PATH: &str = "KAKASHI_ROTATION_PATH";
const CHILD_ID: &str = "KAKASHI_ROTATION_ID";
const PER_PROCESS: u64 = 100_000;
const SHARED_LIMIT: u64 = 1_000_000;

/// The child's side of `several_processes_share_one_rotating_file`.
#[test]
fn rotation_child_process() {
    if !common::in_child("rotation_child_process") {
        return;
    }
    let path = PathBuf::from(std::env::var(CHILD_PATH).unwrap());
    let id: u64 = std::env::var(CHILD_ID).unwrap().parse().unwrap();
    let p = pipeline(
        &path,
        FileOptions::new().rotation(Rotation::size(SHARED_LIMIT)),
        2,
    );
    let logger = p.logger("proc");
    for seq in 0..PER_PROCESS {
        info!(
            logger,
            "Trade executed",
            process = id,
            seq = seq,
            symbol = "AAPL"
        );
    }
    assert!(p.shutdown(Duration::from_secs(60)).completed());
}

#[test]
fn several_processes_share_one_rotating_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.log");
    let children: Vec<_> = (0..4)
        .map(|id| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "rotation_child_process", "--test-threads", "1"])
                .env(common::SCENARIO_VAR, "rotation_child_process")
                .env(CHILD_PATH, &path)
                .env(CHILD_ID, id.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }

    let files = files_in_order(dir.path(), "shared");
    let (rotated, _) = files.split_at(files.len() - 1);
    assert!(rotated.len() >= 20, "{} rotated files", rotated.len());
    for f in rotated {
        let len = std::fs::metadata(f).unwrap().len();
        assert!(
            len >= SHARED_LIMIT,
            "{f:?}: {len} bytes, rotated twice for one threshold"
        );
    }
    let mut seen = HashSet::new();
    let mut next = [0u64; 4];
    for r in records(&files) {
        let id = r["fields"]["process"].as_u64().unwrap();
        let seq = r["fields"]["seq"].as_u64().unwrap();
        assert!(seen.insert((id, seq)), "process {id} seq {seq} twice");
        assert_eq!(seq, next[id as usize], "process {id} out of order");
        next[id as usize] += 1;
    }
    assert_eq!(seen.len() as u64, 4 * PER_PROCESS);
}
