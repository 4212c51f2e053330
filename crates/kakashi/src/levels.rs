//! Per-logger levels: [`Directives`] (`"info,hyper=warn,myapp::db=debug"`),
//! the process-wide rules they set, and [`set_level`], which changes them at
//! run time.
//!
//! Where it sits: at the call site. Every [`Logger`](crate::Logger) reads its
//! level from its own *gate*, one `AtomicU8` shared by the loggers of one
//! name on one pipeline; the call's level check is one relaxed load of it,
//! as before. A gate holds the level of the most specific rule matching the
//! logger's name, or, with no rule, its pipeline's level
//! ([`Logger::set_min_level`](crate::Logger::set_min_level)). The registry
//! here knows every live gate (by weak reference) and rewrites the gates a
//! change affects, under one lock that logger creation also takes.
//!
//! ```
//! use kakashi::{set_level, clear_level, Backend, Level, PipelineConfig};
//! let backend = Backend::synchronous();
//! let db = backend.logger("shop.db.pool", PipelineConfig::new()); // INFO
//! assert!(!db.enabled(Level::Debug));
//! set_level("shop.db", Level::Debug);          // this logger and those below it
//! assert!(db.enabled(Level::Debug));
//! let later = backend.logger("shop::db", PipelineConfig::new()); // `::` is `.`
//! assert!(later.enabled(Level::Debug));
//! clear_level("shop.db");                      // back to the pipeline's level
//! assert!(!db.enabled(Level::Debug));
//! ```
//!
//! Guarantees:
//! - **Matching.** A rule for `target` applies to the logger named `target`
//!   and to those below it: names that continue `target` with a separator.
//!   `.` (Python's) and `::` (Rust's module paths) are the same separator,
//!   so `myapp.db` and `myapp::db` are one name. The longest matching
//!   target wins; `myapp.database` is not below `myapp.db`.
//! - **Atomic per logger.** A logger sees the old level or the new one, never
//!   anything else (its gate is one byte, stored once). A logging call racing
//!   with a change is either checked against the old level or the new one;
//!   the record it makes, if any, is submitted whole, exactly once.
//! - **Existing and future loggers.** A change rewrites every live gate it
//!   affects before it returns, and a logger made afterwards starts with the
//!   new rules: creation and changes are serialised by the registry's lock.
//! - **Process-wide.** The rules are by name, for every backend: a logger
//!   named `myapp.db` on a high-performance file backend follows them as one
//!   on the global backend does. An output's own level
//!   ([`OutputConfig::min_level`](crate::OutputConfig)) still applies after
//!   the logger's.
//! - **Bridged targets.** A record the `log` or `tracing` bridge brings in
//!   is named by its target, and follows the rules by that name: the most
//!   specific rule for the target, else the bridge logger's own level
//!   (its rule, else its pipeline's). Each change is passed on to the
//!   facades (`log`'s maximum level, `tracing`'s interest cache) before
//!   the changing call returns.
//!
//! Why gates rather than a lookup per call: a name lookup (a map under a
//! lock, or an `ArcSwap` of the rules) on every call would make the level
//! check, today one load, the most expensive part of a disabled call; a
//! change of level is rare and may take a lock and walk the loggers.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use crate::backend::lock;
use crate::backend::stages::Stages;
use crate::error::ConfigError;
use crate::record::Level;

// === Directives ===

/// A parsed directive string, as `RUST_LOG` writes them:
/// `"info,hyper=warn,myapp::db=debug"`. A bare level is the default level;
/// `target=level` is a rule for `target` and the names below it.
///
/// ```
/// use kakashi::{Directives, Level};
/// let d: Directives = "info, hyper=warn, myapp::db=debug".parse()?;
/// assert_eq!(d.default, Some(Level::Info));
/// assert_eq!(d.rules, vec![("hyper".to_owned(), Level::Warning), ("myapp.db".to_owned(), Level::Debug)]);
/// assert_eq!(
///     "info,hyper=loud".parse::<Directives>().unwrap_err().to_string(),
///     "invalid directive \"hyper=loud\": invalid log level \"loud\"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50"
/// );
/// # Ok::<(), kakashi::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directives {
    /// The bare level, if one was given.
    pub default: Option<Level>,
    /// `(target, level)` rules in the order given, targets normalised (`::`
    /// written as `.`).
    pub rules: Vec<(String, Level)>,
}

impl FromStr for Directives {
    type Err = ConfigError;

    /// Comma-separated directives; blanks around them and empty ones are
    /// ignored. Levels by name in any case, or by number (`10`..`50`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidDirective`] naming the directive: a bad level,
    /// an empty or malformed target, a target or a default given twice.
    fn from_str(s: &str) -> Result<Directives, ConfigError> {
        let mut out = Directives::default();
        for directive in s.split(',').map(str::trim).filter(|d| !d.is_empty()) {
            let bad = |reason: String| ConfigError::InvalidDirective {
                directive: directive.to_owned(),
                reason,
            };
            // Before the split at `=`: a span filter's fields have their
            // own (`a[span{x=1}]=debug`).
            if directive.contains(SPAN_FILTER) {
                return Err(bad(SPAN_FILTER_REFUSED.to_owned()));
            }
            match directive.split_once('=') {
                None => {
                    let level = parse_level(directive).map_err(|e| bad(e.to_string()))?;
                    if out.default.replace(level).is_some() {
                        return Err(bad("a second default level".to_owned()));
                    }
                }
                Some((target, level)) => {
                    let target = normalise_target(target.trim()).map_err(bad)?;
                    let level = parse_level(level.trim()).map_err(|e| bad(e.to_string()))?;
                    if out.rules.iter().any(|(t, _)| *t == target) {
                        return Err(bad(format!("target {target:?} given twice")));
                    }
                    out.rules.push((target, level));
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Directives {
    /// The canonical form: `INFO,hyper=WARNING`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(level) = self.default {
            parts.push(level.name().to_owned());
        }
        for (target, level) in &self.rules {
            parts.push(format!("{target}={}", level.name()));
        }
        f.write_str(&parts.join(","))
    }
}

/// A level by name (any case) or number.
pub(crate) fn parse_level(s: &str) -> Result<Level, ConfigError> {
    match s.trim().parse::<i64>() {
        Ok(n) => Level::from_value(n),
        Err(_) => s.parse(),
    }
}

/// What starts or ends a `RUST_LOG` span filter (`target[span{field=value}]`).
const SPAN_FILTER: [char; 4] = ['[', ']', '{', '}'];
/// Why a span filter is refused: kakashi's levels are per logger name, and a
/// rule no logger could match would silently do nothing.
const SPAN_FILTER_REFUSED: &str = "span filters ([span{field=value}]) are not supported; \
     rules name loggers only";

/// A rule's target in the form used for matching: `::` written as `.`.
///
/// # Errors
/// Why the target cannot name loggers: empty, whitespace or `,`/`=` in it, a
/// separator at either end or doubled. (Brackets are a logger name's like
/// any other character here: `worker[1]`; in a directive string they are
/// refused as a span filter before this is asked.)
pub(crate) fn normalise_target(target: &str) -> Result<String, String> {
    let normal = target.replace("::", ".");
    if normal.is_empty() {
        return Err("empty target".to_owned());
    }
    if normal
        .chars()
        .any(|c| c.is_whitespace() || c == ',' || c == '=')
    {
        return Err(format!(
            "target {target:?} has whitespace, ',' or '=' in it"
        ));
    }
    if normal.starts_with('.') || normal.ends_with('.') || normal.contains("..") {
        return Err(format!("target {target:?} has an empty part"));
    }
    Ok(normal)
}

/// A logger name in matching form (`a::b` as `a.b`).
fn normalise_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains("::") {
        std::borrow::Cow::Owned(name.replace("::", "."))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

/// The level of the most specific rule for `name` (normalised), if any.
fn rule_for(rules: &[(String, Level)], name: &str) -> Option<Level> {
    rules
        .iter()
        .filter(|(target, _)| {
            name.strip_prefix(target.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
        })
        .max_by_key(|(target, _)| target.len())
        .map(|(_, level)| *level)
}

// === Gates and their registry ===

/// The level check of the loggers of one name on one pipeline: what
/// [`Logger::enabled`](crate::Logger::enabled) loads. A bridge's gate for a
/// target also names the bridge's own gate as its fallback (see
/// [`bridge_gate`]).
pub(crate) struct Gate {
    /// The level in force (a [`Level`]'s value).
    pub(crate) level: AtomicU8,
    /// The loggers' name, normalised for matching.
    name: String,
    /// The pipeline whose level applies when no rule matches.
    stages: Arc<Stages>,
    /// For a bridged target: the gate of the bridge's logger, whose rule
    /// applies when no rule matches the target (before the pipeline's
    /// level). Held, so that its address identifies the bridge for as long
    /// as this gate lives.
    fallback: Option<Arc<Gate>>,
}

impl Gate {
    fn refresh(&self, rules: &[(String, Level)]) {
        let level = rule_for(rules, &self.name)
            .or_else(|| {
                self.fallback
                    .as_ref()
                    .and_then(|f| rule_for(rules, &f.name))
            })
            .map_or_else(|| self.stages.min_level.load(Relaxed), Level::value);
        self.level.store(level, Relaxed);
    }

    /// Whether a record at `level` passes (one relaxed load).
    #[cfg(any(feature = "log", feature = "tracing"))]
    #[inline]
    pub(crate) fn enabled(&self, level: Level) -> bool {
        level as u8 >= self.level.load(Relaxed)
    }

    /// Whether this is a gate that [`bridge_gate`] made for `bridge`.
    #[cfg(any(feature = "log", feature = "tracing"))]
    #[inline]
    pub(crate) fn follows(&self, bridge: &Arc<Gate>) -> bool {
        self.fallback
            .as_ref()
            .is_some_and(|f| Arc::ptr_eq(f, bridge))
    }
}

/// A gate's key: pipeline address, normalised name, fallback gate address
/// (0 for none). An address cannot be reused while a gate holds it.
type GateKey = (usize, String, usize);

/// The rules and every live gate.
struct Registry {
    rules: Vec<(String, Level)>,
    gates: Option<HashMap<GateKey, Weak<Gate>>>,
    /// Gates alive at the last sweep of dead entries.
    live_at_sweep: usize,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    rules: Vec::new(),
    gates: None,
    live_at_sweep: 0,
});

impl Registry {
    /// Every live gate, refreshed when `which` says so. The caller drops
    /// the returned references after letting go of the lock: one of them may
    /// be the last reference to a gate, and with it to a pipeline, whose
    /// writers are then closed, which must not happen under this lock.
    fn refresh(&self, which: impl Fn(&Gate) -> bool) -> Vec<Arc<Gate>> {
        let live: Vec<Arc<Gate>> = self
            .gates
            .iter()
            .flat_map(|g| g.values())
            .filter_map(Weak::upgrade)
            .collect();
        for gate in live.iter().filter(|g| which(g)) {
            gate.refresh(&self.rules);
        }
        live
    }
}

/// The gate for a logger `name` on `stages`: the one its other loggers
/// share, or a new one set from the rules.
pub(crate) fn gate(name: &str, stages: &Arc<Stages>) -> Arc<Gate> {
    gate_with(name, stages, None)
}

/// The gate of records named `target` that a bridge hands to the logger
/// whose gate is `bridge` (a `log` or `tracing` target): the level of the
/// most specific rule for `target`, else that of the bridge logger's own
/// rule, else the pipeline's. Shared by the bridge's call sites of one
/// target and rewritten by every change, like a logger's.
///
/// Why the bridge logger's rule before the pipeline's level: a bridge
/// logger's level was, before targets had rules, the level of everything
/// it bridged (`set_level("bridge", Debug)` let every target's DEBUG
/// through); it stays the default of the targets no rule names.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn bridge_gate(target: &str, bridge: &Arc<Gate>) -> Arc<Gate> {
    gate_with(target, &bridge.stages, Some(bridge))
}

fn gate_with(name: &str, stages: &Arc<Stages>, fallback: Option<&Arc<Gate>>) -> Arc<Gate> {
    let mut registry = lock(&REGISTRY);
    let registry = &mut *registry;
    let name = normalise_name(name).into_owned();
    let key = (
        Arc::as_ptr(stages) as usize,
        name,
        fallback.map_or(0, |f| Arc::as_ptr(f) as usize),
    );
    let gates = registry.gates.get_or_insert_with(HashMap::new);
    if let Some(found) = gates.get(&key).and_then(Weak::upgrade) {
        return found;
    }
    let made = Arc::new(Gate {
        level: AtomicU8::new(0),
        name: key.1.clone(),
        stages: stages.clone(),
        fallback: fallback.cloned(),
    });
    made.refresh(&registry.rules);
    gates.insert(key, Arc::downgrade(&made));
    // Dead entries go once the map has doubled since the last sweep, so a
    // program making and dropping loggers keeps it bounded at amortised O(1).
    if gates.len() > 2 * registry.live_at_sweep.max(32) {
        gates.retain(|_, g| g.strong_count() > 0);
        registry.live_at_sweep = gates.len();
    }
    made
}

/// The lowest level any [`bridge_gate`] of `bridge` can have now: that of
/// `bridge` (the targets no rule names) or of any rule (one may name a
/// target). What a facade's own maximum level is set to, so that its
/// macros skip only what every target leaves out. Rules are few: a scan.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn lowest_level(bridge: &Gate) -> Level {
    let registry = lock(&REGISTRY);
    let lowest = registry
        .rules
        .iter()
        .map(|(_, level)| level.value())
        .fold(bridge.level.load(Relaxed), u8::min);
    Level::from_u8_lossy(lowest)
}

// === change listeners ===

/// What to call after the rules or a pipeline's level changed.
static LISTENERS: Mutex<Vec<fn()>> = Mutex::new(Vec::new());

/// Calls `listener` now, and after every later change of the rules or of
/// a pipeline's level, once per change (once however often it is added).
///
/// Listeners run on the changing thread, after the change is visible to
/// every gate and outside the registry's lock (a listener may make gates),
/// one at a time: the last one to run reads the state after every change
/// that notified before it, so a listener that recomputes something from
/// the current state cannot leave a stale result behind.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn on_change(listener: fn()) {
    let mut listeners = lock(&LISTENERS);
    if !listeners.iter().any(|l| *l as usize == listener as usize) {
        listeners.push(listener);
    }
    // Under the lock, as a change's call is: a change made meanwhile runs
    // it again after this.
    let _ = std::panic::catch_unwind(listener);
}

/// Runs the listeners (see [`on_change`]); called with no lock held.
fn notify() {
    let listeners = lock(&LISTENERS);
    for listener in listeners.iter() {
        // A listener that panics must not reach the caller that changed a
        // level (`set_level` does not fail).
        let _ = std::panic::catch_unwind(*listener);
    }
}

/// Sets a pipeline's level and the gates that follow it.
pub(crate) fn set_pipeline_level(stages: &Arc<Stages>, level: Level) {
    let registry = lock(&REGISTRY);
    stages.min_level.store(level.value(), Relaxed);
    let live = registry.refresh(|g| Arc::ptr_eq(&g.stages, stages));
    drop(registry);
    drop(live);
    notify();
}

/// Sets the level of the loggers named `name`, and of those below it
/// (`name.x`, `name::x`), existing and future, on every backend. A rule
/// for a longer name still wins below that name. `name` may use `.` or `::`.
///
/// # Errors
/// [`ConfigError::InvalidDirective`] for a name that cannot be a target
/// (empty, whitespace, `,` or `=` in it, an empty part).
pub fn try_set_level(name: &str, level: Level) -> Result<(), ConfigError> {
    let target = normalise_target(name).map_err(|reason| ConfigError::InvalidDirective {
        directive: format!("{name}={}", level.name()),
        reason,
    })?;
    let mut registry = lock(&REGISTRY);
    match registry.rules.iter_mut().find(|(t, _)| *t == target) {
        Some(rule) => rule.1 = level,
        None => registry.rules.push((target, level)),
    }
    let live = registry.refresh(|_| true);
    drop(registry);
    drop(live);
    notify();
    Ok(())
}

/// [`try_set_level`], for names known to be valid (reports a bad name once
/// on stderr instead of failing).
pub fn set_level(name: &str, level: Level) {
    if let Err(e) = try_set_level(name, level) {
        eprintln!("kakashi: set_level ignored: {e}");
    }
}

/// Removes the rule for exactly `name` (not those below it): its loggers
/// follow the next matching rule, or their pipeline's level. Returns whether
/// there was one.
pub fn clear_level(name: &str) -> bool {
    let target = normalise_name(name);
    let mut registry = lock(&REGISTRY);
    let before = registry.rules.len();
    registry.rules.retain(|(t, _)| *t != *target);
    let removed = registry.rules.len() != before;
    let live = registry.refresh(|_| removed);
    drop(registry);
    drop(live);
    if removed {
        notify();
    }
    removed
}

/// Replaces every rule at once (what applying a configuration does).
#[cfg(feature = "config")]
pub(crate) fn set_levels(rules: Vec<(String, Level)>) {
    let mut registry = lock(&REGISTRY);
    registry.rules = rules;
    let live = registry.refresh(|_| true);
    drop(registry);
    drop(live);
    notify();
}

/// The rules in force, `(target, level)`, targets normalised.
pub fn levels() -> Vec<(String, Level)> {
    lock(&REGISTRY).rules.clone()
}

/// For `fork()`: the registry's lock, so the child never inherits it held.
pub(crate) fn registry_for_fork() -> &'static Mutex<impl Sized> {
    &REGISTRY
}

/// For `fork()`: the listeners' lock (taken before the registry's: a
/// listener reads the registry), so the child never inherits it held.
pub(crate) fn listeners_for_fork() -> &'static Mutex<impl Sized> {
    &LISTENERS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_matching_target_wins_and_prefixes_must_end_at_a_separator() {
        let rules = vec![
            ("a".to_owned(), Level::Warning),
            ("a.b".to_owned(), Level::Debug),
        ];
        assert_eq!(rule_for(&rules, "a"), Some(Level::Warning));
        assert_eq!(rule_for(&rules, "a.b.c"), Some(Level::Debug));
        assert_eq!(rule_for(&rules, "a.bc"), Some(Level::Warning));
        assert_eq!(rule_for(&rules, "ab"), None);
    }

    #[test]
    fn bad_directives_are_named() {
        for (text, message) in [
            ("info,warn", "invalid directive \"warn\": a second default level"),
            ("=debug", "invalid directive \"=debug\": empty target"),
            ("a b=debug", "invalid directive \"a b=debug\": target \"a b\" has whitespace, ',' or '=' in it"),
            ("a..b=info", "invalid directive \"a..b=info\": target \"a..b\" has an empty part"),
            ("x=info,x=debug", "invalid directive \"x=debug\": target \"x\" given twice"),
            ("hyper", "invalid directive \"hyper\": invalid log level \"hyper\"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50"),
            ("info,[span]=debug", "invalid directive \"[span]=debug\": span filters ([span{field=value}]) are not supported; rules name loggers only"),
            ("a[span{x=1}]=debug", "invalid directive \"a[span{x=1}]=debug\": span filters ([span{field=value}]) are not supported; rules name loggers only"),
            ("a[s{x=1,y=2}]=info", "invalid directive \"a[s{x=1\": span filters ([span{field=value}]) are not supported; rules name loggers only"),
        ] {
            assert_eq!(text.parse::<Directives>().unwrap_err().to_string(), message);
        }
        // A logger name may have brackets; only a directive string refuses them.
        assert_eq!(normalise_target("worker[1]").as_deref(), Ok("worker[1]"));
        let d: Directives = " 10 , a::b=40 ,".parse().unwrap();
        assert_eq!(d.to_string(), "DEBUG,a.b=ERROR");
    }
}
