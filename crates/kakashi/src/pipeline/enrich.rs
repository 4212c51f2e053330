//! Built-in enrichers: thread, exception, source and context.
//!
//! Enrichers run on the worker, but what they reveal was captured on the
//! caller's thread: [`thread_enricher`] shows the *calling* thread (as in the
//! original, where it ran in the producer), because every record carries its
//! [`Thread`](crate::Thread) from the start.
//!
//! ```
//! use kakashi::{Enricher, Level, Record, Context};
//! let mut r = Record::new(Level::Info, "app", "hi");
//! kakashi::thread_enricher().enrich(&mut r);
//! assert!(r.sections.contains(kakashi::Sections::THREADING));
//! let base = Context { service_name: Some("svc".into()), ..Context::default() };
//! kakashi::context_enricher(base).enrich(&mut r);
//! assert_eq!(r.context.unwrap().service_name.as_deref(), Some("svc"));
//! ```

use std::sync::Arc;

use super::Enricher;
use crate::record::{Context, Record, Sections};

/// Reveals the calling thread's id and name and the process id (the JSON
/// `threading` object). Built by [`thread_enricher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadEnricher;

/// The thread enricher.
pub fn thread_enricher() -> ThreadEnricher {
    ThreadEnricher
}

impl Enricher for ThreadEnricher {
    fn enrich(&self, record: &mut Record) {
        record.sections.insert(Sections::THREADING);
    }
}

/// Fills an attached error's traceback from its cause chain, when it has none.
/// Built by [`exception_enricher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ExceptionEnricher;

/// The exception enricher.
pub fn exception_enricher() -> ExceptionEnricher {
    ExceptionEnricher
}

impl Enricher for ExceptionEnricher {
    fn enrich(&self, record: &mut Record) {
        if let Some(exception) = record.exception.as_mut() {
            if exception.traceback.is_none() {
                let mut text = format!("{}: {}", exception.type_name, exception.message);
                for cause in &exception.chain {
                    text.push_str("\nCaused by: ");
                    text.push_str(cause);
                }
                exception.traceback = Some(text);
            }
        }
    }
}

/// Reveals the call site (module and line) captured by the logging macros
/// (the JSON `source` object). Built by [`source_enricher`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SourceEnricher;

/// The source-location enricher.
pub fn source_enricher() -> SourceEnricher {
    SourceEnricher
}

impl Enricher for SourceEnricher {
    fn enrich(&self, record: &mut Record) {
        record.sections.insert(Sections::SOURCE);
    }
}

/// Merges a base context (service, version, environment, ...) under each
/// record's own context, which wins. Built by [`context_enricher`].
#[derive(Clone, Debug)]
pub struct ContextEnricher {
    base: Arc<Context>,
}

/// A context enricher over `base`.
pub fn context_enricher(base: Context) -> ContextEnricher {
    ContextEnricher {
        base: Arc::new(base),
    }
}

impl Enricher for ContextEnricher {
    fn enrich(&self, record: &mut Record) {
        record.context = Some(match record.context.take() {
            Some(own) => Arc::new(self.base.merge(&own)),
            None => Arc::clone(&self.base),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Exception, Level};

    #[test]
    fn exception_enricher_builds_traceback_once() {
        let mut r = Record::new(Level::Error, "app", "failed");
        r.exception = Some(Box::new(Exception {
            type_name: "IoError".into(),
            message: "save failed".into(),
            chain: vec!["disk full".into()],
            traceback: None,
            frames: Vec::new(),
        }));
        exception_enricher().enrich(&mut r);
        let tb = r.exception.as_ref().unwrap().traceback.clone().unwrap();
        assert_eq!(tb, "IoError: save failed\nCaused by: disk full");
        r.exception.as_mut().unwrap().chain.clear();
        exception_enricher().enrich(&mut r);
        assert_eq!(r.exception.unwrap().traceback.unwrap(), tb);
    }

    #[test]
    fn record_context_wins_over_base() {
        let mut r = Record::new(Level::Info, "app", "m");
        r.context = Some(Arc::new(Context {
            version: Some("2".into()),
            ..Context::default()
        }));
        context_enricher(Context {
            service_name: Some("svc".into()),
            version: Some("1".into()),
            ..Context::default()
        })
        .enrich(&mut r);
        let ctx = r.context.unwrap();
        assert_eq!(ctx.service_name.as_deref(), Some("svc"));
        assert_eq!(ctx.version.as_deref(), Some("2"));
    }
}
