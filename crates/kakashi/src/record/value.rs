//! [`Value`]: a field's value, and the record's field list.

use std::borrow::Cow;
use std::fmt;

use super::{Name, Text};

/// A field key (see [`Name`]).
pub type Key = Name;

/// A structured field value.
///
/// Values are copied at the call site. Strings written as literals stay
/// borrowed ([`Text::from_static`]), so the common case does not allocate.
///
/// Two words: a record keeps its first fields inline, so a value's size is
/// paid for [`INLINE_FIELDS`](super::INLINE_FIELDS) times in every queue slot. That is why strings
/// are a [`Text`] and lists and maps are behind one pointer (a boxed
/// vector) rather than a boxed slice's two: lists and maps are rare, and
/// their extra allocation is cheaper than a third word in every field.
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
    Str(Text),
    /// A list of values.
    List(Box<Vec<Value>>),
    /// A map with keys in insertion order.
    Map(Box<Vec<(Key, Value)>>),
}

const _: () = assert!(std::mem::size_of::<Value>() == 16);

impl Drop for Value {
    /// Frees nested lists and maps with a loop instead of recursion, so
    /// that a value nested thousands deep cannot overflow the stack of the
    /// thread that drops it (a worker's).
    ///
    /// Inline with a test of the variant in front: every field of every
    /// record is dropped by a worker, and nearly all are scalars or strings,
    /// which the drop glue after this handles.
    #[inline]
    fn drop(&mut self) {
        if matches!(self, Value::List(_) | Value::Map(_)) {
            drop_nested(self);
        }
    }
}

/// The loop of `Value`'s `drop` for a list or a map (see there).
#[cold]
#[inline(never)]
fn drop_nested(value: &mut Value) {
    fn is_nested(v: &Value) -> bool {
        matches!(v, Value::List(_) | Value::Map(_))
    }
    let mut pending: Vec<Value> = match value {
        Value::List(items) if items.iter().any(is_nested) => std::mem::take(&mut **items),
        Value::Map(entries) if entries.iter().any(|(_, v)| is_nested(v)) => {
            std::mem::take(&mut **entries)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        }
        _ => return,
    };
    while let Some(mut v) = pending.pop() {
        match &mut v {
            Value::List(items) => pending.append(items),
            Value::Map(entries) => {
                pending.extend(std::mem::take(&mut **entries).into_iter().map(|(_, v)| v))
            }
            _ => {}
        }
    }
}

impl Value {
    /// A string value from anything `Display` (used by the `%value` macro form).
    pub fn display(value: impl fmt::Display) -> Value {
        Value::Str(Text::from(value.to_string()))
    }

    /// A string value from anything `Debug` (used by the `?value` macro form).
    pub fn debug(value: impl fmt::Debug) -> Value {
        Value::Str(Text::from(format!("{value:?}")))
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
        Value::Str(Text::from(text))
    }

    /// A list value.
    pub fn list(values: impl IntoIterator<Item = Value>) -> Value {
        Value::List(Box::new(values.into_iter().collect()))
    }

    /// A map value, keys in the order given.
    pub fn map(entries: impl IntoIterator<Item = (Key, Value)>) -> Value {
        Value::Map(Box::new(entries.into_iter().collect()))
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
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
        Value::Str(Text::from_static(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Str(Text::from(v))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Str(Text::from(v.clone()))
    }
}

impl From<Cow<'static, str>> for Value {
    fn from(v: Cow<'static, str>) -> Value {
        Value::Str(Text::from(v))
    }
}

impl From<Text> for Value {
    fn from(v: Text) -> Value {
        Value::Str(v)
    }
}

impl From<char> for Value {
    fn from(v: char) -> Value {
        Value::Str(Text::from(v.to_string()))
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Value {
        Value::list(v.into_iter().map(Into::into))
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Value {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Value {
        Value::map(iter.into_iter().map(|(k, v)| (k.into(), v.into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_nested_a_million_deep_drops_on_a_small_stack() {
        let dropped = std::thread::Builder::new()
            .stack_size(64 * 1024)
            .spawn(|| {
                let mut deep = Value::Null;
                for i in 0..1_000_000 {
                    deep = if i % 2 == 0 {
                        Value::list([deep, Value::from("x")])
                    } else {
                        Value::map([(Key::from("k"), deep)])
                    };
                }
                drop(deep);
            })
            .unwrap()
            .join();
        assert!(dropped.is_ok());
    }

    #[test]
    fn large_unsigned_stays_exact() {
        assert_eq!(Value::from(u64::MAX), Value::U64(u64::MAX));
        assert_eq!(Value::from(5_u64), Value::I64(5));
    }
}
