//! The logging macros ([`log!`](crate::log!), [`debug!`](crate::debug!),
//! [`info!`](crate::info!), [`warning!`](crate::warning!),
//! [`error!`](crate::error!), [`critical!`](crate::critical!)), their helper
//! macros, and `__private`, the functions they expand to call.

// === what the macros call ===

/// What the logging macros expand to call. Not public API: no stability
/// promise, and nothing here is for a user (or a binding: see
/// [`binding`](crate::binding)) to call. `#[doc(hidden)]`, re-exported at
/// the crate root as `kakashi::__private` because an exported macro can only
/// reach items by a public path.
#[doc(hidden)]
pub mod __private {
    use std::fmt;
    use std::sync::Arc;

    use crate::logger::Logger;
    use crate::record::{Context, Name, Record, Text};

    /// The crate `key!` builds static names with.
    pub use arcstr;

    /// The name of a string literal `key!` made with `arcstr::literal!`:
    /// no allocation, no atomic operation.
    #[inline(always)]
    pub const fn literal_name(s: arcstr::ArcStr) -> Name {
        Name::from_literal(s)
    }

    pub use crate::binding::drop_if_known_full;

    /// A macro's message: a literal without placeholders stays the
    /// `&'static str` it is (`as_str` is `Some`; inlined, the check folds
    /// away), anything else is formatted now.
    #[inline(always)]
    pub fn message(args: fmt::Arguments<'_>) -> Text {
        match args.as_str() {
            Some(text) => Text::from_static(text),
            None => Text::from(fmt::format(args)),
        }
    }

    /// The logger's name, for the record the macro builds in place.
    #[inline(always)]
    pub fn name(logger: &Logger) -> &Name {
        logger.name_for_record()
    }

    /// The logger's bound context, for the record the macro builds in place.
    #[inline(always)]
    pub fn context(logger: &Logger) -> Option<Arc<Context>> {
        logger.context_for_record()
    }

    /// Puts a macro call's fields into its record's field list, which is
    /// empty (the macro made it with the record): up to
    /// [`INLINE_FIELDS`](crate::INLINE_FIELDS) in one copy, where `extend`
    /// pushed them one at a time.
    #[inline(always)]
    pub fn put_fields<const N: usize>(fields: &mut crate::Fields, array: [crate::Field; N]) {
        crate::record::put_all(fields, array);
    }

    /// Panics (at compile time: the macros call it in a constant) when a
    /// logging call names a field twice, which would write the key twice
    /// in one line.
    pub const fn no_field_twice(names: &[&str]) {
        let mut i = 0;
        while i < names.len() {
            let mut j = 0;
            while j < i {
                if same_name(names[i], names[j]) {
                    panic!("a logging call names a field twice");
                }
                j += 1;
            }
            i += 1;
        }
    }

    const fn same_name(a: &str, b: &str) -> bool {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        let mut k = 0;
        while k < a.len() {
            if a[k] != b[k] {
                return false;
            }
            k += 1;
        }
        true
    }

    /// Adds the bound fields (the call's own win) and submits the record
    /// the macro built.
    #[inline(always)]
    pub fn submit(logger: &Logger, record: &mut Option<Record>) {
        logger.submit_record(record)
    }
}

// === macros ===

/// Pushes a logging macro's fields into the record named by its first
/// argument (built in place: no intermediate list to copy). Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __kakashi_fields {
    (@acc $rec:ident [] []) => {};
    // All fields at once from an array (`put_fields`), not a `push` per
    // field: each pushed field was built on the stack and read back by a
    // wider load than the stores that wrote it, a store-forwarding stall
    // per field (BENCHMARKS.md, "Design decisions"). A name given twice
    // fails to compile (`no_field_twice`, evaluated as a constant).
    (@acc $rec:ident [$($done:expr,)+] [$($name:expr,)+]) => {
        const _: () = $crate::__private::no_field_twice(&[$($name,)+]);
        $crate::__private::put_fields(&mut $rec.fields, [$($done,)+]);
    };
    (@acc $rec:ident [$($done:expr,)*] [$($name:expr,)*] $key:ident = % $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::display(&$val)),] [$($name,)* stringify!($key),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] [$($name:expr,)*] $key:ident = ? $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::debug(&$val)),] [$($name,)* stringify!($key),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] [$($name:expr,)*] $key:ident = $val:literal $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::Value::from($val)),] [$($name,)* stringify!($key),] $($($rest)*)?)
    };
    (@acc $rec:ident [$($done:expr,)*] [$($name:expr,)*] $key:ident = $val:expr $(, $($rest:tt)*)?) => {
        $crate::__kakashi_fields!(@acc $rec [$($done,)* ($crate::key!(stringify!($key)), $crate::ToValue::to_value(&$val)),] [$($name,)* stringify!($key),] $($($rest)*)?)
    };
}

/// A record of `$logger` made now, in one struct literal: a record is a few
/// hundred bytes, and each function that returns one is a copy. Used by
/// [`log!`](crate::log!) and `Logger::log_at`. Not public API.
#[doc(hidden)]
#[macro_export]
macro_rules! __kakashi_record {
    ($logger:expr, $level:expr, $message:expr, $fields:expr, $exception:expr, $source:expr) => {
        $crate::Record {
            timestamp: $crate::Timestamp::now(),
            level: $level,
            logger: ::std::clone::Clone::clone($crate::__private::name($logger)),
            message: $message,
            fields: $fields,
            context: $crate::__private::context($logger),
            exception: $exception,
            source: $source,
            thread: $crate::Thread::current(),
            sections: $crate::record::Sections::NONE,
        }
    };
}

/// Logs at a level: `log!(logger, Level::Info, "message", key = value, ...)`.
///
/// The message is a format string, as in `format!`, `log` and `tracing`:
///
/// - `log!(logger, level, "Trade executed")`: a literal without
///   placeholders is logged as the `&'static str` it is, never copied or
///   formatted (the common case costs nothing for its message);
/// - `"hello {user}"` captures `user` from the scope, and
///   `"Trade {} at {}", id, price` takes positional arguments: the message
///   is formatted once, on the calling thread, only when the level is
///   enabled; `{{` and `}}` are literal braces;
/// - fields follow the message and its arguments: `"Trade executed",
///   key = value, ...` or `"Trade {}", id, price = p, qty = q`; a `;` may
///   end the arguments instead (`"Trade {}", id; price = p`). After the
///   message, `name = value` always starts the fields: it is never a named
///   format argument (capture `{name}` from the scope instead);
/// - a message that is not a literal (a `String`, a `Cow<'static, str>`, a
///   `&'static str` constant) is logged as it is, braces and all.
///
/// Field values: `key = value` copies anything [`ToValue`](crate::ToValue); `key = %value`
/// uses `Display`; `key = ?value` uses `Debug`. String literals are not
/// copied. With `exception: &err,` before the message, the error is
/// attached. Nothing is evaluated when the level is disabled, nor when the
/// record would be dropped anyway (`drop_newest` with the queue full: the
/// drop is counted as usual). A field name given twice in one call does not
/// compile: it would write the key twice in one line (the `log` and
/// `tracing` bridges, whose keys are known only at run time, keep the last
/// value instead).
///
/// ```compile_fail,E0080
/// use kakashi::{info, Backend, PipelineConfig};
/// let log = Backend::synchronous().logger("desk", PipelineConfig::new());
/// info!(log, "twice", user = 1, user = 2);
/// ```
///
/// ```
/// use kakashi::{info, error, Backend, PipelineConfig};
/// use kakashi::testing::MemoryWriter;
///
/// let memory = MemoryWriter::new();
/// let backend = Backend::synchronous();
/// let log = backend.logger("desk", PipelineConfig::new().writer(memory.clone()));
/// let (user, id, price) = ("ann", 7, 187.5);
/// info!(log, "hello {user}");
/// info!(log, "Trade {} at {price}", id, symbol = "AAPL");
/// info!(log, "Trade executed", id = id);
/// let err = std::io::Error::other("disk full");
/// error!(log, exception: &err, "order {id} failed");
/// let lines = memory.lines();
/// assert!(lines[0].contains(r#""message":"hello ann""#));
/// assert!(lines[1].contains(r#""message":"Trade 7 at 187.5","fields":{"symbol":"AAPL"}"#));
/// assert!(lines[2].contains(r#""message":"Trade executed","fields":{"id":7}"#));
/// assert!(lines[3].contains(r#""message":"order 7 failed""#));
/// ```
///
/// A placeholder without its argument is a compile error, as in `format!`
/// (here `id = 7` is a field):
///
/// ```compile_fail
/// # let log = kakashi::Backend::synchronous().logger("x", kakashi::PipelineConfig::new());
/// kakashi::info!(log, "Trade {}", id = 7);
/// ```
#[macro_export]
macro_rules! log {
    // === the message: a literal is a format string, anything else is as is ===
    // A literal alone (`{captures}` formatted, none: the literal itself).
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal $(,)?) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg)),)
    };
    // A literal, then fields: `name = ...` after the message is always a field.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal, $key:ident = $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg)), $key = $($fields)*)
    };
    // A literal and format arguments, then maybe fields.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:literal, $($rest:tt)+) => {
        $crate::log!(@args $logger, $level, $exception, $msg, [] $($rest)+)
    };
    // Any other message (`Into<Text>`), logged as it is.
    (@msg $logger:expr, $level:expr, $exception:expr, $msg:expr $(, $($fields:tt)*)?) => {
        $crate::log!(@build $logger, $level, $exception,
            ::std::convert::Into::into($msg), $($($fields)*)?)
    };
    // === the format arguments: up to a `;` or the first `, name =` ===
    // Taken token by token (not as `expr`s, which would read `name = value`
    // as an assignment), so the tokens reach `format_args!` as written.
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] ; $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)), $($fields)*)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] , $key:ident = $($fields:tt)*) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)), $key = $($fields)*)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)+] $(,)?) => {
        $crate::log!(@build $logger, $level, $exception,
            $crate::__private::message(::std::format_args!($msg, $($arg)+)),)
    };
    (@args $logger:expr, $level:expr, $exception:expr, $msg:literal, [$($arg:tt)*] $next:tt $($rest:tt)*) => {
        $crate::log!(@args $logger, $level, $exception, $msg, [$($arg)* $next] $($rest)*)
    };
    // `$message` is an expression evaluated only inside the level check.
    (@build $logger:expr, $level:expr, $exception:expr, $message:expr, $($fields:tt)*) => {{
        let logger = &$logger;
        let level: $crate::Level = $level;
        if logger.enabled(level) && !$crate::__private::drop_if_known_full(logger) {
            static SOURCE: $crate::Source = $crate::Source { module: module_path!(), file: file!(), line: line!(), function: None };
            // Built in an `Option`, handed on by reference and moved out
            // only into its queue slot: each move of a record is a copy.
            let mut record = ::std::option::Option::Some($crate::__kakashi_record!(
                logger,
                level,
                $message,
                $crate::Fields::new(),
                $exception,
                Some(&SOURCE)
            ));
            // `_record`: a call without fields does not use it.
            if let ::std::option::Option::Some(_record) = &mut record {
                $crate::__kakashi_fields!(@acc _record [] [] $($fields)*);
            }
            $crate::__private::submit(logger, &mut record);
        }
    }};
    ($logger:expr, $level:expr, exception: $err:expr, $($rest:tt)+) => {
        $crate::log!(
            @msg $logger,
            $level,
            Some(::std::boxed::Box::new($crate::Exception::from_error($err))),
            $($rest)+
        )
    };
    ($logger:expr, $level:expr, $($rest:tt)+) => {
        $crate::log!(@msg $logger, $level, None, $($rest)+)
    };
}

/// DEBUG: `debug!(logger, "message {x}", key = value, ...)` or
/// `debug!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! debug {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Debug, $($rest)+) };
}

/// INFO: `info!(logger, "message {x}", key = value, ...)` or
/// `info!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! info {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Info, $($rest)+) };
}

/// WARNING: `warning!(logger, "message {x}", key = value, ...)` or
/// `warning!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! warning {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Warning, $($rest)+) };
}

/// ERROR: `error!(logger, "message {x}", key = value, ...)`,
/// `error!(logger, "message {}", x, key = value, ...)` or
/// `error!(logger, exception: &err, "message", ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! error {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Error, $($rest)+) };
}

/// CRITICAL: `critical!(logger, "message {x}", key = value, ...)` or
/// `critical!(logger, "message {}", x, key = value, ...)` (see [`log!`](crate::log!)).
#[macro_export]
macro_rules! critical {
    ($logger:expr, $($rest:tt)+) => { $crate::log!($logger, $crate::Level::Critical, $($rest)+) };
}

#[cfg(test)]
mod tests {
    use super::__private::no_field_twice;

    #[test]
    fn distinct_names_pass_the_check() {
        no_field_twice(&[]);
        no_field_twice(&["a", "b", "ab", "ba", "user", "users"]);
    }

    #[test]
    #[should_panic(expected = "names a field twice")]
    fn a_name_given_twice_fails_the_check() {
        no_field_twice(&["a", "user", "b", "user"]);
    }

    #[test]
    fn the_macro_keeps_every_field_of_a_call() {
        use crate::testing::MemoryWriter;
        let memory = MemoryWriter::new();
        let backend = crate::Backend::synchronous();
        let log = backend.logger("m", crate::PipelineConfig::new().writer(memory.clone()));
        let name = String::from("ann");
        crate::info!(
            log,
            "five",
            a = 1,
            b = name.clone(),
            c = 2.5,
            d = true,
            e = "x"
        );
        crate::info!(
            log,
            "six",
            a = 1,
            b = name,
            c = 2.5,
            d = true,
            e = "x",
            f = -3
        );
        let lines = memory.lines();
        assert!(
            lines[0].contains(r#""fields":{"a":1,"b":"ann","c":2.5,"d":true,"e":"x"}"#),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(r#""fields":{"a":1,"b":"ann","c":2.5,"d":true,"e":"x","f":-3}"#),
            "{}",
            lines[1]
        );
    }
}
