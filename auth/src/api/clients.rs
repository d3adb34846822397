//! `/v1/clients/{plugin_id}`: client credentials for the client-credentials grant. The registry
//! (`plugins`, as stamped by its sidecar in `dapr-caller-app-id`) sets them when a plugin is
//! registered with a secret and removes them when it is unregistered; platform scope may manage
//! them too (integrators). Secrets are stored as Argon2id hashes and never answered.
//!
//! The registry tags the credentials it sets with its registration's attempt id (`registration`)
//! and removes them naming it (`DELETE ...?registration=<id>`), so that its clean-up of a
//! registration that never committed cannot remove the credentials of a later one
//! (plugins-manager `intents`, docs/architecture.md "Cross-service writes"). A removal naming a
//! registration also withdraws it for good ([`RegistrationMark`]): a `PUT` of that registration
//! still on its way (auth waiting on a stalled store while the registry gave up and cleaned up)
//! is refused with 409 when it arrives, instead of storing credentials nobody will remove.

use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::access::Permission;
use keel_sdk::dapr::{SaveItem, TransactionOp};
use keel_sdk::protocol::{PluginId, Reply};
use keel_sdk::tokens::now_secs;
use serde::{Deserialize, Serialize};

use super::caller::{authenticate, caller_app, client_record};
use crate::authorize;
use crate::error::{AuthError, Denied};
use crate::model::{keys, ClientRecord, RegistrationMark, REGISTRATION_MARK_TTL_SECS};
use crate::state::AuthState;
use crate::store::{retry_races, to_json, Store};

/// Longest secret accepted.
const MAX_SECRET_BYTES: usize = 1024;

/// Longest registration tag accepted (the registry's are 32 hex digits).
const MAX_REGISTRATION_BYTES: usize = 64;

/// Body of `PUT /v1/clients/{plugin_id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientSecret {
    secret: String,
    /// The registry's registration the credentials belong to.
    #[serde(default)]
    registration: Option<String>,
}

/// Query of `DELETE /v1/clients/{plugin_id}`.
#[derive(Deserialize)]
pub struct DeleteQuery {
    /// Remove the credentials only if they belong to this registration.
    registration: Option<String>,
}

/// What is shown of a client's credentials: never the secret or its hash.
#[derive(Debug, Serialize)]
pub struct ClientView {
    pub client_id: String,
    pub created_at: u64,
    /// The app-id `plugins` or the super-admin's name.
    pub set_by: String,
    /// The registry's registration they belong to, when the registry set them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
}

impl From<&ClientRecord> for ClientView {
    fn from(r: &ClientRecord) -> Self {
        Self {
            client_id: r.id.clone(),
            created_at: r.created_at,
            set_by: r.set_by.clone(),
            registration: r.registration.clone(),
        }
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
    let ClientSecret { secret, registration } = body.into_inner();
    if secret.is_empty() || secret.len() > MAX_SECRET_BYTES {
        return Err(AuthError::Invalid(format!("secret must be 1 to {MAX_SECRET_BYTES} bytes")));
    }
    if let Some(tag) = &registration {
        check_registration(tag)?;
    }
    let existed = client_record(&store, &id).await?.is_some();
    let record = ClientRecord {
        id: id.clone(),
        secret_hash: state.hasher.hash(secret).await?,
        created_at: now_secs(),
        set_by: by.clone(),
        registration,
    };
    // Last write wins: a re-registration replaces the secret, whoever was first.
    match &record.registration {
        None => store.put(&keys::client(&id), &record).await?,
        Some(tag) => give(&store, &record, tag).await?,
    }
    tracing::info!(client = %id, by = %by, "Set client credentials");
    let body = Reply::ok(ClientView::from(&record));
    Ok(if existed { HttpResponse::Ok().json(body) } else { HttpResponse::Created().json(body) })
}

/// Stores the credentials of registration `tag`, in one transaction with its mark, conditional on
/// the mark as read: a registration withdrawn before (or while) this runs is refused.
async fn give(store: &Store, record: &ClientRecord, tag: &str) -> Result<(), AuthError> {
    let mark_key = keys::registration(&record.id, tag);
    let client = to_json(record)?;
    let given = to_json(&RegistrationMark::Given)?;
    retry_races(format!("registration {tag:?} of client {:?}", record.id), || async {
        let mark = store.get::<RegistrationMark>(&mark_key).await?;
        if mark.as_ref().is_some_and(|m| m.value == RegistrationMark::Withdrawn) {
            return Err(AuthError::Conflict(format!(
                "registration {tag:?} of {:?} was withdrawn: its credentials are not stored",
                record.id
            )));
        }
        let ops = [
            TransactionOp::Upsert(SaveItem::new(keys::client(&record.id), client.clone())),
            TransactionOp::Upsert(
                SaveItem::new(&mark_key, given.clone())
                    .first_write(mark.and_then(|m| m.etag))
                    .ttl_seconds(REGISTRATION_MARK_TTL_SECS),
            ),
        ];
        store.transact(&ops).await
    })
    .await
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

/// `DELETE /v1/clients/{plugin_id}[?registration=<tag>]`: removes the credentials (200 also when
/// there were none, so the registry can retry an unregistration). With `registration`, only
/// credentials of that registration are removed (conditionally on the ETag they were read with,
/// so a replacement written meanwhile stays); others are left and `deleted` is false. Without it,
/// whatever is there is removed.
pub async fn delete(
    req: HttpRequest,
    id: web::Path<String>,
    query: web::Query<DeleteQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let by = manager(&req).await?;
    let id = client_id(&id)?;
    let only = query.into_inner().registration;
    if let Some(tag) = &only {
        check_registration(tag)?;
        // First, so that a `PUT` of this registration that has not landed yet never will.
        let mark = keys::registration(&id, tag);
        store.put_expiring(&mark, &RegistrationMark::Withdrawn, REGISTRATION_MARK_TTL_SECS).await?;
    }
    // Moves credentials found only in the legacy store first, so the read below sees them.
    client_record(&store, &id).await?;
    let key = keys::client(&id);
    let found = store.get::<ClientRecord>(&key).await?;
    let deleted = match found {
        None => false,
        Some(found) if only.is_some() && found.value.registration != only => {
            tracing::info!(client = %id, by = %by, "Kept client credentials of another registration");
            false
        }
        Some(found) => match store.delete_if(&key, found.etag.as_deref().filter(|_| only.is_some())).await {
            // Replaced since it was read: the new credentials are not the ones asked about.
            Err(e) if crate::store::is_race(&e) => false,
            other => other.map(|()| true)?,
        },
    };
    tracing::info!(client = %id, by = %by, deleted, "Removed client credentials");
    Ok(HttpResponse::Ok().json(Reply::ok(ClientDeleted { deleted })))
}

/// A registration tag: short, letters, digits and `-` only (it is logged and stored).
fn check_registration(tag: &str) -> Result<(), AuthError> {
    let ok = !tag.is_empty()
        && tag.len() <= MAX_REGISTRATION_BYTES
        && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "registration must be 1 to {MAX_REGISTRATION_BYTES} letters, digits or '-'"
        )))
    }
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
