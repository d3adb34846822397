//! `/v1/me`: who the token says you are, and changing your own password (any user).

use actix_web::{web, HttpResponse};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::tokens::now_secs;
use serde::{Deserialize, Serialize};

use super::caller::Caller;
use crate::directory::{self, tenant_not_found, user_not_found};
use crate::error::{AuthError, Denied};
use crate::model::{keys, UsersDoc};
use crate::passwords::check_new_password;
use crate::state::AuthState;
use crate::store::Store;

/// Body of `PUT /v1/me/password`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

/// Answer of `GET /v1/me`: what the token says.
#[derive(Debug, Serialize)]
pub struct WhoAmI<'a> {
    pub sub: &'a str,
    pub tenant: &'a str,
    pub roles: &'a [String],
    /// `null` for users.
    pub client_id: Option<&'a str>,
    /// When the token expires.
    pub exp: u64,
}

/// `GET /v1/me`: the verified identity (user or client).
pub async fn whoami(caller: Caller) -> HttpResponse {
    let id = &caller.0;
    HttpResponse::Ok().json(Reply::ok(WhoAmI {
        sub: &id.sub,
        tenant: &id.tenant,
        roles: &id.roles,
        client_id: id.client_id.as_deref(),
        exp: id.exp,
    }))
}

/// `PUT /v1/me/password`: `{"current_password", "new_password"}`. Ends the user's refresh tokens
/// (other sessions must log in again); the access token in use stays valid until it expires.
pub async fn change_password(
    caller: Caller,
    body: web::Json<PasswordChange>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let me = caller.person()?;
    let PasswordChange { current_password, new_password } = body.into_inner();
    check_new_password(&new_password, state.cfg.min_password_length)?;
    let user = directory::find_user(&store, &me.tenant, &me.sub)
        .await?
        .ok_or_else(|| user_not_found(&me.tenant, &me.sub))?;
    if !state.hasher.verify(current_password, Some(user.password_hash.clone())).await? {
        return Err(Denied::WrongCurrentPassword.into());
    }
    let new_hash = state.hasher.hash(new_password).await?;
    let checked_hash = user.password_hash;
    let now = now_secs();
    store
        .update_existing::<UsersDoc, ()>(
            &keys::users(&me.tenant),
            || tenant_not_found(&me.tenant),
            |doc| {
                let user = doc.users.get_mut(&me.sub).ok_or_else(|| user_not_found(&me.tenant, &me.sub))?;
                // Changed by someone else between the check and now: the check no longer holds.
                if user.password_hash != checked_hash {
                    return Err(AuthError::Conflict("the password changed meanwhile; retry".into()));
                }
                user.password_hash = new_hash.clone();
                user.generation += 1;
                user.updated_at = now;
                Ok(())
            },
        )
        .await?;
    tracing::info!(user = %me.sub, tenant = %me.tenant, "Changed own password");
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}
