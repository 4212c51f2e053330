//! What a backend reports to Python: its counters as a `dict` and the
//! `ShutdownReport` class.

use kakashi::{ShutdownReport, Stats};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

pub(crate) fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("state", s.state.as_str())?;
    for (k, v) in s.counters() {
        d.set_item(k, v)?;
    }
    let writers = PyList::empty(py);
    for w in &s.writers {
        let wd = PyDict::new(py);
        wd.set_item("name", &w.name)?;
        wd.set_item("written", w.written)?;
        wd.set_item("failed", w.failed)?;
        wd.set_item("errors", w.errors)?;
        wd.set_item("retries", w.retries)?;
        writers.append(wd)?;
    }
    d.set_item("writers", writers)?;
    Ok(d)
}

/// What a shutdown did: `drained` (everything written), `dropped` (left in
/// the queue at the timeout), `in_flight` (still being written), `elapsed`
/// (seconds). True when it completed.
#[pyclass(module = "kakashi._kakashi", name = "ShutdownReport", frozen)]
pub(crate) struct PyShutdownReport {
    #[pyo3(get)]
    drained: bool,
    #[pyo3(get)]
    dropped: u64,
    #[pyo3(get)]
    in_flight: u64,
    #[pyo3(get)]
    elapsed: f64,
}

impl From<ShutdownReport> for PyShutdownReport {
    fn from(r: ShutdownReport) -> Self {
        PyShutdownReport {
            drained: r.drained,
            dropped: r.dropped,
            in_flight: r.in_flight,
            elapsed: r.elapsed.as_secs_f64(),
        }
    }
}

#[pymethods]
impl PyShutdownReport {
    fn __bool__(&self) -> bool {
        self.drained && self.dropped == 0 && self.in_flight == 0
    }

    fn __repr__(&self) -> String {
        format!(
            "ShutdownReport(drained={}, dropped={}, in_flight={}, elapsed={:.3})",
            if self.drained { "True" } else { "False" },
            self.dropped,
            self.in_flight,
            self.elapsed
        )
    }
}
