//! `/v1/users[?tenant=]`: a tenant's users, managed by its admins (the super-admin may name any
//! tenant with `?tenant=`). Answers never contain a password or a hash.

use actix_web::{web, HttpResponse};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::service::snippet;
use keel_sdk::tokens::{now_secs, roles, Identity, PLATFORM_TENANT};
use serde::{Deserialize, Serialize};

use super::caller::{target_tenant, Caller};
use super::TenantQuery;
use crate::directory::{self, user_not_found};
use crate::error::AuthError;
use crate::model::{check_username, TenantRecord, UserRecord, UserView};
use crate::passwords::check_new_password;
use crate::state::AuthState;
use crate::store::Store;

/// Body of `POST /v1/users`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    password: String,
    /// Default: `["user"]`.
    roles: Option<Vec<String>>,
}

/// Body of `PATCH /v1/users/{name}`: any of the fields.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    roles: Option<Vec<String>>,
    /// An admin's password reset.
    password: Option<String>,
    disabled: Option<bool>,
}

/// Answer of `GET /v1/users`.
#[derive(Debug, Serialize)]
pub struct UserList {
    pub users: Vec<UserView>,
}

/// `GET /v1/users`: the tenant's users.
pub async fn list(
    caller: Caller,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target_tenant(caller.person()?, q.tenant.as_deref())?;
    let users = directory::users(&store, &tenant).await?.value;
    let users = users.users.values().map(|u| UserView::of(&tenant, u)).collect();
    Ok(HttpResponse::Ok().json(Reply::ok(UserList { users })))
}

/// `POST /v1/users`: `{"username", "password", "roles"?}`.
pub async fn create(
    caller: Caller,
    q: web::Query<TenantQuery>,
    body: web::Json<NewUser>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target_tenant(me, q.tenant.as_deref())?;
    let NewUser { username, password, roles } = body.into_inner();
    check_username(&username)?;
    check_new_password(&password, state.cfg.min_password_length)?;
    let roles = roles.unwrap_or_else(|| vec![roles::USER.to_owned()]);
    let now = now_secs();
    let user = UserRecord {
        username: username.clone(),
        password_hash: state.hasher.hash(password).await?,
        roles,
        disabled: false,
        created_at: now,
        updated_at: now,
        generation: 0,
    };
    let view = directory::change_users(&store, &tenant, |doc, record| {
        check_roles(me, record, &user.roles)?;
        if doc.users.contains_key(&username) {
            return Err(AuthError::Conflict(format!(
                "user {username:?} already exists in tenant {tenant:?}"
            )));
        }
        doc.users.insert(username.clone(), user.clone());
        Ok(UserView::of(&tenant, &user))
    })
    .await?;
    tracing::info!(user = %username, tenant = %tenant, by = %me.sub, "Created a user");
    Ok(HttpResponse::Created().json(Reply::ok(view)))
}

/// `GET /v1/users/{name}`.
pub async fn get(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target_tenant(caller.person()?, q.tenant.as_deref())?;
    let users = directory::users(&store, &tenant).await?.value;
    let user = users.users.get(name.as_str()).ok_or_else(|| user_not_found(&tenant, &name))?;
    Ok(HttpResponse::Ok().json(Reply::ok(UserView::of(&tenant, user))))
}

/// `PATCH /v1/users/{name}`: `{"roles"?, "password"?, "disabled"?}`. A new password or disabling
/// ends the user's refresh tokens.
pub async fn update(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    body: web::Json<UserChange>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target_tenant(me, q.tenant.as_deref())?;
    let change = body.into_inner();
    let myself = me.tenant == tenant && me.sub == *name;
    if myself && change.disabled == Some(true) {
        return Err(AuthError::Conflict("you cannot disable yourself".into()));
    }
    let hash = match &change.password {
        Some(p) => {
            check_new_password(p, state.cfg.min_password_length)?;
            Some(state.hasher.hash(p.clone()).await?)
        }
        None => None,
    };
    let now = now_secs();
    let view = directory::change_users(&store, &tenant, |doc, record| {
        let user = doc.users.get_mut(name.as_str()).ok_or_else(|| user_not_found(&tenant, &name))?;
        if let Some(roles) = &change.roles {
            check_roles(me, record, roles)?;
            let keeps_power = |r: &str| !user.roles.iter().any(|x| x == r) || roles.iter().any(|x| x == r);
            if myself && !(keeps_power(roles::ADMIN) && keeps_power(roles::SUPER_ADMIN)) {
                return Err(AuthError::Conflict("you cannot take away your own admin roles".into()));
            }
            user.roles = roles.clone();
        }
        if let Some(hash) = &hash {
            user.password_hash = hash.clone();
            user.generation += 1;
        }
        if let Some(disabled) = change.disabled {
            if disabled && !user.disabled {
                user.generation += 1;
            }
            user.disabled = disabled;
        }
        user.updated_at = now;
        Ok(UserView::of(&tenant, user))
    })
    .await?;
    tracing::info!(user = %name, tenant = %tenant, by = %me.sub, password_reset = hash.is_some(), "Changed a user");
    Ok(HttpResponse::Ok().json(Reply::ok(view)))
}

/// `DELETE /v1/users/{name}`. Nobody deletes themselves (the last admin would lock the tenant).
pub async fn delete(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target_tenant(me, q.tenant.as_deref())?;
    if me.tenant == tenant && me.sub == *name {
        return Err(AuthError::Conflict("you cannot delete yourself".into()));
    }
    directory::change_users(&store, &tenant, |doc, _| {
        doc.users.remove(name.as_str()).map(|_| ()).ok_or_else(|| user_not_found(&tenant, &name))
    })
    .await?;
    tracing::info!(user = %name, tenant = %tenant, by = %me.sub, "Deleted a user");
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}

/// Roles a user of `record` may be given by `me`: the tenant's roles, except `client` (only
/// client tokens carry it); `super-admin` only in the platform tenant and only by the super-admin.
fn check_roles(me: &Identity, record: &TenantRecord, wanted: &[String]) -> Result<(), AuthError> {
    for role in wanted {
        let allowed = match role.as_str() {
            roles::SUPER_ADMIN => record.id == PLATFORM_TENANT && me.is_super_admin(),
            roles::CLIENT => false,
            other => record.roles.contains_key(other),
        };
        if !allowed {
            return Err(AuthError::Invalid(format!(
                "role {:?} cannot be given in tenant {:?} (create it first with POST /v1/roles)",
                snippet(role.as_bytes()),
                record.id
            )));
        }
    }
    Ok(())
}
