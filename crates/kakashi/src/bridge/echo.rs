//! The `log` records tracing's `log-always` makes of what it already gave
//! the tracing layer (an event, a span made or recorded): with both bridges
//! on, the `log` bridge skips them, so that one call makes one line.
//!
//! Tracing gives the layer an event first, then the same event to `log`, on
//! the same thread, with the same file and line; the layer marks the call
//! site, and the `log` bridge asks whether a record is the one marked.

thread_local! {
    /// The call site of the last event or span this thread gave the layer:
    /// tracing sends an event (a span made or recorded) to its subscriber,
    /// then (with `log-always`) to `log`, on the same thread, with the same
    /// file and line.
    static LAST_EVENT: std::cell::Cell<(usize, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// Marks `metadata`'s call site as the one this thread gave the layer last.
#[inline]
pub(super) fn mark_event(metadata: &tracing_core::Metadata<'_>) {
    let file = metadata.file().map_or(0, |f| f.as_ptr() as usize);
    let _ = LAST_EVENT.try_with(|last| last.set((file, metadata.line().unwrap_or(0))));
}

/// Whether `record` is the `log` record tracing made of the event or span this
/// thread gave the layer last (then forgotten, so that a `log` call on
/// the same line is logged).
///
/// By the call site's file (its address: the same `&'static str` tracing
/// put in both) and line, not by content: a `log` record of an event
/// carries no mark of where it came from, except that its file is not
/// `file_static` as a `log` macro's is. Without a layer nothing is marked
/// and every `log` record is logged.
#[inline]
pub(super) fn is_echo_of_last_event(record: &::log::Record<'_>) -> bool {
    // `log`'s own macros give their file as `file_static`; tracing's
    // `log` records give it as a plain `file`.
    let (None, Some(file)) = (record.file_static(), record.file()) else {
        return false;
    };
    let here = (file.as_ptr() as usize, record.line().unwrap_or(0));
    LAST_EVENT
        .try_with(|last| {
            if last.get() == here {
                last.set((0, 0));
                true
            } else {
                false
            }
        })
        .unwrap_or(false)
}
