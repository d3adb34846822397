//! `/v1/users[?tenant=]`: a tenant's users, managed by its admins (platform scope may name any
//! tenant with `?tenant=`); nobody changes a user of wider scope than their own
//! ([`crate::authorize`]). Answers never contain a password or a hash.

use actix_web::{web, HttpResponse};
use keel_sdk::access::Permission;
use keel_sdk::management::auth::{NewUser, TenantQuery, UserChange, UserList};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::tokens::{now_secs, roles, Identity};

use super::caller::Caller;
use crate::authorize::{may_assign_roles, may_change_user};
use crate::directory::{self, user_not_found};
use crate::error::AuthError;
use crate::model::{check_username, user_view, UserRecord};
use crate::passwords::check_new_password;
use crate::state::AuthState;
use crate::store::Store;

/// `GET /v1/users`: the tenant's users.
pub async fn list(
    caller: Caller,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target(caller.person()?, q.tenant.as_deref())?;
    let users = directory::users(&store, &tenant).await?.value;
    let users = users.users.values().map(|u| user_view(&tenant, u)).collect();
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
    let tenant = target(me, q.tenant.as_deref())?;
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
        may_assign_roles(me, record, &user.roles)?;
        if doc.users.contains_key(&username) {
            return Err(AuthError::Conflict(format!(
                "user {username:?} already exists in tenant {tenant:?}"
            )));
        }
        doc.users.insert(username.clone(), user.clone());
        Ok(user_view(&tenant, &user))
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
    let tenant = target(caller.person()?, q.tenant.as_deref())?;
    let users = directory::users(&store, &tenant).await?.value;
    let user = users.users.get(name.as_str()).ok_or_else(|| user_not_found(&tenant, &name))?;
    Ok(HttpResponse::Ok().json(Reply::ok(user_view(&tenant, user))))
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
    let tenant = target(me, q.tenant.as_deref())?;
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
        may_change_user(me, record, &user.username, &user.roles)?;
        if let Some(roles) = &change.roles {
            may_assign_roles(me, record, roles)?;
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
        Ok(user_view(&tenant, user))
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
    let tenant = target(me, q.tenant.as_deref())?;
    if me.tenant == tenant && me.sub == *name {
        return Err(AuthError::Conflict("you cannot delete yourself".into()));
    }
    directory::change_users(&store, &tenant, |doc, record| {
        let user = doc.users.get(name.as_str()).ok_or_else(|| user_not_found(&tenant, &name))?;
        may_change_user(me, record, &user.username, &user.roles)?;
        doc.users.remove(name.as_str());
        Ok(())
    })
    .await?;
    tracing::info!(user = %name, tenant = %tenant, by = %me.sub, "Deleted a user");
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}

/// The tenant whose users the request manages, once `me` may.
fn target(me: &Identity, asked: Option<&str>) -> Result<String, AuthError> {
    crate::authorize::target_tenant(me, asked, |tenant| Permission::ManageUsers { tenant })
}
