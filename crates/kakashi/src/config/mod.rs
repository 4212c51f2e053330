//! Configuration from data: one shape, [`Config`], read from a map
//! (anything serde deserialises: a Python dict, JSON, a section of your own
//! configuration), a TOML file or the `KAKASHI_*` environment variables,
//! checked whole, then installed as the global setup that
//! [`get_logger`](crate::get_logger) uses. Cargo feature `config`.
//!
//! Where it sits: beside [`setup_async_logging`](crate::setup_async_logging),
//! which installs a preset; this installs what the data says. Loggers then
//! take their level from the configuration's directives
//! ([`Directives`](crate::Directives)), which [`set_level`](crate::set_level)
//! changes at run time.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("app.log");
//! use kakashi::{config::Config, debug, get_logger, info};
//! let config = Config::from_toml_str(&format!(r#"
//!     level = "info,myapp.db=debug"
//!     format = "json"
//!     [[outputs]]
//!     type = "file"
//!     path = {path:?}
//!     rotation = "100 MB"
//!     [async]
//!     overflow_strategy = "block"
//! "#))?;
//! config.apply()?;
//! debug!(get_logger("myapp.db"), "query", ms = 3);     // written: myapp.db is at DEBUG
//! debug!(get_logger("myapp.web"), "request");          // not: INFO is the default
//! kakashi::flush();
//! let text = std::fs::read_to_string(&path).unwrap();
//! assert!(text.contains(r#""logger":"myapp.db","message":"query""#));
//! assert_eq!(text.lines().count(), 1);
//! # kakashi::shutdown_async_backend(std::time::Duration::from_secs(5));
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! Guarantees:
//! - **Checked whole, before anything changes.** Every key and value is
//!   checked (unknown keys too) before a file is opened or the global
//!   backend is touched; a bad configuration leaves the running setup as it
//!   was. Errors are [`ConfigError::Key`], naming the key by its path
//!   (`async.batch_size`, `outputs[1].rotation`) or the environment variable,
//!   with the message of the check that refused it: the same checks
//!   ([`AsyncConfig::validate`](crate::AsyncConfig::validate), the file
//!   options' parsers, [`Level`](crate::Level)'s) as everywhere else.
//! - **Environment over data.** [`Config::with_env`] lays the `KAKASHI_*`
//!   variables over a configuration: a variable that is set wins over the
//!   key it stands for.
//! - **Installing** ([`Config::apply`]) drains the previous global backend
//!   first, as [`setup_async_logging`](crate::setup_async_logging) does, and
//!   replaces every per-logger level rule with the configuration's.

mod env;
mod resolve;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::error::ConfigError;

pub(crate) use resolve::Resolved;

/// The configuration shape: every key optional, unknown keys refused. The
/// README's "Configuration from data" has it as a table.
///
/// Built from data ([`deserialize_from`](Config::deserialize_from),
/// [`from_toml_str`](Config::from_toml_str), [`from_env`](Config::from_env)),
/// or in code from [`Config::default()`] by setting its fields (it also
/// carries, privately, which keys the environment set, for error messages).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The default level, or a directive string: `"info"`,
    /// `"info,hyper=warn,myapp::db=debug"` (default INFO).
    pub level: Option<Setting>,
    /// Levels by logger name: `{ "hyper" = "warn" }`; the same as directives
    /// in `level` (a name given in both is an error).
    #[serde(default)]
    pub levels: BTreeMap<String, Setting>,
    /// The formatter of outputs that do not name their own: `json`
    /// (default), `text`, `compact`, `detailed`.
    pub format: Option<String>,
    /// Where records go (default: one console output, standard output).
    pub outputs: Option<Vec<Output>>,
    /// The queue and the workers (default: [`AsyncConfig`](crate::AsyncConfig)'s).
    #[serde(rename = "async")]
    pub async_config: Option<AsyncSection>,
    /// Service name, version and environment, added to every record's
    /// context.
    pub context: Option<ContextSection>,
    /// Add the `threading` object (default true).
    pub include_thread_info: Option<bool>,
    /// Add the `source` object (default false).
    pub include_source_location: Option<bool>,
    /// Which keys the environment set, for error messages: (path, variable).
    #[serde(skip)]
    from_env: Vec<(String, &'static str)>,
}

/// One output: `type = "file"` (with `path`) or `type = "console"`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Output {
    /// `"file"` or `"console"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The file (file outputs; required there).
    pub path: Option<PathBuf>,
    /// `"stdout"` (default) or `"stderr"` (console outputs).
    pub stream: Option<String>,
    /// Records below this level skip this output (default: all that the
    /// loggers let through).
    pub level: Option<Setting>,
    /// This output's formatter (default: the top-level `format`).
    pub format: Option<String>,
    /// File rotation: `"100 MB"`, `"daily"`, `"100 MB, daily"`, bytes as a
    /// number (see [`Rotation`](crate::Rotation)).
    pub rotation: Option<Setting>,
    /// Rotated files kept: a count, `"7 days"`, or both
    /// (see [`Retention`](crate::Retention)).
    pub retention: Option<Setting>,
    /// `"gzip"`, `"zstd"` or `"none"` (see [`Compression`](crate::Compression)).
    pub compression: Option<String>,
    /// `"none"`, `"batch"`, `"100 ms"` (see [`Fsync`](crate::Fsync)).
    pub fsync: Option<String>,
}

/// The `async` table: [`AsyncConfig`](crate::AsyncConfig)'s settings, by
/// their names; durations in seconds.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AsyncSection {
    /// Queue capacity in records.
    pub max_queue_size: Option<i64>,
    /// Worker threads.
    pub worker_count: Option<i64>,
    /// Most records per batch.
    pub batch_size: Option<i64>,
    /// Longest idle sleep of a worker, in seconds.
    pub batch_timeout: Option<f64>,
    /// When false, each batch is one record.
    pub enable_batching: Option<bool>,
    /// `"block"`, `"drop_oldest"` or `"drop_newest"`.
    pub overflow_strategy: Option<String>,
    /// How long the exit flush waits, in seconds.
    pub shutdown_timeout: Option<f64>,
    /// Worker threads are named `"{prefix}-{i}"`.
    pub thread_name_prefix: Option<String>,
}

/// The `context` table: added to every record's `context`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSection {
    /// Service name.
    pub service_name: Option<String>,
    /// Service version.
    pub version: Option<String>,
    /// Deployment environment (`"production"`).
    pub environment: Option<String>,
}

/// A setting written as text or as a whole number (`level = 10`,
/// `retention = 14`, `rotation = 1048576`), kept as text for the setting's
/// parser, which words any error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Setting(pub String);

impl From<&str> for Setting {
    fn from(s: &str) -> Setting {
        Setting(s.to_owned())
    }
}

impl<'de> Deserialize<'de> for Setting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Setting, D::Error> {
        struct TextOrInteger;
        impl Visitor<'_> for TextOrInteger {
            type Value = Setting;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Setting, E> {
                Ok(Setting(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Setting, E> {
                Ok(Setting(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Setting, E> {
                Ok(Setting(v.to_string()))
            }
        }
        d.deserialize_any(TextOrInteger)
    }
}

impl Config {
    /// A configuration from any serde deserializer (a `serde_json::Value`,
    /// a `toml::Table`, your own format), with the path of a bad key in the
    /// error. Only the shape is checked here; [`apply`](Config::apply) (or
    /// [`check`](Config::check)) checks the values.
    ///
    /// # Errors
    /// [`ConfigError::Key`]: an unknown key, or a value of the wrong type.
    pub fn deserialize_from<'de, D: Deserializer<'de>>(data: D) -> Result<Config, ConfigError>
    where
        D::Error: fmt::Display,
    {
        serde_path_to_error::deserialize(data).map_err(|e| {
            let path = e.path().to_string();
            // The first line: toml's errors add the path again on a second.
            let text = e.inner().to_string();
            let message = reword(text.lines().next().unwrap_or_default());
            ConfigError::Key {
                key: if path == "." {
                    "(top level)".to_owned()
                } else {
                    path
                },
                message,
            }
        })
    }

    /// A configuration from TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Key`]: TOML that does not parse (key `(toml)`, with the
    /// line and column), an unknown key, or a value of the wrong type.
    pub fn from_toml_str(text: &str) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Key {
                key: "(toml)".to_owned(),
                message: e.to_string().trim_end().to_owned(),
            })?;
        Config::deserialize_from(table)
    }

    /// A configuration from a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::ConfigFile`] when the file cannot be read (or is not
    /// UTF-8); otherwise as [`from_toml_str`](Config::from_toml_str).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ConfigFile {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml_str(&text)
    }

    /// The configuration the `KAKASHI_*` environment variables describe
    /// (the defaults for every other key); see [`with_env`](Config::with_env).
    ///
    /// # Errors
    /// [`ConfigError::Key`] naming a variable whose value cannot be read.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::default().with_env()
    }

    /// Checks every value without installing anything (no file is opened).
    ///
    /// # Errors
    /// [`ConfigError::Key`] naming the first bad key.
    pub fn check(&self) -> Result<(), ConfigError> {
        Resolved::new(self).map(drop)
    }

    /// Installs this configuration as the global setup: checks everything,
    /// opens the outputs and starts the backend, then drains the previous
    /// global backend, makes this one the one [`get_logger`](crate::get_logger)
    /// uses, and replaces the per-logger level rules with this
    /// configuration's (existing loggers follow them at once).
    ///
    /// # Errors
    /// [`ConfigError::Key`] for a bad value, [`ConfigError::File`] for an
    /// output file that cannot be opened, [`ConfigError::Spawn`]; in every
    /// case the running setup is left as it was.
    pub fn apply(&self) -> Result<(), ConfigError> {
        let resolved = Resolved::new(self)?;
        crate::setup::install_config(resolved)
    }
}

/// [`Config::apply`], as a function: `kakashi::config::configure(config)`.
///
/// # Errors
/// As [`Config::apply`].
pub fn configure(config: &Config) -> Result<(), ConfigError> {
    config.apply()
}

/// serde's words in this module's: a configuration has keys, not fields,
/// and numbers, not Rust types.
fn reword(message: &str) -> String {
    let message = match message.strip_prefix("unknown field ") {
        Some(rest) => format!("unknown key {rest}"),
        None => message.replace("missing field", "missing key"),
    };
    message
        .replace("expected i64", "expected an integer")
        .replace("expected f64", "expected a number")
}
