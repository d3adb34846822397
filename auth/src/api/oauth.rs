//! The other OAuth endpoints: the published keys (`GET /v1/oauth/jwks`), introspection
//! (`POST /v1/oauth/introspect`, RFC 7662), revocation (`POST /v1/oauth/revoke`, RFC 7009) and key
//! rotation (`POST /v1/oauth/keys/rotate`, platform scope).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::protocol::{Envelope, Reply};
use keel_sdk::tokens::{bearer_token, now_secs, AccessClaims};
use serde::Serialize;

use super::caller::{authenticate_client, Caller};
use super::form::Form;
use super::token::no_store;
use crate::error::{AuthError, OAuthCode};
use crate::keys::KeyRing;
use crate::model::keys;
use crate::state::AuthState;
use crate::store::Store;
use crate::tokens::{self, REFRESH_PREFIX};

/// Answer of `POST /v1/oauth/introspect` (RFC 7662 §2.2): `{"active": false}` alone, or what
/// auth knows of the active token.
#[derive(Debug, Serialize)]
pub struct Introspection {
    pub active: bool,
    #[serde(flatten)]
    pub token: Option<ActiveToken>,
}

/// An active token, told apart by `token_type`.
#[derive(Debug, Serialize)]
#[serde(tag = "token_type", rename_all = "snake_case")]
pub enum ActiveToken {
    /// A user's refresh token.
    RefreshToken { sub: String, username: String, tenant: String, exp: u64, iat: u64 },
    /// An access token: a user's (`username` set, `client_id` null) or a client's (the reverse).
    AccessToken {
        sub: String,
        username: Option<String>,
        client_id: Option<String>,
        tenant: String,
        roles: Vec<String>,
        exp: u64,
        iat: u64,
        nbf: u64,
        iss: String,
        aud: String,
        jti: String,
    },
}

/// Answer of `POST /v1/oauth/keys/rotate`.
#[derive(Debug, Serialize)]
pub struct Rotated {
    /// The key new tokens are signed with.
    pub kid: String,
    /// Every key still published, the new one included.
    pub published: Vec<String>,
}

/// `GET /v1/oauth/jwks`: the public keys tokens are signed with (current and recently rotated).
pub async fn jwks(state: web::Data<AuthState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(Reply::ok(&*state.jwks()))
}

/// `POST /v1/oauth/introspect` (form: `token`, optional `token_type_hint`). The caller proves
/// itself with a bearer token or client credentials. Anything not active is `{"active": false}`.
pub async fn introspect(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let form = Form::parse(&req, &body)?;
    match form.client_credentials(&req)? {
        Some(creds) => {
            authenticate_client(&req, &state, &store, creds).await?;
        }
        None if bearer_token(req.headers()).is_ok() => {
            super::caller::authenticate(&req).await?;
        }
        None => {
            return Err(AuthError::OAuth {
                code: OAuthCode::InvalidClient,
                description: "introspection needs a bearer token or client credentials".into(),
                basic: true,
            })
        }
    }
    let token = form.require("token")?;
    let active = if token.starts_with(REFRESH_PREFIX) {
        tokens::peek_refresh(&store, token).await?.map(|r| ActiveToken::RefreshToken {
            sub: r.username.clone(),
            username: r.username,
            tenant: r.tenant,
            exp: r.exp,
            iat: r.iat,
        })
    } else {
        state.verifier.verify(token).ok().and_then(|_| claims_of(token)).map(|c| ActiveToken::AccessToken {
            username: c.client_id.is_none().then(|| c.sub.clone()),
            sub: c.sub,
            client_id: c.client_id,
            tenant: c.tenant,
            roles: c.roles,
            exp: c.exp,
            iat: c.iat,
            nbf: c.nbf,
            iss: c.iss,
            aud: c.aud,
            jti: c.jti,
        })
    };
    let answer = Introspection { active: active.is_some(), token: active };
    Ok(no_store(HttpResponse::Ok()).json(Reply::ok(answer)))
}

/// `POST /v1/oauth/revoke` (form: `token`, optional `token_type_hint`). Holding a token is enough
/// to revoke it; client credentials, when given, must be right. Unknown, invalid and expired
/// tokens are answered 200 like any other (RFC 7009 §2.2).
pub async fn revoke(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let form = Form::parse(&req, &body)?;
    if let Some(creds) = form.client_credentials(&req)? {
        authenticate_client(&req, &state, &store, creds).await?;
    }
    let token = form.require("token")?;
    if token.starts_with(REFRESH_PREFIX) {
        tokens::revoke_refresh(&store, token).await?;
        tracing::info!("Revoked a refresh token");
    } else if let Ok(identity) = state.verifier.verify(token) {
        tokens::revoke_access(&state, &store, &identity.jti, identity.exp).await?;
        tracing::info!(jti = %identity.jti, sub = %identity.sub, "Revoked an access token");
    }
    Ok(HttpResponse::Ok().json(Envelope::ok()))
}

/// `POST /v1/oauth/keys/rotate` (platform scope): a new signing key signs from now on; the old one
/// stays published until its tokens have expired.
pub async fn rotate(
    caller: Caller,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    crate::authorize::require(&caller.0, keel_sdk::access::Permission::RotateKeys)?;
    let keep = state.keep_retired_seconds();
    let now = now_secs();
    let ring = store
        .update::<KeyRing, KeyRing>(keys::KEYRING, |ring| {
            ring.rotate(now, keep, &state.sealer)?;
            Ok(ring.clone())
        })
        .await?;
    state.install_ring(&ring)?;
    tracing::info!(kid = %ring.current, by = %caller.0.sub, "Rotated the token signing key");
    let published = ring.keys.into_iter().map(|k| k.kid).collect();
    Ok(HttpResponse::Ok().json(Reply::ok(Rotated { kid: ring.current, published })))
}

/// The claims of a token the verifier has just accepted.
fn claims_of(token: &str) -> Option<AccessClaims> {
    jsonwebtoken::dangerous::insecure_decode::<AccessClaims>(token).ok().map(|d| d.claims)
}
