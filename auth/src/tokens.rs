//! Issuing, refreshing and revoking tokens. Access tokens are JWTs signed by the current key;
//! refresh tokens are random strings of which only the SHA-256 is stored, used once (a refresh
//! answers a new refresh token of the same family) and bounded by the login's absolute expiry. A
//! used token is kept, marked used, until the login expires: presenting it again means two parties
//! hold the chain, so the whole family is revoked and the legitimate holder logs in again
//! (refresh token rotation with reuse detection, RFC 9700 §4.14.2).

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
use crate::model::{RefreshRecord, RevokedFamily, TenantRecord, UserRecord};
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
/// [`scope_of`]) and a refresh token of `family` valid until `refresh_exp` (a new login: no
/// family, a new one, and now + the refresh lifetime).
pub async fn issue_for_user(
    state: &AuthState,
    store: &Store,
    tenant: &TenantRecord,
    user: &UserRecord,
    refresh_exp: Option<u64>,
    family: Option<String>,
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
        family: family.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
        used: false,
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

/// Uses up refresh token `token`: its record, which is marked used so the token works once.
/// Unknown or expired is `invalid_grant`; so is a used token (or one a concurrent use won), which
/// also revokes its whole family: the legitimate holder and the thief both lose the chain.
pub async fn redeem_refresh(store: &Store, token: &str) -> Result<RefreshRecord, AuthError> {
    let invalid =
        || AuthError::oauth(OAuthCode::InvalidGrant, "the refresh token is invalid, expired or revoked");
    let hash = refresh_hash(token);
    let key = keys::refresh(&hash);
    let found = store.get::<RefreshRecord>(&key).await?.ok_or_else(invalid)?;
    let mut record = found.value;
    if record.family.is_empty() {
        record.family = hash;
    }
    let now = now_secs();
    if record.exp <= now {
        return Err(invalid());
    }
    if record.used {
        revoke_family(store, &record, now).await?;
        return Err(invalid());
    }
    if store.get::<RevokedFamily>(&keys::refresh_family(&record.family)).await?.is_some() {
        return Err(invalid());
    }
    let used = RefreshRecord { used: true, ..record.clone() };
    let ttl = record.exp.saturating_sub(now).max(1);
    match store.put_if(&key, &used, found.etag, Some(ttl)).await {
        Ok(()) => Ok(record),
        // Used at the same moment by someone else: a reuse as well.
        Err(e) if is_race(&e) => {
            revoke_family(store, &record, now).await?;
            Err(invalid())
        }
        Err(e) => Err(e),
    }
}

/// Marks `record`'s family revoked (until the login would have expired).
async fn revoke_family(store: &Store, record: &RefreshRecord, now: u64) -> Result<(), AuthError> {
    let ttl = record.exp.saturating_sub(now).max(1);
    let mark = RevokedFamily { revoked_at: now };
    store.put_if(&keys::refresh_family(&record.family), &mark, None, Some(ttl)).await.or_else(|e| {
        // Revoked already (a third use, or two at once): nothing more to do.
        if is_race(&e) {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    tracing::warn!(user = %record.username, tenant = %record.tenant, "A used refresh token was presented again: revoked every refresh token of that login");
    Ok(())
}

/// Looks at refresh token `token` without using it up.
pub async fn peek_refresh(store: &Store, token: &str) -> Result<Option<RefreshRecord>, AuthError> {
    let hash = refresh_hash(token);
    let Some(found) = store.get::<RefreshRecord>(&keys::refresh(&hash)).await? else {
        return Ok(None);
    };
    let record = found.value;
    if record.exp <= now_secs() || record.used {
        return Ok(None);
    }
    let family = if record.family.is_empty() { hash } else { record.family.clone() };
    let revoked = store.get::<RevokedFamily>(&keys::refresh_family(&family)).await?.is_some();
    Ok((!revoked).then_some(record))
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
