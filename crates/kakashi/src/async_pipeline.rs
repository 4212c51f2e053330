//! [`AsyncPipeline`]: a pipeline on its own backend, the page's pairing of a
//! `PipelineConfig` with an `AsyncConfig`.
//!
//! ```
//! use kakashi::{AsyncPipeline, AsyncPipelineConfig, PipelineConfig, AsyncConfig};
//! use kakashi::testing::MemoryWriter;
//! let memory = MemoryWriter::new();
//! let pipeline = AsyncPipeline::new(AsyncPipelineConfig {
//!     pipeline_config: PipelineConfig::new().writer(memory.clone()),
//!     async_config: AsyncConfig::default(),
//!     enable_async: false, // every record is written on the caller's thread
//!     fallback_to_sync: true,
//! })?;
//! pipeline.logger("app").info("written before info() returns");
//! assert_eq!(memory.lines().len(), 1);
//! # Ok::<(), kakashi::ConfigError>(())
//! ```

use std::time::Duration;

use crate::backend::stages::Route;
use crate::backend::{AsyncConfig, Backend, ShutdownReport, Stats};
use crate::error::ConfigError;
use crate::logger::Logger;
use crate::pipeline::PipelineConfig;

/// What an [`AsyncPipeline`] is made of, with the page's field names.
#[derive(Debug, Default)]
pub struct AsyncPipelineConfig {
    /// The stages.
    pub pipeline_config: PipelineConfig,
    /// The queue and workers.
    pub async_config: AsyncConfig,
    /// When false, no queue or worker: each record is written on the
    /// caller's thread before the call returns.
    pub enable_async: bool,
    /// After shutdown, write records on the caller's thread (true) or count
    /// them as dropped with reason `backend_stopped` (false).
    pub fallback_to_sync: bool,
}

impl AsyncPipelineConfig {
    /// `enable_async` and `fallback_to_sync` on, as in the original.
    pub fn new(pipeline_config: PipelineConfig, async_config: AsyncConfig) -> AsyncPipelineConfig {
        AsyncPipelineConfig {
            pipeline_config,
            async_config,
            enable_async: true,
            fallback_to_sync: true,
        }
    }
}

/// A pipeline running on its own backend.
#[derive(Clone, Debug)]
pub struct AsyncPipeline {
    backend: Backend,
    route: Route,
}

impl AsyncPipeline {
    /// Validates the configuration and starts the workers.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid setting.
    pub fn new(config: AsyncPipelineConfig) -> Result<AsyncPipeline, ConfigError> {
        let backend = Backend::build(
            config.async_config,
            config.enable_async,
            config.fallback_to_sync,
        )?;
        let route = backend.add_route(config.pipeline_config);
        Ok(AsyncPipeline { backend, route })
    }

    /// A logger named `name` feeding this pipeline.
    pub fn logger(&self, name: &str) -> Logger {
        Logger::new(name, self.backend.clone(), self.route.clone())
    }

    /// The backend it runs on.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// See [`Backend::flush`].
    pub fn flush(&self) -> bool {
        self.backend.flush()
    }

    /// See [`Backend::shutdown`].
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.backend.shutdown(timeout)
    }

    /// See [`Backend::stats`].
    pub fn stats(&self) -> Stats {
        self.backend.stats()
    }
}
