//! `/v1/tenants`: platform scope creates and deletes tenants; a tenant admin sees and renames
//! only their own ([`crate::authorize`]).

use actix_web::{web, HttpResponse};
use keel_sdk::access::{Permission, Scope};
use keel_sdk::management::auth::{CreatedTenant, NewTenant, TenantChange, TenantList, TenantView};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::tokens::{now_secs, roles, PLATFORM_TENANT};

use super::caller::Caller;
use crate::authorize::{require, target_tenant};
use crate::directory::{self, tenant_not_found};
use crate::error::AuthError;
use crate::model::{
    check_label, check_username, keys::TENANTS_KEY, Directory, TenantRecord, UserRecord, UsersDoc,
};
use crate::passwords::check_new_password;
use crate::state::AuthState;
use crate::store::Store;

/// `GET /v1/tenants`: every tenant for platform scope, their own for a tenant admin.
pub async fn list(caller: Caller, store: web::Data<Store>) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let own = target_tenant(me, None, |tenant| Permission::ManageUsers { tenant })?;
    let dir = directory::directory(&store).await?.value;
    let tenants: Vec<TenantView> = if me.scope == Scope::Platform {
        dir.tenants.values().map(TenantView::from).collect()
    } else {
        dir.tenants.get(&own).map(TenantView::from).into_iter().collect()
    };
    Ok(HttpResponse::Ok().json(Reply::ok(TenantList { tenants })))
}

/// `POST /v1/tenants` (platform scope): `{"id", "name"?, "admin"?: {"username", "password"}}`.
pub async fn create(
    caller: Caller,
    body: web::Json<NewTenant>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    require(me, Permission::ManageTenants)?;
    let NewTenant { id, name, admin } = body.into_inner();
    check_label("tenant id", &id)?;
    let now = now_secs();
    let mut users = UsersDoc::default();
    if let Some(admin) = &admin {
        check_username(&admin.username)?;
        check_new_password(&admin.password, state.cfg.min_password_length)?;
        let user = UserRecord {
            username: admin.username.clone(),
            password_hash: state.hasher.hash(admin.password.clone()).await?,
            roles: vec![roles::ADMIN.to_owned()],
            disabled: false,
            created_at: now,
            updated_at: now,
            generation: 0,
        };
        users.users.insert(user.username.clone(), user);
    }
    let record = TenantRecord::new(&id, if name.is_empty() { &id } else { &name }, now);
    let view = TenantView::from(&record);
    directory::create_tenant(&store, record, users).await?;
    tracing::info!(tenant = %id, by = %me.sub, "Created a tenant");
    let answer = CreatedTenant { tenant: view, admin: admin.map(|a| a.username) };
    Ok(HttpResponse::Created().json(Reply::ok(answer)))
}

/// `GET /v1/tenants/{id}`: platform scope, or the tenant's own admin.
pub async fn get(
    caller: Caller,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target_tenant(caller.person()?, Some(&id), |tenant| Permission::ManageUsers { tenant })?;
    let record = directory::tenant(&store, &tenant).await?;
    Ok(HttpResponse::Ok().json(Reply::ok(TenantView::from(&record))))
}

/// `PATCH /v1/tenants/{id}` `{"name"}`: platform scope, or the tenant's own admin.
pub async fn update(
    caller: Caller,
    id: web::Path<String>,
    body: web::Json<TenantChange>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let tenant = target_tenant(caller.person()?, Some(&id), |tenant| Permission::ManageUsers { tenant })?;
    let change = body.into_inner();
    let view = store
        .update::<Directory, TenantView>(TENANTS_KEY, |dir| {
            let record = dir.tenants.get_mut(&tenant).ok_or_else(|| tenant_not_found(&tenant))?;
            if let Some(name) = &change.name {
                record.name = name.clone();
            }
            Ok(TenantView::from(&*record))
        })
        .await?;
    directory::publish_after_change(&store).await;
    Ok(HttpResponse::Ok().json(Reply::ok(view)))
}

/// `DELETE /v1/tenants/{id}` (platform scope): the tenant, its users and its roles.
pub async fn delete(
    caller: Caller,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    require(me, Permission::ManageTenants)?;
    if id.as_str() == PLATFORM_TENANT {
        return Err(AuthError::Conflict("the platform tenant cannot be deleted".into()));
    }
    directory::delete_tenant(&store, &id).await?;
    tracing::info!(tenant = %id, by = %me.sub, "Deleted a tenant");
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}
