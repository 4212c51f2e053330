//! [`Value`]: a field's value, and the record's field list.

use std::borrow::Cow;
use std::fmt;

use super::Name;

/// A field key (see [`Name`]).
pub type Key = Name;

/// A structured field value.
///
/// Values are copied at the call site. Strings written as literals stay
/// borrowed (`Cow::Borrowed`), so the common case does not allocate.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// JSON `null` (Python `None`).
    Null,
    /// A boolean.
    Bool(bool),
    /// A signed integer.
    I64(i64),
    /// An unsigned integer too large for `i64` is kept exact.
    U64(u64),
    /// A float; NaN and infinities are written as the strings `"NaN"`,
    /// `"Infinity"` and `"-Infinity"` so the line stays valid JSON.
    F64(f64),
    /// A string.
    Str(Cow<'static, str>),
    /// A list of values.
    List(Box<[Value]>),
    /// A map with keys in insertion order.
    Map(Box<[(Key, Value)]>),
}

// A record keeps its first fields inline, so a value's size is paid for
// six times in every queue slot: the lists and maps are boxed slices (two
// words, beside the string's niche) rather than vectors (three).
const _: () = assert!(std::mem::size_of::<Value>() == 24);

impl Value {
    /// A string value from anything `Display` (used by the `%value` macro form).
    pub fn display(value: impl fmt::Display) -> Value {
        Value::Str(Cow::Owned(value.to_string()))
    }

    /// A string value from anything `Debug` (used by the `?value` macro form).
    pub fn debug(value: impl fmt::Debug) -> Value {
        Value::Str(Cow::Owned(format!("{value:?}")))
    }

    /// An error and its `source()` chain as one string, `"outer: cause: root"`.
    pub fn error(err: &(dyn std::error::Error + 'static)) -> Value {
        let mut text = err.to_string();
        let mut source = err.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        Value::Str(Cow::Owned(text))
    }
}

macro_rules! value_from {
    ($variant:ident as $target:ty: $($t:ty),*) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Value {
                Value::$variant(v as $target)
            }
        })*
    };
}
value_from!(I64 as i64: i8, i16, i32, i64, u8, u16, u32, isize);
value_from!(F64 as f64: f32, f64);

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        match i64::try_from(v) {
            Ok(i) => Value::I64(i),
            Err(_) => Value::U64(v),
        }
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::from(v as u64)
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(Cow::Borrowed(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Cow::Owned(v))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Str(Cow::Owned(v.clone()))
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(v: Cow<'static, str>) -> Value {
        Value::Str(v)
    }
}

impl From<char> for Value {
    fn from(v: char) -> Value {
        Value::Str(Cow::Owned(v.to_string()))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Value {
        Value::Map(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// A key and its value, as stored in [`Record::fields`](super::Record::fields).
pub type Field = (Key, Value);

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

/// How many fields a record holds without allocating.
pub const INLINE_FIELDS: usize = 6;

/// A record's fields, in order: up to [`INLINE_FIELDS`] live inside the
/// record (no allocation on the hot path), more spill to the heap.
pub type Fields = smallvec::SmallVec<[Field; INLINE_FIELDS]>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_unsigned_stays_exact() {
        assert_eq!(Value::from(u64::MAX), Value::U64(u64::MAX));
        assert_eq!(Value::from(5_u64), Value::I64(5));
    }
}
