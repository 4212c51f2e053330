//! A rotated file's directory holding many rotated files already: each
//! rotation still gives the right name (the counter above every one of its
//! second, compressed or not), retention still keeps exactly the newest
//! (also after files were deleted or replaced by hand), and nothing else is
//! touched. Real files in a temporary directory; a synchronous logger whose
//! file rotates before every record but the first (one byte is the size).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kakashi::{file_writer_with, info, FileOptions, Logger, PipelineConfig, Retention, Rotation};

/// `YYYY-MM-DDTHH-MM-SS` (UTC) of `secs` since the epoch: the stamp of a
/// rotated name.
fn stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}-{:02}-{:02}",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `app.<stamp>.<n>.log` plus `suffix` (`""`, `".gz"`).
fn rotated_name(secs: u64, n: u32, suffix: &str) -> String {
    format!("app.{}.{n}.log{suffix}", stamp(secs))
}

/// Creates `dir/name` holding its own name.
fn plant(dir: &Path, name: &str) {
    fs::write(dir.join(name), name).unwrap();
}

/// The names in `dir` (all of them: rotated, current, lock, others).
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// A rotated name's (stamp, counter), for `app.<stamp>.<n>.log[.gz]`
/// (roughly checked: the test's names are well-formed or plainly not).
fn key(name: &str) -> Option<(String, u32)> {
    let middle = name.strip_prefix("app.")?;
    let middle = middle.strip_suffix(".gz").unwrap_or(middle);
    let (stamp, n) = middle.strip_suffix(".log")?.rsplit_once('.')?;
    let is_stamp = stamp.len() == 19 && stamp.as_bytes()[10] == b'T';
    is_stamp.then(|| Some((stamp.to_owned(), n.parse().ok()?)))?
}

/// The rotated names in `dir`, oldest first.
fn rotated_in(dir: &Path) -> Vec<String> {
    let mut rotated: Vec<((String, u32), String)> = names_in(dir)
        .into_iter()
        .filter_map(|n| Some((key(&n)?, n)))
        .collect();
    rotated.sort();
    rotated.into_iter().map(|(_, n)| n).collect()
}

/// A logger writing `dir/app.log` on the calling thread, rotating it
/// before every record that finds it non-empty.
fn rotating_logger(dir: &Path, retention: Retention) -> (PathBuf, Logger) {
    let path = dir.join("app.log");
    let options = FileOptions::new()
        .rotation(Rotation::size(1))
        .retention(retention);
    let writer = file_writer_with(&path, options).unwrap();
    let logger =
        kakashi::Backend::synchronous().logger("many", PipelineConfig::new().writer(writer));
    (path, logger)
}

/// Logs record `i` (its message is `record-<i>`).
fn log(logger: &Logger, i: usize) {
    info!(logger, "record-{i}");
}

#[test]
fn rotations_among_many_files_take_the_next_counter_of_their_second() {
    let dir = tempfile::tempdir().unwrap();
    let start = now_secs();
    // 1,800 rotations of an earlier day, and, for every second the test
    // may rotate in, counters 1 and 3 with 2 compressed: a rotation of
    // that second is 4, the next one 5, whatever was deleted before.
    let mut planted = Vec::new();
    for i in 0..1_800 {
        planted.push(rotated_name(start - 86_400 - i, 1, ""));
    }
    for secs in start - 1..start + 120 {
        planted.push(rotated_name(secs, 1, ""));
        planted.push(rotated_name(secs, 2, ".gz"));
        planted.push(rotated_name(secs, 3, ""));
    }
    for name in &planted {
        plant(dir.path(), name);
    }
    // Look-alikes that are not rotated names of app.log.
    for other in [
        "other.2020-01-01T00-00-00.9.log",
        "app.log.bak",
        "app.x.1.log",
    ] {
        plant(dir.path(), other);
    }

    let (path, logger) = rotating_logger(dir.path(), Retention::ALL);
    let records = 12;
    for i in 0..records {
        log(&logger, i);
    }
    let end = now_secs();
    assert!(end < start + 120, "the test ran for more than two minutes");

    // Every planted file is still there, untouched.
    for name in &planted {
        assert_eq!(fs::read_to_string(dir.path().join(name)).unwrap(), *name);
    }
    // The new rotated files: one per record but the last, each of a
    // second of the run, counters from 4 up within a second, in order.
    let new: Vec<String> = rotated_in(dir.path())
        .into_iter()
        .filter(|n| !planted.contains(n))
        .collect();
    assert_eq!(new.len(), records - 1, "{new:?}");
    let mut per_second: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for name in &new {
        let (s, n) = key(name).unwrap();
        assert!(
            (start..=end).any(|secs| stamp(secs) == s),
            "{name} is not of a second of the run"
        );
        per_second.entry(s).or_default().push(n);
    }
    for (s, counters) in &per_second {
        let expected: Vec<u32> = (4..4 + counters.len() as u32).collect();
        assert_eq!(counters, &expected, "the rotations of {s}");
    }
    // Oldest first by name is the order they were written in.
    for (i, name) in new.iter().enumerate() {
        let text = fs::read_to_string(dir.path().join(name)).unwrap();
        assert!(text.contains(&format!("record-{i}\"")), "{name}: {text}");
        assert_eq!(text.lines().count(), 1, "{name}: {text}");
    }
    let current = fs::read_to_string(&path).unwrap();
    assert!(current.contains(&format!("record-{}\"", records - 1)));
}

#[test]
fn retention_among_many_files_keeps_exactly_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let start = now_secs();
    // 2,000 rotations of earlier seconds, oldest first.
    let planted: Vec<String> = (0..2_000)
        .map(|i| rotated_name(start - 10_000 + i, 1, ""))
        .collect();
    for name in &planted {
        plant(dir.path(), name);
    }
    plant(dir.path(), "unrelated.txt");
    let keep = 1_000;

    // Made: the newest 1,000 are kept.
    let (path, logger) = rotating_logger(dir.path(), Retention::count(keep));
    assert_eq!(rotated_in(dir.path()), planted[1_000..]);

    // Five rotations: still exactly 1,000, the newest.
    for i in 0..6 {
        log(&logger, i);
    }
    let rotated = rotated_in(dir.path());
    assert_eq!(rotated.len(), keep);
    assert_eq!(rotated[..995], planted[1_005..]);
    let new = rotated[995..].to_vec();
    assert!(new.iter().all(|n| !planted.contains(n)), "{new:?}");

    // Three kept files deleted by hand (997 left): three rotations make
    // 1,000 and remove nothing; the fourth makes 1,001 and removes the
    // oldest only.
    for name in &planted[1_500..1_503] {
        fs::remove_file(dir.path().join(name)).unwrap();
    }
    for i in 6..9 {
        log(&logger, i);
    }
    let rotated = rotated_in(dir.path());
    assert_eq!(rotated.len(), keep);
    assert_eq!(rotated[0], planted[1_005]);
    log(&logger, 9);
    let rotated = rotated_in(dir.path());
    assert_eq!(rotated.len(), keep);
    assert_eq!(rotated[0], planted[1_006]);
    assert!(path.exists());
    assert!(dir.path().join("unrelated.txt").exists());
}

#[test]
fn retention_by_age_among_many_files_sees_files_replaced_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let start = now_secs();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(7_200);
    let set_mtime = |name: &str, at: SystemTime| {
        let file = fs::File::options()
            .append(true)
            .open(dir.path().join(name))
            .unwrap();
        file.set_modified(at).unwrap();
    };
    // 1,500 recent rotations, of which every hundredth last modified two
    // hours ago.
    let planted: Vec<String> = (0..1_500)
        .map(|i| rotated_name(start - 5_000 + i, 1, ""))
        .collect();
    for (i, name) in planted.iter().enumerate() {
        plant(dir.path(), name);
        if i % 100 == 0 {
            set_mtime(name, two_hours_ago);
        }
    }
    let young: Vec<String> = planted
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 100 != 0)
        .map(|(_, n)| n.clone())
        .collect();
    let by_age = Retention {
        count: None,
        max_age: Some(Duration::from_secs(3_600)),
    };

    // Made: the 15 old ones go.
    let (_path, logger) = rotating_logger(dir.path(), by_age);
    assert_eq!(rotated_in(dir.path()), young);
    log(&logger, 0);
    log(&logger, 1);
    let after_one: Vec<String> = rotated_in(dir.path());
    assert_eq!(after_one.len(), young.len() + 1);

    // A young file replaced by hand by an old one (another file under the
    // same name), and a rotated file of two hours ago put back: both go
    // at the next rotation, the others stay.
    let replaced = &young[700];
    let tmp = dir.path().join("replacement.tmp");
    fs::write(&tmp, "restored").unwrap();
    fs::File::options()
        .append(true)
        .open(&tmp)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    fs::rename(&tmp, dir.path().join(replaced)).unwrap();
    let put_back = rotated_name(start - 7_200, 1, "");
    plant(dir.path(), &put_back);
    set_mtime(&put_back, two_hours_ago);
    log(&logger, 2);
    let rotated = rotated_in(dir.path());
    assert!(!rotated.contains(replaced));
    assert!(!rotated.contains(&put_back));
    assert_eq!(rotated.len(), after_one.len() - 1 + 1);
    for name in after_one.iter().filter(|n| *n != replaced) {
        assert!(rotated.contains(name), "{name} was removed");
    }
}
