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

mod callsite;
mod visit;

use tracing_core::field::Visit;
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::levels;
use crate::logger::Logger;
use crate::record::{Field, Fields, Level, Text, Value};
pub(super) use callsite::hold_callsites_for_fork;
use callsite::{callsite, metadata_enabled, registered_callsite};
use visit::FieldVisitor;

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
        let callsite = callsite(metadata, self.logger.gate(), Level::Critical).0;
        record(&mut FieldVisitor::new(&mut fields, None, callsite));
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
        event.record(&mut FieldVisitor::new(
            &mut fields,
            Some(&mut message),
            callsite,
        ));
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
