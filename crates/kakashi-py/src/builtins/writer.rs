//! The built-in writers as Python objects (`console_writer`,
//! `stderr_writer`, `null_writer`, `file_writer(path)`).

use super::*;
// === writers ===

/// The open file of a `file_writer(path)`, shared by the Python object and
/// every pipeline it is in.
type SharedFile = Arc<Mutex<kakashi::pipeline::write::FileWriter>>;

/// Which built-in writer.
#[derive(Clone)]
enum WriterKind {
    Console,
    Stderr,
    Null,
    File(SharedFile),
}

/// A built-in writer (`console_writer`, `stderr_writer`, `null_writer`,
/// `file_writer(path)`): called with a line (no newline), writes it as the
/// engine does; in a pipeline, the engine writes each batch with one call.
#[pyclass(module = "kakashi._kakashi", name = "BuiltinWriter", extends = BuiltinStage, frozen)]
pub struct BuiltinWriter {
    kind: WriterKind,
}

impl BuiltinWriter {
    /// Which console stream it writes to ([`ConsoleStream::Other`] for a
    /// file or the null writer).
    pub fn console_stream(&self) -> ConsoleStream {
        match self.kind {
            WriterKind::Console => ConsoleStream::Stdout,
            WriterKind::Stderr => ConsoleStream::Stderr,
            _ => ConsoleStream::Other,
        }
    }

    /// The engine stage.
    pub fn stage(&self) -> Box<dyn Writer> {
        match &self.kind {
            WriterKind::Console => Box::new(console_writer()),
            WriterKind::Stderr => Box::new(stderr_writer()),
            WriterKind::Null => Box::new(NullWriter),
            WriterKind::File(file) => Box::new(SharedFileWriter(Arc::clone(file))),
        }
    }

    /// The writer `kind`, named `name` and shown as `repr`, which is also
    /// its `__qualname__` (`file_writer('app.log')`), as in the original.
    fn new(
        py: Python<'_>,
        kind: WriterKind,
        name: &'static str,
        repr: String,
    ) -> PyResult<Py<BuiltinWriter>> {
        let base = BuiltinStage {
            qualname_is_repr: true,
            ..BuiltinStage::new(name, repr)
        };
        base.wrap(py, BuiltinWriter { kind })
    }

    /// The writer `kind`, named, shown and qualified as `name`.
    fn named(py: Python<'_>, kind: WriterKind, name: &'static str) -> PyResult<Py<BuiltinWriter>> {
        BuiltinWriter::new(py, kind, name, name.to_owned())
    }
}

#[pymethods]
impl BuiltinWriter {
    /// Writes `message` and a newline, as the engine writes a one-record
    /// batch; an I/O error raises `OSError`. The console writers first
    /// flush Python's `sys.stdout`/`sys.stderr`, so earlier `print` output
    /// stays before this line.
    fn __call__(&self, py: Python<'_>, message: &Bound<'_, PyAny>) -> PyResult<()> {
        let _call = crate::gil::Call::enter(py);
        let line = match message.cast::<PyString>() {
            Ok(s) => convert::text(s),
            Err(_) => {
                return Err(PyTypeError::new_err(format!(
                    "a writer takes a str, got {}",
                    repr_of(message)
                )))
            }
        };
        match self.kind {
            WriterKind::Null => return Ok(()),
            WriterKind::Console => flush_python_stream(py, "stdout"),
            WriterKind::Stderr => flush_python_stream(py, "stderr"),
            WriterKind::File(_) => {}
        }
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let ends = [bytes.len()];
        let mut writer = self.stage();
        // The write (a system call) runs without the interpreter lock.
        crate::gil::detach(py, || writer.write_batch(&Batch::new(&bytes, &ends)))
            .map_err(|e| PyOSError::new_err(e.error.to_string()))
    }
}

/// `sys.<name>.flush()`, ignoring a missing or failing stream.
fn flush_python_stream(py: Python<'_>, name: &str) {
    let stream = py.import("sys").and_then(|sys| sys.getattr(name));
    if let Ok(stream) = stream {
        if !stream.is_none() {
            let _ = stream.call_method0("flush");
        }
    }
}

/// `console_writer`: standard output.
pub fn console_writer_object(py: Python<'_>) -> PyResult<Py<BuiltinWriter>> {
    BuiltinWriter::named(py, WriterKind::Console, "console_writer")
}

/// `stderr_writer`: standard error.
pub fn stderr_writer_object(py: Python<'_>) -> PyResult<Py<BuiltinWriter>> {
    BuiltinWriter::named(py, WriterKind::Stderr, "stderr_writer")
}

/// `null_writer`: discards.
pub fn null_writer_object(py: Python<'_>) -> PyResult<Py<BuiltinWriter>> {
    BuiltinWriter::named(py, WriterKind::Null, "null_writer")
}

/// A writer appending lines to `file_path`, creating it and its parent
/// directories. The file is opened now, once (a path that cannot be written
/// raises `OSError` here), and kept open: the engine appends each batch with
/// one system call, a direct call appends its line the same way, and the file
/// is closed when this object and every pipeline holding it are gone.
/// `rotation`, `retention` and `compression` make it a managed file (the
/// core's `FileOptions`: `"100 MB"`, `"daily"`, `10`, `"7 days"`, `"gzip"`).
#[pyfunction(name = "file_writer")]
#[pyo3(signature = (file_path, rotation=None, retention=None, compression=None))]
pub fn py_file_writer(
    py: Python<'_>,
    file_path: std::path::PathBuf,
    rotation: Option<&Bound<'_, PyAny>>,
    retention: Option<&Bound<'_, PyAny>>,
    compression: Option<&Bound<'_, PyAny>>,
) -> PyResult<Py<BuiltinWriter>> {
    let options = crate::config::file_options(rotation, retention, compression)?;
    let shown = PyString::new(py, &file_path.display().to_string());
    let repr = format!("file_writer({})", repr_of(shown.as_any()));
    let writer = crate::gil::detach(py, || kakashi::file_writer_with(&file_path, options))
        .map_err(config_error)?;
    BuiltinWriter::new(
        py,
        WriterKind::File(Arc::new(Mutex::new(writer))),
        "file_writer",
        repr,
    )
}

/// A pipeline's handle on a `file_writer(path)`'s open file.
struct SharedFileWriter(SharedFile);

impl Writer for SharedFileWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let mut file = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_batch(batch)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }

    fn sync(&mut self) -> std::io::Result<()> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).sync()
    }

    fn name(&self) -> String {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).name()
    }
}

/// Discards everything (the original's `null_writer`).
struct NullWriter;

impl Writer for NullWriter {
    fn write_batch(&mut self, _batch: &Batch<'_>) -> Result<(), WriteError> {
        Ok(())
    }

    fn name(&self) -> String {
        "null".to_owned()
    }
}
