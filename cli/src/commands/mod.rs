//! One function per command; [`run`] dispatches.

mod admin;
mod console;
mod hosting;
mod login;
mod plugins;

use std::time::Duration;

use crate::api::Api;
use crate::args::{Cli, Command, KeelUrl, PluginsAction};
use crate::credentials;
use crate::error::CliError;
use crate::{check, scaffold};

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    let timeout = Duration::from_secs(cli.timeout.max(1));
    match cli.command {
        Command::Login { username, tenant, password_stdin } => {
            login::login(&cli.url, timeout, &username, tenant.as_deref(), password_stdin).await
        }
        Command::Logout => credentials::remove(),
        Command::Token => {
            println!("{}", credentials::load()?.access_token);
            Ok(())
        }
        // Checking or writing a plugin needs no login: neither talks to the platform.
        Command::Plugins { action: PluginsAction::Check { target, app_id, app_token, strict } } => {
            let target = check::parse_target(&target)?;
            let app_id = match (&target, app_id) {
                (check::Target::AppId(id), None) => Some(id.clone()),
                (check::Target::AppId(id), Some(other)) if *id != other => {
                    return Err(CliError::Usage(format!(
                        "--app-id {other} differs from the app-id checked, {id}"
                    )))
                }
                (_, app_id) => app_id,
            };
            check::run(check::Options { target, app_id, strict }, cli.output, app_token).await
        }
        Command::Plugins {
            action: PluginsAction::New { id, lang, dir, sdk_path, app_port, dapr_http_port },
        } => {
            scaffold::run(scaffold::Options { id, lang, dir, sdk_path, app_port, dapr_http_port }, cli.output)
        }
        Command::Plugins { action } => plugins::run(&authed(&cli.url, timeout)?, cli.output, action).await,
        Command::Status => plugins::status(&authed(&cli.url, timeout)?, cli.output).await,
        Command::Console { kind } => console::list(&authed(&cli.url, timeout)?, cli.output, kind).await,
        Command::Hosting { action } => {
            // --follow streams for as long as the user wants: no time limit on the whole answer.
            let timeout = if matches!(action, crate::args::HostingAction::Logs { follow: true, .. }) {
                Duration::from_secs(u32::MAX.into())
            } else {
                timeout
            };
            hosting::run(&authed(&cli.url, timeout)?, cli.output, action).await
        }
        Command::Users { action } => {
            admin::run(&authed(&cli.url, timeout)?, cli.output, admin::Kind::Users, action).await
        }
        Command::Tenants { action } => {
            admin::run(&authed(&cli.url, timeout)?, cli.output, admin::Kind::Tenants, action).await
        }
        Command::Roles { action } => {
            admin::run(&authed(&cli.url, timeout)?, cli.output, admin::Kind::Roles, action).await
        }
    }
}

/// A client carrying the stored token; `--url`/`KEEL_URL` wins over the URL stored at login.
fn authed(url: &KeelUrl, timeout: Duration) -> Result<Api, CliError> {
    let creds = credentials::load()?;
    Ok(Api::new(url, Some(creds.access_token), timeout))
}

/// Reads one line from standard input (a password or a secret), without its newline.
fn read_stdin_line(what: &str) -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|source| CliError::Io { what: format!("read the {what} from standard input"), source })?;
    let value = line.trim_end_matches(['\n', '\r']).to_owned();
    if value.is_empty() {
        return Err(CliError::Usage(format!("the {what} read from standard input is empty")));
    }
    Ok(value)
}
