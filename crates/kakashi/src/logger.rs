//! [`Logger`]: a name, bound fields and context, and a pipeline on a backend;
//! and [`ToValue`], which converts field values at the call site. The logging
//! macros that build its records are in `macros.rs`.
//!
//! The level check comes first and costs one relaxed atomic load; a disabled
//! call evaluates none of its arguments. An enabled call copies its values
//! into a [`Record`] and hands it to the backend; it never formats a field,
//! and formats its message only when the message has placeholders
//! (`"Trade {id}"`; see [`log!`](crate::log!)).
//!
//! ```
//! use kakashi::{info, warning, PipelineConfig, Backend, AsyncConfig};
//! use kakashi::testing::MemoryWriter;
//!
//! let memory = MemoryWriter::new();
//! let backend = Backend::new(AsyncConfig::default())?;
//! let logger = backend.logger("trading", PipelineConfig::new().writer(memory.clone()));
//! let trades = logger.bind("desk", "equities");
//! info!(trades, "Trade executed", symbol = "AAPL", qty = 100, price = 187.5);
//! let reason = String::from("limit");
//! warning!(trades, "Order rejected", why = %reason, raw = ?(1, 2));
//! fn expensive() -> u64 { panic!("not evaluated: DEBUG is below INFO") }
//! kakashi::debug!(trades, "never built", value = expensive());
//! backend.flush();
//! let lines = memory.lines();
//! assert!(lines[0].contains(r#""fields":{"desk":"equities","symbol":"AAPL","qty":100,"price":187.5}"#));
//! assert!(lines[1].contains(r#""why":"limit","raw":"(1, 2)""#));
//! assert_eq!(lines.len(), 2);
//! # Ok::<(), kakashi::ConfigError>(())
//! ```

use std::borrow::Cow;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::backend::stages::Route;
use crate::backend::Backend;
use crate::levels::{self, Gate};
use crate::record::{
    put_field, Context, Exception, Field, Fields, Key, Level, Name, Record, Source, Text, Value,
};

/// Converts a field value at the call site (copying; never formatting).
///
/// Implemented for numbers, `bool`, `char`, strings, [`Value`], `Option`,
/// slices and `Vec`s of these, and references to any of them.
pub trait ToValue {
    /// The value to store.
    fn to_value(&self) -> Value;
}

macro_rules! to_value_via_from {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
to_value_via_from!(i8, i16, i32, i64, u8, u16, u32, u64, isize, usize, f32, f64, bool, char);

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Str(Text::from(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Str(Text::from(self.clone()))
    }
}

impl ToValue for Cow<'static, str> {
    fn to_value(&self) -> Value {
        Value::Str(Text::from(self.clone()))
    }
}

impl ToValue for Text {
    fn to_value(&self) -> Value {
        Value::Str(self.clone())
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

impl<T: ToValue> ToValue for [T] {
    fn to_value(&self) -> Value {
        Value::list(self.iter().map(ToValue::to_value))
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        self.as_slice().to_value()
    }
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

struct Inner {
    name: Name,
    /// The level check: shared by the loggers of this name on this pipeline,
    /// rewritten by `set_level` and `set_min_level` (see `levels.rs`).
    gate: Arc<Gate>,
    backend: Backend,
    route: Route,
    bound: Vec<Field>,
    context: Option<Arc<Context>>,
}

/// A named logger feeding one pipeline on one backend. Cheap to clone.
#[derive(Clone)]
pub struct Logger {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Logger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logger")
            .field("name", &self.inner.name)
            .field("min_level", &self.min_level())
            .field("bound", &self.inner.bound)
            .finish_non_exhaustive()
    }
}

impl Logger {
    pub(crate) fn new(name: &str, backend: Backend, route: Route) -> Logger {
        Logger {
            inner: Arc::new(Inner {
                name: Name::interned(name),
                gate: levels::gate(name, &route.stages),
                backend,
                route,
                bound: Vec::new(),
                context: None,
            }),
        }
    }

    /// The logger's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The logger's name, for a record (what the macros use).
    #[inline(always)]
    pub(crate) fn name_for_record(&self) -> &Name {
        &self.inner.name
    }

    /// The backend it logs through.
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// Whether a record at `level` would be kept (one relaxed atomic load).
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        level as u8 >= self.inner.gate.level.load(Relaxed)
    }

    /// The logger's level: that of the most specific
    /// [`set_level`](crate::set_level) rule for its name, or else its
    /// pipeline's.
    pub fn min_level(&self) -> Level {
        Level::from_u8_lossy(self.inner.gate.level.load(Relaxed))
    }

    /// The logger's gate: what a bridge's target gates fall back to.
    #[cfg(any(feature = "log", feature = "tracing"))]
    #[inline]
    pub(crate) fn gate(&self) -> &Arc<Gate> {
        &self.inner.gate
    }

    /// Changes the minimum level of this logger's pipeline, effective for
    /// the next call of every logger sharing the pipeline, but for loggers
    /// whose name has a [`set_level`](crate::set_level) rule (the rule
    /// wins, as a more specific setting).
    pub fn set_min_level(&self, level: Level) {
        levels::set_pipeline_level(&self.inner.route.stages, level);
    }

    /// A logger like this one with `key = value` added to every record.
    pub fn bind(&self, key: impl Into<Key>, value: impl Into<Value>) -> Logger {
        self.with_fields([(key.into(), value.into())])
    }

    /// A logger like this one with these fields added to every record
    /// (later keys win over earlier ones in output order: bound first).
    pub fn with_fields<K: Into<Key>, V: Into<Value>>(
        &self,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Logger {
        let mut bound = self.inner.bound.clone();
        for (k, v) in fields {
            put_field(&mut bound, k.into(), v.into());
        }
        self.derive(bound, self.inner.context.clone())
    }

    /// A logger like this one whose records carry `context` (merged over any
    /// context already bound; the new one wins).
    pub fn with_context(&self, context: Context) -> Logger {
        let merged = match &self.inner.context {
            Some(old) => old.merge(&context),
            None => context,
        };
        self.derive(self.inner.bound.clone(), Some(Arc::new(merged)))
    }

    fn derive(&self, bound: Vec<Field>, context: Option<Arc<Context>>) -> Logger {
        Logger {
            inner: Arc::new(Inner {
                name: self.inner.name.clone(),
                gate: self.inner.gate.clone(),
                backend: self.inner.backend.clone(),
                route: self.inner.route.clone(),
                bound,
                context,
            }),
        }
    }

    /// Logs `message` with `fields` at `level`: for fields known only at run
    /// time (the macros build the record in place).
    #[inline]
    pub fn log(&self, level: Level, message: impl Into<Text>, fields: impl Into<Fields>) {
        if self.enabled(level) && !self.drop_if_known_full() {
            self.log_at(level, message.into(), fields.into(), None, None);
        }
    }

    /// Like [`log`](Logger::log), with the call site and an error.
    #[inline]
    fn log_at(
        &self,
        level: Level,
        message: Text,
        fields: Fields,
        source: Option<&'static Source>,
        exception: Option<Exception>,
    ) {
        let mut record = Some(crate::__kakashi_record!(
            self,
            level,
            message,
            fields,
            exception.map(Box::new),
            source
        ));
        self.submit_record(&mut record);
    }

    /// See [`binding::drop_if_known_full`](crate::binding::drop_if_known_full).
    #[inline]
    pub(crate) fn drop_if_known_full(&self) -> bool {
        let inner = &*self.inner;
        inner.backend.core.drop_if_known_full(&inner.route.stages)
    }

    /// The bound context for a record (used by the macros, which build the
    /// record in place).
    #[inline(always)]
    pub(crate) fn context_for_record(&self) -> Option<Arc<Context>> {
        self.inner.context.clone()
    }

    /// Adds the bound fields (the call's own win) and the trace context (if
    /// a hook is set: see [`set_trace_context_hook`](crate::set_trace_context_hook)),
    /// and submits.
    #[inline]
    pub(crate) fn submit_record(&self, record: &mut Option<Record>) {
        if let Some(record) = record {
            if !self.inner.bound.is_empty() {
                self.merge_bound(record);
            }
            crate::bridge::add_trace_context(record);
        }
        let inner = &*self.inner;
        inner.backend.core.submit(&inner.route, record);
    }

    #[cold]
    fn merge_bound(&self, record: &mut Record) {
        let mut all: Fields = self.inner.bound.iter().cloned().collect();
        for (k, v) in record.fields.drain(..) {
            put_field(&mut all, k, v);
        }
        record.fields = all;
    }

    /// Hands a fully built record to the backend (bound fields and context are
    /// not added). The level check is the caller's.
    #[inline]
    pub fn submit(&self, record: Record) {
        let inner = &*self.inner;
        inner.backend.core.submit(&inner.route, &mut Some(record));
    }

    /// Like [`submit`](Logger::submit), running every wait the call may make
    /// (for room in the queue under `block`, for writing on this thread
    /// after shutdown or without a queue) inside `around_wait`, which must
    /// call the function it is given and returns whether to go on waiting.
    /// A binding uses it to let go of a lock of its own while it waits
    /// (Python's interpreter lock) and to give up on a signal (the record is
    /// then dropped and counted as `interrupted`), without paying for that on
    /// calls that do not wait. Every wait ends by itself: `around_wait` is
    /// called again for the next one.
    pub fn submit_with(
        &self,
        record: Record,
        around_wait: &mut dyn FnMut(&mut (dyn FnMut() + Send)) -> bool,
    ) {
        let inner = &*self.inner;
        inner
            .backend
            .core
            .submit_with(&inner.route, &mut Some(record), around_wait);
    }

    /// The bound fields, in order.
    pub fn bound_fields(&self) -> &[Field] {
        &self.inner.bound
    }

    /// The bound context, if any.
    pub fn bound_context(&self) -> Option<&Arc<Context>> {
        self.inner.context.as_ref()
    }

    /// DEBUG with no fields.
    pub fn debug(&self, message: impl Into<Text>) {
        self.log(Level::Debug, message, Fields::new())
    }

    /// INFO with no fields.
    pub fn info(&self, message: impl Into<Text>) {
        self.log(Level::Info, message, Fields::new())
    }

    /// WARNING with no fields.
    pub fn warning(&self, message: impl Into<Text>) {
        self.log(Level::Warning, message, Fields::new())
    }

    /// ERROR with no fields.
    pub fn error(&self, message: impl Into<Text>) {
        self.log(Level::Error, message, Fields::new())
    }

    /// CRITICAL with no fields.
    pub fn critical(&self, message: impl Into<Text>) {
        self.log(Level::Critical, message, Fields::new())
    }

    /// ERROR with `err` attached (type, message, cause chain; the exception
    /// enricher adds a traceback).
    pub fn exception<E: std::error::Error + 'static>(
        &self,
        message: impl Into<Text>,
        err: &E,
        fields: impl Into<Fields>,
    ) {
        if self.enabled(Level::Error) {
            self.log_at(
                Level::Error,
                message.into(),
                fields.into(),
                None,
                Some(Exception::from_error(err)),
            );
        }
    }

    /// Flushes the backend (see [`Backend::flush`]).
    pub fn flush(&self) -> bool {
        self.inner.backend.flush()
    }
}
