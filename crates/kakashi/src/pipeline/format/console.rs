//! `console_formatter`: the development console line, coloured by level when
//! (and only when) its stream is a terminal.
//!
//! `12:00:01.250 INFO     app.db: connected host=db1 pool=4`, with the
//! attached error's traceback on the lines below. Nothing is printed for
//! what a record lacks: no `N/A`, no empty brackets. Fields and the request
//! context are `key=value` (strings with spaces, quotes or `=` in quotes).
//!
//! Whether to colour is decided once, when the formatter is made, from
//! [`Colors`] and the stream it is made for ([`ConsoleStream`]):
//!
//! - `Never` never colours; `Always` always does.
//! - `Auto` (the default): never for [`ConsoleStream::Other`] (a file, a
//!   pipe, a callback: escape codes would end up in the data); else not when
//!   `NO_COLOR` is set to anything but the empty string (<https://no-color.org>);
//!   else yes when `FORCE_COLOR` is set to anything but the empty string
//!   (<https://force-color.org>); else yes when the stream is a terminal.
//!   `NO_COLOR` wins over `FORCE_COLOR`, as in CPython 3.13's own colouring.
//!
//! Why at construction and not per line: the environment and the stream do
//! not change under a running program in practice, and a per-line
//! `isatty` would be a system call per record.
//!
//! ```
//! use kakashi::{Colors, ConsoleFormatter, ConsoleStream, Formatter, Level, Record};
//! let plain = ConsoleFormatter::new(Colors::Auto, ConsoleStream::Other);
//! assert!(!plain.colored());
//! let mut r = Record::new(Level::Info, "app.db", "connected");
//! r.fields.push(("host".into(), "db1".into()));
//! let mut out = Vec::new();
//! plain.format(&r, &mut out);
//! assert!(String::from_utf8(out).unwrap().ends_with(" INFO     app.db: connected host=db1"));
//! ```

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use super::{write_clock_utc, write_text_str, write_text_value};
use crate::error::ConfigError;
use crate::pipeline::Formatter;
use crate::record::{Level, Record, Value};

/// When [`ConsoleFormatter`] colours its lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Colors {
    /// Colour a terminal, honouring `NO_COLOR` and `FORCE_COLOR` (default).
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

impl FromStr for Colors {
    type Err = ConfigError;

    /// `auto`, `always` or `never`, exactly.
    fn from_str(s: &str) -> Result<Colors, ConfigError> {
        match s {
            "auto" => Ok(Colors::Auto),
            "always" => Ok(Colors::Always),
            "never" => Ok(Colors::Never),
            _ => Err(ConfigError::invalid("colors", s, "auto, always or never")),
        }
    }
}

impl fmt::Display for Colors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Colors::Auto => "auto",
            Colors::Always => "always",
            Colors::Never => "never",
        })
    }
}

/// Where a [`ConsoleFormatter`]'s lines go, for [`Colors::Auto`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ConsoleStream {
    /// Standard output (what `console_writer` writes to).
    #[default]
    Stdout,
    /// Standard error (`stderr_writer`).
    Stderr,
    /// Anything else (a file, a pipe given as a writer, a callback): `Auto`
    /// never colours it.
    Other,
}

impl ConsoleStream {
    fn is_terminal(self) -> bool {
        match self {
            ConsoleStream::Stdout => std::io::stdout().is_terminal(),
            ConsoleStream::Stderr => std::io::stderr().is_terminal(),
            ConsoleStream::Other => false,
        }
    }
}

/// Whether to colour, from the choice, the stream and the two variables'
/// values (the rules in the module docs).
pub(crate) fn resolve(
    colors: Colors,
    stream: ConsoleStream,
    is_terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    force_color: Option<&std::ffi::OsStr>,
) -> bool {
    let set = |v: Option<&std::ffi::OsStr>| v.is_some_and(|v| !v.is_empty());
    match colors {
        Colors::Never => false,
        Colors::Always => true,
        Colors::Auto if stream == ConsoleStream::Other || set(no_color) => false,
        Colors::Auto => set(force_color) || is_terminal,
    }
}

/// The development console line. Built by [`console_formatter`] and
/// [`ConsoleFormatter::new`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConsoleFormatter {
    colored: bool,
}

/// A console formatter for standard output with [`Colors::Auto`].
pub fn console_formatter() -> ConsoleFormatter {
    ConsoleFormatter::new(Colors::Auto, ConsoleStream::Stdout)
}

impl ConsoleFormatter {
    /// A console formatter for `stream`, colouring as `colors` says (read
    /// once, now: the environment variables and whether `stream` is a
    /// terminal).
    pub fn new(colors: Colors, stream: ConsoleStream) -> ConsoleFormatter {
        let is_terminal = colors == Colors::Auto && stream.is_terminal();
        ConsoleFormatter {
            colored: resolve(
                colors,
                stream,
                is_terminal,
                std::env::var_os("NO_COLOR").as_deref(),
                std::env::var_os("FORCE_COLOR").as_deref(),
            ),
        }
    }

    /// Whether its lines carry ANSI colours.
    pub fn colored(&self) -> bool {
        self.colored
    }
}

const RESET: &[u8] = b"\x1b[0m";
const DIM: &[u8] = b"\x1b[2m";

fn level_color(level: Level) -> &'static [u8] {
    match level {
        Level::Debug => b"\x1b[36m",      // cyan
        Level::Info => b"\x1b[32m",       // green
        Level::Warning => b"\x1b[33m",    // yellow
        Level::Error => b"\x1b[31m",      // red
        Level::Critical => b"\x1b[1;31m", // bold red
    }
}

/// A value for `key=value`: bare when it reads unambiguously, else quoted
/// as Python's `repr` would.
fn write_kv_value(out: &mut Vec<u8>, v: &Value) {
    if let Value::Str(s) = v {
        let plain = !s.is_empty() && !s.contains([' ', '"', '\'', '=']);
        if !plain {
            out.push(b'"');
            write_text_str(out, &s.replace('"', "\\\""));
            out.push(b'"');
            return;
        }
    }
    write_text_value(out, v);
}

impl Formatter for ConsoleFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        let paint = |out: &mut Vec<u8>, code: &[u8]| {
            if self.colored {
                out.extend_from_slice(code);
            }
        };
        paint(out, DIM);
        write_clock_utc(out, r.timestamp, true);
        paint(out, RESET);
        out.push(b' ');
        paint(out, level_color(r.level));
        let name = r.level.name();
        out.extend_from_slice(name.as_bytes());
        paint(out, RESET);
        out.resize(out.len() + 9usize.saturating_sub(name.len()), b' ');
        if !r.logger.is_empty() {
            paint(out, DIM);
            write_text_str(out, &r.logger);
            out.push(b':');
            paint(out, RESET);
            out.push(b' ');
        }
        write_text_str(out, &r.message);
        let kv = |out: &mut Vec<u8>, k: &str, v: &Value| {
            out.push(b' ');
            paint(out, DIM);
            write_text_str(out, k);
            out.push(b'=');
            paint(out, RESET);
            write_kv_value(out, v);
        };
        for (k, v) in &r.fields {
            kv(out, k, v);
        }
        if let Some(ctx) = r.context.as_deref() {
            for (k, v) in ctx.named() {
                if let Some(v) = v.filter(|v| !v.is_empty()) {
                    kv(out, k, &Value::from(v.to_owned()));
                }
            }
            for (k, v) in &ctx.custom {
                kv(out, k, v);
            }
        }
        if let Some(ex) = r.exception.as_deref() {
            out.push(b'\n');
            paint(out, level_color(r.level));
            match ex
                .python_stack_trace()
                .or(ex.traceback.as_deref().map(Into::into))
            {
                Some(tb) => out.extend_from_slice(tb.as_bytes()),
                None => {
                    out.extend_from_slice(ex.type_name.as_bytes());
                    out.extend_from_slice(b": ");
                    out.extend_from_slice(ex.message.as_bytes());
                }
            }
            paint(out, RESET);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn colour_rules() {
        use Colors::*;
        use ConsoleStream::*;
        let on = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        // (colors, stream, tty, NO_COLOR, FORCE_COLOR, expected)
        let table = [
            (Auto, Stdout, true, None, None, true),
            (Auto, Stdout, false, None, None, false),
            (Auto, Stdout, true, on, None, false),
            (Auto, Stdout, true, empty, None, true),
            (Auto, Stdout, false, None, on, true),
            (Auto, Stdout, false, None, empty, false),
            (Auto, Stdout, false, on, on, false),
            (Auto, Other, true, None, on, false),
            (Always, Other, false, on, None, true),
            (Never, Stdout, true, None, on, false),
        ];
        for (colors, stream, tty, no, force, want) in table {
            assert_eq!(
                resolve(colors, stream, tty, no, force),
                want,
                "{colors} {stream:?} tty={tty} NO_COLOR={no:?} FORCE_COLOR={force:?}"
            );
        }
    }
}
