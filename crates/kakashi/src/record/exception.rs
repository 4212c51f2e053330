//! [`Exception`]: an error attached to a record, and the [`Frame`]s of its
//! traceback.
//!
//! Frames carry a file, a line and a function name, never local variables:
//! a traceback that renders locals puts whatever they hold (passwords,
//! tokens) in the log (loguru#954), so the type has nowhere to put them.

use std::borrow::Cow;

/// An error attached to a record: its type, message, cause chain and, once
/// [`exception_enricher`](crate::exception_enricher) has run, a traceback.
#[derive(Clone, Debug, PartialEq)]
pub struct Exception {
    /// The error's type name (`"std::io::error::Error"`, or the Python class name).
    pub type_name: Cow<'static, str>,
    /// The error's message (`Display`).
    pub message: String,
    /// The messages of the `source()` chain, outermost first.
    pub chain: Vec<String>,
    /// A formatted traceback, if known.
    pub traceback: Option<String>,
    /// Where the error passed through, outermost call first (Python: the
    /// exception's `__traceback__`, at most [`MAX_FRAMES`] innermost
    /// frames); empty when unknown.
    pub frames: Vec<Frame>,
}

/// The most frames an [`Exception`] keeps (the innermost ones, where the
/// error was raised), so a deep recursion cannot make a record huge.
pub const MAX_FRAMES: usize = 64;

/// One frame of an exception's traceback: where, never what the locals held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The source file.
    pub file: String,
    /// The line number (1-based; 0 when unknown).
    pub line: u32,
    /// The function (Python: `co_name`, e.g. `<module>` or `handle`).
    pub function: String,
}

impl Exception {
    /// Captures an error, its type name and its source chain.
    pub fn from_error<E: std::error::Error + 'static>(err: &E) -> Exception {
        let mut exception = Exception::from_dyn(err);
        exception.type_name = Cow::Borrowed(std::any::type_name::<E>());
        exception
    }

    /// Captures a type-erased error; its type name is recorded as `"Error"`.
    pub fn from_dyn(err: &(dyn std::error::Error + 'static)) -> Exception {
        let mut chain = Vec::new();
        let mut source = err.source();
        while let Some(cause) = source {
            chain.push(cause.to_string());
            source = cause.source();
        }
        Exception {
            type_name: Cow::Borrowed("Error"),
            message: err.to_string(),
            chain,
            traceback: None,
            frames: Vec::new(),
        }
    }

    /// The traceback as Python prints it, from [`frames`](Exception::frames):
    /// `Traceback (most recent call last):`, two lines per frame
    /// (`  File "f.py", line 3, in g`), then `Type: message`; or the
    /// formatted [`traceback`](Exception::traceback) when it already is one.
    /// `None` without frames or a Python traceback. Error Reporting (Google
    /// Cloud) recognises a stack trace by this shape.
    pub fn python_stack_trace(&self) -> Option<std::borrow::Cow<'_, str>> {
        const HEAD: &str = "Traceback (most recent call last):";
        if let Some(tb) = self.traceback.as_deref().filter(|tb| tb.starts_with(HEAD)) {
            return Some(std::borrow::Cow::Borrowed(tb));
        }
        if self.frames.is_empty() {
            return None;
        }
        let mut text = String::from(HEAD);
        for f in &self.frames {
            use std::fmt::Write;
            let _ = write!(
                text,
                "\n  File \"{}\", line {}, in {}",
                f.file, f.line, f.function
            );
        }
        text.push('\n');
        text.push_str(&self.type_name);
        if !self.message.is_empty() {
            text.push_str(": ");
            text.push_str(&self.message);
        }
        Some(std::borrow::Cow::Owned(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use std::fmt;

    #[test]
    fn error_value_carries_the_chain() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl fmt::Display for Outer {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("save failed")
            }
        }
        impl std::error::Error for Outer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("disk full"));
        assert_eq!(Value::error(&e), Value::from("save failed: disk full"));
        let ex = Exception::from_error(&e);
        assert!(ex.type_name.ends_with("Outer"), "{}", ex.type_name);
        assert_eq!(ex.chain, vec!["disk full".to_string()]);
        assert!(ex.python_stack_trace().is_none());
    }

    #[test]
    fn frames_render_as_a_python_traceback() {
        let mut ex = Exception::from_dyn(&std::io::Error::other("boom"));
        ex.type_name = "ValueError".into();
        ex.frames = vec![
            Frame {
                file: "app.py".into(),
                line: 3,
                function: "<module>".into(),
            },
            Frame {
                file: "lib.py".into(),
                line: 10,
                function: "parse".into(),
            },
        ];
        assert_eq!(
            ex.python_stack_trace().unwrap(),
            "Traceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n  File \"lib.py\", line 10, in parse\nValueError: boom"
        );
    }
}
