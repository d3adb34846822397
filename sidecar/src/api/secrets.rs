//! The secrets API (daprd's `pkg/api/http/secrets.go` over `pkg/api/universal/secrets.go`):
//! `GET /v1.0/secrets/{store}/{key}` answers the secret's map, `GET /v1.0/secrets/{store}/bulk`
//! every secret's map by name, both as Go's `json.Encoder` writes them (keys sorted, HTML
//! characters escaped, a trailing newline). `metadata.*` query parameters go to the store (the
//! local stores ignore them).
//!
//! Checks, in daprd's order: the body (a GET may carry one: it must be a JSON object), a store
//! at all (500), this store (401, as daprd answers it), the Configuration's secret scopes for the
//! key (403; bulk leaves refused keys out), then the store (500).

use super::errors::ApiError;
use super::state::query_metadata;
use super::ApiContext;
use crate::channel::body::{read_all, RequestBody};
use crate::golang::json as gojson;
use crate::secrets::Store;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

/// `GET /v1.0/secrets/{store}/{key}`.
pub async fn get(
    ctx: &ApiContext,
    req: &HttpRequest,
    store_name: &str,
    key: &str,
    body: RequestBody,
) -> Result<HttpResponse, ApiError> {
    check_body(body).await?;
    let store = lookup(ctx, store_name)?;
    if !allowed(ctx, store_name, key) {
        return Err(ApiError::secret_permission_denied(key, store_name));
    }
    let metadata = query_metadata(req.query_string());
    let secret = store.backend.get(key, &metadata).map_err(|e| ApiError::secret_get(key, store_name, e))?;
    Ok(json(serde_json::to_value(secret).unwrap_or_default()))
}

/// `GET /v1.0/secrets/{store}/bulk`.
pub async fn bulk(
    ctx: &ApiContext,
    req: &HttpRequest,
    store_name: &str,
    body: RequestBody,
) -> Result<HttpResponse, ApiError> {
    check_body(body).await?;
    let store = lookup(ctx, store_name)?;
    let metadata = query_metadata(req.query_string());
    let mut all = store.backend.bulk(&metadata).map_err(|e| ApiError::bulk_secret_get(store_name, e))?;
    all.retain(|name, _| {
        let ok = allowed(ctx, store_name, name);
        if !ok {
            tracing::debug!(store = store_name, secret = %name, "Secret left out of bulk: denied by policy");
        }
        ok
    });
    Ok(json(serde_json::to_value(all).unwrap_or_default()))
}

/// daprd's `secretsValidateRequest`.
fn lookup<'a>(ctx: &'a ApiContext, name: &str) -> Result<&'a Store, ApiError> {
    if ctx.secrets.is_empty() {
        return Err(ApiError::secret_stores_not_configured());
    }
    ctx.secrets.get(name).ok_or_else(|| ApiError::secret_store_not_found(name))
}

/// daprd's `isSecretAllowed`: no scope for the store allows everything.
fn allowed(ctx: &ApiContext, store: &str, key: &str) -> bool {
    ctx.configuration.secrets_scope(store).is_none_or(|s| s.is_secret_allowed(key))
}

/// The universal handler reads a body even on GET and decodes a non-empty one as the request
/// message; anything but a JSON object cannot be one.
async fn check_body(body: RequestBody) -> Result<(), ApiError> {
    let bytes = read_all(body).await.map_err(ApiError::body_read)?;
    if bytes.is_empty() {
        return Ok(());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(_)) => Ok(()),
        Ok(_) => Err(ApiError::malformed(
            "failed deserializing HTTP body: proto: syntax error: expected a JSON object",
        )),
        Err(e) => {
            Err(ApiError::malformed(format!("failed deserializing HTTP body: proto: syntax error: {e}")))
        }
    }
}

/// 200 with Go's `json.NewEncoder(w).Encode(v)`.
fn json(v: Value) -> HttpResponse {
    let mut bytes = gojson::marshal(&v);
    bytes.push(b'\n');
    HttpResponse::Ok().insert_header((CONTENT_TYPE, "application/json")).body(bytes)
}
