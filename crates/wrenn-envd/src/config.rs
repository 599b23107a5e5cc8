//! Command-line flags and the one `Config` envd runs with.
//!
//! Flags are parsed here and nowhere else; the environment is read here and
//! nowhere else. Everything downstream takes a `Config`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Parser;

/// envd's default port, fixed by the E2B protocol.
pub const DEFAULT_PORT: u16 = 49983;

/// Flags of the `envd` binary.
#[derive(Debug, Parser)]
#[command(name = "envd", version = crate::VERSION, about = "Wrenn's guest agent (E2B envd protocol)")]
pub struct Args {
    /// Port to listen on.
    #[arg(long, default_value_t = DEFAULT_PORT)]
    pub port: u16,

    /// Development mode: run on a plain host, listen on 127.0.0.1 only and
    /// take no process-1 duties.
    #[arg(long)]
    pub dev: bool,

    /// In development mode: the default user's home and working directory.
    /// Relative paths in requests resolve under it.
    #[arg(long, requires = "dev")]
    pub root: Option<PathBuf>,

    /// Address to listen on. Defaults to 0.0.0.0 in a capsule and 127.0.0.1
    /// in development mode.
    #[arg(long)]
    pub listen: Option<IpAddr>,

    /// Reap zombies and forward signals as process 1 (default when envd is
    /// pid 1). Use `--no-init` to run under another init.
    #[arg(long, conflicts_with = "no_init")]
    pub init: bool,

    /// Never act as process 1, even when envd is pid 1.
    #[arg(long)]
    pub no_init: bool,
}

/// Everything envd needs to run.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub dev: bool,
    /// Overrides the default user's home (development mode only).
    pub home_override: Option<PathBuf>,
    pub run_as_init: bool,
    /// envd's own `PATH`, handed to every process it starts.
    pub path_env: String,
    /// Filter for logs, from `RUST_LOG` (default `info`).
    pub log_filter: String,
}

impl Config {
    pub fn from_args(args: Args) -> anyhow::Result<Config> {
        let default_ip = if args.dev { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        let home_override = match args.root {
            Some(root) => {
                let root = std::fs::canonicalize(&root)
                    .with_context(|| format!("--root {} is not an existing directory", root.display()))?;
                if !root.is_dir() {
                    bail!("--root {} is not a directory", root.display());
                }
                Some(root)
            }
            None => None,
        };
        let is_pid1 = std::process::id() == 1;
        let run_as_init = !args.dev && !args.no_init && (args.init || is_pid1);
        Ok(Config {
            listen: SocketAddr::new(args.listen.unwrap_or(default_ip), args.port),
            dev: args.dev,
            home_override,
            run_as_init,
            path_env: read_env("PATH")
                .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned()),
            log_filter: read_env("RUST_LOG").unwrap_or_else(|| "info".to_owned()),
        })
    }
}

#[expect(clippy::disallowed_methods, reason = "config.rs is the one place that reads the environment")]
fn read_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Config {
    /// A development-mode config listening on `listen`, for tests and benchmarks.
    pub fn for_dev(listen: SocketAddr, root: Option<PathBuf>) -> anyhow::Result<Config> {
        let mut config = Config::from_args(Args {
            port: listen.port(),
            dev: true,
            root,
            listen: Some(listen.ip()),
            init: false,
            no_init: false,
        })?;
        config.listen = listen;
        Ok(config)
    }
}
