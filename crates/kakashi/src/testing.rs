//! Helpers for tests of code that logs: an in-memory writer to assert on.
//!
//! ```
//! use kakashi::testing::MemoryWriter;
//! let memory = MemoryWriter::new();
//! let backend = kakashi::Backend::synchronous();
//! let logger = backend.logger("t", kakashi::PipelineConfig::new()
//!     .formatter(kakashi::compact_formatter())
//!     .writer(memory.clone()));
//! logger.warning("disk low");
//! assert!(memory.lines()[0].ends_with(" | W | disk low"));
//! ```

use std::io;
use std::sync::{Arc, Mutex};

use crate::backend::lock;
use crate::pipeline::{Batch, WriteError, Writer};

/// A writer that keeps every line in memory. Clones share the same lines.
#[derive(Clone, Debug, Default)]
pub struct MemoryWriter {
    bytes: Arc<Mutex<Vec<u8>>>,
    batches: Arc<Mutex<Vec<usize>>>,
}

impl MemoryWriter {
    /// An empty writer.
    pub fn new() -> MemoryWriter {
        MemoryWriter::default()
    }

    /// Every line written so far, without newlines.
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8_lossy(&lock(&self.bytes))
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The size (in records) of each batch received.
    pub fn batch_sizes(&self) -> Vec<usize> {
        lock(&self.batches).clone()
    }

    /// Forgets everything written.
    pub fn clear(&self) {
        lock(&self.bytes).clear();
        lock(&self.batches).clear();
    }
}

impl Writer for MemoryWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        lock(&self.bytes).extend_from_slice(batch.bytes());
        lock(&self.batches).push(batch.len());
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn name(&self) -> String {
        "memory".to_owned()
    }
}
