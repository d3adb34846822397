//! `POST /v1/oauth/token` (RFC 6749): the `password`, `client_credentials` and `refresh_token`
//! grants. An unknown user and a wrong password get the same answer in the same time.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use keel_sdk::protocol::Reply;
use keel_sdk::service::snippet;
use keel_sdk::tokens::PLATFORM_TENANT;

use super::caller::authenticate_client;
use super::form::Form;
use crate::directory;
use crate::error::{AuthError, OAuthCode};
use crate::model::{check_label, check_username, UserRecord};
use crate::state::AuthState;
use crate::store::Store;
use crate::{throttle, tokens};
use keel_sdk::management::auth::TokenResponse;

/// `POST /v1/oauth/token`: form body with `grant_type` and the grant's parameters.
pub async fn token(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let form = Form::parse(&req, &body)?;
    let answer = match form.require("grant_type")? {
        "password" => password_grant(&req, &state, &store, &form).await?,
        "client_credentials" => client_grant(&req, &state, &store, &form).await?,
        "refresh_token" => refresh_grant(&state, &store, &form).await?,
        other => {
            return Err(AuthError::oauth(
                OAuthCode::UnsupportedGrantType,
                format!(
                    "grant_type {:?} is not supported: use password, client_credentials or refresh_token",
                    snippet(other.as_bytes())
                ),
            ))
        }
    };
    Ok(no_store(HttpResponse::Ok()).json(Reply::ok(answer)))
}

/// Token answers must not be cached (RFC 6749 §5.1).
pub fn no_store(mut res: HttpResponseBuilder) -> HttpResponseBuilder {
    res.insert_header((header::CACHE_CONTROL, "no-store")).insert_header((header::PRAGMA, "no-cache"));
    res
}

/// `username`, `password` and the extension parameter `tenant` (default: the platform tenant),
/// checked by [`check_password`].
async fn password_grant(
    req: &HttpRequest,
    state: &AuthState,
    store: &Store,
    form: &Form,
) -> Result<TokenResponse, AuthError> {
    let username = form.require("username")?;
    let password = form.require("password")?;
    let tenant = form.get("tenant").unwrap_or(PLATFORM_TENANT);
    let Some(user) = check_password(req, state, store, username, password, tenant).await? else {
        return Err(AuthError::oauth(OAuthCode::InvalidGrant, "wrong user name or password"));
    };
    let record = directory::tenant(store, tenant).await?;
    let answer = tokens::issue_for_user(state, store, &record, &user, None, None).await?;
    tracing::info!(user = %user.username, tenant, "Issued tokens (password grant)");
    Ok(answer)
}

/// Checks a login's user name and password, for the password grant and console tickets alike:
/// the enabled user, or `None` for a wrong name or password (the same answer in the same time).
/// A client address that failed too often for this user (or at all) waits first
/// ([`crate::throttle`]): [`AuthError::Throttled`] before any hash is computed.
pub async fn check_password(
    req: &HttpRequest,
    state: &AuthState,
    store: &Store,
    username: &str,
    password: &str,
    tenant: &str,
) -> Result<Option<UserRecord>, AuthError> {
    let address = throttle::client_address(req);
    // Malformed names cannot exist; they share one count (and bound the memory counts take).
    let valid = check_username(username).is_ok() && check_label("tenant", tenant).is_ok();
    let who = if valid { format!("{tenant}/{username}") } else { "<malformed>".to_owned() };
    if let Err(retry_after) = state.throttle.check(&who, &address) {
        tracing::info!(tenant = %snippet(tenant.as_bytes()), address = ?address, "Throttled a login");
        return Err(AuthError::Throttled { retry_after });
    }
    // Malformed names cannot exist: no store read for them (the answer stays the same).
    let user = if valid { directory::find_user(store, tenant, username).await? } else { None };
    // Checked against a decoy hash when there is no such user, so both failures cost the same.
    let matched =
        state.hasher.verify(password.to_owned(), user.as_ref().map(|u| u.password_hash.clone())).await?;
    match user {
        Some(u) if matched && !u.disabled => {
            state.throttle.succeeded(&who, &address);
            Ok(Some(u))
        }
        // The user name is not logged: people type passwords into the wrong field.
        _ => {
            let wait = state.throttle.failed(&who, &address);
            tracing::info!(tenant = %snippet(tenant.as_bytes()), address = ?address, wait_ms = wait.as_millis() as u64, "Refused a login");
            Ok(None)
        }
    }
}

/// Client authentication (HTTP Basic or body) against the stored client secrets.
async fn client_grant(
    req: &HttpRequest,
    state: &AuthState,
    store: &Store,
    form: &Form,
) -> Result<TokenResponse, AuthError> {
    let Some(creds) = form.client_credentials(req)? else {
        return Err(AuthError::OAuth {
            code: OAuthCode::InvalidClient,
            description: "client authentication is required (HTTP Basic or client_id and client_secret)"
                .into(),
            basic: true,
        });
    };
    let client = match authenticate_client(req, state, store, creds).await {
        Err(refused @ AuthError::OAuth { .. }) => {
            tracing::info!("Refused a client credentials grant");
            return Err(refused);
        }
        verdict => verdict?,
    };
    tracing::info!(%client, "Issued a token (client credentials grant)");
    tokens::issue_for_client(state, &client)
}

/// A refresh token, used up and replaced; the user must still exist, be enabled and not have
/// changed password since the login.
async fn refresh_grant(state: &AuthState, store: &Store, form: &Form) -> Result<TokenResponse, AuthError> {
    let token = form.require("refresh_token")?;
    let record = tokens::redeem_refresh(store, token).await?;
    let user = directory::find_user(store, &record.tenant, &record.username).await?;
    match user {
        Some(u) if !u.disabled && u.generation == record.generation => {
            let tenant = directory::tenant(store, &record.tenant).await?;
            let answer =
                tokens::issue_for_user(state, store, &tenant, &u, Some(record.exp), Some(record.family))
                    .await?;
            tracing::info!(user = %u.username, tenant = %record.tenant, "Issued tokens (refresh grant)");
            Ok(answer)
        }
        _ => {
            Err(AuthError::oauth(OAuthCode::InvalidGrant, "the refresh token is invalid, expired or revoked"))
        }
    }
}
