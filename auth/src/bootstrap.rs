//! First start: the platform tenant and its super-admin. The super-admin's password comes from
//! `KEEL_ADMIN_PASSWORD`, or is generated and printed once; there is no fixed default. Later
//! starts find both and change nothing (a changed `KEEL_ADMIN_PASSWORD` does not reset anything).

use keel_sdk::tokens::{now_secs, roles, PLATFORM_TENANT};

use crate::directory;
use crate::error::AuthError;
use crate::model::{TenantRecord, UserRecord, UsersDoc};
use crate::passwords::generate_secret;
use crate::state::AuthState;
use crate::store::Store;

/// Creates what is missing of the platform tenant and its super-admin.
pub async fn run(state: &AuthState, store: &Store) -> Result<(), AuthError> {
    let now = now_secs();
    match directory::create_tenant(
        store,
        TenantRecord::new(PLATFORM_TENANT, "Platform", now),
        UsersDoc::default(),
    )
    .await
    {
        Ok(()) => tracing::info!(tenant = PLATFORM_TENANT, "Created the platform tenant"),
        Err(AuthError::Conflict(_)) => {}
        Err(e) => return Err(e),
    }
    // The super-admin is created when the platform tenant has nobody in it: on the first start.
    if !directory::users(store, PLATFORM_TENANT).await?.value.users.is_empty() {
        return Ok(());
    }
    let username = state.cfg.admin_username.clone();
    let (password, generated) = match &state.cfg.admin_password {
        Some(p) => (p.clone(), false),
        None => (generate_secret(24), true),
    };
    let user = UserRecord {
        username: username.clone(),
        password_hash: state.hasher.hash(password.clone()).await?,
        roles: vec![roles::SUPER_ADMIN.to_owned(), roles::ADMIN.to_owned()],
        disabled: false,
        created_at: now,
        updated_at: now,
        generation: 0,
    };
    let created = directory::change_users(store, PLATFORM_TENANT, |doc, _| {
        // Another replica starting at the same time may have won.
        if !doc.users.is_empty() {
            return Ok(false);
        }
        doc.users.insert(user.username.clone(), user.clone());
        Ok(true)
    })
    .await?;
    if created && generated {
        // The one log line allowed to carry a secret: nobody could log in otherwise.
        tracing::warn!(
            user = %username,
            tenant = PLATFORM_TENANT,
            "Created the super-admin with the generated password {password} (shown once: log in and change it with PUT /v1/me/password, or set KEEL_ADMIN_PASSWORD before the first start)"
        );
    } else if created {
        tracing::info!(user = %username, tenant = PLATFORM_TENANT, "Created the super-admin with the password from KEEL_ADMIN_PASSWORD");
    }
    Ok(())
}
