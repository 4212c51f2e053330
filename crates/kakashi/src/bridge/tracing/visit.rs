//! A `tracing` event's or span's fields as kakashi fields, with their types.

use std::fmt;

use tracing_core::field::{Field as TracingField, Visit};

use super::callsite::Callsite;
use crate::record::{Fields, Text, Value};

/// Converts an event's or a span's fields, keeping their types; the
/// `message` field of an event becomes its message.
pub(super) struct FieldVisitor<'a> {
    fields: &'a mut Fields,
    /// `None` for a span: its `message` field is a field like any other.
    message: Option<&'a mut Option<Text>>,
    /// The call site whose fields these are.
    callsite: &'static Callsite,
    /// See [`field_slot`](crate::bridge::field_slot).
    all_static: bool,
    /// The call site's fields from this index on have not been visited,
    /// and every field visited so far was one of the call site's own
    /// (`usize::MAX` once that is not known).
    fresh_from: usize,
}

impl<'a> FieldVisitor<'a> {
    /// A visitor putting fields of `callsite` into `fields`, and an event's
    /// `message` into `message` (`None` for a span).
    pub(super) fn new(
        fields: &'a mut Fields,
        message: Option<&'a mut Option<Text>>,
        callsite: &'static Callsite,
    ) -> Self {
        FieldVisitor {
            fields,
            message,
            callsite,
            all_static: true,
            fresh_from: 0,
        }
    }

    /// Where `field`'s value goes (written in place: see
    /// [`field_slot`](crate::bridge::field_slot)). A field of a call site whose
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
                crate::bridge::field_slot(
                    self.fields,
                    &mut self.all_static,
                    self.callsite.name(field),
                )
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
            crate::bridge::write_value(self.slot(field), value());
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
            || crate::bridge::cached_text(value),
            || Value::Str(crate::bridge::cached_text(value)),
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
/// [`cached_text`](crate::bridge::cached_text) takes a value: a message without
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
            Some(crate::bridge::cached_text(&buffer))
        })
        .ok()
        .flatten()
        .unwrap_or_else(|| Text::from(format!("{value:?}")))
}
