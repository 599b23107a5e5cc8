//! The `envd` binary: parse flags, become init if asked, run the server.

use std::process::ExitCode;

use clap::Parser;
use wrenn_envd::config::{Args, Config};

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(err) => {
            #[expect(clippy::print_stderr, reason = "no logger exists before the config is read")]
            {
                eprintln!("envd: {err:#}");
            }
            return ExitCode::from(2);
        }
    };
    // Process-1 duties (zombie reaping, signal forwarding) must be set up
    // before any thread exists, so this happens before the tokio runtime.
    if config.run_as_init {
        wrenn_envd::init::become_init_parent();
    }
    match wrenn_envd::server::run(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "envd failed");
            ExitCode::FAILURE
        }
    }
}
