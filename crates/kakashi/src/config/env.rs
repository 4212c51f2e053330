//! The `KAKASHI_*` environment variables, laid over a [`Config`]: a variable
//! that is set (and not empty) wins over the key it stands for.
//!
//! | variable | key |
//! |---|---|
//! | `KAKASHI_LEVEL` | `level` (a level or directives: `info,hyper=warn`) |
//! | `KAKASHI_FORMAT` | `format` |
//! | `KAKASHI_FILE` | the first file output's `path` (a file output is added if there is none) |
//! | `KAKASHI_ROTATION`, `KAKASHI_RETENTION`, `KAKASHI_COMPRESSION` | the first file output's |
//! | `KAKASHI_QUEUE_SIZE` | `async.max_queue_size` |
//! | `KAKASHI_WORKERS` | `async.worker_count` |
//! | `KAKASHI_BATCH_SIZE` | `async.batch_size` |
//! | `KAKASHI_OVERFLOW` | `async.overflow_strategy` |
//!
//! Other `KAKASHI_*` names are not read (so a misspelt one is not noticed:
//! other programs and scripts use the prefix too).

use super::{AsyncSection, Config, Output, Setting};
use crate::error::ConfigError;
use crate::levels::Directives;

/// Every variable read, in the order they are applied.
pub const VARIABLES: [&str; 10] = [
    "KAKASHI_LEVEL",
    "KAKASHI_FORMAT",
    "KAKASHI_FILE",
    "KAKASHI_ROTATION",
    "KAKASHI_RETENTION",
    "KAKASHI_COMPRESSION",
    "KAKASHI_QUEUE_SIZE",
    "KAKASHI_WORKERS",
    "KAKASHI_BATCH_SIZE",
    "KAKASHI_OVERFLOW",
];

impl Config {
    /// This configuration with the `KAKASHI_*` variables of the process's
    /// environment laid over it (see the table in this module's docs).
    ///
    /// # Errors
    /// [`ConfigError::Key`] naming the variable: a number that is not one,
    /// a file setting with no file output (`KAKASHI_ROTATION` without
    /// `KAKASHI_FILE` or a file output), a value that is not text.
    pub fn with_env(self) -> Result<Config, ConfigError> {
        self.with_env_from(|name| std::env::var_os(name))
    }

    /// [`with_env`](Config::with_env), reading the variables through
    /// `lookup` (for tests, or an environment of your own).
    ///
    /// # Errors
    /// As [`with_env`](Config::with_env).
    pub fn with_env_from(
        mut self,
        mut lookup: impl FnMut(&str) -> Option<std::ffi::OsString>,
    ) -> Result<Config, ConfigError> {
        for var in VARIABLES {
            let Some(value) = lookup(var) else { continue };
            let Ok(value) = value.into_string() else {
                return Err(ConfigError::Key {
                    key: var.to_owned(),
                    message: "not valid UTF-8".to_owned(),
                });
            };
            if value.trim().is_empty() {
                continue;
            }
            self.set_from_env(var, value)?;
        }
        Ok(self)
    }

    fn set_from_env(&mut self, var: &'static str, value: String) -> Result<(), ConfigError> {
        let number = |value: &str| {
            value.trim().parse::<i64>().map_err(|_| ConfigError::Key {
                key: var.to_owned(),
                message: format!("expected an integer, got {value:?}"),
            })
        };
        let path = match var {
            "KAKASHI_LEVEL" => {
                // The variable's targets replace the same ones in `levels`.
                if let Ok(d) = value.parse::<Directives>() {
                    self.levels.retain(|name, _| {
                        let name = name.replace("::", ".");
                        !d.rules.iter().any(|(t, _)| *t == name)
                    });
                }
                self.level = Some(Setting(value));
                "level".to_owned()
            }
            "KAKASHI_FORMAT" => {
                self.format = Some(value);
                "format".to_owned()
            }
            "KAKASHI_QUEUE_SIZE" | "KAKASHI_WORKERS" | "KAKASHI_BATCH_SIZE"
            | "KAKASHI_OVERFLOW" => {
                let a = self.async_config.get_or_insert_with(AsyncSection::default);
                let key = match var {
                    "KAKASHI_QUEUE_SIZE" => {
                        a.max_queue_size = Some(number(&value)?);
                        "max_queue_size"
                    }
                    "KAKASHI_WORKERS" => {
                        a.worker_count = Some(number(&value)?);
                        "worker_count"
                    }
                    "KAKASHI_BATCH_SIZE" => {
                        a.batch_size = Some(number(&value)?);
                        "batch_size"
                    }
                    _ => {
                        a.overflow_strategy = Some(value);
                        "overflow_strategy"
                    }
                };
                format!("async.{key}")
            }
            _ => {
                // The file variables act on the first file output.
                let outputs = self.outputs.get_or_insert_with(Vec::new);
                let index = match outputs.iter().position(|o| o.kind == "file") {
                    Some(i) => i,
                    None if var == "KAKASHI_FILE" => {
                        outputs.push(Output {
                            kind: "file".to_owned(),
                            ..Output::default()
                        });
                        outputs.len() - 1
                    }
                    None => {
                        return Err(ConfigError::Key {
                            key: var.to_owned(),
                            message: "there is no file output to apply it to; set KAKASHI_FILE or configure a file output".to_owned(),
                        })
                    }
                };
                let o = &mut outputs[index];
                let key = match var {
                    "KAKASHI_FILE" => {
                        o.path = Some(value.into());
                        "path"
                    }
                    "KAKASHI_ROTATION" => {
                        o.rotation = Some(Setting(value));
                        "rotation"
                    }
                    "KAKASHI_RETENTION" => {
                        o.retention = Some(Setting(value));
                        "retention"
                    }
                    _ => {
                        o.compression = Some(value);
                        "compression"
                    }
                };
                format!("outputs[{index}].{key}")
            }
        };
        self.from_env.retain(|(p, _)| *p != path);
        self.from_env.push((path, var));
        Ok(())
    }

    /// The error for the value at `path`: named by its environment variable
    /// when one set it (`KAKASHI_WORKERS (async.worker_count)`), else by the
    /// path.
    pub(super) fn error_at(&self, path: &str, message: String) -> ConfigError {
        let key = match self.from_env.iter().find(|(p, _)| p == path) {
            Some((_, var)) => format!("{var} ({path})"),
            None => path.to_owned(),
        };
        ConfigError::Key { key, message }
    }
}
