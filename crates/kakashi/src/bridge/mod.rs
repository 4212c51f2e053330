//! Bridges: records that other logging APIs make, fed in at the call-site
//! end of the record's path, and the trace-context hook every record
//! consults.
//!
//! - `log` (Cargo feature `log`): a `log::Log` whose records become
//!   kakashi records.
//! - `tracing` (Cargo feature `tracing`): a
//!   `tracing_subscriber::Layer` whose events become kakashi records, with
//!   their spans' fields and path.
//! - [`set_trace_context_hook`]: a function the user sets once that gives
//!   the current OpenTelemetry trace and span ids; every record built on a
//!   logging thread (the macros, [`Logger::log`](crate::Logger::log), both
//!   bridges) then carries them as the fields `trace_id` and `span_id`.
//!
//! A bridge builds a [`Record`] the way the macros do and
//! hands it to a [`Logger`](crate::Logger): the logger gives the backend,
//! the pipeline, the level, bound fields and context; the other API gives
//! the logger name (its target), the message, fields and source. The queue,
//! workers and writers do not know where a record came from.
//!
//! What the macros know at compile time, a bridge learns per record from a
//! `&str`, so it keeps per-thread caches indexed by the string's address
//! (the same literal comes at the same address every time): targets and
//! field keys become interned [names](crate::Name) without the interned
//! set's lock, call sites a `&'static Source` made once per call site, and
//! a short string value seen twice in a row at one address is kept for the
//! process and then borrowed, as the macros borrow literals (within a
//! fixed budget, so values that change per call cannot grow the process).
//! Without them, each record would take a process-wide lock per name and
//! an allocation and a free per string value.
//!
//! ```
//! use kakashi::{bridge, info, Backend, PipelineConfig, TraceContext};
//! use kakashi::testing::MemoryWriter;
//!
//! fn current() -> Option<TraceContext> {
//!     // From OpenTelemetry in a real program (see the README).
//!     Some(TraceContext { trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736, span_id: 0x00f067aa0ba902b7 })
//! }
//! bridge::set_trace_context_hook(current).unwrap();
//! let memory = MemoryWriter::new();
//! let log = Backend::synchronous().logger("api", PipelineConfig::new().writer(memory.clone()));
//! info!(log, "handled", status = 200);
//! assert!(memory.lines()[0].contains(
//!     r#""fields":{"status":200,"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"}"#));
//! ```

#[cfg(any(feature = "log", feature = "tracing"))]
use std::cell::RefCell;
#[cfg(any(feature = "log", feature = "tracing"))]
use std::collections::HashMap;
use std::fmt;
#[cfg(any(feature = "log", feature = "tracing"))]
use std::sync::Mutex;
use std::sync::OnceLock;

#[cfg(any(feature = "log", feature = "tracing"))]
use crate::record::Fields;
#[cfg(any(feature = "log", feature = "tracing"))]
use crate::record::Name;
#[cfg(any(feature = "log", feature = "tracing"))]
use crate::record::Source;
use crate::record::{Record, Text, Value};

#[cfg(all(feature = "log", feature = "tracing"))]
mod echo;
#[cfg(feature = "log")]
pub mod log;
#[cfg(feature = "tracing")]
pub mod tracing;

// === trace context ===

/// The ids of the OpenTelemetry span current on the logging thread, as the
/// [trace-context hook](set_trace_context_hook) returns them.
///
/// Written as the fields `trace_id` (32 lowercase hex digits) and `span_id`
/// (16), the W3C Trace Context spelling that OpenTelemetry's own exporters
/// and log backends join on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceContext {
    /// The trace id (`u128::from_be_bytes(trace_id.to_bytes())` from
    /// OpenTelemetry's `TraceId`).
    pub trace_id: u128,
    /// The span id (`u64::from_be_bytes(span_id.to_bytes())` from
    /// OpenTelemetry's `SpanId`).
    pub span_id: u64,
}

/// The function records ask for their trace context.
pub type TraceContextHook = fn() -> Option<TraceContext>;

static TRACE_CONTEXT_HOOK: OnceLock<TraceContextHook> = OnceLock::new();

/// The error of a second [`set_trace_context_hook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContextHookAlreadySet;

impl fmt::Display for TraceContextHookAlreadySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a trace-context hook is already set (it is set once per process)")
    }
}

impl std::error::Error for TraceContextHookAlreadySet {}

/// Sets the function that gives the current trace context; set once per
/// process, like `log::set_logger`.
///
/// From then on, every record built on a logging thread (the macros,
/// [`Logger::log`](crate::Logger::log), the `log` and `tracing` bridges)
/// calls `hook` on that thread, and when it returns `Some`, gets the fields
/// `trace_id` and `span_id` after its own (a call that set either itself
/// keeps it and gets neither). Records a binding submits whole
/// ([`Logger::submit`](crate::Logger::submit)) are not touched. Records
/// the hook itself logs (tracing code it calls may emit events) get no
/// ids: asking the hook again from inside it would never end.
///
/// Without a hook a record costs one load more and is written byte for
/// byte as before. Set once rather than swappable: a swappable hook would
/// cost every record a lock or a reference count, and a program has one
/// tracing setup.
///
/// # Errors
/// [`TraceContextHookAlreadySet`] if a hook is already set (the first one
/// stays).
pub fn set_trace_context_hook(hook: TraceContextHook) -> Result<(), TraceContextHookAlreadySet> {
    TRACE_CONTEXT_HOOK
        .set(hook)
        .map_err(|_| TraceContextHookAlreadySet)
}

/// Adds the trace context to `record` when a hook is set and returns one.
#[inline(always)]
pub(crate) fn add_trace_context(record: &mut Record) {
    if let Some(hook) = TRACE_CONTEXT_HOOK.get() {
        add_trace_context_from(*hook, record);
    }
}

#[cold]
fn add_trace_context_from(hook: TraceContextHook, record: &mut Record) {
    thread_local! {
        /// This thread is running the hook.
        static IN_HOOK: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    /// Clears [`IN_HOOK`] however the hook ends.
    struct Running;
    impl Drop for Running {
        fn drop(&mut self) {
            let _ = IN_HOOK.try_with(|running| running.set(false));
        }
    }
    // A record the hook logs gets no ids (the hook would be asked again,
    // without end); a thread being torn down gets none either.
    if IN_HOOK.try_with(|running| running.replace(true)) != Ok(false) {
        return;
    }
    let running = Running;
    // A hook that panics must not reach the logging call (G6): the record
    // goes without ids.
    let asked = std::panic::catch_unwind(hook);
    drop(running);
    let Ok(Some(cx)) = asked else {
        return;
    };
    // A call that set either id itself keeps it, and gets neither from the
    // span: a pair from two sources would name a span that does not exist.
    let (trace_key, span_key) = (crate::key!("trace_id"), crate::key!("span_id"));
    if record.field(&trace_key).is_some() || record.field(&span_key).is_some() {
        return;
    }
    for (key, text) in [
        (trace_key, format!("{:032x}", cx.trace_id)),
        (span_key, format!("{:016x}", cx.span_id)),
    ] {
        record.fields.push((key, Value::Str(Text::from(text))));
    }
}

// === names and sources for records made by other APIs ===

/// Slots of the per-thread caches below (a power of two).
#[cfg(any(feature = "log", feature = "tracing"))]
const CACHE_SLOTS: usize = 256;

/// The [`Name`] of `text` (a target or a field key that another API hands
/// over as a `&str`), without a lock or an allocation when this thread saw
/// the same text before.
///
/// A per-thread cache indexed by the text's address: macros hand over the
/// same `&'static str` every time, so the address finds the slot, and the
/// text is compared in full, so a non-static string at a reused address
/// cannot get another text's name. A miss asks [`Name::interned`] (a
/// process-wide lock), which is what every lookup would cost without it.
#[cfg(feature = "log")]
#[inline]
pub(crate) fn cached_name(text: &str) -> Name {
    name_from_cache(text, false)
}

/// [`cached_name`] for a `&'static str`: a slot filled from the same
/// address and length is the same text (static memory never changes, and
/// no other string lives at its address), so the texts are not compared.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn cached_static_name(text: &'static str) -> Name {
    name_from_cache(text, true)
}

#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
fn name_from_cache(text: &str, is_static: bool) -> Name {
    thread_local! {
        static NAMES: RefCell<Vec<(usize, Option<Name>)>> = RefCell::new(vec![(0, None); CACHE_SLOTS]);
    }
    let address = text.as_ptr() as usize;
    let slot = slot_of(address, text.len());
    NAMES
        .try_with(|names| {
            let mut names = names.try_borrow_mut().ok()?;
            match &names[slot] {
                (at, Some(name))
                    if (is_static && *at == address && name.len() == text.len())
                        || same_text(name.as_str(), text) =>
                {
                    Some(name.clone())
                }
                _ => {
                    let name = Name::interned(text);
                    names[slot] = (address, Some(name.clone()));
                    Some(name)
                }
            }
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Name::interned(text))
}

/// Whether `a` and `b` are the same text, compared inline when short: the
/// caches compare a call's names and values with the ones they keep, a
/// few bytes each and several times a call, where a `memcmp` call costs
/// more than the comparison.
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline(always)]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping reads cover every byte of a short text.
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=8 => a.first_chunk::<4>() == b.first_chunk() && a.last_chunk::<4>() == b.last_chunk(),
        9..=16 => a.first_chunk::<8>() == b.first_chunk() && a.last_chunk::<8>() == b.last_chunk(),
        _ => a == b,
    }
}

#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
fn slot_of(address: usize, extra: usize) -> usize {
    // Fibonacci hashing of the address (its low bits are alignment).
    (address
        .wrapping_add(extra)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 56)
        % CACHE_SLOTS
}

/// Longest string value [`cached_text`] keeps.
#[cfg(any(feature = "log", feature = "tracing"))]
const KEPT_VALUE_LEN: usize = 64;

/// Bytes of string values [`cached_text`] keeps, at most, per process.
#[cfg(any(feature = "log", feature = "tracing"))]
const KEPT_VALUE_BYTES: usize = 1 << 20;

#[cfg(any(feature = "log", feature = "tracing"))]
static KEPT_VALUE_BYTES_USED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// What a thread last saw at one slot of [`cached_text`]'s cache.
#[cfg(any(feature = "log", feature = "tracing"))]
#[derive(Clone, Copy, Default)]
pub(crate) struct SeenText {
    address: usize,
    len: usize,
    hash: u64,
    kept: Option<&'static str>,
}

/// The [`Text`] of a string value another API hands over as a `&str` (a
/// field's value, a message it formatted): kept for the life of the
/// process, and then given without an allocation, once this thread has
/// seen the same text at the same address twice in a row; copied
/// otherwise.
///
/// Why: `log` and `tracing` hand every string as a `&str` of unknown
/// lifetime, so a literal such as `side = "buy"`, which kakashi's own macros
/// keep borrowed, would cost an allocation and a free per record; the same
/// text at the same address again is what a literal looks like (or a
/// buffer refilled with the same text, where keeping the text is as
/// right). Only values of at most [`KEPT_VALUE_LEN`] bytes are kept, and at
/// most [`KEPT_VALUE_BYTES`] in all, so values that change from call to
/// call (ids, paths) cannot grow the process: past the budget every value
/// is copied, as without this cache.
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
pub(crate) fn cached_text(text: &str) -> Text {
    thread_local! {
        static SEEN: RefCell<Vec<SeenText>> = RefCell::new(vec![SeenText::default(); CACHE_SLOTS]);
    }
    if text.len() > KEPT_VALUE_LEN {
        return Text::from(text.to_owned());
    }
    let (address, len) = (text.as_ptr() as usize, text.len());
    let kept = SEEN
        .try_with(|seen| {
            let mut seen = seen.try_borrow_mut().ok()?;
            seen[slot_of(address, len)].kept_text(text)
        })
        .ok()
        .flatten();
    match kept {
        Some(kept) => Text::from_static(kept),
        None => Text::from(text.to_owned()),
    }
}

#[cfg(any(feature = "log", feature = "tracing"))]
impl SeenText {
    /// The kept copy of `text` if this slot saw it at the same address
    /// last time (kept now if it was seen once before), else `None`
    /// after noting `text` (see [`cached_text`]).
    #[inline]
    pub(crate) fn kept_text(&mut self, text: &str) -> Option<&'static str> {
        if text.len() > KEPT_VALUE_LEN {
            return None;
        }
        let (address, len) = (text.as_ptr() as usize, text.len());
        if self.address == address && self.len == len {
            if let Some(kept) = self.kept {
                if same_text(kept, text) {
                    return Some(kept);
                }
            } else if self.hash == text_hash(text) {
                self.kept = keep(text);
                return self.kept;
            }
        }
        *self = SeenText {
            address,
            len,
            hash: text_hash(text),
            kept: None,
        };
        None
    }
}

/// A copy of `text` for the life of the process, within the budget.
#[cfg(any(feature = "log", feature = "tracing"))]
#[cold]
fn keep(text: &str) -> Option<&'static str> {
    use std::sync::atomic::Ordering::Relaxed;
    KEPT_VALUE_BYTES_USED
        .fetch_update(Relaxed, Relaxed, |used| {
            (used + text.len() <= KEPT_VALUE_BYTES).then_some(used + text.len())
        })
        .ok()?;
    // Leaked on purpose, within the budget: kept text is never freed.
    Some(Box::leak(text.to_owned().into_boxed_str()))
}

/// FNV-1a: short texts, no need for a keyed hash (a collision only makes
/// a text kept that did not repeat, within the budget).
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
fn text_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// How many distinct call sites [`cached_source`] keeps.
#[cfg(any(feature = "log", feature = "tracing"))]
const SOURCES: usize = 65_536;

/// The `&'static Source` of a call site another API names with static
/// strings: made once per call site and process (call sites are finite, as
/// the program's code is; past [`SOURCES`] of them a record goes without),
/// found again through a per-thread cache indexed by the strings'
/// addresses, as [`cached_name`] is.
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
pub(crate) fn cached_source(
    module: &'static str,
    file: &'static str,
    line: u32,
) -> Option<&'static Source> {
    thread_local! {
        static CACHE: RefCell<Vec<Option<&'static Source>>> = RefCell::new(vec![None; CACHE_SLOTS]);
    }
    let same = |s: &'static Source| {
        std::ptr::eq(s.module, module) && std::ptr::eq(s.file, file) && s.line == line
    };
    let slot = slot_of(
        file.as_ptr() as usize ^ module.as_ptr() as usize,
        line as usize,
    );
    CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            match cache[slot] {
                Some(found) if same(found) => Some(found),
                _ => {
                    let found = interned_source(module, file, line)?;
                    cache[slot] = Some(found);
                    Some(found)
                }
            }
        })
        .ok()
        .flatten()
        .or_else(|| interned_source(module, file, line))
}

/// A call site's key in [`SOURCES_SEEN`]: its module's and file's text by
/// address and length (the same text at two addresses is two keys, which
/// only costs a second `Source`), and its line.
#[cfg(any(feature = "log", feature = "tracing"))]
type SourceKey = (usize, usize, usize, usize, u32);

/// Every call site's [`Source`] the bridges made, process-wide.
#[cfg(any(feature = "log", feature = "tracing"))]
static SOURCES_SEEN: OnceLock<Mutex<HashMap<SourceKey, &'static Source>>> = OnceLock::new();

/// The bridges' process-wide maps, locked by the thread preparing a
/// `fork()` (`backend/fork.rs`), in the order a call takes them (a tracing
/// call site's map, then the sources): a child must not inherit one that
/// another thread held for a moment.
#[cfg(any(feature = "log", feature = "tracing"))]
pub(crate) fn hold_for_fork(deadline: std::time::Instant) -> Vec<crate::backend::HeldForFork> {
    let mut held = Vec::new();
    #[cfg(feature = "tracing")]
    held.extend(tracing::hold_callsites_for_fork(deadline));
    held.extend(crate::backend::lock_for_fork(
        SOURCES_SEEN.get_or_init(Default::default),
        deadline,
    ));
    held
}

/// [`hold_for_fork`] without the bridges: nothing to hold.
#[cfg(not(any(feature = "log", feature = "tracing")))]
pub(crate) fn hold_for_fork(_deadline: std::time::Instant) -> Vec<crate::backend::HeldForFork> {
    Vec::new()
}

#[cfg(any(feature = "log", feature = "tracing"))]
#[cold]
fn interned_source(module: &'static str, file: &'static str, line: u32) -> Option<&'static Source> {
    let key = (
        module.as_ptr() as usize,
        module.len(),
        file.as_ptr() as usize,
        file.len(),
        line,
    );
    let mut all = SOURCES_SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(found) = all.get(&key) {
        return Some(*found);
    }
    if all.len() >= SOURCES {
        return None;
    }
    // Leaked on purpose: a record holds its source as `&'static`, and
    // there is one per call site.
    let source: &'static Source = Box::leak(Box::new(Source {
        module,
        file,
        line,
        function: None,
    }));
    all.insert(key, source);
    Some(source)
}

/// Whether two keys made by [`cached_name`] have the same text. Interned
/// names are one object per text, so two static ones are equal only if
/// they are the same object: a pointer comparison instead of comparing
/// texts (most keys of a record differ, and texts of equal length would be
/// compared in full). Past the interned set's limit names are counted
/// objects, compared by text.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn same_key(a: &Name, b: &Name) -> bool {
    a.ptr_eq(b) || ((a.as_static().is_none() || b.as_static().is_none()) && a == b)
}

/// The value slot of `key` (an interned name, as [`cached_name`] makes)
/// in `fields`, with [`put_field`](crate::binding::put_field)'s meaning:
/// an existing key's slot, to be overwritten in place, or a new field
/// appended (holding `Null` until the caller writes it).
///
/// A slot rather than a `put(key, value)`: the caller writes the value
/// straight into the record, where a value built first and then moved in
/// would be written on the stack and read back by a wider load than the
/// stores that wrote it (a store-forwarding stall per field, as the
/// macros' `__kakashi_fields` explains).
///
/// `all_static` says whether every key in `fields` is a static interned
/// name (start with `true` and empty fields, and keep passing the same
/// flag): while it holds, keys are compared by pointer only, without
/// reading each name's header per pair.
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline]
pub(crate) fn field_slot<'f>(
    fields: &'f mut Fields,
    all_static: &mut bool,
    key: Name,
) -> &'f mut Value {
    let key_static = key.as_static().is_some();
    let found = if *all_static && key_static {
        fields.iter().position(|(k, _)| k.ptr_eq(&key))
    } else {
        fields.iter().position(|(k, _)| *k == key)
    };
    match found {
        Some(index) => &mut fields[index].1,
        None => {
            *all_static &= key_static;
            // Written in place: `push((key, Value::Null))` built the pair on
            // the stack (`Null` with a one-byte store) and copied it with a
            // 16-byte load, the stall again.
            crate::record::push_null(fields, key)
        }
    }
}

/// Writes `value` into `slot`, which [`field_slot`] gave. A slot it has
/// just appended holds `Null`, which needs no drop: the value is then
/// stored in place, where `*slot = value` calls `Value`'s drop glue first
/// and so builds the value on the stack and copies it after the call (the
/// stall again, per field).
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline(always)]
pub(crate) fn write_value(slot: &mut Value, value: Value) {
    if matches!(slot, Value::Null) {
        std::mem::forget(std::mem::replace(slot, value));
    } else {
        *slot = value;
    }
}

/// Sets `key` (made by [`cached_name`]) in `fields` unless it is there
/// already (the first one set wins: the event's own fields over its
/// spans', inner spans over outer).
#[cfg(feature = "tracing")]
pub(crate) fn put_field_if_absent(fields: &mut Fields, key: &Name, value: &Value) {
    if !fields.iter().any(|(k, _)| same_key(k, key)) {
        fields.push((key.clone(), value.clone()));
    }
}

#[cfg(all(test, any(feature = "log", feature = "tracing")))]
mod tests {
    use super::same_text;

    #[test]
    fn same_text_finds_a_difference_at_any_byte_of_any_length() {
        let base: String = (0..40).map(|i| char::from(b'a' + (i % 26) as u8)).collect();
        for n in 0..=base.len() {
            let a = &base[..n];
            let copy = String::from(a);
            assert!(same_text(a, copy.as_str()), "length {n}");
            for at in 0..n {
                let mut other = a.as_bytes().to_vec();
                other[at] = b'#';
                let other = String::from_utf8(other).unwrap();
                assert!(!same_text(a, &other), "length {n}, byte {at}");
            }
            assert!(!same_text(a, &base[..n.saturating_sub(1)]) || n == 0);
        }
    }
}
