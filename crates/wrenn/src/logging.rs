//! Log output for every `wrenn` command: one `tracing` subscriber, set up
//! before anything else runs so that start-up failures are logged too.
//!
//! Logs go to stderr; stdout is kept for the few lines meant for the
//! operator (the bootstrap API key, the ready line), so a script can read
//! them without parsing logs.

use std::io::IsTerminal;

use clap::{Args, ValueEnum};

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The logging flags every command shares.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Logging")]
pub(crate) struct LogArgs {
    /// Which log lines to keep (`tracing` directives, e.g. `info,wrenn_cp=debug`).
    #[arg(long = "log", env = "WRENN_LOG", default_value = "info", global = true)]
    pub(crate) filter: String,
    /// Log lines as human-readable text or as JSON objects.
    #[arg(long, env = "WRENN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub(crate) log_format: LogFormat,
}

/// Installs the process-wide subscriber. An invalid filter falls back to
/// `info` with a warning rather than running silent.
pub(crate) fn init(args: &LogArgs) {
    let (filter, invalid) = match tracing_subscriber::EnvFilter::try_new(&args.filter) {
        Ok(filter) => (filter, None),
        Err(err) => (tracing_subscriber::EnvFilter::new("info"), Some(err)),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match args.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(err) = invalid {
        tracing::warn!(filter = %args.filter, error = %err, "invalid WRENN_LOG filter; logging at info");
    }
}
