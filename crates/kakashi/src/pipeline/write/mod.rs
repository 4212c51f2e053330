//! Built-in writers: a file, the console, and callbacks (one record or one
//! batch per call) with retries and backoff.
//!
//! Each writer receives a whole batch per call: the file writer turns it into
//! one `write` system call; callback writers hand it on record by record, or
//! as one slice.

mod callback;
mod console;
mod file;

pub(crate) use file::{hold_compression_for_fork, release_compression_thread};

pub use callback::{
    batch_callback_writer, callback_writer, BatchCallbackWriter, CallbackWriter, RetryPolicy,
};
pub use console::{console_writer, stderr_writer, ConsoleWriter};
pub use file::{
    file_writer, file_writer_with, reopen_files, reopen_files_on_sighup, Boundary, Compression,
    FileOptions, FileWriter, Fsync, Retention, Rotation,
};
