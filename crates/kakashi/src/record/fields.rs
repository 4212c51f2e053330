//! [`Fields`]: a record's field list, and the ways the call paths fill it.
//!
//! The two `unsafe` blocks here move fields straight into the list's inline
//! room ([`put_all`], [`push_null`]): `SmallVec::push` and `extend` check
//! the room and store the length once per field and build each pair on the
//! stack first, a large share of a logging call's instructions (figures in
//! BENCHMARKS.md, "Design decisions"). The unit tests below run under Miri
//! in the test command where the toolchain has it.

#![allow(unsafe_code)]

use std::ptr;

use super::{Key, Value};

/// A key and its value, as stored in [`Record::fields`](super::Record::fields).
pub type Field = (Key, Value);

/// How many fields a record holds without allocating.
pub const INLINE_FIELDS: usize = 5;

/// A record's fields, in order: up to [`INLINE_FIELDS`] live inside the
/// record (no allocation on the hot path), more spill to the heap.
pub type Fields = smallvec::SmallVec<[Field; INLINE_FIELDS]>;

/// Sets `key` to `value` in a field list: an existing field of that key gets
/// the new value in its place (later wins, first position kept, as a Python
/// dict update); otherwise the field is appended.
pub(crate) fn put_field<C>(fields: &mut C, key: Key, value: Value)
where
    C: std::ops::DerefMut<Target = [Field]> + Extend<Field>,
{
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => fields.extend([(key, value)]),
    }
}

/// Appends the fields of `array` to `fields`; into the inline room in one
/// copy when `fields` is empty and they fit (a macro call's fields: the
/// record was just made).
#[inline(always)]
pub(crate) fn put_all<const N: usize>(fields: &mut Fields, array: [Field; N]) {
    if N > INLINE_FIELDS || !fields.is_empty() || fields.spilled() {
        return fields.extend(array);
    }
    let array = std::mem::ManuallyDrop::new(array);
    // SAFETY: the list is not spilled, so `as_mut_ptr` (`SmallVec`'s own,
    // not the empty slice's) points to its inline room of
    // `INLINE_FIELDS >= N` fields, and the list is empty, so that room
    // holds nothing to overwrite or drop. The `N` fields are moved there bit
    // for bit and the array is never dropped, so each is owned once, by the
    // list, which `set_len` makes them part of.
    unsafe {
        ptr::copy_nonoverlapping(array.as_ptr(), fields.as_mut_ptr(), N);
        fields.set_len(N);
    }
}

/// Appends `(key, Null)` to `fields` and returns the new field's value,
/// for the caller to write in place; into the inline room directly when it
/// has room. (What the `log` and `tracing` bridges fill fields with.)
#[cfg(any(feature = "log", feature = "tracing"))]
#[inline(always)]
pub(crate) fn push_null(fields: &mut Fields, key: Key) -> &mut Value {
    let len = fields.len();
    if fields.spilled() || len >= INLINE_FIELDS {
        fields.push((key, Value::Null));
        return &mut fields[len].1;
    }
    // SAFETY: the list is not spilled and holds `len < INLINE_FIELDS`
    // fields, so its inline room has a slot at `len`, unused. The length is
    // set first and the slot written right after, with nothing in between
    // that could panic or read the list; the pointer is taken after
    // `set_len`, so no later borrow of the list outdates it. Both parts are
    // written before the reference to the value is made.
    unsafe {
        fields.set_len(len + 1);
        let field = fields.as_mut_ptr().add(len);
        ptr::addr_of_mut!((*field).0).write(key);
        ptr::addr_of_mut!((*field).1).write(Value::Null);
        &mut (*field).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Text;

    /// `n` fields whose values own their text (a drop too many or too few
    /// shows under Miri).
    fn owned(n: usize) -> Vec<Field> {
        (0..n)
            .map(|i| {
                (
                    Key::interned(&format!("k{i}")),
                    Value::Str(Text::from(format!("value {i}"))),
                )
            })
            .collect()
    }

    fn put<const N: usize>(fields: &mut Fields) -> Vec<Field> {
        let made = owned(N);
        let array: [Field; N] = made.clone().try_into().unwrap();
        put_all(fields, array);
        made
    }

    #[test]
    fn put_all_lands_every_count_in_order_inline_or_spilled() {
        fn check<const N: usize>() {
            let mut fields = Fields::new();
            let made = put::<N>(&mut fields);
            assert_eq!(fields.as_slice(), made.as_slice(), "{N} fields");
            assert_eq!(fields.spilled(), N > INLINE_FIELDS, "{N} fields");
        }
        check::<0>();
        check::<1>();
        check::<2>();
        check::<3>();
        check::<4>();
        check::<5>();
        check::<6>();
        check::<9>();
    }

    #[test]
    fn put_all_after_fields_keeps_them_first() {
        let mut fields: Fields = owned(2).into_iter().collect();
        let before = fields.to_vec();
        let added = put::<3>(&mut fields);
        assert_eq!(fields.len(), 5);
        assert_eq!(&fields[..2], before.as_slice());
        assert_eq!(&fields[2..], added.as_slice());
    }

    #[cfg(any(feature = "log", feature = "tracing"))]
    #[test]
    fn push_null_appends_slots_written_in_place_past_the_inline_room() {
        let made = owned(8);
        let mut fields = Fields::new();
        for (key, value) in made.iter().cloned() {
            let slot = push_null(&mut fields, key);
            assert_eq!(*slot, Value::Null);
            *slot = value;
        }
        assert_eq!(fields.as_slice(), made.as_slice());
        assert!(fields.spilled());
    }
}
