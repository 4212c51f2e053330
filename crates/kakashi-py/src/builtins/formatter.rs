//! The built-in formatters as Python objects (`default_json_formatter`,
//! `console_formatter` and the original's text formatters), with the
//! keywords that shape them.

use super::*;
// === formatters ===

/// A built-in formatter (`default_json_formatter`, `simple_text_formatter`,
/// `compact_formatter`, `detailed_formatter`, `console_formatter`): called
/// with a `LogRecord`, returns the line the engine writes for it (without
/// the newline); in a pipeline, runs in Rust. `default_json_formatter` and
/// `console_formatter` called with keywords only (no record) return a new
/// formatter configured by them; the bare objects keep working as before.
#[pyclass(module = "kakashi._kakashi", name = "BuiltinFormatter", extends = BuiltinStage, frozen)]
pub struct BuiltinFormatter {
    kind: FormatterKind,
    /// The shaped JSON layout, when made with keywords.
    shaped: Option<ShapedJsonFormatter>,
    /// The console's colour choice (`auto` unless given).
    colors: Colors,
    /// The `default=` hook, when given.
    default: Option<Arc<DefaultHook>>,
}

impl BuiltinFormatter {
    /// The engine stage for output to writers that all go to `stream`
    /// ([`ConsoleStream::Other`] when any writer is not the console): only
    /// the console formatter cares, colouring a terminal only.
    pub fn stage_for(&self, stream: ConsoleStream) -> Box<dyn Formatter> {
        match (&self.shaped, self.kind) {
            (Some(shaped), _) => Box::new(shaped.clone()),
            (None, FormatterKind::Console) => Box::new(ConsoleFormatter::new(self.colors, stream)),
            (None, kind) => kind.build(stream),
        }
    }

    /// The engine stage as called directly from Python (the console's
    /// colours resolved against standard output).
    pub fn stage(&self) -> Box<dyn Formatter> {
        self.stage_for(ConsoleStream::Stdout)
    }

    /// The `default=` hook, if any: the logger of a pipeline with this
    /// formatter converts values through it.
    pub fn default_hook(&self) -> Option<Arc<DefaultHook>> {
        self.default.clone()
    }

    /// The original's name of the formatter `kind` (`default_json_formatter`, ...).
    pub(super) fn name_of(kind: FormatterKind) -> &'static str {
        match kind {
            FormatterKind::Json => "default_json_formatter",
            FormatterKind::SimpleText => "simple_text_formatter",
            FormatterKind::Compact => "compact_formatter",
            FormatterKind::Detailed => "detailed_formatter",
            FormatterKind::Console => "console_formatter",
            FormatterKind::Ecs => "ecs_json_formatter",
            FormatterKind::Gcp => "gcp_json_formatter",
        }
    }

    /// The formatter `kind`, named and shown as in the original.
    pub fn named(py: Python<'_>, kind: FormatterKind) -> PyResult<Py<BuiltinFormatter>> {
        let name = BuiltinFormatter::name_of(kind);
        BuiltinStage::new(name, name.to_owned()).wrap(
            py,
            BuiltinFormatter {
                kind,
                shaped: None,
                colors: Colors::Auto,
                default: None,
            },
        )
    }

    /// `default_json_formatter(**keywords)`.
    fn json_with(py: Python<'_>, kwargs: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        let mut shape = JsonShape::new();
        let mut default = None;
        let mut shown = Vec::new();
        for (k, v) in kwargs.iter() {
            let key: String = k.extract()?;
            shown.push(format!("{key}={}", repr_of(&v)));
            match key.as_str() {
                "profile" => {
                    let name: String = v.extract().map_err(|_| {
                        PyTypeError::new_err(format!("profile must be a str, got {}", repr_of(&v)))
                    })?;
                    shape = shape.profile(name.parse::<JsonProfile>().map_err(config_error)?);
                }
                "rename" => {
                    let map = v.cast::<PyDict>().map_err(|_| {
                        PyTypeError::new_err(format!(
                            "rename must be a dict of str to str, got {}",
                            repr_of(&v)
                        ))
                    })?;
                    for (from, to) in map.iter() {
                        let (Ok(from), Ok(to)) = (from.extract::<String>(), to.extract::<String>())
                        else {
                            return Err(PyTypeError::new_err(format!(
                                "rename must be a dict of str to str, got {}",
                                repr_of(&v)
                            )));
                        };
                        shape = shape.rename(from, to);
                    }
                }
                "drop" => {
                    if v.is_instance_of::<PyString>() {
                        return Err(PyTypeError::new_err(
                            "drop must be a list of key names, not a str",
                        ));
                    }
                    for key in v.try_iter()? {
                        let key = key?;
                        let key: String = key.extract().map_err(|_| {
                            PyTypeError::new_err(format!(
                                "drop must be a list of key names, got {}",
                                repr_of(&key)
                            ))
                        })?;
                        shape = shape.drop(key);
                    }
                }
                "flatten_fields" if v.is_truthy()? => shape = shape.flatten_fields(),
                "flatten_fields" => {}
                "exception_frames" => shape = shape.exception_frames(v.is_truthy()?),
                "gcp_project" => shape = shape.gcp_project(v.extract::<String>()?),
                "default" if v.is_none() => {}
                "default" => {
                    if !v.is_callable() {
                        return Err(PyTypeError::new_err(format!(
                            "default must be callable, got {}",
                            repr_of(&v)
                        )));
                    }
                    default = Some(Arc::new(DefaultHook::new(v.clone().unbind())));
                }
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "default_json_formatter() got an unexpected keyword argument '{other}'"
                    )))
                }
            }
        }
        let shaped = shape.build().map_err(config_error)?;
        let repr = format!("default_json_formatter({})", shown.join(", "));
        let made = BuiltinStage::new("default_json_formatter", repr).wrap(
            py,
            BuiltinFormatter {
                kind: FormatterKind::Json,
                shaped: Some(shaped),
                colors: Colors::Auto,
                default,
            },
        )?;
        Ok(made.into_any())
    }

    /// `console_formatter(colors=...)`.
    fn console_with(py: Python<'_>, kwargs: &Bound<'_, PyDict>) -> PyResult<Py<PyAny>> {
        let mut colors = Colors::Auto;
        for (k, v) in kwargs.iter() {
            let key: String = k.extract()?;
            match key.as_str() {
                "colors" => {
                    let name: String = v.extract().map_err(|_| {
                        PyTypeError::new_err(format!("colors must be a str, got {}", repr_of(&v)))
                    })?;
                    colors = name.parse().map_err(config_error)?;
                }
                other => {
                    return Err(PyTypeError::new_err(format!(
                        "console_formatter() got an unexpected keyword argument '{other}'"
                    )))
                }
            }
        }
        let repr = format!("console_formatter(colors={:?})", colors.to_string());
        let made = BuiltinStage::new("console_formatter", repr).wrap(
            py,
            BuiltinFormatter {
                kind: FormatterKind::Console,
                shaped: None,
                colors,
                default: None,
            },
        )?;
        Ok(made.into_any())
    }
}

#[pymethods]
impl BuiltinFormatter {
    /// The engine's line for `record`; or, given keywords only, a new
    /// formatter they configure (`default_json_formatter`: `profile`,
    /// `rename`, `drop`, `flatten_fields`, `exception_frames`,
    /// `gcp_project`, `default`; `console_formatter`: `colors`).
    #[pyo3(signature = (record=None, **kwargs))]
    fn __call__(
        slf: &Bound<'_, Self>,
        record: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let py = slf.py();
        let _call = crate::gil::Call::enter(py);
        let this = slf.get();
        let kwargs = kwargs.filter(|k| !k.is_empty());
        match (record, kwargs) {
            (Some(record), None) => {
                let r = engine_record(record)?;
                let mut out = Vec::new();
                this.stage().format(&r, &mut out);
                Ok(PyString::new(py, &String::from_utf8_lossy(&out))
                    .into_any()
                    .unbind())
            }
            (None, None) => Ok(slf.clone().into_any().unbind()),
            (Some(_), Some(_)) => Err(PyTypeError::new_err(
                "a formatter takes either a record or keywords, not both",
            )),
            (None, Some(kwargs)) => match this.kind {
                // Keywords configure from the default layout, whatever this
                // one was made with.
                FormatterKind::Json => BuiltinFormatter::json_with(py, kwargs),
                FormatterKind::Console => BuiltinFormatter::console_with(py, kwargs),
                _ => Err(PyTypeError::new_err(format!(
                    "{}() takes no keyword arguments",
                    BuiltinFormatter::name_of(this.kind)
                ))),
            },
        }
    }

    fn __traverse__(&self, visit: pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        match &self.default {
            Some(hook) => hook.traverse(&visit),
            None => Ok(()),
        }
    }

    /// How many values the `default=` hook could not turn into JSON (it
    /// raised, or returned something unencodable) and were written as their
    /// `repr()` instead; 0 without a hook.
    #[getter]
    fn default_fallbacks(&self) -> u64 {
        self.default.as_ref().map_or(0, |h| h.fallbacks())
    }

    /// Whether this formatter's lines carry ANSI colours when written to
    /// standard output (console formatter; `False` for the others).
    #[getter]
    fn colored(&self) -> bool {
        self.kind == FormatterKind::Console
            && ConsoleFormatter::new(self.colors, ConsoleStream::Stdout).colored()
    }
}
