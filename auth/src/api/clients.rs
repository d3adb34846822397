//! `/v1/clients/{plugin_id}`: client credentials for the client-credentials grant. The registry
//! (`plugins`, as stamped by its sidecar in `dapr-caller-app-id`) sets them when a plugin is
//! registered with a secret and removes them when it is unregistered; platform scope may manage
//! them too (integrators). Secrets are stored as Argon2id hashes and never answered.

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::access::Permission;
use keel_sdk::protocol::{PluginId, Reply};
use keel_sdk::tokens::now_secs;
use serde::{Deserialize, Serialize};

use super::caller::{authenticate, caller_app, client_record};
use crate::authorize;
use crate::error::{AuthError, Denied};
use crate::model::{keys, ClientRecord};
use crate::state::AuthState;
use crate::store::Store;

/// Longest secret accepted.
const MAX_SECRET_BYTES: usize = 1024;

/// Body of `PUT /v1/clients/{plugin_id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSecret {
    secret: String,
}

/// What is shown of a client's credentials: never the secret or its hash.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub created_at: u64,
    /// The app-id `plugins` or the super-admin's name.
    pub set_by: String,
}

impl From<&ClientRecord> for ClientView {
    fn from(r: &ClientRecord) -> Self {
        Self { client_id: r.id.clone(), created_at: r.created_at, set_by: r.set_by.clone() }
    }
}

/// Answer of `DELETE /v1/clients/{plugin_id}`.
#[derive(Debug, Serialize)]
pub struct ClientDeleted {
    /// Whether there were credentials to delete.
    pub deleted: bool,
}

/// `PUT /v1/clients/{plugin_id}` `{"secret"}`: creates (201) or replaces (200) the credentials.
pub async fn put(
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<ClientSecret>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let by = manager(&req).await?;
    let id = client_id(&id)?;
    let secret = body.into_inner().secret;
    if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
        return Err(AuthError::Invalid(format!("secret must be 1 to {MAX_SECRET_BYTES} bytes")));
    }
    let existed = client_record(&store, &id).await?.is_some();
    let record = ClientRecord {
        id: id.clone(),
        secret_hash: state.hasher.hash(secret).await?,
        created_at: now_secs(),
        set_by: by.clone(),
    };
    // Last write wins: a re-registration replaces the secret, whoever was first.
    store.put(&keys::client(&id), &record).await?;
    tracing::info!(client = %id, by = %by, "Set client credentials");
    let body = Reply::ok(ClientView::from(&record));
    Ok(if existed { HttpResponse::Ok().json(body) } else { HttpResponse::Created().json(body) })
}

/// `GET /v1/clients/{plugin_id}`: whether credentials exist (never the secret).
pub async fn get(
    req: HttpRequest,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    manager(&req).await?;
    let id = client_id(&id)?;
    let record = client_record(&store, &id)
        .await?
        .ok_or_else(|| AuthError::NotFound(format!("client {id:?} not found")))?;
    Ok(HttpResponse::Ok().json(Reply::ok(ClientView::from(&record))))
}

/// `DELETE /v1/clients/{plugin_id}`: removes the credentials (200 also when there were none, so
/// the registry can retry an unregistration).
pub async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let by = manager(&req).await?;
    let id = client_id(&id)?;
    let existed = client_record(&store, &id).await?.is_some();
    store.delete_if(&keys::client(&id), None).await?;
    tracing::info!(client = %id, by = %by, existed, "Removed client credentials");
    Ok(HttpResponse::Ok().json(Reply::ok(ClientDeleted { deleted: existed })))
}

/// Who may manage clients: an app granted it (the registry, by its sidecar's stamp), or a person
/// of platform scope (who may register plugins anyway).
async fn manager(req: &HttpRequest) -> Result<String, AuthError> {
    if let Some(app) = caller_app(req).filter(|app| authorize::app_may(app, Permission::SetClientCredentials))
    {
        return Ok(app.to_owned());
    }
    let identity = authenticate(req).await?;
    match authorize::require(&identity, Permission::RegisterPlugins) {
        Ok(()) => Ok(identity.sub.clone()),
        Err(AuthError::Forbidden(_)) => Err(Denied::NotClientManager.into()),
        Err(e) => Err(e),
    }
}

fn client_id(id: &str) -> Result<String, AuthError> {
    PluginId::parse(id).map(|p| p.as_str().to_owned()).map_err(|e| AuthError::Invalid(e.to_string()))
}
