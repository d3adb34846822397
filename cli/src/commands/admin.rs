//! `keelctl users|tenants|roles ...`: auth's management API through keel.

use awc::http::Method;
use serde_json::Value;

use crate::api::Api;
use crate::args::{AdminAction, Output};
use crate::error::CliError;
use crate::output;

pub async fn run(api: &Api, format: Output, kind: &str, action: AdminAction) -> Result<(), CliError> {
    let base = format!("v1/{kind}");
    match action {
        AdminAction::List => {
            let answer = api.call(Method::GET, "auth", &base, None).await?;
            let items = answer.get(kind).and_then(Value::as_array).cloned().unwrap_or_default();
            let columns: &[(&str, &str)] = match kind {
                "users" => &[("NAME", "username"), ("TENANT", "tenant"), ("ROLES", "roles")],
                "roles" => &[("NAME", "name"), ("TENANT", "tenant"), ("PLUGINS", "plugins")],
                _ => &[("ID", "id"), ("NAME", "name")],
            };
            output::list(format, &items, columns);
        }
        AdminAction::Get { id } => {
            output::record(format, &api.call(Method::GET, "auth", &format!("{base}/{id}"), None).await?)
        }
        AdminAction::Create { json } => {
            let text = if json == "-" { super::read_stdin_line("JSON document")? } else { json };
            let doc: Value =
                serde_json::from_str(&text).map_err(|e| CliError::Usage(format!("not JSON: {e}")))?;
            output::record(format, &api.call(Method::POST, "auth", &base, Some(&doc)).await?);
        }
        AdminAction::Delete { id } => {
            api.call(Method::DELETE, "auth", &format!("{base}/{id}"), None).await?;
            eprintln!("deleted {kind} {id}");
        }
    }
    Ok(())
}
