//! The file writer: appends each batch with one `write` call.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("logs/app.log");
//! let writer = kakashi::file_writer(&path).unwrap(); // creates logs/
//! assert_eq!(writer.path(), path.as_path());
//! let err = kakashi::file_writer(dir.path()).unwrap_err(); // a directory
//! assert!(err.to_string().starts_with("cannot open log file"));
//! ```
//!
//! Guarantees: a batch is appended whole or, if the OS fails part-way, cut
//! back to its last complete line, so the file never holds a torn line.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::ConfigError;
use crate::pipeline::{Batch, WriteError, Writer};

/// Appends batches to a file. Built by [`file_writer`].
#[derive(Debug)]
pub struct FileWriter {
    path: PathBuf,
    file: File,
}

/// Opens `path` for appending, creating it and its parent directories.
///
/// # Errors
/// [`ConfigError::File`] when the directory cannot be created or the file
/// cannot be opened for writing (a directory, no permission, ...).
pub fn file_writer(path: impl AsRef<Path>) -> Result<FileWriter, ConfigError> {
    let path = path.as_ref().to_path_buf();
    let wrap = |source| ConfigError::File {
        path: path.clone(),
        source,
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(wrap)?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(wrap)?;
    Ok(FileWriter { path, file })
}

impl FileWriter {
    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Writer for FileWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let bytes = batch.bytes();
        let mut done = 0;
        while done < bytes.len() {
            match self.file.write(&bytes[done..]) {
                Ok(0) => return Err(self.partial(batch, done, io::ErrorKind::WriteZero.into())),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.partial(batch, done, e)),
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        format!("file:{}", self.path.display())
    }
}

impl FileWriter {
    /// After a failed write of which `done` bytes landed: cut a torn last line
    /// back off the file and report the complete lines as delivered.
    fn partial(&mut self, batch: &Batch<'_>, done: usize, error: io::Error) -> WriteError {
        let complete = batch.ends().partition_point(|&end| end <= done);
        let complete_bytes = if complete == 0 {
            0
        } else {
            batch.ends()[complete - 1]
        };
        let torn = (done - complete_bytes) as u64;
        if torn > 0 {
            if let Ok(meta) = self.file.metadata() {
                let _ = self.file.set_len(meta.len().saturating_sub(torn));
            }
        }
        WriteError {
            written: complete,
            failed: batch.len() - complete,
            error,
        }
    }
}
