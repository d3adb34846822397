//! `keelctl users|tenants|roles ...`: auth's management API through keel, read as
//! [`keel_sdk::management::auth`]'s records.

use awc::http::Method;
use keel_sdk::management::auth::{
    CreatedTenant, RoleList, RoleView, TenantList, TenantView, UserList, UserView,
};
use keel_sdk::protocol::AUTH_APP_ID;
use serde_json::Value;

use crate::api::{Api, Done, Request};
use crate::args::{AdminAction, Output};
use crate::error::CliError;
use crate::output::{self, joined, now_ms, or_dash, time_secs};

/// What is managed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Tenants,
    Roles,
}

impl Kind {
    /// The collection's path segment, also the word used in messages.
    fn segment(self) -> &'static str {
        match self {
            Self::Users => "users",
            Self::Tenants => "tenants",
            Self::Roles => "roles",
        }
    }

    /// One of them, in messages.
    fn one(self) -> &'static str {
        match self {
            Self::Users => "user",
            Self::Tenants => "tenant",
            Self::Roles => "role",
        }
    }
}

pub async fn run(api: &Api, format: Output, kind: Kind, action: AdminAction) -> Result<(), CliError> {
    let base = kind.segment();
    match action {
        AdminAction::List => {
            let req = Request::get(AUTH_APP_ID, &["v1", base]);
            match kind {
                Kind::Users => {
                    let list: UserList = api.send(req).await?;
                    output::list(format, &list.users, USER_HEADERS, user_row);
                }
                Kind::Tenants => {
                    let list: TenantList = api.send(req).await?;
                    output::list(format, &list.tenants, TENANT_HEADERS, tenant_row);
                }
                Kind::Roles => {
                    let list: RoleList = api.send(req).await?;
                    output::list(format, &list.roles, ROLE_HEADERS, role_row);
                }
            }
        }
        AdminAction::Get { id } => {
            let req = Request::get(AUTH_APP_ID, &["v1", base, &id]);
            match kind {
                Kind::Users => output::record(format, &api.send::<UserView>(req).await?, user_fields),
                Kind::Tenants => output::record(format, &api.send::<TenantView>(req).await?, tenant_fields),
                Kind::Roles => output::record(format, &api.send::<RoleView>(req).await?, role_fields),
            }
        }
        AdminAction::Create { json } => {
            let text = if json == "-" { super::read_stdin_line("JSON document")? } else { json };
            // Sent as written: auth checks the fields (and names an unknown one), so a newer
            // auth's fields work with this keelctl.
            let doc: Value = serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("the {} document is not JSON: {e}", kind.one())))?;
            let req = Request::new(Method::POST, AUTH_APP_ID, &["v1", base]).json(&doc);
            match kind {
                Kind::Users => output::record(format, &api.send::<UserView>(req).await?, user_fields),
                Kind::Tenants => {
                    let created: CreatedTenant = api.send(req).await?;
                    output::record(format, &created, |c| {
                        let mut f = tenant_fields(&c.tenant);
                        f.push(("first admin", or_dash(c.admin.as_deref().unwrap_or(""))));
                        f
                    })
                }
                Kind::Roles => output::record(format, &api.send::<RoleView>(req).await?, role_fields),
            }
        }
        AdminAction::Delete { id } => {
            api.send::<Done>(Request::new(Method::DELETE, AUTH_APP_ID, &["v1", base, &id])).await?;
            eprintln!("deleted {} {id}", kind.one());
        }
    }
    Ok(())
}

// === what is printed ===

const USER_HEADERS: &[&str] = &["NAME", "TENANT", "ROLES", "DISABLED"];

fn user_row(u: &UserView) -> Vec<String> {
    vec![u.username.clone(), u.tenant.clone(), joined(&u.roles), yes_no(u.disabled)]
}

fn user_fields(u: &UserView) -> Vec<(&'static str, String)> {
    vec![
        ("name", u.username.clone()),
        ("tenant", u.tenant.clone()),
        ("roles", joined(&u.roles)),
        ("disabled", yes_no(u.disabled)),
        ("created", time_secs(u.created_at, now_ms())),
        ("updated", time_secs(u.updated_at, now_ms())),
    ]
}

const TENANT_HEADERS: &[&str] = &["ID", "NAME"];

fn tenant_row(t: &TenantView) -> Vec<String> {
    vec![t.id.clone(), or_dash(&t.name)]
}

fn tenant_fields(t: &TenantView) -> Vec<(&'static str, String)> {
    vec![("id", t.id.clone()), ("name", or_dash(&t.name)), ("created", time_secs(t.created_at, now_ms()))]
}

const ROLE_HEADERS: &[&str] = &["NAME", "TENANT", "PLUGINS", "BUILT-IN"];

fn role_row(r: &RoleView) -> Vec<String> {
    vec![r.name.clone(), r.tenant.clone(), joined(&r.plugins), yes_no(r.built_in)]
}

fn role_fields(r: &RoleView) -> Vec<(&'static str, String)> {
    vec![
        ("name", r.name.clone()),
        ("tenant", r.tenant.clone()),
        ("description", or_dash(&r.desc)),
        ("plugins", joined(&r.plugins)),
        ("built-in", yes_no(r.built_in)),
    ]
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}
