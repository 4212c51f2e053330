//! The call sites of `tracing` events and spans, as the bridge sees them:
//! each one's logger name, source and field names, made once per call site
//! and process, and a per-thread cache from a call site to its target's
//! level gate, so that an event's level check and its names cost one lookup.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tracing_core::field::Field as TracingField;
use tracing_core::Metadata;

use crate::levels::{self, Gate};
use crate::record::{Level, Name, Source};

/// What every event or span of one call site shares, made once per call
/// site and process (call sites are static, as the program's code is): the
/// logger name of its target, its source, and the [`Name`] of each field
/// by the field's index.
pub(super) struct Callsite {
    pub(super) target: Name,
    pub(super) source: Option<&'static Source>,
    pub(super) fields: Box<[(&'static str, Name)]>,
    /// Its field names are all different: a field visited for the first
    /// time in an event is appended without looking for an earlier one of
    /// the same name (see [`FieldVisitor::slot`](super::visit::FieldVisitor::slot)).
    pub(super) distinct: bool,
}

impl Callsite {
    /// The name of `field` (of this call site: found by index, checked by
    /// its text's address).
    #[inline]
    pub(super) fn name(&self, field: &TracingField) -> Name {
        match self.fields.get(field.index()) {
            Some((text, name)) if std::ptr::eq(*text, field.name()) => name.clone(),
            _ => crate::bridge::cached_static_name(field.name()),
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
pub(super) fn callsite(
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
pub(super) fn metadata_enabled(metadata: &Metadata<'_>, bridge: &Arc<Gate>) -> bool {
    let level = super::level(metadata.level());
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
pub(in crate::bridge) fn hold_callsites_for_fork(
    deadline: std::time::Instant,
) -> Option<crate::backend::HeldForFork> {
    crate::backend::lock_for_fork(callsites(), deadline)
}

fn lock_callsites() -> std::sync::MutexGuard<'static, HashMap<usize, &'static Callsite>> {
    callsites().lock().unwrap_or_else(|e| e.into_inner())
}

/// The process-wide [`Callsite`] of `metadata`, made on first use.
#[cold]
pub(super) fn registered_callsite(metadata: &'static Metadata<'static>) -> &'static Callsite {
    let address = std::ptr::from_ref(metadata) as usize;
    lock_callsites().entry(address).or_insert_with(|| {
        let source = match (metadata.module_path(), metadata.file()) {
            (Some(module), Some(file)) => {
                crate::bridge::cached_source(module, file, metadata.line().unwrap_or(0))
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
