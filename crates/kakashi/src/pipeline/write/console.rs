//! Console writers: standard output or standard error, one locked write and a
//! flush per batch.

use std::io::{self, Write};

use crate::pipeline::{Batch, WriteError, Writer};

/// Writes batches to stdout or stderr. Built by [`console_writer`] and
/// [`stderr_writer`].
#[derive(Clone, Copy, Debug)]
pub struct ConsoleWriter {
    stderr: bool,
}

/// Writes to standard output.
pub fn console_writer() -> ConsoleWriter {
    ConsoleWriter { stderr: false }
}

/// Writes to standard error.
pub fn stderr_writer() -> ConsoleWriter {
    ConsoleWriter { stderr: true }
}

impl Writer for ConsoleWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let result = if self.stderr {
            let mut out = io::stderr().lock();
            out.write_all(batch.bytes()).and_then(|()| out.flush())
        } else {
            let mut out = io::stdout().lock();
            out.write_all(batch.bytes()).and_then(|()| out.flush())
        };
        result.map_err(|e| WriteError::all(batch.len(), e))
    }

    fn name(&self) -> String {
        if self.stderr { "stderr" } else { "stdout" }.to_owned()
    }
}
