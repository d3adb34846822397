//! `keelctl plugins ...` and `keelctl status`: the registry's API through keel, read as
//! [`keel_sdk::management::registry`]'s records.

use std::io::Write;
use std::time::{Duration, Instant};

use awc::http::Method;
use keel_sdk::management::registry::{ListQuery, Listing, PluginView, Registration, UnregisterQuery};
use keel_sdk::protocol::errors::Code;
use keel_sdk::protocol::REGISTRY_APP_ID;

use crate::api::{Api, Request};
use crate::args::{Output, PluginsAction};
use crate::error::CliError;
use crate::output::{self, age, joined, now_ms, or_dash};

/// Page size used to read every plugin.
const PAGE: usize = 500;

pub async fn run(api: &Api, format: Output, action: PluginsAction) -> Result<(), CliError> {
    match action {
        PluginsAction::List => output::list(format, &all(api).await?, LIST_HEADERS, list_row),
        PluginsAction::Get { id } => {
            let view = get(api, &id).await.map_err(|e| {
                e.advise(Code::UnknownPlugin, "keelctl plugins list", || {
                    "`keelctl plugins list` shows the registered plugins".into()
                })
            })?;
            output::record(format, &view, |v| fields(v, now_ms()));
        }
        PluginsAction::Register { id, secret_stdin, wait } => {
            let secret = if secret_stdin { Some(super::read_stdin_line("secret")?) } else { None };
            eprint!("registering {id} ...");
            let req = Request::new(Method::POST, REGISTRY_APP_ID, &["v1", "plugins"])
                .json(&Registration { id: id.clone(), secret });
            let view: PluginView = api.send(req).await.inspect_err(|_| eprintln!())?;
            eprintln!(" registered");
            let view =
                if wait == 0 { view } else { wait_active(api, &id, Duration::from_secs(wait), view).await? };
            output::record(format, &view, |v| fields(v, now_ms()));
        }
        PluginsAction::Unregister { id, force } => {
            let req = Request::new(Method::DELETE, REGISTRY_APP_ID, &["v1", "plugins", &id])
                .query(&UnregisterQuery { force });
            api.send::<PluginView>(req).await.map_err(|e| {
                e.advise(Code::InUse, "--force", || {
                    format!("`keelctl plugins unregister {id} --force` unregisters it anyway and removes those implementations")
                })
            })?;
            eprintln!("unregistered {id}");
        }
        // Dispatched before logging in (`commands::run`): it talks to the plugin only.
        PluginsAction::Check { .. } | PluginsAction::New { .. } => {
            unreachable!("plugin check and plugin new need no login and run before")
        }
    }
    Ok(())
}

/// `keelctl status`: one line per plugin with its status, last check and current error.
pub async fn status(api: &Api, format: Output) -> Result<(), CliError> {
    let now = now_ms();
    output::list(format, &all(api).await?, STATUS_HEADERS, |p| status_row(p, now));
    Ok(())
}

/// One plugin's record.
async fn get(api: &Api, id: &str) -> Result<PluginView, CliError> {
    api.send(Request::get(REGISTRY_APP_ID, &["v1", "plugins", id])).await
}

/// All plugins, following the registry's cursor page by page.
async fn all(api: &Api) -> Result<Vec<PluginView>, CliError> {
    let mut plugins = Vec::new();
    let mut query = ListQuery { limit: Some(PAGE), ..ListQuery::default() };
    loop {
        let page: Listing = api.send(Request::get(REGISTRY_APP_ID, &["v1", "plugins"]).query(&query)).await?;
        let got = page.plugins.len();
        plugins.extend(page.plugins);
        match page.next_after {
            Some(after) if got > 0 && plugins.len() < page.total => query.after = Some(after),
            _ => return Ok(plugins),
        }
    }
}

/// Polls the record until its status is ACTIVE, printing progress, or fails after `limit`.
async fn wait_active(
    api: &Api,
    id: &str,
    limit: Duration,
    mut view: PluginView,
) -> Result<PluginView, CliError> {
    let started = Instant::now();
    loop {
        if view.status.is_active() {
            eprintln!("{id} is ACTIVE");
            return Ok(view);
        }
        if started.elapsed() >= limit {
            let why = view.current_error().map(|e| format!(" (latest check: {e})")).unwrap_or_default();
            return Err(CliError::WaitTimedOut(format!(
                "{id} is registered but still {} after {}s{why}; `keelctl status` shows how it goes",
                view.status,
                limit.as_secs()
            )));
        }
        eprint!("\r{id} is {}, waiting ({}s) ", view.status, started.elapsed().as_secs());
        let _ = std::io::stderr().flush();
        tokio::time::sleep(Duration::from_millis(500)).await;
        view = get(api, id).await?;
    }
}

// === what is printed ===

const LIST_HEADERS: &[&str] = &["ID", "STATUS", "VERSION", "REGISTERED", "KIND"];

fn list_row(p: &PluginView) -> Vec<String> {
    vec![p.id.clone(), p.status.to_string(), p.version.clone(), or_dash(&p.registered_at), kind(p)]
}

/// How it joined: `plugin` (pull registration) or `pushed` (it registered itself).
fn kind(p: &PluginView) -> String {
    if p.kind.is_plugin() { "plugin" } else { "pushed" }.to_owned()
}

const STATUS_HEADERS: &[&str] = &["ID", "STATUS", "LAST CHECK", "LAST ERROR", "KIND"];

/// A `status` line. The error of the latest check, if it failed, with its age and how many checks
/// in a row failed; `-` when it answered (see `keelctl status --help`).
fn status_row(p: &PluginView, now: u64) -> Vec<String> {
    vec![p.id.clone(), p.status.to_string(), age(p.last_check_ms(), now), last_error(p, now), kind(p)]
}

/// The latest check's failure, as `4s ago (2 in a row): <error>`, or `-`.
fn last_error(p: &PluginView, now: u64) -> String {
    match p.current_error() {
        Some(error) => {
            let streak = match p.consecutive_failures {
                0 | 1 => String::new(),
                n => format!(" ({n} in a row)"),
            };
            format!("{}{streak}: {error}", age(p.last_checked_ms, now))
        }
        None => "-".to_owned(),
    }
}

/// A record as `field  value` lines.
fn fields(p: &PluginView, now: u64) -> Vec<(&'static str, String)> {
    let when =
        |at: &str, ms: u64| if at.is_empty() { "-".to_owned() } else { format!("{at} ({})", age(ms, now)) };
    let addons: Vec<String> = p
        .addons
        .iter()
        .map(|a| match &a.implemented_by {
            Some(t) => format!("{} (implemented by {} at {})", a.point, t.plugin, t.endpoint),
            None => format!("{} (not implemented)", a.point),
        })
        .collect();
    let implements: Vec<String> =
        p.implements.iter().map(|i| format!("{}'s {} at {}", i.plugin, i.point, i.endpoint)).collect();
    // A check recorded before the registration belongs to an earlier one; the registration checked.
    let last_check = if p.last_checked_ms >= p.registered_at_ms {
        when(&p.last_checked_at, p.last_checked_ms)
    } else {
        format!("{} (at registration)", when(&p.registered_at, p.registered_at_ms))
    };
    vec![
        ("id", p.id.clone()),
        ("status", p.status.to_string()),
        ("version", p.version.clone()),
        ("keel version", or_dash(p.keel_version.as_deref().unwrap_or(""))),
        ("core service", if p.core { "yes" } else { "no" }.to_owned()),
        ("registered", when(&p.registered_at, p.registered_at_ms)),
        ("last check", last_check),
        ("last error", last_error(p, now)),
        ("addon points", or_dash(addons.join(", "))),
        ("implements", or_dash(implements.join(", "))),
        ("public endpoints", joined(&p.public_endpoints)),
        ("timeout", p.timeout_ms.map(|t| format!("{t} ms")).unwrap_or_else(|| "keel's default".to_owned())),
    ]
}

#[cfg(test)]
mod tests;
