//! Moving an older version's state out of the shared store: older versions kept everything of
//! auth's in `statestore`, which every core app's sidecar reads. At start, when auth's private
//! store has no directory yet but the shared one has, the directory and every tenant's users
//! (their password hashes) are copied into the private store in one transaction, then the users
//! documents are deleted from the shared store; the directory stays there as the published copy
//! keel reads. The signing keys move in [`crate::keys::load_or_create`]; client credentials move
//! when first used ([`crate::api::caller::authenticate_client`]); refresh tokens are not moved
//! (their users log in again).

use crate::error::AuthError;
use crate::model::keys::{self, TENANTS_KEY};
use crate::model::{Directory, UsersDoc};
use crate::store::{upsert_if, Store};

/// Moves the directory and users from the shared store when the private one has none; then
/// deletes any users document still left in the shared store (a crash after the copy).
pub async fn directory_from_shared(store: &Store) -> Result<(), AuthError> {
    let Some(shared) = store.legacy() else {
        return Ok(());
    };
    let dir = match store.get::<Directory>(TENANTS_KEY).await? {
        Some(found) => found.value,
        None => match shared.get::<Directory>(TENANTS_KEY).await? {
            None => return Ok(()),
            Some(old) => {
                let mut ops = vec![upsert_if(TENANTS_KEY, &old.value, None)?];
                for id in old.value.tenants.keys() {
                    if let Some(users) = shared.get::<UsersDoc>(&keys::users(id)).await? {
                        ops.push(upsert_if(&keys::users(id), &users.value, None)?);
                    }
                }
                match store.transact(&ops).await {
                    // Another replica moved it first: theirs stands.
                    Err(e) if crate::store::is_race(&e) => {}
                    other => other?,
                }
                tracing::info!(
                    tenants = old.value.tenants.len(),
                    "Moved tenants and users to auth's own store"
                );
                old.value
            }
        },
    };
    for id in dir.tenants.keys() {
        shared.delete_if(&keys::users(id), None).await?;
    }
    Ok(())
}
