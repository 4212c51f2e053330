//! What a log event is: [`Level`], [`Value`], [`Record`] and the data that rides on it.
//!
//! A record is built on the caller's thread by a [`Logger`](crate::Logger): the
//! call site copies raw values (numbers, strings, an error's text) into the record
//! and never formats them. Workers later enrich, filter and format it.
//!
//! ```
//! use kakashi::{Level, Value};
//! assert_eq!(Level::Warning as u8, 30);
//! assert!(Level::Error >= Level::Info);
//! assert_eq!(Value::from(3_i32), Value::I64(3));
//! assert_eq!("INFO".parse::<Level>().unwrap(), Level::Info);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::ConfigError;
use crate::fork_cell::ForkCell;

// === Name ===

/// A logger's, a thread's or a field's name: one pointer to its text.
///
/// A name written in code (a macro's key) or seen before (logger and thread
/// names, Python keyword names, see [`Name::interned`]) is static: kept for
/// the life of the process, and copied or dropped without an atomic
/// operation. Any other name is reference-counted, so names made at run
/// time (a logger per request, a thread per task, keys of a dict) take
/// memory only while a record or a logger holds them. One pointer rather
/// than a `Cow<str>`'s three words: a record carries a name per field, and
/// every queue slot is a record.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(arcstr::ArcStr);

impl Name {
    /// The name of a string literal, with no allocation (what the macros'
    /// keys use, through [`key!`](crate::key)).
    #[doc(hidden)]
    pub const fn from_literal(s: arcstr::ArcStr) -> Name {
        Name(s)
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text for the life of the process, if the name is static.
    pub fn as_static(&self) -> Option<&'static str> {
        arcstr::ArcStr::as_static(&self.0)
    }

    /// `s` as a static name: the same one for the same text, made once per
    /// process. Past [`INTERNED_NAMES`] distinct names (or for a name longer
    /// than [`INTERNED_NAME_LEN`] bytes) the name is reference-counted
    /// instead, so that names made per request or per record never grow
    /// the process.
    pub fn interned(s: &str) -> Name {
        if s.len() > INTERNED_NAME_LEN {
            return Name(arcstr::ArcStr::from(s));
        }
        let mut names = interned_names()
            .get()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(found) = names.get(s) {
            return found.clone();
        }
        let name = arcstr::ArcStr::from(s);
        if names.len() < INTERNED_NAMES {
            // Leaked on purpose: a static name is never freed, which is what
            // makes copying it free of atomics.
            name.leak();
            names.insert(Name(name.clone()));
        }
        Name(name)
    }
}

/// How many distinct names [`Name::interned`] keeps for the life of the process.
pub const INTERNED_NAMES: usize = 16_384;
/// Longer names are never kept (see [`Name::interned`]).
pub const INTERNED_NAME_LEN: usize = 256;

impl std::ops::Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl From<&str> for Name {
    /// A reference-counted name (a copy of `s`); [`Name::interned`] for a
    /// name used again and again.
    fn from(s: &str) -> Name {
        Name(arcstr::ArcStr::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(arcstr::ArcStr::from(s))
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name(arcstr::ArcStr::from(s.as_str()))
    }
}

impl From<Cow<'_, str>> for Name {
    fn from(s: Cow<'_, str>) -> Name {
        Name(arcstr::ArcStr::from(&*s))
    }
}

impl From<&Name> for Name {
    fn from(s: &Name) -> Name {
        s.clone()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The [`Name`] of a string literal, made at compile time: no allocation,
/// no atomic operation (what the logging macros use for field keys).
#[macro_export]
macro_rules! key {
    ($text:expr) => {{
        const KEY: $crate::record::Name =
            $crate::record::Name::from_literal($crate::__arcstr::literal!($text));
        KEY
    }};
}

// === Level ===

/// Severity of a record, with the original's numeric values.
///
/// Filtering everywhere is `level >= min_level`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Level {
    /// Detailed diagnostics (10).
    Debug = 10,
    /// Normal operation (20).
    Info = 20,
    /// Something unexpected that the program survives (30).
    Warning = 30,
    /// An operation failed (40).
    Error = 40,
    /// The program may not be able to continue (50).
    Critical = 50,
}

impl Level {
    /// All levels, lowest first.
    pub const ALL: [Level; 5] = [
        Level::Debug,
        Level::Info,
        Level::Warning,
        Level::Error,
        Level::Critical,
    ];

    /// The upper-case name used in output (`"INFO"`).
    pub const fn name(self) -> &'static str {
        match self {
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warning => "WARNING",
            Level::Error => "ERROR",
            Level::Critical => "CRITICAL",
        }
    }

    /// The numeric value (10, 20, 30, 40, 50).
    pub const fn value(self) -> u8 {
        self as u8
    }

    /// The level with this exact numeric value.
    ///
    /// # Errors
    /// [`ConfigError::InvalidLevel`] for any other number (the original's
    /// `LogLevel(25)` raises too).
    pub fn from_value(value: i64) -> Result<Level, ConfigError> {
        Level::ALL
            .into_iter()
            .find(|l| l.value() as i64 == value)
            .ok_or_else(|| ConfigError::InvalidLevel(value.to_string()))
    }

    pub(crate) const fn from_u8_lossy(v: u8) -> Level {
        match v {
            0..=10 => Level::Debug,
            11..=20 => Level::Info,
            21..=30 => Level::Warning,
            31..=40 => Level::Error,
            _ => Level::Critical,
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Level {
    type Err = ConfigError;

    /// Parses a level name in any case (`"warning"`, `"WARN"` also accepted).
    fn from_str(s: &str) -> Result<Level, ConfigError> {
        match s.trim().to_ascii_uppercase().as_str() {
            "DEBUG" => Ok(Level::Debug),
            "INFO" => Ok(Level::Info),
            "WARNING" | "WARN" => Ok(Level::Warning),
            "ERROR" => Ok(Level::Error),
            "CRITICAL" | "FATAL" => Ok(Level::Critical),
            _ => Err(ConfigError::InvalidLevel(s.to_owned())),
        }
    }
}

// === Value ===

/// A field key (see [`Name`]).
pub type Key = Name;

/// A structured field value.
///
/// Values are copied at the call site. Strings written as literals stay
/// borrowed (`Cow::Borrowed`), so the common case does not allocate.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null` (Python `None`).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer too large for `i64` is kept exact.
    U64(u64),
    /// A float; NaN and infinities are written as the strings `"NaN"`,
    /// `"Infinity"` and `"-Infinity"` so the line stays valid JSON.
    F64(f64),
    /// A string.
    Str(Cow<'static, str>),
    /// A list of values.
    List(Box<[Value]>),
    /// A map with keys in insertion order.
    Map(Box<[(Key, Value)]>),
}

// A record keeps its first fields inline, so a value's size is paid for
// six times in every queue slot: the lists and maps are boxed slices (two
// words, beside the string's niche) rather than vectors (three).
const _: () = assert!(std::mem::size_of::<Value>() == 24);

impl Value {
    /// A string value from anything `Display` (used by the `%value` macro form).
    pub fn display(value: impl fmt::Display) -> Value {
        Value::Str(Cow::Owned(value.to_string()))
    }

    /// A string value from anything `Debug` (used by the `?value` macro form).
    pub fn debug(value: impl fmt::Debug) -> Value {
        Value::Str(Cow::Owned(format!("{value:?}")))
    }

    /// An error and its `source()` chain as one string, `"outer: cause: root"`.
    pub fn error(err: &(dyn std::error::Error + 'static)) -> Value {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Value::Str(Cow::Owned(text))
    }
}

macro_rules! value_from {
    ($variant:ident as $target:ty: $($t:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v as $target)
            }
        })*
    };
}
value_from!(I64 as i64: i8, i16, i32, i64, u8, u16, u32, isize);
value_from!(F64 as f64: f32, f64);

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        match i64::try_from(v) {
            Ok(i) => Value::I64(i),
            Err(_) => Value::U64(v),
        }
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::from(v as u64)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(Cow::Borrowed(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Cow::Owned(v))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Str(Cow::Owned(v.clone()))
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(v: Cow<'static, str>) -> Value {
        Value::Str(v)
    }
}

impl From<char> for Value {
    fn from(v: char) -> Value {
        Value::Str(Cow::Owned(v.to_string()))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Value {
        Value::Map(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A key and its value, as stored in [`Record::fields`].
pub type Field = (Key, Value);

/// Sets `key` to `value` in a field list: an existing field of that key gets
/// the new value in its place (later wins, first position kept, as a Python
/// dict update); otherwise the field is appended.
pub fn put_field<C>(fields: &mut C, key: Key, value: Value)
where
    C: std::ops::DerefMut<Target = [Field]> + Extend<Field>,
{
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => fields.extend([(key, value)]),
    }
}

/// How many fields a record holds without allocating.
pub const INLINE_FIELDS: usize = 6;

/// A record's fields, in order: up to [`INLINE_FIELDS`] live inside the
/// record (no allocation on the hot path), more spill to the heap.
pub type Fields = smallvec::SmallVec<[Field; INLINE_FIELDS]>;

// === Exception ===

/// An error attached to a record: its type, message, cause chain and, once
/// [`exception_enricher`](crate::exception_enricher) has run, a traceback.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    /// The error's type name (`"std::io::error::Error"`, or the Python class name).
    pub type_name: Cow<'static, str>,
    /// The error's message (`Display`).
    pub message: String,
    /// The messages of the `source()` chain, outermost first.
    pub chain: Vec<String>,
    /// A formatted traceback, if known.
    pub traceback: Option<String>,
}

impl Exception {
    /// Captures an error, its type name and its source chain.
    pub fn from_error<E: std::error::Error + 'static>(err: &E) -> Exception {
        let mut exception = Exception::from_dyn(err);
        exception.type_name = Cow::Borrowed(std::any::type_name::<E>());
        exception
    }

    /// Captures a type-erased error; its type name is recorded as `"Error"`.
    pub fn from_dyn(err: &(dyn std::error::Error + 'static)) -> Exception {
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        Exception {
            type_name: Cow::Borrowed("Error"),
            message: err.to_string(),
            chain,
            traceback: None,
        }
    }
}

// === Context ===

/// Request and service context, with the original's fields in its order.
///
/// `custom` keys are flattened into the JSON `context` object after the named
/// ones.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    /// Client IP address.
    pub ip: Option<String>,
    /// Access line, such as `"GET /users"`.
    pub access: Option<String>,
    /// Client user agent.
    pub user_agent: Option<String>,
    /// Request identifier.
    pub request_id: Option<String>,
    /// User identifier.
    pub user_id: Option<String>,
    /// Session identifier.
    pub session_id: Option<String>,
    /// Service name.
    pub service_name: Option<String>,
    /// Service version.
    pub version: Option<String>,
    /// Deployment environment.
    pub environment: Option<String>,
    /// Any other keys.
    pub custom: Vec<Field>,
}

impl Context {
    /// The named fields in the original's order, with their JSON keys.
    pub fn named(&self) -> [(&'static str, Option<&str>); 9] {
        [
            ("ip", self.ip.as_deref()),
            ("access", self.access.as_deref()),
            ("user_agent", self.user_agent.as_deref()),
            ("request_id", self.request_id.as_deref()),
            ("user_id", self.user_id.as_deref()),
            ("session_id", self.session_id.as_deref()),
            ("service_name", self.service_name.as_deref()),
            ("version", self.version.as_deref()),
            ("environment", self.environment.as_deref()),
        ]
    }

    /// True when no field is set.
    pub fn is_empty(&self) -> bool {
        self.named().iter().all(|(_, v)| v.is_none()) && self.custom.is_empty()
    }

    /// `self` overlaid with `other`: each field of `other` that is set (and not
    /// empty) wins; custom keys merge, `other`'s winning.
    pub fn merge(&self, other: &Context) -> Context {
        fn pick(a: &Option<String>, b: &Option<String>) -> Option<String> {
            match b {
                Some(s) if !s.is_empty() => Some(s.clone()),
                _ => a.clone(),
            }
        }
        let mut custom = self.custom.clone();
        for (k, v) in &other.custom {
            match custom.iter_mut().find(|(ck, _)| ck == k) {
                Some(slot) => slot.1 = v.clone(),
                None => custom.push((k.clone(), v.clone())),
            }
        }
        Context {
            ip: pick(&self.ip, &other.ip),
            access: pick(&self.access, &other.access),
            user_agent: pick(&self.user_agent, &other.user_agent),
            request_id: pick(&self.request_id, &other.request_id),
            user_id: pick(&self.user_id, &other.user_id),
            session_id: pick(&self.session_id, &other.session_id),
            service_name: pick(&self.service_name, &other.service_name),
            version: pick(&self.version, &other.version),
            environment: pick(&self.environment, &other.environment),
            custom,
        }
    }
}

// === Source and thread ===

/// Where a record was logged from, captured for free by the macros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// `module_path!()` of the call site.
    pub module: &'static str,
    /// `file!()` of the call site.
    pub file: &'static str,
    /// `line!()` of the call site.
    pub line: u32,
}

/// The thread that made a record: its OS thread id, its name, the process id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// OS thread id (`gettid`).
    pub thread_id: u64,
    /// Thread name, if the thread has one.
    pub thread_name: Option<Name>,
    /// Process id.
    pub process_id: u32,
}

impl ThreadInfo {
    /// The calling thread's info, cached per thread (a thread-local read; read
    /// again in a child after [`after_fork_in_child`](crate::after_fork_in_child),
    /// whose process id differs).
    pub fn current() -> ThreadInfo {
        thread_local! {
            static CURRENT: std::cell::RefCell<Option<(u64, ThreadInfo)>> = const { std::cell::RefCell::new(None) };
        }
        let generation = fork_generation();
        let read = || ThreadInfo {
            thread_id: os_thread_id(),
            thread_name: std::thread::current().name().map(Name::interned),
            process_id: std::process::id(),
        };
        CURRENT
            .try_with(|cell| {
                // Taken only here, so it is free unless a signal handler
                // logs while this very function runs on the thread: that
                // record goes without the name rather than waiting.
                let mut cell = cell.try_borrow_mut().ok()?;
                match &*cell {
                    Some((g, info)) if *g == generation => Some(info.clone()),
                    _ => {
                        let info = read();
                        *cell = Some((generation, info.clone()));
                        Some(info)
                    }
                }
            })
            .ok()
            .flatten()
            // During thread teardown: no name (reading it could panic).
            .unwrap_or_else(|| ThreadInfo {
                thread_id: os_thread_id(),
                thread_name: None,
                process_id: std::process::id(),
            })
    }
}

/// Bumped in a forked child so that per-thread caches are read again.
pub(crate) static FORK_GENERATION: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// How many times this process is a child made by `fork()` (as counted by
/// [`after_fork_in_child`](crate::after_fork_in_child)): a per-thread cache
/// of anything that differs in the child (the process id) keys on it.
pub fn fork_generation() -> u64 {
    FORK_GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

fn os_thread_id() -> u64 {
    crate::sys::thread_id()
}

type Names = Mutex<std::collections::HashSet<Name>>;

/// The interned names. Threads take the lock under Python's interpreter
/// lock, so it is not held across `fork()`; a child that finds it held by
/// a thread of the parent starts a fresh set instead (`fork_cell.rs`).
fn interned_names() -> &'static ForkCell<Names> {
    static NAMES: OnceLock<ForkCell<Names>> = OnceLock::new();
    NAMES.get_or_init(ForkCell::new)
}

/// In a forked child: a fresh set of interned names if a thread of the
/// parent held the lock at the fork (names interned before stay valid:
/// they are never freed).
pub(crate) fn after_fork_in_child() {
    let names = interned_names();
    if matches!(
        names.get().try_lock(),
        Err(std::sync::TryLockError::WouldBlock)
    ) {
        names.replace_in_child();
    }
}

// === Timestamp ===

/// An instant as nanoseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Now: the system clock's time, read through the CPU's time-stamp
    /// counter where the kernel keeps time with it (within microseconds of
    /// the system clock, and cheaper to read; see the crate's "How it
    /// works").
    #[inline]
    pub fn now() -> Timestamp {
        Timestamp(crate::clock::now_nanos())
    }

    /// Whole seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0 / 1_000_000_000
    }

    /// Microseconds within the second.
    pub fn subsec_micros(self) -> u32 {
        ((self.0 % 1_000_000_000) / 1_000) as u32
    }
}

// === Record ===

/// What enrichers revealed about a record (see [`Record::show`]).
pub mod show {
    /// Output carries the `threading` object (set by `thread_enricher`).
    pub const THREADING: u8 = 1;
    /// Output carries the `source` object (set by `source_enricher`).
    pub const SOURCE: u8 = 2;
}

/// One log event.
#[derive(Clone, Debug)]
pub struct Record {
    /// When the call was made (read on the caller's thread).
    pub timestamp: Timestamp,
    /// Severity.
    pub level: Level,
    /// Name of the logger that made it.
    pub logger: Name,
    /// The message.
    pub message: Cow<'static, str>,
    /// Structured fields, in call order (bound fields first).
    pub fields: Fields,
    /// Request/service context, if any.
    pub context: Option<Arc<Context>>,
    /// An attached error, if any.
    pub exception: Option<Box<Exception>>,
    /// The call site, when logged through a macro.
    pub source: Option<&'static Source>,
    /// The calling thread.
    pub thread: ThreadInfo,
    /// Bits of [`show`]: which optional parts the formatters print.
    pub show: u8,
}

// A record is what a queue slot holds: its size is the queue's memory per
// record (names are one pointer, `Value` three words).
const _: () = assert!(std::mem::size_of::<Record>() <= 296);

impl Record {
    /// A record made now on this thread, with no fields.
    pub fn new(
        level: Level,
        logger: impl Into<Name>,
        message: impl Into<Cow<'static, str>>,
    ) -> Record {
        Record {
            timestamp: Timestamp::now(),
            level,
            logger: logger.into(),
            message: message.into(),
            fields: Fields::new(),
            context: None,
            exception: None,
            source: None,
            thread: ThreadInfo::current(),
            show: 0,
        }
    }

    /// The value of the first field named `key`.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_parse_in_any_case_and_reject_others() {
        assert_eq!("warn".parse::<Level>().unwrap(), Level::Warning);
        assert_eq!("Critical".parse::<Level>().unwrap(), Level::Critical);
        let err = "verbose".parse::<Level>().unwrap_err();
        assert!(err.to_string().contains("verbose"), "{err}");
        assert!(Level::from_value(25).is_err());
        assert_eq!(Level::from_value(40).unwrap(), Level::Error);
    }

    #[test]
    fn large_unsigned_stays_exact() {
        assert_eq!(Value::from(u64::MAX), Value::U64(u64::MAX));
        assert_eq!(Value::from(5_u64), Value::I64(5));
    }

    #[test]
    fn merge_prefers_set_fields_of_the_argument() {
        let a = Context {
            ip: Some("1.1.1.1".into()),
            user_id: Some("a".into()),
            custom: vec![("k".into(), 1.into()), ("j".into(), 2.into())],
            ..Context::default()
        };
        let b = Context {
            user_id: Some("b".into()),
            ip: Some(String::new()),
            custom: vec![("k".into(), 3.into())],
            ..Context::default()
        };
        let m = a.merge(&b);
        assert_eq!(m.ip.as_deref(), Some("1.1.1.1"));
        assert_eq!(m.user_id.as_deref(), Some("b"));
        assert_eq!(
            m.custom,
            vec![("k".into(), 3.into()), ("j".into(), 2.into())]
        );
    }

    #[test]
    fn error_value_carries_the_chain() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("save failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(Value::error(&e), Value::from("save failed: disk full"));
        let ex = Exception::from_error(&e);
        assert!(ex.type_name.ends_with("Outer"), "{}", ex.type_name);
        assert_eq!(ex.chain, vec!["disk full".to_string()]);
    }
}
