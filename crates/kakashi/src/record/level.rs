//! [`Level`]: severity, with the original's numeric values.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

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
}
