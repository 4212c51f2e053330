//! A [`Config`] checked whole into [`Resolved`]: every value parsed by the
//! check that owns it, every error named by its key's path. Nothing here
//! opens a file or starts a thread; [`Resolved::pipeline`] does, when the
//! configuration is installed.

use std::path::PathBuf;

use super::{Config, Output};
use crate::backend::{count_setting, seconds_setting, AsyncConfig};
use crate::error::ConfigError;
use crate::levels::{normalise_target, parse_level, Directives};
use crate::pipeline::enrich::{
    context_enricher, exception_enricher, source_enricher, thread_enricher,
};
use crate::pipeline::format::ConsoleStream;
use crate::pipeline::write::{console_writer, file_writer_with, stderr_writer, FileOptions};
use crate::pipeline::{OutputConfig, PipelineConfig, Writer};
use crate::record::{Context, Level};
use crate::setup::{FormatterKind, FormatterType};

/// Where an output's lines go.
#[derive(Clone, Debug, PartialEq)]
enum Sink {
    File(PathBuf, FileOptions),
    Console { stderr: bool },
}

#[derive(Clone, Debug, PartialEq)]
struct ResolvedOutput {
    sink: Sink,
    level: Level,
    format: FormatterKind,
}

/// A configuration whose every value has been checked: what installing it
/// needs, and what the global backend is rebuilt from after a shutdown.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Resolved {
    /// The default level: the pipeline's.
    pub(crate) level: Level,
    /// Per-name rules, targets normalised.
    pub(crate) rules: Vec<(String, Level)>,
    pub(crate) async_config: AsyncConfig,
    outputs: Vec<ResolvedOutput>,
    context: Option<Context>,
    include_thread_info: bool,
    include_source_location: bool,
}

impl Resolved {
    /// Checks `config`; the first bad key is the error.
    pub(crate) fn new(config: &Config) -> Result<Resolved, ConfigError> {
        let at = |path: &str, e: ConfigError| config.error_at(path, e.to_string());
        let directives: Directives = match &config.level {
            Some(text) => text.0.parse().map_err(|e| at("level", e))?,
            None => Directives::default(),
        };
        let mut rules = directives.rules;
        for (name, level) in &config.levels {
            let path = format!("levels.{name}");
            let target = normalise_target(name).map_err(|reason| {
                config.error_at(&path, format!("invalid logger name {name:?}: {reason}"))
            })?;
            let level = parse_level(&level.0).map_err(|e| at(&path, e))?;
            if rules.iter().any(|(t, _)| *t == target) {
                return Err(
                    config.error_at(&path, format!("{target:?} also has a level in `level`"))
                );
            }
            rules.push((target, level));
        }
        let format = match &config.format {
            Some(name) => name.parse().map_err(|e| at("format", e))?,
            None => FormatterKind::Json,
        };
        let outputs = match &config.outputs {
            Some(outputs) if outputs.is_empty() => {
                return Err(config.error_at(
                    "outputs",
                    "an empty list; expected at least one output (without the key, one \
                     console output on standard output)"
                        .to_owned(),
                ))
            }
            Some(outputs) => outputs
                .iter()
                .enumerate()
                .map(|(i, o)| output(config, &format!("outputs[{i}]"), o, format))
                .collect::<Result<_, _>>()?,
            None => vec![ResolvedOutput {
                sink: Sink::Console { stderr: false },
                level: Level::Debug,
                format,
            }],
        };
        let context = config.context.as_ref().and_then(|c| {
            (c.service_name.is_some() || c.version.is_some() || c.environment.is_some()).then(
                || Context {
                    service_name: c.service_name.clone(),
                    version: c.version.clone(),
                    environment: c.environment.clone(),
                    ..Context::default()
                },
            )
        });
        Ok(Resolved {
            level: directives.default.unwrap_or(Level::Info),
            rules,
            async_config: async_config(config)?,
            outputs,
            context,
            include_thread_info: config.include_thread_info.unwrap_or(true),
            include_source_location: config.include_source_location.unwrap_or(false),
        })
    }

    /// The pipeline this configuration describes, its files opened. With
    /// `module`, the file outputs are replaced by one file,
    /// `<directory of the first file output>/modules/<module>.log`, as the
    /// environment presets do for `get_logger(name, log_file)`; `format`
    /// [`Json`](FormatterType::Json) makes every output JSON.
    ///
    /// # Errors
    /// [`ConfigError::File`] for a file that cannot be opened;
    /// [`ConfigError::Key`] (`log_file`) for a module file without a file
    /// output to put it beside.
    pub(crate) fn pipeline(
        &self,
        format: FormatterType,
        module: Option<&str>,
    ) -> Result<PipelineConfig, ConfigError> {
        let mut config = PipelineConfig::new().min_level(self.level);
        if self.include_thread_info {
            config = config.enricher(thread_enricher());
        }
        if self.include_source_location {
            config = config.enricher(source_enricher());
        }
        config = config.enricher(exception_enricher());
        if let Some(context) = &self.context {
            config = config.enricher(context_enricher(context.clone()));
        }
        let outputs: Vec<ResolvedOutput> = match module {
            None => self.outputs.clone(),
            Some(name) => {
                let Some(file) = self
                    .outputs
                    .iter()
                    .find(|o| matches!(o.sink, Sink::File(..)))
                else {
                    return Err(ConfigError::Key {
                        key: "log_file".to_owned(),
                        message: format!(
                            "a module file ({name:?}) goes beside the configuration's file output, and it has none"
                        ),
                    });
                };
                let Sink::File(path, options) = &file.sink else {
                    unreachable!("found as a file output")
                };
                let dir = path.parent().unwrap_or(std::path::Path::new(""));
                let module_file = ResolvedOutput {
                    sink: Sink::File(dir.join("modules").join(format!("{name}.log")), *options),
                    ..file.clone()
                };
                let consoles = self
                    .outputs
                    .iter()
                    .filter(|o| matches!(o.sink, Sink::Console { .. }));
                consoles.cloned().chain([module_file]).collect()
            }
        };
        for output in outputs {
            let writer: Box<dyn Writer> = match &output.sink {
                Sink::File(path, options) => Box::new(file_writer_with(path, *options)?),
                Sink::Console { stderr: false } => Box::new(console_writer()),
                Sink::Console { stderr: true } => Box::new(stderr_writer()),
            };
            let kind = match format {
                FormatterType::Default => output.format,
                FormatterType::Json => FormatterKind::Json,
            };
            let stream = match &output.sink {
                Sink::File(..) => ConsoleStream::Other,
                Sink::Console { stderr: false } => ConsoleStream::Stdout,
                Sink::Console { stderr: true } => ConsoleStream::Stderr,
            };
            config = config.output(OutputConfig {
                min_level: output.level,
                formatter: kind.build(stream),
                writers: vec![writer],
            });
        }
        Ok(config)
    }
}

fn output(
    config: &Config,
    path: &str,
    o: &Output,
    default_format: FormatterKind,
) -> Result<ResolvedOutput, ConfigError> {
    let at = |key: &str, message: String| config.error_at(&format!("{path}.{key}"), message);
    let parsed = |key: &str, e: ConfigError| at(key, e.to_string());
    let level = match &o.level {
        Some(l) => parse_level(&l.0).map_err(|e| parsed("level", e))?,
        None => Level::Debug,
    };
    let format = match &o.format {
        Some(name) => name.parse().map_err(|e| parsed("format", e))?,
        None => default_format,
    };
    let sink = match o.kind.as_str() {
        "file" => {
            let Some(file) = o.path.as_ref().filter(|p| !p.as_os_str().is_empty()) else {
                return Err(at("path", "a file output needs a path".to_owned()));
            };
            if let Some(stream) = &o.stream {
                return Err(at(
                    "stream",
                    format!("{stream:?}: only console outputs have a stream"),
                ));
            }
            let mut options = FileOptions::new();
            if let Some(t) = &o.rotation {
                options.rotation = t.0.parse().map_err(|e| parsed("rotation", e))?;
            }
            if let Some(t) = &o.retention {
                options.retention = t.0.parse().map_err(|e| parsed("retention", e))?;
            }
            if let Some(t) = &o.compression {
                options.compression = t.parse().map_err(|e| parsed("compression", e))?;
            }
            if let Some(t) = &o.fsync {
                options.fsync = t.parse().map_err(|e| parsed("fsync", e))?;
            }
            Sink::File(file.clone(), options)
        }
        "console" => {
            let file_only = [
                ("path", o.path.is_some()),
                ("rotation", o.rotation.is_some()),
                ("retention", o.retention.is_some()),
                ("compression", o.compression.is_some()),
                ("fsync", o.fsync.is_some()),
            ];
            if let Some((key, _)) = file_only.iter().find(|(_, given)| *given) {
                return Err(at(key, "only file outputs have this key".to_owned()));
            }
            let stderr = match o.stream.as_deref() {
                None | Some("stdout") => false,
                Some("stderr") => true,
                Some(other) => {
                    return Err(at(
                        "stream",
                        format!("unknown stream {other:?}; expected stdout or stderr"),
                    ))
                }
            };
            Sink::Console { stderr }
        }
        other => {
            return Err(at(
                "type",
                format!("unknown output type {other:?}; expected file or console"),
            ))
        }
    };
    Ok(ResolvedOutput {
        sink,
        level,
        format,
    })
}

/// The `async` table over [`AsyncConfig`]'s defaults, checked by
/// [`AsyncConfig::validate`] and the core's setting conversions.
fn async_config(config: &Config) -> Result<AsyncConfig, ConfigError> {
    let mut out = AsyncConfig::default();
    let Some(a) = &config.async_config else {
        return Ok(out);
    };
    let at =
        |setting: &str, e: ConfigError| config.error_at(&format!("async.{setting}"), e.to_string());
    let counts = [
        ("max_queue_size", a.max_queue_size, &mut out.max_queue_size),
        ("worker_count", a.worker_count, &mut out.worker_count),
        ("batch_size", a.batch_size, &mut out.batch_size),
    ];
    for (setting, given, field) in counts {
        if let Some(v) = given {
            *field = count_setting(setting, v).map_err(|e| at(setting, e))?;
        }
    }
    if let Some(s) = a.batch_timeout {
        out.batch_timeout =
            seconds_setting("batch_timeout", s).map_err(|e| at("batch_timeout", e))?;
    }
    if let Some(s) = a.shutdown_timeout {
        out.shutdown_timeout =
            seconds_setting("shutdown_timeout", s).map_err(|e| at("shutdown_timeout", e))?;
    }
    if let Some(b) = a.enable_batching {
        out.enable_batching = b;
    }
    if let Some(s) = &a.overflow_strategy {
        out.overflow_strategy = s.parse().map_err(|e| at("overflow_strategy", e))?;
    }
    if let Some(p) = &a.thread_name_prefix {
        out.thread_name_prefix = p.clone();
    }
    out.validate().map_err(|e| {
        let setting = match &e {
            ConfigError::OutOfRange { setting, .. } => *setting,
            _ => "",
        };
        at(setting, e)
    })?;
    Ok(out)
}
