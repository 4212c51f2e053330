//! The `log` facade's records as kakashi records (Cargo feature `log`).
//!
//! [`init`] installs a `log::Log` that hands every `log` record to a
//! kakashi [`Logger`]: the logger gives the backend, pipeline, level, bound
//! fields and context; the `log` record gives the rest.
//!
//! | `log`                         | kakashi record                                  |
//! |-------------------------------|-------------------------------------------------|
//! | `Trace`, `Debug`              | `DEBUG` (kakashi has no level below it)         |
//! | `Info`, `Warn`, `Error`       | `INFO`, `WARNING`, `ERROR` (`CRITICAL` is never made) |
//! | target                        | logger name (`"myapp::db"`)                     |
//! | `args()`                      | message: a literal stays borrowed, else formatted once |
//! | key-values (`kv`)             | fields, in order: integers, floats, bools and strings as themselves, anything else by `Display` |
//! | module path, file, line       | source (the `source` object with [`source_enricher`](crate::source_enricher)) |
//!
//! ```
//! use kakashi::{bridge, Backend, PipelineConfig};
//! use kakashi::testing::MemoryWriter;
//!
//! let memory = MemoryWriter::new();
//! let logger = Backend::synchronous().logger("app", PipelineConfig::new().writer(memory.clone()));
//! bridge::log::init(logger)?;
//! log::info!(target: "myapp::db", rows = 3; "query done");
//! assert!(memory.lines()[0].contains(r#""logger":"myapp::db","message":"query done","fields":{"rows":3}"#));
//!
//! // Levels by target, as `RUST_LOG=info,myapp::db=warn`:
//! kakashi::set_level("myapp::db", kakashi::Level::Warning);
//! log::info!(target: "myapp::db::pool", "not written: myapp::db is at WARNING");
//! log::info!(target: "myapp::web", "written: the logger's INFO");
//! assert_eq!(memory.lines().len(), 2);
//! assert!(memory.lines()[1].contains(r#""logger":"myapp::web""#));
//! # Ok::<(), bridge::log::InitError>(())
//! ```
//!
//! **Level.** Each record is checked against the level in force for its
//! *target* on the logger's pipeline, as `RUST_LOG` filters: the most
//! specific [`set_level`](crate::set_level) rule (or configuration
//! directive, `"info,hyper=warn,myapp::db=debug"`) for the target or a
//! name above it (`myapp::db::pool` is below `myapp::db`; `.` and `::` are
//! one separator), else the logger's own level (the rule for the logger's
//! name, else its pipeline's, [`Logger::set_min_level`]). The check is one
//! relaxed load of the target's gate, kept with the call site's target in
//! the bridge's per-thread call-site cache (for `Log::enabled` and records
//! without a static file, in a per-thread cache by the target's address);
//! a change of rules rewrites the gates, so it applies at the next call.
//!
//! [`init`] also keeps `log`'s maximum level at the lowest level any
//! target can have (the logger's own, or any rule's), so that a
//! `log::debug!` no target lets through is skipped by `log`'s own macro
//! before anything reaches kakashi: set when installed, and again after
//! every level change (rules, directives applied by a configuration,
//! `set_min_level`), with no call from the program. [`sync_max_level`] is
//! only for a [`KakashiLog`] installed by hand, where whoever installed
//! it owns `log`'s maximum level.
//!
//! **`tracing` too.** With tracing's `log-always` feature, every `tracing`
//! event is also sent to `log`. When the `bridge::tracing` layer
//! took the event, the `log` record that repeats it is skipped, so one call
//! makes one line; the `log` records tracing makes for span entries and
//! exits (targets `tracing::span` and `tracing::span::active`) are skipped
//! too. Without a tracing subscriber, tracing's `log` feature sends its
//! events to `log` and this bridge logs them. `tracing-log`'s `LogTracer`
//! is the other way round (log into tracing): it cannot be installed with
//! this bridge (`log` takes one logger per process), and is not needed.
//!
//! Never raises into the caller on its own account: the record goes
//! through [`Logger`]'s path, whose failures are counted (G6). A field
//! value whose `Display` or `Debug` panics while the bridge converts it, on
//! the calling thread, panics there as it would in `format!` (as the
//! macros' `%` and `?` values do).

use std::cell::RefCell;
use std::fmt;
use std::sync::{Arc, OnceLock};

use super::SeenText;
use crate::levels::{self, Gate};
use crate::logger::Logger;
use crate::record::{Fields, Level, Name, Source, Text, Value};

/// The `log::Log` that [`init`] installs; public so that it can be
/// installed by hand (inside a `log` multiplexer, say) with [`KakashiLog::new`].
#[derive(Debug)]
pub struct KakashiLog {
    logger: Logger,
}

/// Why [`init`] failed: `log` already has a logger (it takes one per
/// process).
#[derive(Debug)]
pub struct InitError(::log::SetLoggerError);

impl fmt::Display for InitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot install the kakashi log bridge: {} (log takes one logger per process)",
            self.0
        )
    }
}

impl std::error::Error for InitError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Installs the bridge as `log`'s logger, and keeps `log`'s maximum level
/// at the lowest level any target can have on `logger`'s pipeline, from
/// now on and after every level change (see the module docs).
///
/// # Errors
/// [`InitError`] if `log` already has a logger.
pub fn init(logger: Logger) -> Result<(), InitError> {
    let bridge = logger.gate().clone();
    ::log::set_boxed_logger(Box::new(KakashiLog::new(logger))).map_err(InitError)?;
    // `log` took this logger, so this is the first and only `init` that
    // gets here.
    let _ = INSTALLED.set(bridge);
    levels::on_change(sync_installed);
    Ok(())
}

/// The gate of the logger [`init`] installed.
static INSTALLED: OnceLock<Arc<Gate>> = OnceLock::new();

/// Sets `log`'s maximum level for the logger [`init`] installed.
fn sync_installed() {
    if let Some(bridge) = INSTALLED.get() {
        ::log::set_max_level(level_filter(levels::lowest_level(bridge)));
    }
}

/// Sets `log`'s maximum level to the lowest level any target can have on
/// `logger`'s pipeline (its own level, or any rule's).
///
/// Not needed after [`init`], which keeps it up to date; for a
/// [`KakashiLog`] installed by hand (in a `log` multiplexer, which owns
/// the maximum level).
pub fn sync_max_level(logger: &Logger) {
    ::log::set_max_level(level_filter(levels::lowest_level(logger.gate())));
}

/// The kakashi level of a `log` level: `Trace` and `Debug` are `DEBUG`.
pub fn level(level: ::log::Level) -> Level {
    match level {
        ::log::Level::Error => Level::Error,
        ::log::Level::Warn => Level::Warning,
        ::log::Level::Info => Level::Info,
        ::log::Level::Debug | ::log::Level::Trace => Level::Debug,
    }
}

/// The most verbose `log` level a kakashi minimum level lets through
/// (`DEBUG` lets `Trace` through; `CRITICAL` lets nothing through, as
/// `log` has no level above `Error`).
pub fn level_filter(min_level: Level) -> ::log::LevelFilter {
    match min_level {
        Level::Debug => ::log::LevelFilter::Trace,
        Level::Info => ::log::LevelFilter::Info,
        Level::Warning => ::log::LevelFilter::Warn,
        Level::Error => ::log::LevelFilter::Error,
        Level::Critical => ::log::LevelFilter::Off,
    }
}

impl KakashiLog {
    /// A `log::Log` that logs through `logger` (which [`init`] installs).
    pub fn new(logger: Logger) -> KakashiLog {
        KakashiLog { logger }
    }

    /// Whether the level in force for `target` on this bridge's pipeline
    /// lets `level` through: one relaxed load of the target's gate, found
    /// through a per-thread cache by the target's address (the text is
    /// compared in full: a `log` target need not be static).
    #[inline]
    fn target_enabled(&self, target: &str, level: Level) -> bool {
        let bridge = self.logger.gate();
        let address = target.as_ptr() as usize;
        TARGETS
            .try_with(|targets| {
                let mut targets = targets.try_borrow_mut().ok()?;
                let slot = &mut targets[super::slot_of(address, target.len()) % TARGET_SLOTS];
                let hit = slot.as_ref().is_some_and(|seen| {
                    seen.address == address && seen.gate.follows(bridge) && *seen.text == *target
                });
                if !hit {
                    *slot = Some(SeenTarget {
                        address,
                        text: target.into(),
                        gate: levels::bridge_gate(target, bridge),
                    });
                }
                Some(slot.as_ref()?.gate.enabled(level))
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| levels::bridge_gate(target, bridge).enabled(level))
    }
}

impl KakashiLog {
    /// A record of `record` without its key-values.
    #[inline(always)]
    fn record(
        &self,
        record: &::log::Record<'_>,
        level: Level,
        logger: Name,
        source: Option<&'static Source>,
    ) -> crate::Record {
        let args = record.args();
        let message = match args.as_str() {
            Some(text) => Text::from_static(text),
            None => Text::from(fmt::format(*args)),
        };
        crate::Record {
            timestamp: crate::Timestamp::now(),
            level,
            logger,
            message,
            fields: Fields::new(),
            context: self.logger.context_for_record(),
            exception: None,
            source,
            thread: crate::Thread::current(),
            sections: crate::record::Sections::NONE,
        }
    }
}

/// Slots of the per-thread target cache.
const TARGET_SLOTS: usize = 64;

thread_local! {
    /// The gates of the targets this thread logged to recently (see
    /// [`KakashiLog::target_enabled`]).
    static TARGETS: RefCell<Vec<Option<SeenTarget>>> = RefCell::new((0..TARGET_SLOTS).map(|_| None).collect());
}

/// A target, where its text was, and its gate on one bridge.
struct SeenTarget {
    address: usize,
    text: Box<str>,
    gate: Arc<Gate>,
}

impl ::log::Log for KakashiLog {
    #[inline]
    fn enabled(&self, metadata: &::log::Metadata<'_>) -> bool {
        self.target_enabled(metadata.target(), level(metadata.level()))
    }

    fn log(&self, record: &::log::Record<'_>) {
        let level = level(record.level());
        let bridge = self.logger.gate();
        let mut built = None;
        // One cache borrowed for the whole record: it gives the call site's
        // target, its level cell, source, keys and kept values. A record it
        // cannot take (no static file: made by hand, or tracing's `log`
        // record of an event) or a `Display` of a value that logs itself,
        // which comes back here and finds it taken, goes the other way.
        let done = SITES
            .try_with(|sites| {
                let mut sites = sites.try_borrow_mut().ok()?;
                let file = record.file_static()?;
                let line = record.line().unwrap_or(0);
                let slot = super::slot_of(file.as_ptr() as usize, line as usize) % SITE_SLOTS;
                let site = &mut sites[slot];
                if site.file != file.as_ptr() as usize || site.line != line {
                    *site = Site {
                        file: file.as_ptr() as usize,
                        line,
                        source: record
                            .module_path_static()
                            .and_then(|module| super::cached_source(module, file, line)),
                        ..Site::default()
                    };
                }
                let (logger, gate) = site.target(record.target(), bridge)?;
                if !gate.enabled(level)
                    || repeats_tracing(record)
                    || self.logger.drop_if_known_full()
                {
                    return Some(());
                }
                // Made in place, where it is submitted from.
                let made = built.insert(self.record(record, level, logger.clone(), site.source));
                let kvs = record.key_values();
                if kvs.count() > 0 {
                    let known_distinct = site.distinct;
                    let mut visitor = FieldVisitor {
                        fields: &mut made.fields,
                        all_static: true,
                        site: Some(site),
                        index: 0,
                        known_distinct,
                    };
                    let _ = kvs.visit(&mut visitor);
                    visitor.finish();
                }
                Some(())
            })
            .ok()
            .flatten();
        if done.is_none() {
            if !self.target_enabled(record.target(), level)
                || repeats_tracing(record)
                || self.logger.drop_if_known_full()
            {
                return;
            }
            let source = match (record.module_path_static(), record.file_static()) {
                (Some(module), Some(file)) => {
                    super::cached_source(module, file, record.line().unwrap_or(0))
                }
                _ => None,
            };
            let made = built.insert(self.record(
                record,
                level,
                super::cached_name(record.target()),
                source,
            ));
            let kvs = record.key_values();
            if kvs.count() > 0 {
                let _ = kvs.visit(&mut FieldVisitor {
                    fields: &mut made.fields,
                    all_static: true,
                    site: None,
                    index: 0,
                    known_distinct: 0,
                });
            }
        }
        if built.is_some() {
            self.logger.submit_record(&mut built);
        }
    }

    fn flush(&self) {
        self.logger.flush();
    }
}

/// Whether `record` is one that tracing's `log` compatibility made for an
/// event or span the tracing layer already took, or for a span's lifecycle.
#[inline]
fn repeats_tracing(record: &::log::Record<'_>) -> bool {
    #[cfg(feature = "tracing")]
    if super::echo::is_echo_of_last_event(record) {
        return true;
    }
    record.target().starts_with("tracing::span")
}

// === per call site ===

/// Slots of the per-thread call-site cache.
const SITE_SLOTS: usize = 64;

thread_local! {
    /// What each recent `log` call site (by file and line) had last time on
    /// this thread: a call's target, source, keys and repeated string
    /// values are found with one lookup per call instead of one per name
    /// and per value, and its keys and values compared with the ones at
    /// the same position last time.
    static SITES: RefCell<Vec<Site>> = RefCell::new((0..SITE_SLOTS).map(|_| Site::default()).collect());
}

/// One call site's entry (see [`SITES`]).
#[derive(Default)]
struct Site {
    file: usize,
    line: u32,
    source: Option<&'static Source>,
    target: SeenName,
    /// The level cell of `target` on the bridge that logged it last.
    gate: Option<Arc<Gate>>,
    /// By position among the call's key-values.
    keys: Vec<SeenName>,
    values: Vec<SeenText>,
    /// How many keys the last call had, if they were all different (else
    /// 0): a call whose keys at those positions are the same ones appends
    /// their fields without looking for an earlier one of the same key.
    /// (`keys` may hold more, from older calls: those prove nothing.)
    distinct: usize,
}

impl Site {
    /// The name of the call's target `text` and its level cell on the
    /// bridge whose logger's cell is `bridge`: those kept if the target
    /// and the bridge are the ones of last time, else looked up and kept.
    /// Borrowed: a disabled call copies nothing.
    #[inline]
    fn target(&mut self, text: &str, bridge: &Arc<Gate>) -> Option<(&Name, &Gate)> {
        let same = self.target.update(text);
        if !same || !self.gate.as_ref().is_some_and(|g| g.follows(bridge)) {
            self.gate = None;
        }
        let gate = self
            .gate
            .get_or_insert_with(|| levels::bridge_gate(text, bridge));
        Some((self.target.name.as_ref()?, gate))
    }
}

/// A name and the address and length of the text it was made from.
#[derive(Default)]
struct SeenName {
    address: usize,
    name: Option<Name>,
}

impl SeenName {
    /// The name of `text`: the one kept if `text` is the same text at the
    /// same address (compared in full: the address alone may hold another
    /// text now), else made and kept.
    #[inline]
    fn name(&mut self, text: &str) -> (Name, bool) {
        let same = self.update(text);
        match &self.name {
            Some(name) => (name.clone(), same),
            None => (super::cached_name(text), false),
        }
    }

    /// Keeps the name of `text` (see [`name`](SeenName::name)); whether
    /// the one kept was already its.
    #[inline]
    fn update(&mut self, text: &str) -> bool {
        let address = text.as_ptr() as usize;
        match &self.name {
            Some(name) if self.address == address && super::same_text(name.as_str(), text) => true,
            _ => {
                *self = SeenName {
                    address,
                    name: Some(super::cached_name(text)),
                };
                false
            }
        }
    }
}

/// Turns `log` key-values into fields.
struct FieldVisitor<'a> {
    fields: &'a mut Fields,
    /// See [`field_slot`](super::field_slot).
    all_static: bool,
    /// The call site's cache, if this thread's was free.
    site: Option<&'a mut Site>,
    /// The position of the next pair.
    index: usize,
    /// Every key so far is the one at its position in the last call, and
    /// those were all different: how many keys that call had
    /// ([`Site::distinct`]), 0 once that is not so.
    known_distinct: usize,
}

impl FieldVisitor<'_> {
    /// After the visit: how many keys this call had if they were all
    /// different (every pair appended a field, none found an earlier one of
    /// its key), for the next call from the site.
    fn finish(self) {
        if let Some(site) = self.site {
            site.distinct = if self.fields.len() == self.index {
                self.index
            } else {
                0
            };
        }
    }
}

impl<'kvs> ::log::kv::VisitSource<'kvs> for FieldVisitor<'_> {
    fn visit_pair(
        &mut self,
        key: ::log::kv::Key<'kvs>,
        value: ::log::kv::Value<'kvs>,
    ) -> Result<(), ::log::kv::Error> {
        let index = self.index;
        self.index += 1;
        let (name, seen) = match self.site.as_deref_mut() {
            Some(site) => {
                if site.keys.len() <= index {
                    site.keys.resize_with(index + 1, SeenName::default);
                    site.values.resize_with(index + 1, SeenText::default);
                }
                let (name, same) = site.keys[index].name(key.as_str());
                if !same || index >= self.known_distinct {
                    self.known_distinct = 0;
                }
                (name, Some(&mut site.values[index]))
            }
            None => (super::cached_name(key.as_str()), None),
        };
        let slot = if self.known_distinct > 0 {
            // No earlier field has this key: the keys so far are last
            // time's, which were all different.
            self.all_static &= name.as_static().is_some();
            crate::record::push_null(self.fields, name)
        } else {
            super::field_slot(self.fields, &mut self.all_static, name)
        };
        if value.visit(ValueVisitor(slot, seen)).is_err() {
            *slot = Value::display(&value);
        }
        Ok(())
    }
}

/// Turns one `log` value into a [`Value`], keeping its type; a string is
/// kept by the call site's slot for its position when there is one (see
/// [`cached_text`](super::cached_text)).
struct ValueVisitor<'a>(&'a mut Value, Option<&'a mut SeenText>);

impl<'v> ::log::kv::VisitValue<'v> for ValueVisitor<'_> {
    fn visit_any(&mut self, value: ::log::kv::Value<'_>) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::display(value));
        Ok(())
    }
    fn visit_null(&mut self) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::Null);
        Ok(())
    }
    fn visit_u64(&mut self, value: u64) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::from(value));
        Ok(())
    }
    fn visit_i64(&mut self, value: i64) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::I64(value));
        Ok(())
    }
    fn visit_u128(&mut self, value: u128) -> Result<(), ::log::kv::Error> {
        let value = match u64::try_from(value) {
            Ok(v) => Value::from(v),
            Err(_) => Value::display(value),
        };
        super::write_value(self.0, value);
        Ok(())
    }
    fn visit_i128(&mut self, value: i128) -> Result<(), ::log::kv::Error> {
        let value = match i64::try_from(value) {
            Ok(v) => Value::I64(v),
            Err(_) => Value::display(value),
        };
        super::write_value(self.0, value);
        Ok(())
    }
    fn visit_f64(&mut self, value: f64) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::F64(value));
        Ok(())
    }
    fn visit_bool(&mut self, value: bool) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::Bool(value));
        Ok(())
    }
    fn visit_str(&mut self, value: &str) -> Result<(), ::log::kv::Error> {
        // The kept text written on its own path: one shared with the copies
        // built the value on the stack and read it back wider (a stall).
        if let Some(kept) = self.1.as_deref_mut().and_then(|seen| seen.kept_text(value)) {
            super::write_value(self.0, Value::Str(Text::from_static(kept)));
            return Ok(());
        }
        let text = if self.1.is_some() {
            Text::from(value.to_owned())
        } else {
            super::cached_text(value)
        };
        super::write_value(self.0, Value::Str(text));
        Ok(())
    }
    fn visit_char(&mut self, value: char) -> Result<(), ::log::kv::Error> {
        super::write_value(self.0, Value::from(value));
        Ok(())
    }
}
