//! `keelctl plugins ...` and `keelctl status`: the registry's API through keel.

use std::io::Write;
use std::time::{Duration, Instant};

use awc::http::Method;
use serde_json::{json, Value};

use crate::api::Api;
use crate::args::{Output, PluginsAction};
use crate::error::CliError;
use crate::output;

const COLUMNS: &[(&str, &str)] =
    &[("ID", "id"), ("STATUS", "status"), ("VERSION", "version"), ("REGISTERED", "registered_at")];

/// All plugins, following the registry's pages.
async fn all(api: &Api) -> Result<Vec<Value>, CliError> {
    let mut items = Vec::new();
    let mut offset = 0usize;
    loop {
        let page =
            api.call(Method::GET, "plugins", &format!("v1/plugins?limit=500&offset={offset}"), None).await?;
        let batch = page.get("plugins").and_then(Value::as_array).cloned().unwrap_or_default();
        let got = batch.len();
        items.extend(batch);
        let total = page.get("total").and_then(Value::as_u64).unwrap_or(items.len() as u64) as usize;
        offset += got;
        if got == 0 || items.len() >= total {
            return Ok(items);
        }
    }
}

pub async fn run(api: &Api, format: Output, action: PluginsAction) -> Result<(), CliError> {
    match action {
        PluginsAction::List => output::list(format, &all(api).await?, COLUMNS),
        PluginsAction::Get { id } => {
            let rec = api.call(Method::GET, "plugins", &format!("v1/plugins/{id}"), None).await?;
            output::record(format, rec.get("plugin").unwrap_or(&rec));
        }
        PluginsAction::Register { id, secret_stdin, wait } => {
            let mut body = json!({ "id": id });
            if secret_stdin {
                body["secret"] = Value::String(super::read_stdin_line("secret")?);
            }
            eprint!("registering {id} ...");
            let rec = api
                .call(Method::POST, "plugins", "v1/plugins", Some(&body))
                .await
                .inspect_err(|_| eprintln!())?;
            eprintln!(" registered");
            let rec = wait_active(api, &id, Duration::from_secs(wait), rec).await?;
            output::record(format, rec.get("plugin").unwrap_or(&rec));
        }
        PluginsAction::Unregister { id, force } => {
            let path = if force { format!("v1/plugins/{id}?force=true") } else { format!("v1/plugins/{id}") };
            api.call(Method::DELETE, "plugins", &path, None).await?;
            eprintln!("unregistered {id}");
        }
    }
    Ok(())
}

/// Polls the record until its status is ACTIVE, printing progress, or fails after `limit`.
async fn wait_active(api: &Api, id: &str, limit: Duration, mut rec: Value) -> Result<Value, CliError> {
    let started = Instant::now();
    loop {
        let status =
            rec.get("plugin").unwrap_or(&rec).get("status").and_then(Value::as_str).unwrap_or("").to_owned();
        if status == "ACTIVE" {
            eprintln!("{id} is ACTIVE");
            return Ok(rec);
        }
        if started.elapsed() >= limit {
            return Err(CliError::WaitTimedOut(format!(
                "{id} is registered but still {status} after {}s",
                limit.as_secs()
            )));
        }
        eprint!("\r{id} is {status}, waiting ({}s) ", started.elapsed().as_secs());
        let _ = std::io::stderr().flush();
        tokio::time::sleep(Duration::from_millis(500)).await;
        rec = api.call(Method::GET, "plugins", &format!("v1/plugins/{id}"), None).await?;
    }
}

pub async fn status(api: &Api, format: Output) -> Result<(), CliError> {
    let items = all(api).await?;
    output::list(
        format,
        &items,
        &[
            ("ID", "id"),
            ("STATUS", "status"),
            ("LAST CHECK", "last_checked_at"),
            ("LAST ERROR", "last_error"),
        ],
    );
    Ok(())
}
