//! Who is calling: a verified access token ([`Caller`], an extractor, so a handler cannot run
//! without one), checked client credentials, and the app-id the caller's sidecar stamped. What
//! each may do is decided in [`crate::authorize`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use keel_sdk::dapr::headers::DAPR_CALLER_APP_ID;
use keel_sdk::protocol::PluginId;
use keel_sdk::tokens::{bearer_token, Identity, VerifyError};

use super::form::ClientCredentials;
use crate::error::{AuthError, Denied, OAuthCode};
use crate::model::{keys, ClientRecord};
use crate::state::AuthState;
use crate::store::Store;

/// The verified identity behind the request's bearer token.
pub struct Caller(pub Arc<Identity>);

impl Caller {
    /// The identity, refusing client-credentials tokens (clients manage nothing).
    pub fn person(&self) -> Result<&Identity, AuthError> {
        if self.0.client_id.is_some() {
            return Err(Denied::ClientToken.into());
        }
        Ok(&self.0)
    }
}

impl FromRequest for Caller {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AuthError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await.map(Caller) })
    }
}

/// Verifies the request's bearer token with auth's own keys; a `kid` this replica has not seen
/// (another replica rotated) reloads the key ring once before giving up.
pub async fn authenticate(req: &HttpRequest) -> Result<Arc<Identity>, AuthError> {
    let (state, store) = context(req)?;
    let token = bearer_token(req.headers()).map_err(AuthError::Unauthenticated)?;
    match state.verifier.verify(token) {
        Err(VerifyError::UnknownKey(_)) => {
            state.reload_for_unknown_kid(&store).await;
            state.verifier.verify(token)
        }
        verdict => verdict,
    }
    .map_err(AuthError::Unauthenticated)
}

/// Checks client credentials against the stored secret hashes: the client's id, or
/// `invalid_client` (an unknown client costs the same hash as a wrong secret). Guessing a client's
/// secret is throttled like guessing a password ([`crate::throttle`], per client and address).
pub async fn authenticate_client(
    req: &HttpRequest,
    state: &AuthState,
    store: &Store,
    creds: ClientCredentials,
) -> Result<String, AuthError> {
    let address = crate::throttle::client_address(req);
    let valid = PluginId::parse(&creds.id).is_ok();
    let who = if valid { format!("client/{}", creds.id) } else { "client/<malformed>".to_owned() };
    if let Err(retry_after) = state.throttle.check(&who, &address) {
        tracing::info!(address = ?address, "Throttled a client authentication");
        return Err(AuthError::Throttled { retry_after });
    }
    let record = if valid { client_record(store, &creds.id).await? } else { None };
    if state.hasher.verify(creds.secret, record.map(|r| r.secret_hash)).await? {
        state.throttle.succeeded(&who, &address);
        Ok(creds.id)
    } else {
        state.throttle.failed(&who, &address);
        Err(AuthError::OAuth {
            code: OAuthCode::InvalidClient,
            description: "client authentication failed".into(),
            basic: creds.basic,
        })
    }
}

/// Client `id`'s stored credentials. Found only in the shared store (where older versions kept
/// them), they are moved to auth's own store first.
pub async fn client_record(store: &Store, id: &str) -> Result<Option<ClientRecord>, AuthError> {
    let key = keys::client(id);
    if let Some(found) = store.get::<ClientRecord>(&key).await? {
        return Ok(Some(found.value));
    }
    let Some(legacy) = store.legacy() else {
        return Ok(None);
    };
    let Some(old) = legacy.get::<ClientRecord>(&key).await? else {
        return Ok(None);
    };
    match store.put_if(&key, &old.value, None, None).await {
        Err(e) if crate::store::is_race(&e) => {}
        other => other?,
    }
    legacy.delete_if(&key, None).await?;
    tracing::info!(client = %id, "Moved client credentials to auth's own store");
    Ok(Some(old.value))
}

/// Auth's state and this worker's store, from the app data.
pub fn context(req: &HttpRequest) -> Result<(web::Data<AuthState>, web::Data<Store>), AuthError> {
    let state = req.app_data::<web::Data<AuthState>>().cloned();
    let store = req.app_data::<web::Data<Store>>().cloned();
    state.zip(store).ok_or_else(|| AuthError::Internal("app data missing".into()))
}

/// The app-id the caller's sidecar stamped (`dapr-caller-app-id`); Dapr overwrites whatever the
/// caller sent, so it cannot be forged through a sidecar.
pub fn caller_app(req: &HttpRequest) -> Option<&str> {
    req.headers().get(DAPR_CALLER_APP_ID).and_then(|v| v.to_str().ok())
}
