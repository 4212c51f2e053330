//! `tracing` events as kakashi records (Cargo feature `tracing`).
//!
//! [`layer`] returns a `tracing_subscriber::Layer` that hands every event
//! to a kakashi [`Logger`]: the logger gives the backend, pipeline, level,
//! bound fields and context; the event and its spans give the rest.
//!
//! | `tracing`                     | kakashi record                                   |
//! |-------------------------------|--------------------------------------------------|
//! | `TRACE`, `DEBUG`              | `DEBUG` (kakashi has no level below it)          |
//! | `INFO`, `WARN`, `ERROR`       | `INFO`, `WARNING`, `ERROR` (`CRITICAL` is never made) |
//! | target                        | logger name (`"myapp::db"`)                      |
//! | the `message` field           | message (empty when the event has none)          |
//! | other event fields            | fields, in order, with their types: `i64`, `u64`, `f64`, `bool`, `str`; anything else by `Debug`, errors by `Display` with their causes |
//! | fields of the event's spans   | fields after the event's own, innermost span first; a key the event (or an inner span) has already set is not repeated |
//! | the spans' names              | the field `span_path`, root first, joined by `:` (`"request:db_query"`) |
//! | module path, file, line       | source (the `source` object with [`source_enricher`](crate::source_enricher)) |
//!
//! ```
//! use kakashi::{bridge, Backend, PipelineConfig};
//! use kakashi::testing::MemoryWriter;
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! let memory = MemoryWriter::new();
//! let logger = Backend::synchronous().logger("app", PipelineConfig::new().writer(memory.clone()));
//! let subscriber = tracing_subscriber::registry().with(bridge::tracing::layer(logger));
//! tracing::subscriber::with_default(subscriber, || {
//!     let _request = tracing::info_span!("request", user = 7).entered();
//!     tracing::info!(target: "myapp::db", rows = 3, "query done");
//!     // Levels by target, as `RUST_LOG=info,myapp::db=debug`:
//!     tracing::debug!(target: "myapp::db", "not written: the logger's INFO");
//!     kakashi::set_level("myapp::db", kakashi::Level::Debug);
//!     tracing::debug!(target: "myapp::db::pool", "written: myapp::db is at DEBUG");
//! });
//! assert!(memory.lines()[0].contains(
//!     r#""logger":"myapp::db","message":"query done","fields":{"rows":3,"user":7,"span_path":"request"}"#));
//! assert_eq!(memory.lines().len(), 2);
//! assert!(memory.lines()[1].contains(r#""message":"written: myapp::db is at DEBUG""#));
//! ```
//!
//! **Span fields** are converted once, when the span is made (and again
//! for a field its `record` call sets), and kept in the span's extensions
//! with the span's path; an event reads them from there instead of visiting
//! its spans' values again. Flattened rather than nested under the span's
//! name, as tracing users ask (tracing#2670): a query on `user` finds it
//! whichever span set it.
//!
//! **Level.** Each event and span is checked against the level in force
//! for its call site's *target* on the logger's pipeline, as `RUST_LOG`
//! (or tracing-subscriber's `EnvFilter`) filters: the most specific
//! [`set_level`](crate::set_level) rule (or configuration directive,
//! `"info,hyper=warn,myapp::db=debug"`) for the target or a name above it
//! (`myapp::db::pool` is below `myapp::db`; `.` and `::` are one
//! separator), else the logger's own level (the rule for the logger's
//! name, else its pipeline's, [`Logger::set_min_level`]). A call site's
//! target gate is kept with the call site in a per-thread cache, so an
//! event's check is one relaxed load.
//!
//! The layer answers each call site's registration from its target's
//! level (`Interest::always` or `never`, so a disabled `tracing::debug!`
//! costs what it costs with no subscriber) and gives `tracing` the lowest
//! level any target can have as its maximum. After every level change
//! (rules, directives applied by a configuration, `set_min_level`) it has
//! `tracing` rebuild its interest cache, so a call site disabled at first
//! is enabled by a rule that lowers its target's level, with no call from
//! the program ([`sync_interest`] is no longer needed). The layer decides
//! for the whole subscriber: a layer beside it that wants `DEBUG` while
//! kakashi wants `INFO` needs one of them behind a per-layer filter
//! (`Layer::with_filter`).
//!
//! **`log` too.** See `bridge::log`: a `tracing` event that
//! tracing's `log-always` feature repeats as a `log` record is logged
//! once, by this layer.
//!
//! Never raises into the caller on its own account: the record goes
//! through [`Logger`]'s path, whose failures are counted (G6). A field
//! value whose `Display` or `Debug` panics while the bridge converts it, on
//! the calling thread, panics there as it would in `format!` (as the
//! macros' `%` and `?` values do).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_core::field::{Field as TracingField, Visit};
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::levels::{self, Gate};
use crate::logger::Logger;
use crate::record::{Field, Fields, Level, Name, Source, Text, Value};

/// The key of the span path field.
pub const SPAN_PATH: &str = "span_path";

/// The `tracing_subscriber::Layer` that [`layer`] returns.
#[derive(Debug)]
pub struct KakashiLayer {
    logger: Logger,
}

/// A layer that logs `tracing` events through `logger` (see the module
/// docs); put it on a `tracing_subscriber::registry()`.
///
/// From now on, every level change ([`set_level`](crate::set_level),
/// [`clear_level`](crate::clear_level), a configuration's directives,
/// [`Logger::set_min_level`]) makes `tracing` ask every call site again
/// whether it is enabled.
pub fn layer(logger: Logger) -> KakashiLayer {
    levels::on_change(sync_interest);
    KakashiLayer { logger }
}

impl KakashiLayer {
    /// A span's fields (made or recorded), converted; `message` is a field
    /// like any other there.
    fn span_fields(
        &self,
        metadata: &'static Metadata<'static>,
        record: impl FnOnce(&mut dyn Visit),
    ) -> Fields {
        let mut fields = Fields::new();
        record(&mut FieldVisitor {
            fields: &mut fields,
            message: None,
            callsite: callsite(metadata, self.logger.gate(), Level::Critical).0,
            all_static: true,
            fresh_from: 0,
        });
        fields
    }
}

/// Makes `tracing` ask every call site again whether it is enabled; it is
/// `tracing_core::callsite::rebuild_interest_cache`. Not needed since a
/// level change does it (see [`layer`]); kept for programs that call it.
pub fn sync_interest() {
    tracing_core::callsite::rebuild_interest_cache();
}

/// The kakashi level of a `tracing` level: `TRACE` and `DEBUG` are `DEBUG`.
pub fn level(level: &tracing_core::Level) -> Level {
    if *level == tracing_core::Level::ERROR {
        Level::Error
    } else if *level == tracing_core::Level::WARN {
        Level::Warning
    } else if *level == tracing_core::Level::INFO {
        Level::Info
    } else {
        Level::Debug
    }
}

/// The most verbose `tracing` level a kakashi minimum level lets through
/// (`DEBUG` lets `TRACE` through; `CRITICAL` lets nothing through, as
/// `tracing` has no level above `ERROR`).
pub fn level_filter(min_level: Level) -> LevelFilter {
    match min_level {
        Level::Debug => LevelFilter::TRACE,
        Level::Info => LevelFilter::INFO,
        Level::Warning => LevelFilter::WARN,
        Level::Error => LevelFilter::ERROR,
        Level::Critical => LevelFilter::OFF,
    }
}

/// What every event or span of one call site shares, made once per call
/// site and process (call sites are static, as the program's code is): the
/// logger name of its target, its source, and the [`Name`] of each field
/// by the field's index.
struct Callsite {
    target: Name,
    source: Option<&'static Source>,
    fields: Box<[(&'static str, Name)]>,
    /// Its field names are all different: a field visited for the first
    /// time in an event is appended without looking for an earlier one of
    /// the same name (see [`FieldVisitor::slot`]).
    distinct: bool,
}

impl Callsite {
    /// The name of `field` (of this call site: found by index, checked by
    /// its text's address).
    #[inline]
    fn name(&self, field: &TracingField) -> Name {
        match self.fields.get(field.index()) {
            Some((text, name)) if std::ptr::eq(*text, field.name()) => name.clone(),
            _ => super::cached_static_name(field.name()),
        }
    }
}

/// One slot of the per-thread call-site cache: a call site (by its
/// metadata's address) and its target's gate on the last layer that asked.
struct Seen {
    address: usize,
    callsite: &'static Callsite,
    gate: Arc<Gate>,
}

/// Slots of the per-thread call-site cache.
const SLOTS: usize = 64;

thread_local! {
    /// See [`Seen`].
    static SEEN: std::cell::RefCell<[Option<Seen>; SLOTS]> =
        const { std::cell::RefCell::new([const { None }; SLOTS]) };
}

/// The slot of a metadata's address in [`SEEN`].
#[inline]
fn seen_slot(address: usize) -> usize {
    (address.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 58) % SLOTS
}

/// The [`Callsite`] of `metadata`, and whether the level in force for its
/// target on `bridge`'s pipeline lets `level` through: through a
/// per-thread cache indexed by the metadata's address, so that an event
/// looks up one thing (then loads its target's gate) instead of a name per
/// field, its target, its source and its target's level.
#[inline]
fn callsite(
    metadata: &'static Metadata<'static>,
    bridge: &Arc<Gate>,
    level: Level,
) -> (&'static Callsite, bool) {
    let address = std::ptr::from_ref(metadata) as usize;
    let find = || Some(registered_callsite(metadata));
    with_seen(address, metadata.target(), bridge, find, |found| {
        (found.callsite, found.gate.enabled(level))
    })
    .unwrap_or_else(|| {
        (
            registered_callsite(metadata),
            levels::bridge_gate(metadata.target(), bridge).enabled(level),
        )
    })
}

/// Reads `address`'s entry in this thread's call-site cache, filling its
/// slot on a miss (with the call site `find` gives and its target's gate);
/// `None` when the cache cannot be used (the thread is ending, or an event
/// logged while reading it) or `find` has no call site.
#[inline]
fn with_seen<R>(
    address: usize,
    target: &str,
    bridge: &Arc<Gate>,
    find: impl FnOnce() -> Option<&'static Callsite>,
    read: impl FnOnce(&Seen) -> R,
) -> Option<R> {
    SEEN.try_with(|seen| {
        let mut seen = seen.try_borrow_mut().ok()?;
        let slot = &mut seen[seen_slot(address)];
        match slot {
            // A hit is the call site registered at that address: static
            // memory is never another's.
            Some(found) if found.address == address && found.gate.follows(bridge) => {}
            _ => {
                *slot = Some(Seen {
                    address,
                    callsite: find()?,
                    gate: levels::bridge_gate(target, bridge),
                });
            }
        }
        slot.as_ref().map(read)
    })
    .ok()
    .flatten()
}

/// Whether the level in force for `metadata`'s target on `bridge`'s
/// pipeline lets its level through, where `tracing` asks (`enabled`) with
/// metadata that is not typed `'static`: found in the per-thread cache by
/// its address, and on a miss in the registered call sites (every call
/// site is registered before it is asked about), whose entry then fills
/// the cache; metadata that is not a registered call site's reads its
/// target's gate from the level registry.
fn metadata_enabled(metadata: &Metadata<'_>, bridge: &Arc<Gate>) -> bool {
    let level = level(metadata.level());
    let address = std::ptr::from_ref(metadata) as usize;
    let find = || lock_callsites().get(&address).copied();
    with_seen(address, metadata.target(), bridge, find, |found| {
        found.gate.enabled(level)
    })
    .unwrap_or_else(|| levels::bridge_gate(metadata.target(), bridge).enabled(level))
}

/// Every registered call site's [`Callsite`], by its metadata's address.
type Callsites = Mutex<HashMap<usize, &'static Callsite>>;

static CALLSITES: OnceLock<Callsites> = OnceLock::new();

/// [`CALLSITES`], made on first use.
fn callsites() -> &'static Callsites {
    CALLSITES.get_or_init(Default::default)
}

/// [`CALLSITES`] locked for the thread preparing a fork
/// (`bridge::hold_for_fork`).
pub(super) fn hold_callsites_for_fork(
    deadline: std::time::Instant,
) -> Option<crate::backend::HeldForFork> {
    crate::backend::lock_for_fork(callsites(), deadline)
}

fn lock_callsites() -> std::sync::MutexGuard<'static, HashMap<usize, &'static Callsite>> {
    callsites().lock().unwrap_or_else(|e| e.into_inner())
}

/// The process-wide [`Callsite`] of `metadata`, made on first use.
#[cold]
fn registered_callsite(metadata: &'static Metadata<'static>) -> &'static Callsite {
    let address = std::ptr::from_ref(metadata) as usize;
    lock_callsites().entry(address).or_insert_with(|| {
        let source = match (metadata.module_path(), metadata.file()) {
            (Some(module), Some(file)) => {
                super::cached_source(module, file, metadata.line().unwrap_or(0))
            }
            _ => None,
        };
        let fields: Box<[(&'static str, Name)]> = metadata
            .fields()
            .iter()
            .map(|f| (f.name(), Name::interned(f.name())))
            .collect();
        let distinct = fields
            .iter()
            .enumerate()
            .all(|(i, (a, _))| fields[..i].iter().all(|(b, _)| a != b));
        // Leaked on purpose: one per call site, used for the process's life.
        Box::leak(Box::new(Callsite {
            target: Name::interned(metadata.target()),
            source,
            fields,
            distinct,
        }))
    })
}

/// What a span keeps in its extensions for the events inside it.
struct SpanData {
    /// Its own fields, converted.
    fields: Vec<Field>,
    /// Its path, root first, joined by `:`.
    path: Text,
}

impl<S> tracing_subscriber::Layer<S> for KakashiLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        registered_callsite(metadata);
        let gate = levels::bridge_gate(metadata.target(), self.logger.gate());
        if gate.enabled(level(metadata.level())) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata_enabled(metadata, self.logger.gate())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(level_filter(levels::lowest_level(self.logger.gate())))
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        #[cfg(feature = "log")]
        super::echo::mark_event(attrs.metadata());
        let Some(span) = ctx.span(id) else { return };
        let name = attrs.metadata().name();
        let path = match span.parent() {
            Some(parent) => match parent.extensions().get::<SpanData>() {
                // Interned (a program has few distinct paths), so that an
                // event copies a pointer rather than the text.
                Some(data) => {
                    let path = crate::record::Name::interned(&format!("{}:{name}", data.path));
                    match path.as_static() {
                        Some(path) => Text::from_static(path),
                        None => Text::from(path.as_str().to_owned()),
                    }
                }
                None => Text::from_static(name),
            },
            None => Text::from_static(name),
        };
        let fields = self.span_fields(attrs.metadata(), |visitor| attrs.record(visitor));
        span.extensions_mut().insert(SpanData {
            fields: fields.into_vec(),
            path,
        });
        // Again: a field's `Debug` that logged marked its own event.
        #[cfg(feature = "log")]
        super::echo::mark_event(attrs.metadata());
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        #[cfg(feature = "log")]
        super::echo::mark_event(span.metadata());
        // The values are converted before the span's extensions are locked:
        // a `Debug` that panics must not leave the lock poisoned for every
        // later event in the span.
        let fields = self.span_fields(span.metadata(), |visitor| values.record(visitor));
        #[cfg(feature = "log")]
        super::echo::mark_event(span.metadata());
        let mut extensions = span.extensions_mut();
        if let Some(data) = extensions.get_mut::<SpanData>() {
            for (key, value) in fields {
                match data
                    .fields
                    .iter_mut()
                    .find(|(k, _)| super::same_key(k, &key))
                {
                    Some(slot) => slot.1 = value,
                    None => data.fields.push((key, value)),
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let metadata = event.metadata();
        #[cfg(feature = "log")]
        super::echo::mark_event(metadata);
        let level = level(metadata.level());
        let (callsite, enabled) = callsite(metadata, self.logger.gate(), level);
        if !enabled || self.logger.drop_if_known_full() {
            return;
        }
        let mut fields = Fields::new();
        let mut message = None;
        event.record(&mut FieldVisitor {
            fields: &mut fields,
            message: Some(&mut message),
            callsite,
            all_static: true,
            fresh_from: 0,
        });
        // Again: an event logged while the fields were converted (a value's
        // `Display` that logs) marked itself, and its echo cleared the mark.
        #[cfg(feature = "log")]
        super::echo::mark_event(metadata);
        if let Some(scope) = ctx.event_scope(event) {
            let mut path = None;
            for span in scope {
                let extensions = span.extensions();
                if let Some(data) = extensions.get::<SpanData>() {
                    for (key, value) in &data.fields {
                        super::put_field_if_absent(&mut fields, key, value);
                    }
                    if path.is_none() {
                        path = Some(data.path.clone());
                    }
                }
            }
            if let Some(path) = path {
                let key = crate::key!("span_path");
                if !fields.iter().any(|(k, _)| *k == key) {
                    fields.push((key, Value::Str(path)));
                }
            }
        }
        let mut record = Some(crate::Record {
            timestamp: crate::Timestamp::now(),
            level,
            logger: callsite.target.clone(),
            message: message.unwrap_or(Text::from_static("")),
            fields,
            context: self.logger.context_for_record(),
            exception: None,
            source: callsite.source,
            thread: crate::Thread::current(),
            sections: crate::record::Sections::NONE,
        });
        self.logger.submit_record(&mut record);
    }
}

/// Converts an event's or a span's fields, keeping their types; the
/// `message` field of an event becomes its message.
struct FieldVisitor<'a> {
    fields: &'a mut Fields,
    /// `None` for a span: its `message` field is a field like any other.
    message: Option<&'a mut Option<Text>>,
    /// The call site whose fields these are.
    callsite: &'static Callsite,
    /// See [`field_slot`](super::field_slot).
    all_static: bool,
    /// The call site's fields from this index on have not been visited,
    /// and every field visited so far was one of the call site's own
    /// (`usize::MAX` once that is not known).
    fresh_from: usize,
}

impl FieldVisitor<'_> {
    /// Where `field`'s value goes (written in place: see
    /// [`field_slot`](super::field_slot)). A field of a call site whose
    /// names are all different, visited past every field visited so far,
    /// has no earlier field of its name: it is appended without a search.
    #[inline]
    fn slot(&mut self, field: &TracingField) -> &mut Value {
        let index = field.index();
        match self.callsite.fields.get(index) {
            Some((text, name))
                if self.callsite.distinct
                    && index >= self.fresh_from
                    && std::ptr::eq(*text, field.name()) =>
            {
                self.fresh_from = index + 1;
                self.all_static &= name.as_static().is_some();
                crate::record::push_null(self.fields, name.clone())
            }
            _ => {
                self.fresh_from = usize::MAX;
                super::field_slot(self.fields, &mut self.all_static, self.callsite.name(field))
            }
        }
    }

    /// `field`'s value: the event's message (`text`) if `field` is its
    /// `message`, else a field (`value`, written in place).
    #[inline(always)]
    fn put(
        &mut self,
        field: &TracingField,
        text: impl FnOnce() -> Text,
        value: impl FnOnce() -> Value,
    ) {
        if !self.message(field, text) {
            super::write_value(self.slot(field), value());
        }
    }

    /// Takes the value as the message if `field` is the event's message.
    fn message(&mut self, field: &TracingField, text: impl FnOnce() -> Text) -> bool {
        match &mut self.message {
            Some(message) if field.name() == "message" => {
                **message = Some(text());
                true
            }
            _ => false,
        }
    }
}

impl Visit for FieldVisitor<'_> {
    // An event's `message` is its message whatever its type (tracing's own
    // formatter prints a number given as `message = 5` as the message).

    fn record_f64(&mut self, field: &TracingField, value: f64) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || Value::F64(value),
        );
    }

    fn record_i64(&mut self, field: &TracingField, value: i64) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || Value::I64(value),
        );
    }

    fn record_u64(&mut self, field: &TracingField, value: u64) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || Value::from(value),
        );
    }

    fn record_i128(&mut self, field: &TracingField, value: i128) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || i64::try_from(value).map_or_else(|_| Value::display(value), Value::I64),
        );
    }

    fn record_u128(&mut self, field: &TracingField, value: u128) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || u64::try_from(value).map_or_else(|_| Value::display(value), Value::from),
        );
    }

    fn record_bool(&mut self, field: &TracingField, value: bool) {
        let text = || Text::from_static(if value { "true" } else { "false" });
        self.put(field, text, || Value::Bool(value));
    }

    fn record_str(&mut self, field: &TracingField, value: &str) {
        self.put(
            field,
            || super::cached_text(value),
            || Value::Str(super::cached_text(value)),
        );
    }

    fn record_error(&mut self, field: &TracingField, value: &(dyn std::error::Error + 'static)) {
        self.put(
            field,
            || Text::from(value.to_string()),
            || Value::error(value),
        );
    }

    fn record_debug(&mut self, field: &TracingField, value: &dyn fmt::Debug) {
        self.put(
            field,
            || debug_text(value),
            || Value::Str(debug_text(value)),
        );
    }
}

/// `value` by `Debug` (how tracing hands over `?x` and the message),
/// formatted into a per-thread buffer and then taken as
/// [`cached_text`](super::cached_text) takes a value: a message without
/// arguments, formatted again at each call into the same buffer, is kept
/// once and then costs no allocation.
fn debug_text(value: &dyn fmt::Debug) -> Text {
    use std::fmt::Write as _;
    thread_local! {
        static BUFFER: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    BUFFER
        .try_with(|buffer| {
            // Taken only here; a `Debug` that logs (and so comes back here)
            // formats into a string of its own instead.
            let mut buffer = buffer.try_borrow_mut().ok()?;
            buffer.clear();
            let _ = write!(buffer, "{value:?}");
            Some(super::cached_text(&buffer))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Text::from(format!("{value:?}")))
}
