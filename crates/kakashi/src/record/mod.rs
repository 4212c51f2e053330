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

use std::sync::Arc;

mod context;
mod exception;
mod fields;
mod level;
mod name;
mod text;
mod thread;
mod timestamp;
mod value;

pub use context::Context;
pub use exception::{Exception, Frame, MAX_FRAMES};
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) use fields::push_null;
pub(crate) use fields::{put_all, put_field};
pub use fields::{Field, Fields, INLINE_FIELDS};
pub use level::Level;
pub(crate) use name::after_fork_in_child;
pub use name::{Name, INTERNED_NAMES, INTERNED_NAME_LEN};
pub use text::Text;
pub(crate) use thread::fork_generation;
pub(crate) use thread::FORK_GENERATION;
pub use thread::{Source, Thread, ThreadInfo, LASTING_THREADS};
pub use timestamp::Timestamp;
pub use value::{Key, Value};

/// The optional sections of a record's output (`threading`, `source`):
/// enrichers switch them on, formatters print what is on. A set of bits,
/// so that a record stays small and copying it stays cheap.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sections(u8);

impl Sections {
    /// None.
    pub const NONE: Sections = Sections(0);
    /// The `threading` object (switched on by `thread_enricher`).
    pub const THREADING: Sections = Sections(1);
    /// The `source` object (switched on by `source_enricher`).
    pub const SOURCE: Sections = Sections(2);

    /// Whether every section of `other` is on.
    #[inline]
    pub fn contains(self, other: Sections) -> bool {
        self.0 & other.0 == other.0
    }

    /// Switches the sections of `other` on.
    #[inline]
    pub fn insert(&mut self, other: Sections) {
        self.0 |= other.0;
    }
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
    pub message: Text,
    /// Structured fields, in call order (bound fields first).
    pub fields: Fields,
    /// Request/service context, if any.
    pub context: Option<Arc<Context>>,
    /// An attached error, if any.
    pub exception: Option<Box<Exception>>,
    /// The call site, when logged through a macro.
    pub source: Option<&'static Source>,
    /// The calling thread.
    pub thread: Thread,
    /// The optional sections its output carries.
    pub sections: Sections,
}

// A record is what a queue slot holds: its size is the queue's memory per
// record (names and the thread are one pointer, `Text` and `Value` two words).
const _: () = assert!(std::mem::size_of::<Record>() <= 200);

impl Record {
    /// A record made now on this thread, with no fields.
    pub fn new(level: Level, logger: impl Into<Name>, message: impl Into<Text>) -> Record {
        Record {
            timestamp: Timestamp::now(),
            level,
            logger: logger.into(),
            message: message.into(),
            fields: Fields::new(),
            context: None,
            exception: None,
            source: None,
            thread: Thread::current(),
            sections: Sections::NONE,
        }
    }

    /// The value of the first field named `key`.
    pub fn field(&self, key: &str) -> Option<&Value> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}
