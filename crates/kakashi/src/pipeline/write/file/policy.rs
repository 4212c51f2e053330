//! What a managed file does, as values parsed from the strings users write
//! (`"100 MB"`, `"daily"`, `"7 days"`): [`Rotation`], [`Retention`] and
//! [`Fsync`]. The Python binding hands its strings to the same parsers, so
//! both languages accept and reject the same text with the same message.
//!
//! Times are UTC, and time boundaries are counted from the Unix epoch, so
//! every process writing a file computes the same boundaries (`"6 hours"`
//! rotates at 00:00, 06:00, 12:00 and 18:00 UTC, whenever each started).

use std::str::FromStr;
use std::time::Duration;

use crate::error::ConfigError;

const ROTATION_EXPECTED: &str = "a size (\"100 MB\", \"1 GiB\", bytes as a number), \
     \"daily\", \"hourly\", a time of day (\"00:00\", UTC), an interval (\"6 hours\"), \
     or a size and a time joined by a comma";
const RETENTION_EXPECTED: &str =
    "a count of rotated files (10), an age (\"7 days\"), or both joined by a comma";
const FSYNC_EXPECTED: &str = "\"none\", \"batch\" or an interval (\"100 ms\")";

/// When a file is rotated: past a size, at time boundaries, or both
/// (whichever comes first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate before a batch that would start past this many bytes.
    pub size: Option<u64>,
    /// Rotate at these boundaries.
    pub every: Option<Boundary>,
}

/// Time boundaries: every `period` seconds from the epoch, shifted by
/// `offset` seconds (`"03:30"` is a period of a day and an offset of 12,600).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boundary {
    /// Seconds between boundaries.
    pub period: u64,
    /// Seconds after each multiple of `period` (UTC) where the boundary lies.
    pub offset: u64,
}

impl Boundary {
    /// The first boundary strictly after `secs` (seconds since the epoch).
    pub fn next_after(self, secs: u64) -> u64 {
        let shifted = secs.saturating_sub(self.offset);
        let base = if secs < self.offset {
            0
        } else {
            shifted - shifted % self.period + self.period
        };
        base + self.offset
    }

    /// The last boundary at or before `secs`.
    pub fn at_or_before(self, secs: u64) -> u64 {
        self.next_after(secs).saturating_sub(self.period)
    }
}

impl Rotation {
    /// No rotation: one file forever.
    pub const NEVER: Rotation = Rotation {
        size: None,
        every: None,
    };

    /// Whether it ever rotates.
    pub fn is_never(&self) -> bool {
        self.size.is_none() && self.every.is_none()
    }

    /// Rotation past `bytes`.
    pub fn size(bytes: u64) -> Rotation {
        Rotation {
            size: Some(bytes),
            every: None,
        }
    }
}

impl FromStr for Rotation {
    type Err = ConfigError;

    /// `"100 MB"`, `"1 GiB"`, `"1048576"`, `"daily"`, `"hourly"`, `"00:00"`,
    /// `"6 hours"`, or a size and a time: `"100 MB, daily"`.
    fn from_str(text: &str) -> Result<Rotation, ConfigError> {
        let bad = || ConfigError::invalid("rotation", text, ROTATION_EXPECTED);
        let mut rotation = Rotation::NEVER;
        for part in text.split(',').map(str::trim) {
            if let Some(bytes) = parse_size(part) {
                if rotation.size.replace(bytes).is_some() || bytes == 0 {
                    return Err(bad());
                }
            } else if let Some(boundary) = parse_boundary(part) {
                if rotation.every.replace(boundary).is_some() {
                    return Err(bad());
                }
            } else {
                return Err(bad());
            }
        }
        Ok(rotation)
    }
}

/// Which rotated files are kept: at most `count` of them, none older than
/// `max_age` (by modification time). The current file is never removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Retention {
    /// Keep the newest this many rotated files.
    pub count: Option<usize>,
    /// Remove rotated files last modified longer ago than this.
    pub max_age: Option<Duration>,
}

impl Retention {
    /// Keep every rotated file.
    pub const ALL: Retention = Retention {
        count: None,
        max_age: None,
    };

    /// Whether it removes anything.
    pub fn keeps_all(&self) -> bool {
        self.count.is_none() && self.max_age.is_none()
    }

    /// The newest `n` rotated files.
    pub fn count(n: usize) -> Retention {
        Retention {
            count: Some(n),
            max_age: None,
        }
    }
}

impl FromStr for Retention {
    type Err = ConfigError;

    /// `"10"`, `"7 days"`, `"10, 7 days"`.
    fn from_str(text: &str) -> Result<Retention, ConfigError> {
        let bad = || ConfigError::invalid("retention", text, RETENTION_EXPECTED);
        let mut retention = Retention::ALL;
        for part in text.split(',').map(str::trim) {
            if let Ok(n) = part.parse::<usize>() {
                if retention.count.replace(n).is_some() {
                    return Err(bad());
                }
            } else if let Some(secs) = parse_interval(part) {
                if retention
                    .max_age
                    .replace(Duration::from_secs(secs))
                    .is_some()
                {
                    return Err(bad());
                }
            } else {
                return Err(bad());
            }
        }
        Ok(retention)
    }
}

/// When written data is forced to the disk (`fsync`), beyond reaching the
/// operating system (which every batch does).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Fsync {
    /// Never by the writer (the OS writes back on its own schedule).
    #[default]
    Never,
    /// After every batch.
    EveryBatch,
    /// After a batch, when this long has passed since the last one.
    Every(Duration),
}

impl FromStr for Fsync {
    type Err = ConfigError;

    /// `"none"`, `"batch"`, `"100 ms"`, `"1 second"`.
    fn from_str(text: &str) -> Result<Fsync, ConfigError> {
        match text.trim() {
            "none" | "never" => Ok(Fsync::Never),
            "batch" => Ok(Fsync::EveryBatch),
            other => parse_duration(other)
                .filter(|d| !d.is_zero())
                .map(Fsync::Every)
                .ok_or_else(|| ConfigError::invalid("fsync", text, FSYNC_EXPECTED)),
        }
    }
}

/// `"100 MB"` (decimal units), `"1 GiB"` (binary), `"512 B"`, `"4096"`.
fn parse_size(text: &str) -> Option<u64> {
    let (number, unit) = split_number(text)?;
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    let bytes = number * scale as f64;
    (bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

/// `"daily"`, `"hourly"`, `"HH:MM"` (once a day, UTC) or an interval.
fn parse_boundary(text: &str) -> Option<Boundary> {
    const DAY: u64 = 86_400;
    match text.to_ascii_lowercase().as_str() {
        "daily" => {
            return Some(Boundary {
                period: DAY,
                offset: 0,
            })
        }
        "hourly" => {
            return Some(Boundary {
                period: 3_600,
                offset: 0,
            })
        }
        _ => {}
    }
    if let Some((h, m)) = text.split_once(':') {
        let (h, m) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?);
        let two_digits = text.len() == 5;
        return (two_digits && h < 24 && m < 60).then_some(Boundary {
            period: DAY,
            offset: h * 3_600 + m * 60,
        });
    }
    parse_interval(text).map(|period| Boundary { period, offset: 0 })
}

/// `"6 hours"`, `"7 days"`, `"1 week"`, `"30 minutes"`, `"90 seconds"`, in
/// whole seconds (at least one).
fn parse_interval(text: &str) -> Option<u64> {
    let d = parse_duration(text)?;
    (d.as_secs() >= 1 && d.subsec_nanos() == 0).then_some(d.as_secs())
}

fn parse_duration(text: &str) -> Option<Duration> {
    let (number, unit) = split_number(text)?;
    let secs: f64 = match unit.to_ascii_lowercase().as_str() {
        "ms" | "millisecond" | "milliseconds" => 0.001,
        "s" | "sec" | "second" | "seconds" => 1.0,
        "min" | "minute" | "minutes" => 60.0,
        "h" | "hour" | "hours" => 3_600.0,
        "d" | "day" | "days" => 86_400.0,
        "w" | "week" | "weeks" => 604_800.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(number * secs).ok()
}

/// A leading non-negative number and the unit after it (`"1.5 GB"`).
fn split_number(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..end].parse().ok()?;
    Some((number, text[end..].trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_times_and_both() {
        assert_eq!(
            "100 MB".parse::<Rotation>().unwrap(),
            Rotation::size(100_000_000)
        );
        assert_eq!(
            "1 GiB".parse::<Rotation>().unwrap(),
            Rotation::size(1 << 30)
        );
        assert_eq!("4096".parse::<Rotation>().unwrap(), Rotation::size(4096));
        assert_eq!("1.5 kb".parse::<Rotation>().unwrap(), Rotation::size(1500));
        let daily = Boundary {
            period: 86_400,
            offset: 0,
        };
        assert_eq!("daily".parse::<Rotation>().unwrap().every, Some(daily));
        assert_eq!(
            "03:30".parse::<Rotation>().unwrap().every,
            Some(Boundary {
                period: 86_400,
                offset: 12_600
            })
        );
        assert_eq!(
            "6 hours".parse::<Rotation>().unwrap().every,
            Some(Boundary {
                period: 21_600,
                offset: 0
            })
        );
        assert_eq!(
            "10 MB, daily".parse::<Rotation>().unwrap(),
            Rotation {
                size: Some(10_000_000),
                every: Some(daily)
            }
        );
    }

    #[test]
    fn bad_text_is_refused_with_what_would_do() {
        for bad in [
            "",
            "100 XB",
            "0 MB",
            "25:00",
            "3:30",
            "daily, hourly",
            "1 MB, 2 MB",
            "often",
            "0.5 s",
        ] {
            let err = bad.parse::<Rotation>().unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("invalid rotation {bad:?}; expected a size")),
                "{bad:?}: {err}"
            );
        }
        let err = "a week".parse::<Retention>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid retention \"a week\"; expected a count of rotated files (10), an age (\"7 days\"), or both joined by a comma"
        );
        assert!("0 ms".parse::<Fsync>().is_err());
    }

    #[test]
    fn retention_and_fsync() {
        assert_eq!("10".parse::<Retention>().unwrap(), Retention::count(10));
        assert_eq!(
            "10, 7 days".parse::<Retention>().unwrap(),
            Retention {
                count: Some(10),
                max_age: Some(Duration::from_secs(7 * 86_400))
            }
        );
        assert_eq!("batch".parse::<Fsync>().unwrap(), Fsync::EveryBatch);
        assert_eq!("none".parse::<Fsync>().unwrap(), Fsync::Never);
        assert_eq!(
            "100 ms".parse::<Fsync>().unwrap(),
            Fsync::Every(Duration::from_millis(100))
        );
    }

    #[test]
    fn boundaries_are_counted_from_the_epoch() {
        let six_hours = Boundary {
            period: 21_600,
            offset: 0,
        };
        assert_eq!(six_hours.next_after(0), 21_600);
        assert_eq!(six_hours.next_after(21_599), 21_600);
        assert_eq!(six_hours.next_after(21_600), 43_200);
        assert_eq!(six_hours.at_or_before(21_600), 21_600);
        let half_past_three = Boundary {
            period: 86_400,
            offset: 12_600,
        };
        assert_eq!(half_past_three.next_after(0), 12_600);
        assert_eq!(half_past_three.next_after(12_600), 12_600 + 86_400);
        assert_eq!(half_past_three.at_or_before(12_599), 0);
    }
}
