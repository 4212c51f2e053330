//! Helpers shared by the contract tests: writers with controlled behaviour
//! and readers for what landed in a file.
#![allow(dead_code)]

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kakashi::{Batch, WriteError, Writer};

/// Parses every line of a file as JSON; panics with the line on failure.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).expect("read log file");
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("invalid JSON line {line:?}: {e}"))
        })
        .collect()
}

/// Parses lines kept by a MemoryWriter.
pub fn parse(lines: &[String]) -> Vec<serde_json::Value> {
    lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON {l:?}: {e}")))
        .collect()
}

/// The `fields.i` of each record from logger `name`.
pub fn field_seq(records: &[serde_json::Value], logger: &str, key: &str) -> Vec<u64> {
    records
        .iter()
        .filter(|r| r["logger"] == logger)
        .map(|r| r["fields"][key].as_u64().expect("numeric field"))
        .collect()
}

/// A memory writer that sleeps before each batch, or waits for a gate.
#[derive(Clone, Default)]
pub struct SlowWriter {
    pub lines: Arc<Mutex<Vec<String>>>,
    pub delay: Duration,
    pub gate: Option<Arc<AtomicBool>>,
}

impl SlowWriter {
    pub fn new(delay: Duration) -> SlowWriter {
        SlowWriter {
            delay,
            ..SlowWriter::default()
        }
    }

    pub fn gated(gate: Arc<AtomicBool>) -> SlowWriter {
        SlowWriter {
            gate: Some(gate),
            ..SlowWriter::default()
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }
}

impl Writer for SlowWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        if let Some(gate) = &self.gate {
            while !gate.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        std::thread::sleep(self.delay);
        let mut lines = self.lines.lock().unwrap();
        for r in batch.records() {
            lines.push(String::from_utf8(r.to_vec()).unwrap());
        }
        Ok(())
    }
}

/// A writer that always fails.
pub struct BrokenWriter;

impl Writer for BrokenWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        Err(WriteError::all(
            batch.len(),
            io::Error::other("disk on fire"),
        ))
    }

    fn name(&self) -> String {
        "broken".to_owned()
    }
}
