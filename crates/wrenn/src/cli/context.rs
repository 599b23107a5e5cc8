//! What every client command starts from: which server, which key, how to
//! print. Settings are taken field by field in this order: the flag, the
//! profile named with `--profile`, the environment (`WRENN_BASE_URL`,
//! `WRENN_API_KEY`, as the Python SDK reads them), the current profile,
//! and the default URL of `wrenn up`.

use clap::Args;
use wrenn_client::Client;

use crate::cli::CliError;
use crate::cli::output::Output;
use crate::cli::profile::{Profile, Profiles};

/// The flags every client command shares.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection and output")]
pub(crate) struct ClientArgs {
    /// Use this saved profile (see `wrenn login`).
    #[arg(long, global = true, env = "WRENN_PROFILE")]
    pub(crate) profile: Option<String>,
    /// The server's URL [default: the profile's, WRENN_BASE_URL, or http://127.0.0.1:8080].
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) base_url: Option<String>,
    /// The API key [default: the profile's or WRENN_API_KEY].
    #[arg(long, global = true, value_name = "KEY", hide_env_values = true)]
    pub(crate) api_key: Option<String>,
    /// Print JSON for scripts instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// A client and an output, resolved from flags, profiles and environment.
#[derive(Debug)]
pub(crate) struct Context {
    pub(crate) client: Client,
    pub(crate) out: Output,
}

/// Where the connection settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    pub(crate) base_url: String,
    pub(crate) api_key: Option<String>,
}

impl Context {
    pub(crate) fn new(args: &ClientArgs) -> Result<Context, CliError> {
        let profiles = Profiles::load(&Profiles::path()?)?;
        let named = profiles.select(args.profile.as_deref())?.map(|(_, profile)| profile.clone());
        let current = if args.profile.is_some() { None } else { named.clone() };
        let explicit = if args.profile.is_some() { named } else { None };
        let resolved = resolve(
            args,
            explicit.as_ref(),
            env_setting("WRENN_BASE_URL"),
            env_setting("WRENN_API_KEY"),
            current.as_ref(),
        );
        let Some(api_key) = resolved.api_key else {
            return Err(CliError::new("no API key").hint("run `wrenn login`, or set WRENN_API_KEY, or pass --api-key"));
        };
        let client = Client::builder().base_url(resolved.base_url).api_key(api_key).build()?;
        Ok(Context { client, out: Output::new(args.json) })
    }
}

/// A `WRENN_*` setting from the environment; empty counts as unset. The
/// CLI reads its environment here only.
#[allow(clippy::disallowed_methods, reason = "the CLI's settings are read in this module")]
pub(crate) fn env_setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.trim().is_empty())
}

/// The base URL `wrenn login` checks and saves: the flag, the profile
/// being (re)written, the environment, then `wrenn up`'s default.
pub(crate) fn login_base_url(args: &ClientArgs, profiles: &Profiles) -> String {
    let saved = args.profile.as_deref().and_then(|name| profiles.profiles.get(name));
    args.base_url
        .clone()
        .or_else(|| saved.map(|profile| profile.base_url.clone()))
        .or_else(|| env_setting("WRENN_BASE_URL"))
        .unwrap_or_else(|| wrenn_client::DEFAULT_BASE_URL.to_owned())
}

/// The pure resolution order (table-tested).
pub(crate) fn resolve(
    args: &ClientArgs,
    explicit_profile: Option<&Profile>,
    env_url: Option<String>,
    env_key: Option<String>,
    current_profile: Option<&Profile>,
) -> Resolved {
    let base_url = args
        .base_url
        .clone()
        .or_else(|| explicit_profile.map(|profile| profile.base_url.clone()))
        .or(env_url)
        .or_else(|| current_profile.map(|profile| profile.base_url.clone()))
        .unwrap_or_else(|| wrenn_client::DEFAULT_BASE_URL.to_owned());
    let api_key = args
        .api_key
        .clone()
        .or_else(|| explicit_profile.map(|profile| profile.api_key.clone()))
        .or(env_key)
        .or_else(|| current_profile.map(|profile| profile.api_key.clone()));
    Resolved { base_url, api_key }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>, key: Option<&str>) -> ClientArgs {
        ClientArgs { profile: None, base_url: url.map(str::to_owned), api_key: key.map(str::to_owned), json: false }
    }

    /// Flags, named profile, environment (url, key), current profile, and
    /// the expected url and key.
    type Case<'a> = (
        ClientArgs,
        Option<&'a Profile>,
        (Option<String>, Option<String>),
        Option<&'a Profile>,
        &'a str,
        Option<&'a str>,
    );

    #[test]
    fn flags_then_named_profile_then_env_then_current_profile() {
        let named = Profile { base_url: "http://named".into(), api_key: "k-named".into() };
        let current = Profile { base_url: "http://current".into(), api_key: "k-current".into() };
        let env = || (Some("http://env".to_owned()), Some("k-env".to_owned()));
        let cases: Vec<Case<'_>> = vec![
            (
                args(Some("http://flag"), Some("k-flag")),
                Some(&named),
                env(),
                Some(&current),
                "http://flag",
                Some("k-flag"),
            ),
            (args(None, None), Some(&named), env(), None, "http://named", Some("k-named")),
            (args(None, None), None, env(), Some(&current), "http://env", Some("k-env")),
            (args(None, None), None, (None, None), Some(&current), "http://current", Some("k-current")),
            (args(Some("http://flag"), None), None, (None, None), Some(&current), "http://flag", Some("k-current")),
            (args(None, None), None, (None, None), None, wrenn_client::DEFAULT_BASE_URL, None),
        ];
        for (args, named, (env_url, env_key), current, url, key) in cases {
            let got = resolve(&args, named, env_url, env_key, current);
            assert_eq!((got.base_url.as_str(), got.api_key.as_deref()), (url, key), "{args:?}");
        }
    }
}
