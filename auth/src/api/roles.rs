//! `/v1/roles[?tenant=]`: a tenant's roles and the plugins each may call (its grants), managed
//! by the tenant's admins; roles of platform scope (platform tenant only) by platform scope only
//! ([`crate::authorize`]). Keel reads the grants from the same stored document.

use actix_web::{web, HttpResponse};
use keel_sdk::access::Permission;
use keel_sdk::management::auth::{NewRole, RoleChange, RoleList, TenantQuery};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::tokens::{now_secs, Identity};

use super::caller::Caller;
use crate::authorize::may_edit_role;
use crate::directory::{self, role_not_found, tenant_not_found};
use crate::error::AuthError;
use crate::model::{
    check_grant_target, check_label, is_built_in_role, keys::TENANTS_KEY, role_view, Directory, RoleRecord,
};
use crate::store::Store;

/// `GET /v1/roles`.
pub async fn list(
    caller: Caller,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target(caller.person()?, q.tenant.as_deref())?;
    let record = directory::tenant(&store, &tenant).await?;
    let roles = record.roles.iter().map(|(n, r)| role_view(&tenant, n, r)).collect();
    Ok(HttpResponse::Ok().json(Reply::ok(RoleList { roles })))
}

/// `POST /v1/roles`: `{"name", "desc"?, "plugins"?}`.
pub async fn create(
    caller: Caller,
    q: web::Query<TenantQuery>,
    body: web::Json<NewRole>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target(me, q.tenant.as_deref())?;
    let NewRole { name, desc, plugins, platform } = body.into_inner();
    check_label("role name", &name)?;
    if is_built_in_role(&name) {
        return Err(AuthError::Conflict(format!("role {name:?} is built in")));
    }
    may_edit_role(me, &tenant, &name, None, platform)?;
    plugins.iter().try_for_each(|p| check_grant_target(p))?;
    let role = RoleRecord { desc, plugins, created_at: now_secs(), platform };
    let view = edit(&store, &tenant, |roles| {
        if roles.contains_key(&name) {
            return Err(AuthError::Conflict(format!("role {name:?} already exists in tenant {tenant:?}")));
        }
        roles.insert(name.clone(), role.clone());
        Ok(role_view(&tenant, &name, &role))
    })
    .await?;
    tracing::info!(role = %name, tenant = %tenant, by = %me.sub, "Created a role");
    Ok(HttpResponse::Created().json(Reply::ok(view)))
}

/// `GET /v1/roles/{name}` (also `GET /v1/roles/{name}/grants`).
pub async fn get(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target(caller.person()?, q.tenant.as_deref())?;
    let record = directory::tenant(&store, &tenant).await?;
    let role = record.roles.get(name.as_str()).ok_or_else(|| role_not_found(&tenant, &name))?;
    Ok(HttpResponse::Ok().json(Reply::ok(role_view(&tenant, &name, role))))
}

/// `PATCH /v1/roles/{name}`: `{"desc"?, "plugins"?}` (`plugins` replaces the grants).
pub async fn update(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    body: web::Json<RoleChange>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target(me, q.tenant.as_deref())?;
    let change = body.into_inner();
    if let Some(plugins) = &change.plugins {
        plugins.iter().try_for_each(|p| check_grant_target(p))?;
    }
    let view = edit(&store, &tenant, |roles| {
        let role = roles.get_mut(name.as_str()).ok_or_else(|| role_not_found(&tenant, &name))?;
        may_edit_role(me, &tenant, &name, Some(role), change.platform == Some(true))?;
        if let Some(platform) = change.platform {
            role.platform = platform;
        }
        if let Some(desc) = &change.desc {
            role.desc = desc.clone();
        }
        if let Some(plugins) = &change.plugins {
            role.plugins = plugins.clone();
        }
        Ok(role_view(&tenant, &name, role))
    })
    .await?;
    tracing::info!(role = %name, tenant = %tenant, by = %me.sub, "Changed a role");
    Ok(HttpResponse::Ok().json(Reply::ok(view)))
}

/// `DELETE /v1/roles/{name}`: built-in roles stay; users holding the role lose it.
pub async fn delete(
    caller: Caller,
    name: web::Path<String>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target(me, q.tenant.as_deref())?;
    if is_built_in_role(&name) {
        return Err(AuthError::Conflict(format!(
            "role {:?} is built in and cannot be deleted",
            name.as_str()
        )));
    }
    directory::delete_role(&store, &tenant, &name, |role| {
        may_edit_role(me, &tenant, &name, Some(role), false)
    })
    .await?;
    tracing::info!(role = %name, tenant = %tenant, by = %me.sub, "Deleted a role");
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}

/// `PUT /v1/roles/{name}/grants/{plugin_id}`: the role may call the plugin (`*`: every plugin).
pub async fn grant(
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    set_grant(caller, path, q, store, true).await
}

/// `DELETE /v1/roles/{name}/grants/{plugin_id}`: the role may no longer call the plugin.
pub async fn revoke(
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    set_grant(caller, path, q, store, false).await
}

async fn set_grant(
    caller: Caller,
    path: web::Path<(String, String)>,
    q: web::Query<TenantQuery>,
    store: web::Data<Store>,
    granted: bool,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let tenant = target(me, q.tenant.as_deref())?;
    let (name, plugin) = path.into_inner();
    check_grant_target(&plugin)?;
    let view = edit(&store, &tenant, |roles| {
        let role = roles.get_mut(&name).ok_or_else(|| role_not_found(&tenant, &name))?;
        may_edit_role(me, &tenant, &name, Some(role), false)?;
        if granted {
            role.plugins.insert(plugin.clone());
        } else if !role.plugins.remove(&plugin) {
            return Err(AuthError::NotFound(format!("role {name:?} has no grant for plugin {plugin:?}")));
        }
        Ok(role_view(&tenant, &name, role))
    })
    .await?;
    tracing::info!(role = %name, tenant = %tenant, plugin = %plugin, granted, by = %me.sub, "Changed a grant");
    Ok(HttpResponse::Ok().json(Reply::ok(view)))
}

/// Compare-and-swap on the roles of `tenant` in the directory.
async fn edit<R>(
    store: &Store,
    tenant: &str,
    change: impl Fn(&mut std::collections::BTreeMap<String, RoleRecord>) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    let out = store
        .update::<Directory, R>(TENANTS_KEY, |dir| {
            let record = dir.tenants.get_mut(tenant).ok_or_else(|| tenant_not_found(tenant))?;
            change(&mut record.roles)
        })
        .await?;
    directory::publish_after_change(store).await;
    Ok(out)
}

/// The tenant whose roles the request manages, once `me` may.
fn target(me: &Identity, asked: Option<&str>) -> Result<String, AuthError> {
    crate::authorize::target_tenant(me, asked, |tenant| Permission::ManageRoles { tenant })
}
