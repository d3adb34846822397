//! Issuing, refreshing and revoking tokens. Access tokens are JWTs signed by the current key;
//! refresh tokens are random strings of which only the SHA-256 is stored, consumed on use (a
//! refresh answers a new refresh token) and bounded by the login's absolute expiry.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use keel_sdk::access::Scope;
use keel_sdk::management::auth::TokenResponse;
use keel_sdk::tokens::{now_secs, roles, AccessClaims, RevokedDoc, PLATFORM_TENANT};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::authorize::scope_of;
use crate::error::{AuthError, OAuthCode};
use crate::model::keys::{self, REVOKED_KEY};
use crate::model::{RefreshRecord, TenantRecord, UserRecord};
use crate::state::AuthState;
use crate::store::{is_race, Store};

/// Refresh tokens start with this, so revocation can tell them from JWTs without a hint.
pub const REFRESH_PREFIX: &str = "krt_";

/// The claims of a new access token for `sub` of `tenant`, acting with `scope`.
pub fn claims(
    state: &AuthState,
    sub: &str,
    tenant: &str,
    roles: Vec<String>,
    client_id: Option<String>,
    scope: Scope,
) -> AccessClaims {
    let now = now_secs();
    AccessClaims {
        iss: state.cfg.issuer.clone(),
        aud: state.cfg.audience.clone(),
        sub: sub.to_owned(),
        tenant: tenant.to_owned(),
        exp: now + state.cfg.access_token_ttl_seconds,
        iat: now,
        nbf: now,
        jti: uuid::Uuid::new_v4().simple().to_string(),
        scope: Some(scope),
        roles,
        client_id,
    }
}

/// Tokens for `user` of `tenant`: an access token (with the scope the user's roles give there,
/// [`scope_of`]) and a refresh token valid until `refresh_exp` (a new login: now + the refresh
/// lifetime).
pub async fn issue_for_user(
    state: &AuthState,
    store: &Store,
    tenant: &TenantRecord,
    user: &UserRecord,
    refresh_exp: Option<u64>,
) -> Result<TokenResponse, AuthError> {
    let now = now_secs();
    let refresh_exp = refresh_exp.unwrap_or(now + state.cfg.refresh_token_ttl_seconds);
    let scope = scope_of(tenant, &user.roles);
    let tenant = tenant.id.as_str();
    let access =
        state.signer()?.sign(&claims(state, &user.username, tenant, user.roles.clone(), None, scope))?;
    let refresh = new_refresh_token();
    let record = RefreshRecord {
        tenant: tenant.to_owned(),
        username: user.username.clone(),
        generation: user.generation,
        exp: refresh_exp,
        iat: now,
    };
    // The TTL lets the store drop dead records by itself; `exp` is still checked on use.
    let ttl = refresh_exp.saturating_sub(now).max(1);
    store.put_if(&keys::refresh(&refresh_hash(&refresh)), &record, None, Some(ttl)).await?;
    Ok(TokenResponse {
        access_token: access,
        token_type: "Bearer".to_owned(),
        expires_in: state.cfg.access_token_ttl_seconds,
        refresh_token: Some(refresh),
        refresh_expires_in: Some(refresh_exp.saturating_sub(now)),
    })
}

/// An access token for client `client_id` (no refresh token: the client has its secret).
pub fn issue_for_client(state: &AuthState, client_id: &str) -> Result<TokenResponse, AuthError> {
    // A client never administers: tenant scope, whatever it is granted.
    let claims = claims(
        state,
        client_id,
        PLATFORM_TENANT,
        vec![roles::CLIENT.to_owned()],
        Some(client_id.to_owned()),
        Scope::Tenant,
    );
    Ok(TokenResponse {
        access_token: state.signer()?.sign(&claims)?,
        token_type: "Bearer".to_owned(),
        expires_in: state.cfg.access_token_ttl_seconds,
        refresh_token: None,
        refresh_expires_in: None,
    })
}

/// Uses up refresh token `token`: its record, which is deleted so the token works once. Unknown,
/// expired, or already used (a concurrent use won) are all `invalid_grant`.
pub async fn redeem_refresh(store: &Store, token: &str) -> Result<RefreshRecord, AuthError> {
    let invalid =
        || AuthError::oauth(OAuthCode::InvalidGrant, "the refresh token is invalid, expired or revoked");
    let key = keys::refresh(&refresh_hash(token));
    let found = store.get::<RefreshRecord>(&key).await?.ok_or_else(invalid)?;
    match store.delete_if(&key, found.etag.as_deref()).await {
        Ok(()) => {}
        Err(e) if is_race(&e) => return Err(invalid()),
        Err(e) => return Err(e),
    }
    if found.value.exp <= now_secs() {
        return Err(invalid());
    }
    Ok(found.value)
}

/// Looks at refresh token `token` without using it up.
pub async fn peek_refresh(store: &Store, token: &str) -> Result<Option<RefreshRecord>, AuthError> {
    let record = store.get::<RefreshRecord>(&keys::refresh(&refresh_hash(token))).await?;
    Ok(record.map(|r| r.value).filter(|r| r.exp > now_secs()))
}

/// Revokes refresh token `token` (deletes its record; unknown tokens are fine).
pub async fn revoke_refresh(store: &Store, token: &str) -> Result<(), AuthError> {
    store.delete_if(&keys::refresh(&refresh_hash(token)), None).await
}

/// Lists access token `jti` (expiring at `exp`) as revoked, for this replica at once and for
/// keel and the other replicas through the store. Expired entries are dropped on the way.
pub async fn revoke_access(state: &AuthState, store: &Store, jti: &str, exp: u64) -> Result<(), AuthError> {
    state.verifier.revoke_locally(jti);
    let now = now_secs();
    store
        .published()
        .update::<RevokedDoc, ()>(REVOKED_KEY, |doc| {
            doc.jtis.retain(|_, e| *e >= now);
            doc.jtis.insert(jti.to_owned(), exp);
            Ok(())
        })
        .await
}

/// A new refresh token: the prefix and 256 random bits.
fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{REFRESH_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of a refresh token. The token has 256 random bits, so a fast hash is
/// enough (no guessing to slow down), and a leaked store yields no usable token.
pub fn refresh_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}
