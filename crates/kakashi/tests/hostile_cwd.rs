//! A relative log path and a process that changes its working directory
//! afterwards (a daemon's `chdir("/")`): its own test binary, as the working
//! directory is the whole process's.

use kakashi::{file_writer, info, Backend, PipelineConfig};

/// The writer opened `logs/app.log` in the directory the process started
/// in. Before each batch it compares the path with the open file, and the
/// relative path now names `logs/app.log` under the new working directory:
/// it "follows" it there, creating the directory, and the records after the
/// `chdir` land in a file nobody looks at (the old file simply stops).
#[test]
fn a_relative_path_keeps_its_file_after_the_process_changes_directory() {
    let start = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::env::set_current_dir(start.path()).unwrap();
    let logger = Backend::synchronous().logger(
        "cwd",
        PipelineConfig::new().writer(file_writer("logs/app.log").unwrap()),
    );
    info!(logger, "before chdir", seq = 0u64);
    std::env::set_current_dir(elsewhere.path()).unwrap();
    info!(logger, "after chdir", seq = 1u64);
    let moved = elsewhere.path().join("logs/app.log").exists();
    let kept = std::fs::read_to_string(start.path().join("logs/app.log"))
        .unwrap()
        .lines()
        .count();
    assert!(
        !moved && kept == 2,
        "{kept} of 2 records in the file opened at start; a new file in the new directory: {moved}"
    );
}
