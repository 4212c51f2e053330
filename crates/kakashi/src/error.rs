//! Build-time errors: everything that can be wrong with a configuration is
//! reported once, by the constructor, as a [`ConfigError`].
//!
//! Run-time failures (a writer's I/O error, a panicking enricher) never reach
//! the logging call: they are counted in [`Stats`](crate::Stats) and reported
//! in-band as a WARNING record.
//!
//! ```
//! let err = "dropp_oldest".parse::<kakashi::OverflowStrategy>().unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "unknown overflow strategy \"dropp_oldest\"; expected block, drop_oldest or drop_newest"
//! );
//! ```

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A configuration that cannot work, found when a logger or backend is built.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// An overflow strategy name other than `block`, `drop_oldest`, `drop_newest`.
    UnknownOverflowStrategy(String),
    /// An environment name other than development, production or testing.
    UnknownEnvironment(String),
    /// A `formatter_type` other than `default` or `json`.
    UnknownFormatterType(String),
    /// A level name or number that is not one of the five levels.
    InvalidLevel(String),
    /// A numeric setting outside its range: `(setting, value, what is allowed)`.
    OutOfRange {
        /// The setting's name, as in the configuration (`max_queue_size`).
        setting: &'static str,
        /// The rejected value, as given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// A setting whose text does not parse: `(setting, text, what would)`.
    Invalid {
        /// The setting's name, as in the configuration (`rotation`).
        setting: &'static str,
        /// The text given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// A log file that cannot be opened for appending.
    File {
        /// The path as given.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A configuration file that cannot be read (missing, unreadable, not
    /// UTF-8). Its contents' errors are [`ConfigError::Key`].
    ConfigFile {
        /// The path as given.
        path: PathBuf,
        /// Why it cannot be read.
        source: io::Error,
    },
    /// A worker thread could not be started.
    Spawn(io::Error),
    /// A level directive (`"hyper=warn"` in `"info,hyper=warn"`) that cannot
    /// be read.
    InvalidDirective {
        /// The directive as given.
        directive: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration given as data (a map, a TOML file, the environment)
    /// with a bad value or key at `key`: a path such as `async.batch_size` or
    /// `outputs[0].rotation`, or an environment variable (`KAKASHI_WORKERS`).
    Key {
        /// Where: the key's path, or the variable's name.
        key: String,
        /// What is wrong, in the words of the check that refused it.
        message: String,
    },
    /// A high-performance logger asked for a file that already has one with
    /// other queue settings (loggers of one file share its queue).
    ConflictingSettings {
        /// The file, as given.
        path: PathBuf,
        /// The settings that differ: `"worker_count 2, not 4"`.
        detail: String,
    },
}

impl ConfigError {
    pub(crate) fn out_of_range(
        setting: &'static str,
        value: impl fmt::Display,
        expected: &'static str,
    ) -> ConfigError {
        ConfigError::OutOfRange {
            setting,
            value: value.to_string(),
            expected,
        }
    }
}

impl ConfigError {
    pub(crate) fn invalid(
        setting: &'static str,
        value: &str,
        expected: &'static str,
    ) -> ConfigError {
        ConfigError::Invalid {
            setting,
            value: value.to_owned(),
            expected,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::UnknownOverflowStrategy(s) => write!(
                f,
                "unknown overflow strategy {s:?}; expected block, drop_oldest or drop_newest"
            ),
            ConfigError::UnknownEnvironment(s) => write!(
                f,
                "unknown environment {s:?}; expected development, production or testing"
            ),
            ConfigError::UnknownFormatterType(s) => write!(
                f,
                "unknown formatter_type {s:?}; expected default or json"
            ),
            ConfigError::InvalidLevel(s) => write!(
                f,
                "invalid log level {s:?}; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50"
            ),
            ConfigError::OutOfRange {
                setting,
                value,
                expected,
            } => write!(f, "{setting} = {value} is out of range; expected {expected}"),
            ConfigError::Invalid {
                setting,
                value,
                expected,
            } => write!(f, "invalid {setting} {value:?}; expected {expected}"),
            ConfigError::File { path, source } => write!(
                f,
                "cannot open log file {} for appending: {source}",
                path.display()
            ),
            ConfigError::ConfigFile { path, source } => write!(
                f,
                "cannot read configuration file {}: {source}",
                path.display()
            ),
            ConfigError::InvalidDirective { directive, reason } => {
                write!(f, "invalid directive {directive:?}: {reason}")
            }
            ConfigError::Key { key, message } => write!(f, "{key}: {message}"),
            ConfigError::Spawn(e) => write!(f, "cannot start a logging worker thread: {e}"),
            ConfigError::ConflictingSettings { path, detail } => write!(
                f,
                "{} already has a high-performance logger with other settings ({detail}); \
                 loggers of one file share its queue and workers, so ask with the same settings",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::File { source, .. } | ConfigError::ConfigFile { source, .. } => {
                Some(source)
            }
            ConfigError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}
