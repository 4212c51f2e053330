//! `kakashi._kakashi`: the Rust engine for the Python package `kakashi`.
//!
//! The Python modules (`kakashi.core.async_interface`, `async_pipeline`,
//! `pipeline`, `async_backend`, `records`) give the page's names and keyword
//! arguments; this module does the work. It only translates: values are copied
//! on the caller's thread ([`convert`]), the built-in stages are native
//! objects holding the engine's stages ([`builtins`]), Python callables are
//! wrapped as stages ([`stages`]), and everything else is the `kakashi` crate.
//!
//! The rest: the logging call ([`logger`], [`fastcall`]); settings read from
//! Python ([`config`]); configuration from data and per-logger levels
//! ([`configure`]); the `Backend`, `AsyncPipeline` and `ShutdownReport`
//! classes ([`backend`], [`pipeline`], [`report`]) and the backend handle
//! held by Python objects ([`handle`]); the page's factories ([`factories`])
//! and the global backend ([`global`]); the interpreter's exit and fork
//! ([`lifecycle`], [`gil`], [`fork_child`]); the exceptions ([`errors`]). This file only
//! registers their names in the module, and sets the extension's allocator.
//!
//! Interpreter lock discipline: a logging call holds it while it copies its
//! arguments and lets go of it for any wait (a full queue under `block`);
//! `flush`, `shutdown` and fork preparation let go of it while they wait;
//! workers take it once per batch, and only for Python stages.
#![deny(unsafe_code)]
// The exceptions: `fastcall.rs` (vectorcall level methods), `fork_child.rs`
// (a forked child's thread state), `frames.rs` (CPython's frame functions,
// looked up at run time) and `gil.rs` (a stage's call, whose frame catches
// the interpreter's forced unwind at exit), each justified there.
// An extension module: its one public item is the Python module, and its
// docs are read with `--document-private-items`, where these links resolve.
#![allow(rustdoc::private_intra_doc_links)]

mod backend;
mod builtins;
mod config;
mod configure;
mod convert;
mod errors;
mod factories;
mod fastcall;
mod fork_child;
mod frames;
mod gil;
mod global;
mod handle;
mod lifecycle;
mod logger;
mod once;
mod pipeline;
mod report;
mod stages;
mod stdlib;

use kakashi::Level;
use pyo3::prelude::*;

use backend::PyBackend;
use convert::PyContext;
use errors::ConfigError;
use logger::PyLogger;
use pipeline::PyAsyncPipeline;
use report::PyShutdownReport;

// Records are allocated on the caller's thread and freed on a worker: with
// glibc's malloc that cross-thread free contends on the arena lock, a large
// share of a logging call (BENCHMARKS.md, "Design decisions"); mimalloc
// frees to the owning page without a lock. Its v2 (the `v2` feature in
// Cargo.toml), not v3: v3 holds a lock while a thread makes its heap and
// does not release it in a forked child, which could hang there.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _kakashi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLogger>()?;
    m.add_class::<PyContext>()?;
    m.add_class::<PyBackend>()?;
    m.add_class::<PyAsyncPipeline>()?;
    m.add_class::<PyShutdownReport>()?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add(
        "ASYNC_CONFIG_DEFAULTS",
        config::async_config_defaults(m.py())?,
    )?;
    m.add("FACTORY_DEFAULTS", config::factory_defaults(m.py())?)?;
    m.add(
        "OVERFLOW_STRATEGIES",
        pyo3::types::PyTuple::new(
            m.py(),
            kakashi::OverflowStrategy::ALL.map(kakashi::OverflowStrategy::as_str),
        )?,
    )?;
    if let Some(log_stdlib) = fastcall::log_stdlib_function(m.py())? {
        m.add("_log_stdlib", log_stdlib)?;
    }
    m.add_function(wrap_pyfunction!(convert::_register_types, m)?)?;
    m.add_function(wrap_pyfunction!(config::_check_async_config, m)?)?;
    m.add_function(wrap_pyfunction!(config::_check_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(config::_check_level, m)?)?;
    m.add_function(wrap_pyfunction!(config::_check_formatter_type, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::async_pipeline, m)?)?;
    m.add_function(wrap_pyfunction!(factories::high_performance_logger, m)?)?;
    m.add_function(wrap_pyfunction!(factories::network_logger, m)?)?;
    m.add_function(wrap_pyfunction!(factories::env_logger, m)?)?;
    m.add_function(wrap_pyfunction!(global::apply_async_config, m)?)?;
    m.add_function(wrap_pyfunction!(factories::async_structured_logger, m)?)?;
    m.add_function(wrap_pyfunction!(global::setup_async_logging, m)?)?;
    m.add_function(wrap_pyfunction!(global::environment_preset, m)?)?;
    m.add_function(wrap_pyfunction!(global::configure_async_backend, m)?)?;
    m.add_function(wrap_pyfunction!(global::get_async_stats, m)?)?;
    m.add_function(wrap_pyfunction!(global::flush, m)?)?;
    m.add_function(wrap_pyfunction!(global::shutdown_async_backend, m)?)?;
    m.add_function(wrap_pyfunction!(global::reopen_files, m)?)?;
    m.add_function(wrap_pyfunction!(global::sync, m)?)?;
    m.add_function(wrap_pyfunction!(stdlib::_stdlib_logger, m)?)?;
    m.add_function(wrap_pyfunction!(stdlib::_stdlib_setup, m)?)?;
    builtins::register(m)?;
    m.add_function(wrap_pyfunction!(convert::_set_context_var, m)?)?;
    m.add_function(wrap_pyfunction!(convert::_context_used, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_configure, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_configure_from_file, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_configure_from_env, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_set_level, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_clear_level, m)?)?;
    m.add_function(wrap_pyfunction!(configure::_levels, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_close_gate, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(lifecycle::_after_fork_in_child, m)?)?;
    m.add("DEFAULT_LEVEL", Level::Info.value())?;
    // The Cargo workspace version: the one version of the crates and of the
    // Python distribution (`kakashi.__version__`).
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
