//! Shaped JSON: the default layout with keys renamed, dropped or `fields`
//! flattened ([`JsonShape`]), and the ready profiles for Elastic Common
//! Schema and Google Cloud Logging ([`JsonProfile`], [`ecs_json_formatter`],
//! [`gcp_json_formatter`]).
//!
//! These formatters run on the worker like [`default_json_formatter`]; the
//! default formatter itself is not touched by any of this, so its output and
//! its cost stay as they are (G8). A shaped layout is validated
//! once, by [`JsonShape::build`]: an unknown key to rename or drop, an empty
//! or duplicate output name, is a [`ConfigError`] naming it.
//!
//! ```
//! use kakashi::{default_json_formatter, Formatter, Level, Record};
//! let shaped = default_json_formatter()
//!     .rename("level", "severity")
//!     .drop("level_value")
//!     .flatten_fields()
//!     .build()
//!     .unwrap();
//! let mut r = Record::new(Level::Warning, "app", "disk low");
//! r.fields.push(("free_mb".into(), 12.into()));
//! let mut out = Vec::new();
//! shaped.format(&r, &mut out);
//! let line = String::from_utf8(out).unwrap();
//! assert!(line.contains(r#""severity":"WARNING","logger":"app","message":"disk low","free_mb":12}"#));
//!
//! let err = default_json_formatter().drop("thread").build().unwrap_err();
//! assert!(err.to_string().starts_with("invalid drop key \"thread\"; expected one of timestamp,"));
//! ```
//!
//! Guarantees: every line is one valid JSON object on one line, and
//! shaping never makes two keys one: a field flattened onto a key the
//! layout writes itself never shadows it (it is written as `fields.<key>`,
//! with `fields.` in front again while that name is taken too); exceptions never carry local variables, only
//! type, message, traceback text and frames (file, line, function).
//!
//! [`default_json_formatter`]: super::default_json_formatter

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use super::json::{
    write_context_object, write_exception_head, write_source_object, write_threading_object,
};
use super::{
    write_epoch_secs, write_int, write_iso_utc, write_json_object, write_json_str,
    write_json_value, JsonFormatter,
};
use crate::error::ConfigError;
use crate::pipeline::Formatter;
use crate::record::{Exception, Record, Sections};

mod profiles;
use profiles::{ECS_KEYS, GCP_KEYS};

/// The top-level keys of the default layout, in the order it writes them:
/// what [`JsonShape::rename`] and [`JsonShape::drop`] accept.
pub const JSON_KEYS: [&str; 11] = [
    "timestamp",
    "datetime",
    "level",
    "level_value",
    "logger",
    "message",
    "fields",
    "context",
    "source",
    "threading",
    "exception",
];

const KEYS_EXPECTED: &str = "one of timestamp, datetime, level, level_value, logger, message, \
                             fields, context, source, threading, exception";

/// The ECS version the [`JsonProfile::Ecs`] layout follows (`ecs.version`).
pub const ECS_VERSION: &str = "8.11.0";

/// A ready JSON layout for a log platform.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum JsonProfile {
    /// The default layout (the original's keys), optionally renamed, dropped
    /// or flattened.
    #[default]
    Kakashi,
    /// Elastic Common Schema, as the ecs-logging libraries write it:
    /// `@timestamp`, `log.level`, `message`, `ecs.version` first, then
    /// `log.logger`, `log.origin`, `process`, `error`, `service`, ... and the
    /// fields at the top level.
    Ecs,
    /// Google Cloud Logging's structured JSON: `time`, `severity`,
    /// `message`, `logging.googleapis.com/sourceLocation`, `.../labels`,
    /// `.../trace` and `.../spanId`, a Python stack trace in `stack_trace`
    /// for Error Reporting, and the fields at the top level.
    Gcp,
}

impl JsonProfile {
    /// `"kakashi"`, `"ecs"` or `"gcp"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            JsonProfile::Kakashi => "kakashi",
            JsonProfile::Ecs => "ecs",
            JsonProfile::Gcp => "gcp",
        }
    }
}

impl fmt::Display for JsonProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JsonProfile {
    type Err = ConfigError;

    /// `kakashi` (or `default`), `ecs`, `gcp`, exactly.
    fn from_str(s: &str) -> Result<JsonProfile, ConfigError> {
        match s {
            "kakashi" | "default" => Ok(JsonProfile::Kakashi),
            "ecs" => Ok(JsonProfile::Ecs),
            "gcp" => Ok(JsonProfile::Gcp),
            _ => Err(ConfigError::invalid("profile", s, "kakashi, ecs or gcp")),
        }
    }
}

/// How a shaped JSON line looks: a profile plus the changes to make. Built
/// from [`default_json_formatter`](super::default_json_formatter)`()`'s
/// methods or [`JsonShape::new`]; turned into a formatter by
/// [`build`](JsonShape::build), which checks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JsonShape {
    profile: JsonProfile,
    renames: Vec<(String, String)>,
    drops: Vec<String>,
    flatten_fields: bool,
    exception_frames: bool,
    gcp_project: Option<String>,
}

impl JsonShape {
    /// The default layout, unchanged (same bytes as `default_json_formatter`).
    pub fn new() -> JsonShape {
        JsonShape::default()
    }

    /// Uses `profile`'s layout (default: [`JsonProfile::Kakashi`]).
    /// Renames and drops apply to the Kakashi layout only.
    pub fn profile(mut self, profile: JsonProfile) -> JsonShape {
        self.profile = profile;
        self
    }

    /// Writes the top-level key `from` (one of [`JSON_KEYS`]) as `to`.
    pub fn rename(mut self, from: impl Into<String>, to: impl Into<String>) -> JsonShape {
        self.renames.push((from.into(), to.into()));
        self
    }

    /// Leaves the top-level key `key` (one of [`JSON_KEYS`]) out.
    pub fn drop(mut self, key: impl Into<String>) -> JsonShape {
        self.drops.push(key.into());
        self
    }

    /// Writes each field at the top level instead of inside `fields`.
    pub fn flatten_fields(mut self) -> JsonShape {
        self.flatten_fields = true;
        self
    }

    /// Adds `frames`, a list of `{file, line, function}`, to the
    /// `exception` object (Kakashi layout; the profiles always carry the
    /// trace). Default: off, so the default layout keeps its bytes.
    pub fn exception_frames(mut self, on: bool) -> JsonShape {
        self.exception_frames = on;
        self
    }

    /// The Google Cloud project, so that `logging.googleapis.com/trace` is
    /// the full `projects/<id>/traces/<trace_id>` that Cloud Logging links
    /// to Cloud Trace (default: the bare `trace_id`).
    pub fn gcp_project(mut self, project_id: impl Into<String>) -> JsonShape {
        self.gcp_project = Some(project_id.into());
        self
    }

    /// The formatter.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the key: a rename or drop of a key
    /// that is not in [`JSON_KEYS`], a rename to an empty name or to a name
    /// another key is written as, a rename or drop with a profile other
    /// than Kakashi, an empty project id.
    pub fn build(&self) -> Result<ShapedJsonFormatter, ConfigError> {
        let known =
            |setting: &'static str, key: &str| match JSON_KEYS.iter().position(|k| *k == key) {
                Some(i) => Ok(i),
                None => Err(ConfigError::invalid(setting, key, KEYS_EXPECTED)),
            };
        if self.profile != JsonProfile::Kakashi {
            if let Some((from, _)) = self.renames.first() {
                return Err(ConfigError::invalid(
                    "rename key",
                    from,
                    "no renames with the ecs or gcp profile (their keys are fixed by the product)",
                ));
            }
            if let Some(key) = self.drops.first() {
                return Err(ConfigError::invalid(
                    "drop key",
                    key,
                    "no drops with the ecs or gcp profile (their keys are fixed by the product)",
                ));
            }
        }
        if self.gcp_project.as_deref() == Some("") {
            return Err(ConfigError::invalid("gcp_project", "", "a project id"));
        }
        let mut names: Vec<Option<String>> =
            JSON_KEYS.iter().map(|k| Some(k.to_string())).collect();
        for (from, to) in &self.renames {
            let i = known("rename key", from)?;
            if to.is_empty() {
                return Err(ConfigError::invalid(
                    "rename target",
                    to,
                    "a non-empty key name",
                ));
            }
            names[i] = Some(to.clone());
        }
        for key in &self.drops {
            names[known("drop key", key)?] = None;
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let Some(name) = name.as_deref() else {
                continue;
            };
            // `fields` flattened writes no key of its own.
            if i == FIELDS && self.flatten_fields {
                continue;
            }
            if seen.contains(&name) {
                return Err(ConfigError::invalid(
                    "rename target",
                    name,
                    "a key name no other key is written as",
                ));
            }
            seen.push(name);
        }
        let written: Vec<Box<str>> = match self.profile {
            JsonProfile::Kakashi => seen.iter().map(|s| Box::from(*s)).collect(),
            JsonProfile::Ecs => ECS_KEYS.iter().map(|s| Box::from(*s)).collect(),
            JsonProfile::Gcp => GCP_KEYS.iter().map(|s| Box::from(*s)).collect(),
        };
        let keys = names
            .into_iter()
            .map(|n| {
                n.map(|n| {
                    let mut key = Vec::new();
                    write_json_str(&mut key, &n);
                    key.push(b':');
                    key.into_boxed_slice()
                })
            })
            .collect();
        Ok(ShapedJsonFormatter {
            profile: self.profile,
            keys,
            flatten_fields: self.flatten_fields || self.profile != JsonProfile::Kakashi,
            exception_frames: self.exception_frames,
            written,
            gcp_project: self.gcp_project.clone(),
        })
    }
}

const FIELDS: usize = 6;

impl JsonFormatter {
    /// The default layout as a [`JsonShape`] to change.
    pub fn shape(self) -> JsonShape {
        JsonShape::new()
    }

    /// [`JsonShape::rename`] on the default layout.
    pub fn rename(self, from: impl Into<String>, to: impl Into<String>) -> JsonShape {
        JsonShape::new().rename(from, to)
    }

    /// [`JsonShape::drop`] on the default layout.
    pub fn drop(self, key: impl Into<String>) -> JsonShape {
        JsonShape::new().drop(key)
    }

    /// [`JsonShape::flatten_fields`] on the default layout.
    pub fn flatten_fields(self) -> JsonShape {
        JsonShape::new().flatten_fields()
    }

    /// [`JsonShape::exception_frames`] on the default layout.
    pub fn exception_frames(self, on: bool) -> JsonShape {
        JsonShape::new().exception_frames(on)
    }
}

/// Elastic Common Schema lines ([`JsonProfile::Ecs`]).
pub fn ecs_json_formatter() -> ShapedJsonFormatter {
    JsonShape::new()
        .profile(JsonProfile::Ecs)
        .build()
        .expect("the ECS profile is valid")
}

/// Google Cloud Logging lines ([`JsonProfile::Gcp`]); see
/// [`JsonShape::gcp_project`] for full trace names.
pub fn gcp_json_formatter() -> ShapedJsonFormatter {
    JsonShape::new()
        .profile(JsonProfile::Gcp)
        .build()
        .expect("the GCP profile is valid")
}

/// A JSON formatter with a checked [`JsonShape`]. Built by
/// [`JsonShape::build`], [`ecs_json_formatter`] and [`gcp_json_formatter`].
#[derive(Clone, Debug)]
pub struct ShapedJsonFormatter {
    profile: JsonProfile,
    /// Per [`JSON_KEYS`] entry: its `"name":` bytes, or `None` when dropped.
    keys: Vec<Option<Box<[u8]>>>,
    flatten_fields: bool,
    exception_frames: bool,
    /// The top-level names the layout writes, for flattened-field clashes.
    written: Vec<Box<str>>,
    gcp_project: Option<String>,
}

impl ShapedJsonFormatter {
    /// The layout's profile.
    pub fn profile(&self) -> JsonProfile {
        self.profile
    }
}

impl Formatter for ShapedJsonFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        match self.profile {
            JsonProfile::Kakashi => self.kakashi(r, out),
            JsonProfile::Ecs => self.ecs(r, out),
            JsonProfile::Gcp => self.gcp(r, out),
        }
    }
}

/// Writes `,` before every entry but the first of an object.
struct Sep(bool);

impl Sep {
    fn new() -> Sep {
        Sep(true)
    }

    fn next(&mut self, out: &mut Vec<u8>) {
        if !std::mem::take(&mut self.0) {
            out.push(b',');
        }
    }

    fn key(&mut self, out: &mut Vec<u8>, key: &str) {
        self.next(out);
        write_json_str(out, key);
        out.push(b':');
    }
}

/// The ISO 8601 / RFC 3339 instant with `Z` (`2026-01-01T00:00:00.123456Z`).
fn write_rfc3339_z(out: &mut Vec<u8>, r: &Record) {
    out.push(b'"');
    write_iso_utc(out, r.timestamp);
    out.truncate(out.len() - "+00:00".len());
    out.extend_from_slice(b"Z\"");
}

fn write_frames(out: &mut Vec<u8>, ex: &Exception) {
    out.push(b'[');
    for (i, f) in ex.frames.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"file\":");
        write_json_str(out, &f.file);
        out.extend_from_slice(b",\"line\":");
        write_int(out, f.line);
        out.extend_from_slice(b",\"function\":");
        write_json_str(out, &f.function);
        out.push(b'}');
    }
    out.push(b']');
}

impl ShapedJsonFormatter {
    /// Writes `"name":` for entry `i`; false when it is dropped.
    fn key(&self, out: &mut Vec<u8>, sep: &mut Sep, i: usize) -> bool {
        match &self.keys[i] {
            Some(key) => {
                sep.next(out);
                out.extend_from_slice(key);
                true
            }
            None => false,
        }
    }

    /// Each field as a top-level entry; `skip` leaves fields out (moved
    /// elsewhere). A field named like a key the layout writes itself is
    /// moved to `fields.<name>`, with `fields.` in front again while that
    /// name is taken (by the layout, by another field's own name, or by
    /// another moved field: `level` beside a field literally named
    /// `fields.level` becomes `fields.fields.level`). So shaping never
    /// makes two keys one; a key the record itself holds twice is written
    /// twice, as the default layout writes it.
    ///
    /// Linear in the fields: the common case (no field named like a key of
    /// the layout) is one comparison per field and layout key; only a
    /// record with such a field builds the sets of names.
    fn flat_fields(&self, out: &mut Vec<u8>, sep: &mut Sep, r: &Record, skip: fn(&str) -> bool) {
        let shown = || r.fields.iter().filter(|(k, _)| !skip(k));
        let is_written = |name: &str| self.written.iter().any(|w| **w == *name);
        let write = |out: &mut Vec<u8>, sep: &mut Sep, name: &str, v| {
            sep.next(out);
            write_json_str(out, name);
            out.push(b':');
            write_json_value(out, v);
        };
        if !shown().any(|(k, _)| is_written(k)) {
            for (k, v) in shown() {
                write(out, sep, k, v);
            }
            return;
        }
        let own: HashSet<&str> = shown().map(|(k, _)| k.as_str()).collect();
        let mut moved: HashMap<&str, String> = HashMap::new();
        for (k, v) in shown() {
            if !is_written(k) {
                write(out, sep, k, v);
                continue;
            }
            if !moved.contains_key(k.as_str()) {
                let mut name = format!("fields.{k}");
                while is_written(&name)
                    || own.contains(name.as_str())
                    || moved.values().any(|m| *m == name)
                {
                    name.insert_str(0, "fields.");
                }
                moved.insert(k.as_str(), name);
            }
            write(out, sep, &moved[k.as_str()], v);
        }
    }

    fn kakashi(&self, r: &Record, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut sep = Sep::new();
        if self.key(out, &mut sep, 0) {
            write_epoch_secs(out, r.timestamp);
        }
        if self.key(out, &mut sep, 1) {
            out.push(b'"');
            write_iso_utc(out, r.timestamp);
            out.push(b'"');
        }
        if self.key(out, &mut sep, 2) {
            write_json_str(out, r.level.name());
        }
        if self.key(out, &mut sep, 3) {
            write_int(out, r.level.value());
        }
        if self.key(out, &mut sep, 4) {
            write_json_str(out, &r.logger);
        }
        if self.key(out, &mut sep, 5) {
            write_json_str(out, &r.message);
        }
        if !r.fields.is_empty() && self.keys[FIELDS].is_some() {
            if self.flatten_fields {
                self.flat_fields(out, &mut sep, r, |_| false);
            } else {
                self.key(out, &mut sep, FIELDS);
                write_json_object(out, &r.fields);
            }
        }
        if let Some(ctx) = r.context.as_deref().filter(|c| !c.is_empty()) {
            if self.key(out, &mut sep, 7) {
                write_context_object(out, ctx);
            }
        }
        if r.sections.contains(Sections::SOURCE) {
            if let Some(src) = r.source {
                if self.key(out, &mut sep, 8) {
                    write_source_object(out, src);
                }
            }
        }
        if r.sections.contains(Sections::THREADING) && self.key(out, &mut sep, 9) {
            write_threading_object(out, &r.thread);
        }
        if let Some(ex) = r.exception.as_deref() {
            if self.key(out, &mut sep, 10) {
                write_exception_head(out, ex);
                if self.exception_frames {
                    out.extend_from_slice(b",\"frames\":");
                    write_frames(out, ex);
                }
                out.push(b'}');
            }
        }
        out.push(b'}');
    }
}
