//! [`Logger`]: a name, bound fields and context, and a pipeline on a backend;
//! plus the logging macros.
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
use crate::record::{
    put_field, Context, Exception, Field, Fields, Key, Level, Name, Record, Source, Value,
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
        Value::Str(Cow::Owned(self.to_owned()))
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Str(Cow::Owned(self.clone()))
    }
}

impl ToValue for Cow<'static, str> {
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
        Value::List(self.iter().map(ToValue::to_value).collect())
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
        level as u8 >= self.inner.route.stages.min_level.load(Relaxed)
    }

    /// The pipeline's minimum level.
    pub fn min_level(&self) -> Level {
        Level::from_u8_lossy(self.inner.route.stages.min_level.load(Relaxed))
    }

    /// Changes the minimum level of this logger's pipeline (and so of every
    /// logger sharing it), effective for the next call.
    pub fn set_min_level(&self, level: Level) {
        self.inner
            .route
            .stages
            .min_level
            .store(level.value(), Relaxed);
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
    pub fn log(
        &self,
        level: Level,
        message: impl Into<Cow<'static, str>>,
        fields: impl Into<Fields>,
    ) {
        if self.enabled(level) && !self.drop_if_known_full() {
            self.log_at(level, message.into(), fields.into(), None, None);
        }
    }

    /// Like [`log`](Logger::log), with the call site and an error.
    #[inline]
    fn log_at(
        &self,
        level: Level,
        message: Cow<'static, str>,
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
        inner.backend.shared.drop_if_known_full(&inner.route.stages)
    }

    /// The bound context for a record (used by the macros, which build the
    /// record in place).
    #[inline(always)]
    pub(crate) fn context_for_record(&self) -> Option<Arc<Context>> {
        self.inner.context.clone()
    }

    /// Adds the bound fields (the call's own win) and submits.
    #[inline]
    pub(crate) fn submit_record(&self, record: &mut Option<Record>) {
        if !self.inner.bound.is_empty() {
            if let Some(record) = record {
                self.merge_bound(record);
            }
        }
        let inner = &*self.inner;
        inner.backend.shared.submit(&inner.route, record);
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
        inner.backend.shared.submit(&inner.route, &mut Some(record));
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
            .shared
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
    pub fn debug(&self, message: impl Into<Cow<'static, str>>) {
        self.log(Level::Debug, message, Fields::new())
    }

    /// INFO with no fields.
    pub fn info(&self, message: impl Into<Cow<'static, str>>) {
        self.log(Level::Info, message, Fields::new())
    }

    /// WARNING with no fields.
    pub fn warning(&self, message: impl Into<Cow<'static, str>>) {
        self.log(Level::Warning, message, Fields::new())
    }

    /// ERROR with no fields.
    pub fn error(&self, message: impl Into<Cow<'static, str>>) {
        self.log(Level::Error, message, Fields::new())
    }

    /// CRITICAL with no fields.
    pub fn critical(&self, message: impl Into<Cow<'static, str>>) {
        self.log(Level::Critical, message, Fields::new())
    }

    /// ERROR with `err` attached (type, message, cause chain; the exception
    /// enricher adds a traceback).
    pub fn exception<E: std::error::Error + 'static>(
        &self,
        message: impl Into<Cow<'static, str>>,
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

// === what the macros call ===

/// What the logging macros expand to call. Not public API: no stability
/// promise, and nothing here is for a user (or a binding: see
/// [`binding`](crate::binding)) to call. `#[doc(hidden)]`, re-exported at
/// the crate root as `kakashi::__private` because an exported macro can only
/// reach items by a public path.
#[doc(hidden)]
pub mod __private {
    use std::borrow::Cow;
    use std::fmt;
    use std::sync::Arc;

    use super::Logger;
    use crate::record::{Context, Name, Record};

    /// The crate `key!` builds static names with.
    pub use arcstr;

    pub use crate::binding::drop_if_known_full;

    /// A macro's message: a literal without placeholders stays the
    /// `&'static str` it is (`as_str` is `Some`; inlined, the check folds
    /// away), anything else is formatted now.
    #[inline(always)]
    pub fn message(args: fmt::Arguments<'_>) -> Cow<'static, str> {
        match args.as_str() {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(fmt::format(args)),
        }
    }

    /// The logger's name, for the record the macro builds in place.
    #[inline(always)]
    pub fn name(logger: &Logger) -> &Name {
        logger.name_for_record()
    }

    /// The logger's bound context, for the record the macro builds in place.
    #[inline(always)]
    pub fn context(logger: &Logger) -> Option<Arc<Context>> {
        logger.context_for_record()
    }

    /// Adds the bound fields (the call's own win) and submits the record
    /// the macro built.
    #[inline(always)]
    pub fn submit(logger: &Logger, record: &mut Option<Record>) {
        logger.submit_record(record)
    }
}

// === macros ===

/// Pushes a logging macro's fields into the record named by its first
/// argument (built in place: no intermediate list to copy). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __kakashi_fields {
    (@acc $rec:ident []) => {};
    // One `extend` from an array, not a `push` per field: each pushed field
    // was built on the stack and read back by a wider load than the stores
    // that wrote it, a store-forwarding stall per field (BENCHMARKS.md,
    // "Design decisions").
    (@acc $rec:ident [$($done:expr,)+]) => { $rec.fields.extend([$($done,)+]); };
    (@acc $rec:ident [$($done:expr,)*] $key:ident = % $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::display(&$val)),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] $key:ident = ? $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::debug(&$val)),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] $key:ident = $val:literal $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::from($val)),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] $key:ident = $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::ToValue::to_value(&$val)),] $($($rest)*)?)
    };
}

/// A record of `$logger` made now, in one struct literal: a record is a few
/// hundred bytes, and each function that returns one is a copy. Used by
/// [`log!`](crate::log!) and `Logger::log_at`. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __kakashi_record {
    ($logger:expr, $level:expr, $message:expr, $fields:expr, $exception:expr, $source:expr) => {
        $crate::Record {
            timestamp: $crate::Timestamp::now(),
            level: $level,
            logger: ::std::clone::Clone::clone($crate::__private::name($logger)),
            message: $message,
            fields: $fields,
            context: $crate::__private::context($logger),
            exception: $exception,
            source: $source,
            thread: $crate::ThreadInfo::current(),
            sections: $crate::record::Sections::NONE,
        }
    };
}

/// Logs at a level: `log!(logger, Level::Info, "message", key = value, ...)`.
///
/// The message is a format string, as in `format!`, `log` and `tracing`:
///
/// - `log!(logger, level, "Trade executed")`: a literal without
///   placeholders is logged as the `&'static str` it is, never copied or
///   formatted (the common case costs nothing for its message);
/// - `"hello {user}"` captures `user` from the scope, and
///   `"Trade {} at {}", id, price` takes positional arguments: the message
///   is formatted once, on the calling thread, only when the level is
///   enabled; `{{` and `}}` are literal braces;
/// - fields follow the message and its arguments: `"Trade executed",
///   key = value, ...` or `"Trade {}", id, price = p, qty = q`; a `;` may
///   end the arguments instead (`"Trade {}", id; price = p`). After the
///   message, `name = value` always starts the fields: it is never a named
///   format argument (capture `{name}` from the scope instead);
/// - a message that is not a literal (a `String`, a `Cow<'static, str>`, a
///   `&'static str` constant) is logged as it is, braces and all.
///
/// Field values: `key = value` copies anything [`ToValue`]; `key = %value`
/// uses `Display`; `key = ?value` uses `Debug`. String literals are not
/// copied. With `exception: &err,` before the message, the error is
/// attached. Nothing is evaluated when the level is disabled, nor when the
/// record would be dropped anyway (`drop_newest` with the queue full: the
/// drop is counted as usual).
///
/// ```
/// use kakashi::{info, error, Backend, PipelineConfig};
/// use kakashi::testing::MemoryWriter;
///
/// let memory = MemoryWriter::new();
/// let backend = Backend::synchronous();
/// let log = backend.logger("desk", PipelineConfig::new().writer(memory.clone()));
/// let (user, id, price) = ("ann", 7, 187.5);
/// info!(log, "hello {user}");
/// info!(log, "Trade {} at {price}", id, symbol = "AAPL");
/// info!(log, "Trade executed", id = id);
/// let err = std::io::Error::other("disk full");
/// error!(log, exception: &err, "order {id} failed");
/// let lines = memory.lines();
/// assert!(lines[0].contains(r#""message":"hello ann""#));
/// assert!(lines[1].contains(r#""message":"Trade 7 at 187.5","fields":{"symbol":"AAPL"}"#));
/// assert!(lines[2].contains(r#""message":"Trade executed","fields":{"id":7}"#));
/// assert!(lines[3].contains(r#""message":"order 7 failed""#));
/// ```
///
/// A placeholder without its argument is a compile error, as in `format!`
/// (here `id = 7` is a field):
///
/// ```compile_fail
/// # let log = kakashi::Backend::synchronous().logger("x", kakashi::PipelineConfig::new());
/// kakashi::info!(log, "Trade {}", id = 7);
/// ```
#[macro_export]
macro_rules! log {
    // === the message: a literal is a format string, anything else is as is ===
    // A literal alone (`{captures}` formatted, none: the literal itself).
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal $(,)?) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg)),)
    };
    // A literal, then fields: `name = ...` after the message is always a field.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal, $key:ident = $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg)), $key = $($fields)*)
    };
    // A literal and format arguments, then maybe fields.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal, $($rest:tt)+) => {
        $crate::log!(@args $logger, $level, $exception, $msg, [] $($rest)+)
    };
    // Any other message (`Into<Cow<'static, str>>`), logged as it is.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:expr $(, $($fields:tt)*)?) => {
        $crate::log!(@build $logger, $level, $exception,
            ::std::convert::Into::into($msg), $($($fields)*)?)
    };
    // === the format arguments: up to a `;` or the first `, name =` ===
    // Taken token by token (not as `expr`s, which would read `name = value`
    // as an assignment), so the tokens reach `format_args!` as written.
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] ; $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)), $($fields)*)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] , $key:ident = $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)), $key = $($fields)*)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] $(,)?) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)),)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)*] $next:tt $($rest:tt)*) => {
        $crate::log!(@args $logger, $level, $exception, $msg, [$($arg)* $next] $($rest)*)
    };
    // `$message` is an expression evaluated only inside the level check.
    (@build $logger:expr, $level:expr, $exception:expr, $message:expr, $($fields:tt)*) => {{
        let logger = &$logger;
        let level: $crate::Level = $level;
        if logger.enabled(level) && !$crate::__private::drop_if_known_full(logger) {
            static SOURCE: $crate::Source = $crate::Source { module: module_path!(), file: file!(), line: line!() };
            // Built in an `Option`, handed on by reference and moved out
            // only into its queue slot: each move of a record is a copy.
            let mut record = ::std::option::Option::Some($crate::__kakashi_record!(
                logger,
                level,
                $message,
                $crate::Fields::new(),
                $exception,
                Some(&SOURCE)
            ));
            // `_record`: a call without fields does not use it.
            if let ::std::option::Option::Some(_record) = &mut record {
                $crate::__kakashi_fields!(@acc _record [] $($fields)*);
            }
            $crate::__private::submit(logger, &mut record);
        }
    }};
    ($logger:expr, $level:expr, exception: $err:expr, $($rest:tt)+) => {
        $crate::log!(
            @msg $logger,
            $level,
            Some(::std::boxed::Box::new($crate::Exception::from_error($err))),
            $($rest)+
        )
    };
    ($logger:expr, $level:expr, $($rest:tt)+) => {
        $crate::log!(@msg $logger, $level, None, $($rest)+)
    };
}

/// DEBUG: `debug!(logger, "message {x}", key = value, ...)` or
/// `debug!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! debug {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Debug, $($rest)+) };
}

/// INFO: `info!(logger, "message {x}", key = value, ...)` or
/// `info!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! info {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Info, $($rest)+) };
}

/// WARNING: `warning!(logger, "message {x}", key = value, ...)` or
/// `warning!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! warning {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Warning, $($rest)+) };
}

/// ERROR: `error!(logger, "message {x}", key = value, ...)`,
/// `error!(logger, "message {}", x, key = value, ...)` or
/// `error!(logger, exception: &err, "message", ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! error {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Error, $($rest)+) };
}

/// CRITICAL: `critical!(logger, "message {x}", key = value, ...)` or
/// `critical!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! critical {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Critical, $($rest)+) };
}
