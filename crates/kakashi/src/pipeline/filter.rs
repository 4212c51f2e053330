//! Built-in filters: by level, by a field's value, by logger name.
//!
//! ```
//! use kakashi::{Filter, Level, Record, Value};
//! let mut r = Record::new(Level::Info, "db", "query");
//! r.fields.push(("table".into(), "users".into()));
//! assert!(kakashi::level_filter(Level::Info).allows(&r));
//! assert!(kakashi::field_filter("table", "users").allows(&r));
//! assert!(!kakashi::logger_name_filter(["api"]).allows(&r));
//! ```

use std::collections::HashSet;

use super::Filter;
use crate::record::{Level, Record, Value};

/// Keeps records at or above a level. Built by [`level_filter`].
#[derive(Clone, Copy, Debug)]
pub struct LevelFilter(Level);

/// Keeps records with `level >= min_level`.
pub fn level_filter(min_level: Level) -> LevelFilter {
    LevelFilter(min_level)
}

impl Filter for LevelFilter {
    fn allows(&self, record: &Record) -> bool {
        record.level >= self.0
    }
}

/// Keeps records whose field equals a value. Built by [`field_filter`].
#[derive(Clone, Debug)]
pub struct FieldFilter {
    name: String,
    expected: Value,
}

/// Keeps records whose field `name` equals `expected` (records without fields
/// are dropped, as in the original).
pub fn field_filter(name: impl Into<String>, expected: impl Into<Value>) -> FieldFilter {
    FieldFilter {
        name: name.into(),
        expected: expected.into(),
    }
}

impl Filter for FieldFilter {
    fn allows(&self, record: &Record) -> bool {
        record.field(&self.name) == Some(&self.expected)
    }
}

/// Keeps records from the named loggers. Built by [`logger_name_filter`].
#[derive(Clone, Debug)]
pub struct LoggerNameFilter(HashSet<String>);

/// Keeps records whose logger name is exactly one of `allowed_names`.
pub fn logger_name_filter<I, S>(allowed_names: I) -> LoggerNameFilter
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    LoggerNameFilter(allowed_names.into_iter().map(Into::into).collect())
}

impl Filter for LoggerNameFilter {
    fn allows(&self, record: &Record) -> bool {
        self.0.contains(record.logger.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_filter_drops_records_without_the_field() {
        let r = Record::new(Level::Info, "db", "q");
        assert!(!field_filter("table", "users").allows(&r));
        let mut r2 = r.clone();
        r2.fields.push(("table".into(), "orders".into()));
        assert!(!field_filter("table", "users").allows(&r2));
    }

    #[test]
    fn level_and_name_filters() {
        let r = Record::new(Level::Debug, "api", "q");
        assert!(!level_filter(Level::Info).allows(&r));
        assert!(logger_name_filter(["api", "db"]).allows(&r));
    }
}
