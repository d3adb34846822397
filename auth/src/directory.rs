//! Operations on tenants, roles and users that touch more than one key, done as one conditional
//! state transaction each (so a crash or a concurrent change never leaves half of one), plus the
//! lookups every handler needs.

use crate::error::AuthError;
use crate::model::keys::{self, TENANTS_KEY};
use crate::model::{Directory, RoleRecord, TenantRecord, UserRecord, UsersDoc};
use crate::store::{delete_if, retry_races, upsert_if, Store, Versioned};

/// The answer for a tenant that does not exist or that the caller may not see.
pub fn tenant_not_found(id: &str) -> AuthError {
    AuthError::NotFound(format!("tenant {id:?} not found"))
}

/// The answer for a user that does not exist.
pub fn user_not_found(tenant: &str, name: &str) -> AuthError {
    AuthError::NotFound(format!("user {name:?} not found in tenant {tenant:?}"))
}

/// The answer for a role that does not exist.
pub fn role_not_found(tenant: &str, name: &str) -> AuthError {
    AuthError::NotFound(format!("role {name:?} not found in tenant {tenant:?}"))
}

/// The directory of every tenant.
pub async fn directory(store: &Store) -> Result<Versioned<Directory>, AuthError> {
    store.get_or_default::<Directory>(TENANTS_KEY).await
}

/// Tenant `id`.
pub async fn tenant(store: &Store, id: &str) -> Result<TenantRecord, AuthError> {
    directory(store).await?.value.tenants.remove(id).ok_or_else(|| tenant_not_found(id))
}

/// The users of tenant `id`.
pub async fn users(store: &Store, id: &str) -> Result<Versioned<UsersDoc>, AuthError> {
    store.get::<UsersDoc>(&keys::users(id)).await?.ok_or_else(|| tenant_not_found(id))
}

/// User `name` of tenant `tenant`, `None` when the tenant or the user does not exist.
pub async fn find_user(store: &Store, tenant: &str, name: &str) -> Result<Option<UserRecord>, AuthError> {
    Ok(store.get::<UsersDoc>(&keys::users(tenant)).await?.and_then(|mut d| d.value.users.remove(name)))
}

/// Creates tenant `record` with its users: the directory entry and the users document appear
/// together or not at all. [`AuthError::Conflict`] when the id is taken.
pub async fn create_tenant(store: &Store, record: TenantRecord, users: UsersDoc) -> Result<(), AuthError> {
    let (record, users) = (&record, &users);
    retry_races("the tenant directory", || async move {
        let id = &record.id;
        let Versioned { value: mut dir, etag } = directory(store).await?;
        if dir.tenants.contains_key(id) {
            return Err(AuthError::Conflict(format!("tenant {id:?} already exists")));
        }
        dir.tenants.insert(id.clone(), record.clone());
        store
            .transact(&[upsert_if(TENANTS_KEY, &dir, etag)?, upsert_if(&keys::users(id), users, None)?])
            .await
    })
    .await?;
    publish_after_change(store).await;
    Ok(())
}

/// Deletes tenant `id` with all its users and roles, in one transaction.
pub async fn delete_tenant(store: &Store, id: &str) -> Result<(), AuthError> {
    retry_races("the tenant directory", || async move {
        let Versioned { value: mut dir, etag } = directory(store).await?;
        if dir.tenants.remove(id).is_none() {
            return Err(tenant_not_found(id));
        }
        let users_etag = store.get::<UsersDoc>(&keys::users(id)).await?.and_then(|u| u.etag);
        let mut ops = vec![upsert_if(TENANTS_KEY, &dir, etag)?];
        if users_etag.is_some() {
            ops.push(delete_if(&keys::users(id), users_etag));
        }
        store.transact(&ops).await
    })
    .await?;
    publish_after_change(store).await;
    Ok(())
}

/// Deletes role `role` of tenant `tenant` (once `allowed` accepts its record) and takes it away from every user holding it, in one
/// transaction (a user never keeps a role that no longer exists, and a role created later under
/// the same name starts without holders).
pub async fn delete_role(
    store: &Store,
    tenant: &str,
    role: &str,
    allowed: impl Fn(&RoleRecord) -> Result<(), AuthError>,
) -> Result<(), AuthError> {
    let allowed = &allowed;
    retry_races("the tenant directory", || async move {
        let Versioned { value: mut dir, etag } = directory(store).await?;
        let record = dir.tenants.get_mut(tenant).ok_or_else(|| tenant_not_found(tenant))?;
        // Checked on the version the transaction is conditional on.
        allowed(record.roles.get(role).ok_or_else(|| role_not_found(tenant, role))?)?;
        if record.roles.remove(role).is_none() {
            return Err(role_not_found(tenant, role));
        }
        let Versioned { value: mut users, etag: users_etag } = self::users(store, tenant).await?;
        for user in users.users.values_mut() {
            user.roles.retain(|r| r != role);
        }
        // The users document is written even when nobody held the role: its ETag makes a
        // concurrent assignment of the role fail this transaction instead of surviving it.
        let ops = [upsert_if(TENANTS_KEY, &dir, etag)?, upsert_if(&keys::users(tenant), &users, users_etag)?];
        store.transact(&ops).await
    })
    .await?;
    publish_after_change(store).await;
    Ok(())
}

/// Changes the users of `tenant` with `change`, which also sees the tenant's record (to check
/// role names). The users document is written conditionally on both documents' ETags, in one
/// transaction, so a role deleted meanwhile cannot end up assigned. `change` runs once per
/// attempt.
pub async fn change_users<R>(
    store: &Store,
    tenant: &str,
    change: impl Fn(&mut UsersDoc, &TenantRecord) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    let change = &change;
    retry_races(format!("the users of tenant {tenant:?}"), || async move {
        let Versioned { value: dir, etag } = directory(store).await?;
        let record = dir.tenants.get(tenant).ok_or_else(|| tenant_not_found(tenant))?;
        let Versioned { value: mut users, etag: users_etag } = self::users(store, tenant).await?;
        let out = change(&mut users, record)?;
        // Rewriting the directory unchanged is how its ETag takes part in the transaction.
        let ops = [upsert_if(&keys::users(tenant), &users, users_etag)?, upsert_if(TENANTS_KEY, &dir, etag)?];
        store.transact(&ops).await?;
        Ok(out)
    })
    .await
}

/// Publishes the directory (tenants, roles, grants: no secrets) to the shared store, where keel
/// reads the grants, when it differs from what is there. The private copy is the one every write
/// is conditional on; this one follows it after each change and on every reload round (so a
/// failed publication, or a replica's older one, is corrected within a reload interval).
pub async fn publish(store: &Store) -> Result<(), AuthError> {
    let Some(shared) = store.legacy() else {
        return Ok(());
    };
    let current = directory(store).await?.value;
    let published = shared.get::<Directory>(TENANTS_KEY).await?.map(|v| v.value);
    if published.as_ref() != Some(&current) {
        shared.put(TENANTS_KEY, &current).await?;
    }
    Ok(())
}

/// [`publish`] after a change that is already stored: a failure is logged, not answered (the
/// reloader publishes again).
pub async fn publish_after_change(store: &Store) {
    if let Err(e) = publish(store).await {
        tracing::warn!(error = %e.detailed(), "Publishing the grants for keel failed; the reloader retries");
    }
}
