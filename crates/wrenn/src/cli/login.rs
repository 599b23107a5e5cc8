//! `wrenn login`: checks a server URL and API key against the server, then
//! saves them as a profile and makes it the current one. The key comes
//! from `--api-key`, `WRENN_API_KEY`, or stdin (prompted without echo on a
//! terminal), so it need not appear in shell history. Ctrl-C at the prompt
//! turns echo back on and exits with 130.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use wrenn_client::Client;

use crate::cli::CliError;
use crate::cli::context::{ClientArgs, env_setting, login_base_url};
use crate::cli::profile::{DEFAULT_PROFILE, Profile, Profiles};
use crate::cli::terminal::{INTERRUPTED, TerminalMode, next_signal};

pub(crate) async fn run(args: &ClientArgs) -> Result<ExitCode, CliError> {
    let path = Profiles::path()?;
    let mut profiles = Profiles::load(&path)?;
    let base_url = login_base_url(args, &profiles);
    // A new login takes a new key: never one from a saved profile.
    let api_key = match args.api_key.clone().or_else(|| env_setting("WRENN_API_KEY")) {
        Some(key) => key,
        None => read_key().await?,
    };
    let client = Client::builder().base_url(&base_url).api_key(&api_key).build()?;
    let capsules = client.capsules().list().await?;
    let name = args.profile.clone().unwrap_or_else(|| DEFAULT_PROFILE.to_owned());
    profiles.profiles.insert(name.clone(), Profile { base_url: base_url.clone(), api_key: api_key.trim().to_owned() });
    profiles.current = Some(name.clone());
    profiles.save(&path)?;
    let out = crate::cli::output::Output::new(args.json);
    if out.is_json() {
        out.json(
            &serde_json::json!({ "profile": name, "base_url": base_url, "config": path, "capsules": capsules.len() }),
        )
    } else {
        out.line(&format!(
            "Logged in to {base_url} as profile {name:?} ({} capsules). Saved to {}.",
            capsules.len(),
            path.display()
        ))
    }?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the key from stdin; on a terminal, asks for it without echo.
async fn read_key() -> Result<String, CliError> {
    let line = if std::io::stdin().is_terminal() { prompt_for_key().await? } else { read_line()? };
    let key = line.trim().to_owned();
    if key.is_empty() {
        return Err(
            CliError::usage("no API key given").hint("pass --api-key, set WRENN_API_KEY, or pipe the key to stdin")
        );
    }
    Ok(key)
}

fn read_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|err| CliError::new(format!("cannot read the API key from stdin: {err}")))?;
    Ok(line)
}

/// Asks for the key on the terminal with echo off. The line is read on a
/// plain thread (a blocked read cannot be cancelled, and the exit must not
/// wait for it) while Ctrl-C is watched: it puts echo back and exits with
/// 130, as the default action would have, minus the silent terminal.
async fn prompt_for_key() -> Result<String, CliError> {
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "API key: ");
    let _ = stderr.flush();
    let mut interrupts = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok();
    // Without echo control the key still reads, only visibly.
    let quiet = TerminalMode::without_echo().ok();
    let (sender, answer) = tokio::sync::oneshot::channel();
    let reader = move || drop(sender.send(read_line()));
    std::thread::Builder::new()
        .name("api-key".to_owned())
        .spawn(reader)
        .map_err(|err| CliError::new(format!("cannot read the API key: {err}")))?;
    let read = tokio::select! {
        read = answer => read,
        () = next_signal(&mut interrupts) => {
            drop(quiet);
            let _ = writeln!(stderr);
            std::process::exit(i32::from(INTERRUPTED));
        }
    };
    drop(quiet);
    let _ = writeln!(stderr);
    // The handler stays installed for the process: Ctrl-C keeps ending
    // the command, as it did before.
    tokio::spawn(async move {
        next_signal(&mut interrupts).await;
        std::process::exit(i32::from(INTERRUPTED));
    });
    read.map_err(|_| CliError::new("cannot read the API key: the reader stopped"))?
}
