//! The environment presets: [`Environment`], the formatters by name
//! ([`FormatterKind`], [`FormatterType`]) and [`EnvironmentConfig`], which
//! builds an environment's pipeline.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use crate::backend::{AsyncConfig, OverflowStrategy};
use crate::error::ConfigError;
use crate::pipeline::enrich::{
    context_enricher, exception_enricher, source_enricher, thread_enricher,
};
use crate::pipeline::format::{
    compact_formatter, default_json_formatter, detailed_formatter, ecs_json_formatter,
    gcp_json_formatter, simple_text_formatter, Colors, ConsoleFormatter, ConsoleStream,
};
use crate::pipeline::write::{console_writer, file_writer_with, FileOptions};
use crate::pipeline::{Formatter, OutputConfig, PipelineConfig};
use crate::record::{Context, Level};

/// A deployment environment, selecting one of the original's presets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Console DEBUG with `console_formatter` (colours on a terminal), file
    /// DEBUG JSON, thread and source info.
    Development,
    /// Console WARNING compact, file INFO JSON, thread info (the default of
    /// `setup_async_logging`).
    #[default]
    Production,
    /// Console WARNING compact, file DEBUG JSON, version `"test"`.
    Testing,
}

impl Environment {
    /// `"development"`, `"production"` or `"testing"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
            Environment::Testing => "testing",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = ConfigError;

    /// `development`/`dev`, `production`/`prod`, `testing`/`test`, any case.
    fn from_str(s: &str) -> Result<Environment, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            "testing" | "test" => Ok(Environment::Testing),
            _ => Err(ConfigError::UnknownEnvironment(s.to_owned())),
        }
    }
}

/// The built-in formatters, by name, for presets and configuration files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatterKind {
    /// `default_json_formatter`.
    Json,
    /// `simple_text_formatter`.
    SimpleText,
    /// `compact_formatter`.
    Compact,
    /// `detailed_formatter`.
    Detailed,
    /// `console_formatter` with [`Colors::Auto`](crate::Colors), for the
    /// stream its output writes to (a file is never coloured).
    Console,
    /// `ecs_json_formatter`: Elastic Common Schema.
    Ecs,
    /// `gcp_json_formatter`: Google Cloud Logging.
    Gcp,
}

impl FormatterKind {
    /// Every formatter by the name configuration data uses for it
    /// (`format = "compact"`): the one place where a formatter gets a name.
    /// A new formatter is added here, in [`build`](FormatterKind::build) and
    /// in `FORMAT_NAMES` (the list an error message gives).
    pub const NAMES: &'static [(&'static str, FormatterKind)] = &[
        ("json", FormatterKind::Json),
        ("text", FormatterKind::SimpleText),
        ("compact", FormatterKind::Compact),
        ("detailed", FormatterKind::Detailed),
        ("console", FormatterKind::Console),
        ("ecs", FormatterKind::Ecs),
        ("gcp", FormatterKind::Gcp),
    ];

    /// The formatter's name in configuration data.
    pub fn as_str(self) -> &'static str {
        FormatterKind::NAMES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("json", |(name, _)| name)
    }

    /// The formatter itself, for an output writing to `stream` (which only
    /// the console formatter's colours depend on).
    pub fn build(self, stream: ConsoleStream) -> Box<dyn Formatter> {
        match self {
            FormatterKind::Json => Box::new(default_json_formatter()),
            FormatterKind::SimpleText => Box::new(simple_text_formatter()),
            FormatterKind::Compact => Box::new(compact_formatter()),
            FormatterKind::Detailed => Box::new(detailed_formatter()),
            FormatterKind::Console => Box::new(ConsoleFormatter::new(Colors::Auto, stream)),
            FormatterKind::Ecs => Box::new(ecs_json_formatter()),
            FormatterKind::Gcp => Box::new(gcp_json_formatter()),
        }
    }
}

/// [`FormatterKind::NAMES`] as an error message lists them.
const FORMAT_NAMES: &str = "json, text, compact, detailed, console, ecs or gcp";

impl FromStr for FormatterKind {
    type Err = ConfigError;

    /// A name of [`FormatterKind::NAMES`], exactly.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for `format`, naming the choices.
    fn from_str(s: &str) -> Result<FormatterKind, ConfigError> {
        FormatterKind::NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| ConfigError::invalid("format", s, FORMAT_NAMES))
    }
}

/// The page's `formatter_type` of an environment logger (`get_async_logger`,
/// `get_logger`): which formatters its outputs use. Parsed from the page's
/// names, `"default"` and `"json"`; any other name is a [`ConfigError`], so
/// Rust and Python reject the same names with the same message.
///
/// ```
/// use kakashi::FormatterType;
/// assert_eq!("json".parse::<FormatterType>().unwrap(), FormatterType::Json);
/// assert_eq!(
///     "xml".parse::<FormatterType>().unwrap_err().to_string(),
///     "unknown formatter_type \"xml\"; expected default or json"
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FormatterType {
    /// Each output keeps its environment's formatter (the default).
    #[default]
    Default,
    /// `default_json_formatter` for every output.
    Json,
}

impl FormatterType {
    /// `"default"` or `"json"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FormatterType::Default => "default",
            FormatterType::Json => "json",
        }
    }
}

impl FromStr for FormatterType {
    type Err = ConfigError;

    /// `default` or `json`, exactly (the page's names).
    fn from_str(s: &str) -> Result<FormatterType, ConfigError> {
        match s {
            "default" => Ok(FormatterType::Default),
            "json" => Ok(FormatterType::Json),
            _ => Err(ConfigError::UnknownFormatterType(s.to_owned())),
        }
    }
}

/// An environment's settings: where and how records go. The presets keep
/// the original Kakashi 0.2.2's levels, directories, formatters and async
/// settings per environment.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentConfig {
    /// Which preset this came from.
    pub environment: Environment,
    /// Lowest level shown on the console.
    pub console_level: Level,
    /// Lowest level written to the file.
    pub file_level: Level,
    /// Directory of `app.log`.
    pub log_directory: PathBuf,
    /// Console layout.
    pub console_formatter: FormatterKind,
    /// Colours of a [`FormatterKind::Console`] console (default
    /// [`Colors::Auto`]: a terminal only, as `NO_COLOR`/`FORCE_COLOR` say);
    /// the original's `disable_colors()` sets [`Colors::Never`].
    pub console_colors: Colors,
    /// File layout.
    pub file_formatter: FormatterKind,
    /// Add the `threading` object.
    pub include_thread_info: bool,
    /// Add the `source` object.
    pub include_source_location: bool,
    /// Service name for the base context.
    pub service_name: Option<String>,
    /// Service version for the base context.
    pub version: Option<String>,
    /// Queue and worker settings.
    pub async_config: AsyncConfig,
    /// Rotation, retention, compression and fsync of the files (default:
    /// one file forever).
    pub file: FileOptions,
}

/// A preset's queue: the original's sizes, workers and batches per
/// environment, `drop_oldest` in production and `block` elsewhere; the
/// rest is [`AsyncConfig::default`]. (The original's production preset also
/// had a 0.05 s batch timeout, and its testing preset no batching and a
/// 1 s shutdown timeout: not kept, as a shutdown that gives up after 1 s
/// drops what a test logged last.)
fn preset_queue(environment: Environment) -> AsyncConfig {
    let (max_queue_size, worker_count, batch_size, overflow_strategy) = match environment {
        Environment::Development => (5_000, 1, 50, OverflowStrategy::Block),
        Environment::Production => (25_000, 2, 200, OverflowStrategy::DropOldest),
        Environment::Testing => (1_000, 1, 10, OverflowStrategy::Block),
    };
    AsyncConfig {
        max_queue_size,
        worker_count,
        batch_size,
        overflow_strategy,
        ..AsyncConfig::default()
    }
}

impl EnvironmentConfig {
    /// The preset for `environment` with the original's values.
    pub fn preset(environment: Environment) -> EnvironmentConfig {
        use FormatterKind::*;
        let (console_level, file_level, dir, console_formatter, source, version) = match environment
        {
            Environment::Development => (Level::Debug, Level::Debug, "logs", Console, true, None),
            Environment::Production => (
                Level::Warning,
                Level::Info,
                "/var/log",
                Compact,
                false,
                None,
            ),
            Environment::Testing => (
                Level::Warning,
                Level::Debug,
                "test_logs",
                Compact,
                false,
                Some("test".to_owned()),
            ),
        };
        EnvironmentConfig {
            environment,
            console_level,
            file_level,
            log_directory: PathBuf::from(dir),
            console_formatter,
            console_colors: Colors::Auto,
            file_formatter: Json,
            include_thread_info: environment != Environment::Testing,
            include_source_location: source,
            service_name: None,
            version,
            async_config: preset_queue(environment),
            file: FileOptions::default(),
        }
    }

    /// The path of the log file, `log_directory/app.log`.
    pub fn log_file(&self) -> PathBuf {
        self.log_directory.join("app.log")
    }

    /// The pipeline this environment describes: console and file outputs,
    /// each with its own level, and formatters chosen by `format`.
    ///
    /// # Errors
    /// [`ConfigError::File`] when the log file cannot be opened.
    pub fn pipeline(&self, format: FormatterType) -> Result<PipelineConfig, ConfigError> {
        self.pipeline_to(format, self.log_file())
    }

    /// [`pipeline`](EnvironmentConfig::pipeline) with the file output going to
    /// `file` instead of `app.log`.
    ///
    /// # Errors
    /// [`ConfigError::File`] when `file` cannot be opened for appending.
    pub fn pipeline_to(
        &self,
        format: FormatterType,
        file: PathBuf,
    ) -> Result<PipelineConfig, ConfigError> {
        let mut config = PipelineConfig::new().min_level(self.console_level.min(self.file_level));
        if self.include_thread_info {
            config = config.enricher(thread_enricher());
        }
        if self.include_source_location {
            config = config.enricher(source_enricher());
        }
        config = config.enricher(exception_enricher());
        if self.service_name.is_some() || self.version.is_some() {
            config = config.enricher(context_enricher(Context {
                service_name: self.service_name.clone(),
                version: self.version.clone(),
                environment: Some(self.environment.as_str().to_owned()),
                ..Context::default()
            }));
        }
        let pick = |kind: FormatterKind| match format {
            FormatterType::Default => kind,
            FormatterType::Json => FormatterKind::Json,
        };
        Ok(config
            .output(OutputConfig {
                min_level: self.console_level,
                formatter: match pick(self.console_formatter) {
                    FormatterKind::Console => Box::new(ConsoleFormatter::new(
                        self.console_colors,
                        ConsoleStream::Stdout,
                    )),
                    kind => kind.build(ConsoleStream::Stdout),
                },
                writers: vec![Box::new(console_writer())],
            })
            .output(OutputConfig {
                min_level: self.file_level,
                formatter: pick(self.file_formatter).build(ConsoleStream::Other),
                writers: vec![Box::new(file_writer_with(file, self.file)?)],
            }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Backend;

    /// Each preset's queue is the original's, and `setup_async_logging`'s
    /// overflow strategy agrees with it.
    #[test]
    fn presets_carry_the_originals_queue_settings() {
        use crate::setup::AsyncSetup;
        use OverflowStrategy::*;
        for (environment, expected) in [
            (Environment::Development, (5_000, 1, 50, Block)),
            (Environment::Production, (25_000, 2, 200, DropOldest)),
            (Environment::Testing, (1_000, 1, 10, Block)),
        ] {
            let a = EnvironmentConfig::preset(environment).async_config;
            let got = (
                a.max_queue_size,
                a.worker_count,
                a.batch_size,
                a.overflow_strategy,
            );
            assert_eq!(got, expected, "{environment:?}");
            let setup = AsyncSetup {
                environment,
                ..AsyncSetup::default()
            };
            assert_eq!(
                setup.environment_config().async_config.overflow_strategy,
                expected.3,
                "{environment:?}"
            );
        }
    }

    /// `FormatterType::Default` keeps the environment's file formatter
    /// (compact here), `FormatterType::Json` replaces it with JSON.
    #[test]
    fn output_format_picks_the_file_outputs_formatter() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = EnvironmentConfig::preset(Environment::Testing);
        env.file_formatter = FormatterKind::Compact;
        env.console_level = Level::Critical; // nothing on the test's console
        env.file_level = Level::Info;
        for (format, json) in [(FormatterType::Default, false), (FormatterType::Json, true)] {
            let path = dir.path().join(format!("{format:?}.log"));
            let backend = Backend::synchronous();
            let logger = backend.logger("env", env.pipeline_to(format, path.clone()).unwrap());
            logger.info("hello");
            let line = std::fs::read_to_string(&path).unwrap();
            assert_eq!(line.starts_with('{'), json, "{format:?}: {line}");
            assert!(line.contains("hello"), "{line}");
        }
    }
}
