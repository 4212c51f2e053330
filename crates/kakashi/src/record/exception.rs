//! [`Exception`]: an error attached to a record.

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
        }
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
    }
}
