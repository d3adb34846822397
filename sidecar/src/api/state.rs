//! The state API handlers (daprd's `pkg/api/http/http.go` state endpoints): store lookup before
//! the body is read, Go-style body decoding, key prefixing, then the store call, with daprd's
//! error codes and statuses.

use super::errors::{codes, ApiError};
use super::ApiContext;
use crate::channel::body::{read_all, RequestBody};
use crate::golang::{json as gojson, url};
use crate::state::request::{self, SetRequest};
use crate::state::{self, keys, DeleteOp, SetOp, Store, StoreError, TxOp};
use actix_web::http::header::{CONTENT_TYPE, ETAG, IF_MATCH};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use std::collections::BTreeMap;

/// Finds the store, with daprd's two errors: none configured (500) or not this one (400).
fn lookup<'a>(ctx: &'a ApiContext, name: &str, app_id: &str) -> Result<&'a Store, ApiError> {
    if ctx.stores.is_empty() {
        return Err(ApiError::store_not_configured(name, app_id));
    }
    ctx.stores.get(name).ok_or_else(|| ApiError::store_not_found(name, app_id))
}

/// `metadata.X=v` query parameters as `X → v` (first value wins).
pub(super) fn query_metadata(raw_query: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in url::parse_query(raw_query) {
        if let Some(name) = k.strip_prefix("metadata.") {
            out.entry(name.to_owned()).or_insert(v);
        }
    }
    out
}

/// The status daprd gives a save/delete failure (`stateErrorResponse` + `etagError`).
fn etag_status(err: &StoreError) -> StatusCode {
    match err {
        StoreError::EtagMismatch(_) => StatusCode::CONFLICT,
        StoreError::EtagInvalid(_) => StatusCode::BAD_REQUEST,
        StoreError::Other(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An expiry as daprd reports it (`metadata.ttlExpireTime`): Go's `time.RFC3339` of a UTC
/// time at second precision, `2026-01-01T00:00:00Z`, which is humantime's seconds format.
fn ttl_expire_time(t: std::time::SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

async fn body_bytes(body: RequestBody, prefix: &str) -> Result<bytes::Bytes, ApiError> {
    read_all(body).await.map_err(|e| ApiError::malformed(format!("{prefix}{e}")))
}

/// `GET /v1.0/state/{store}/{key}`.
pub async fn get(ctx: &ApiContext, store_name: &str, key: &str) -> Result<HttpResponse, ApiError> {
    let store = lookup(ctx, store_name, &ctx.app_id)?;
    let stored = store.prefix.stored_key(key).map_err(|e| ApiError::illegal_key(&store.name, e))?;
    let item = store.backend.get(&stored).await.map_err(|e| {
        ApiError::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::STATE_GET,
            format!("fail to get {key} from state store {store_name}: {e}"),
        )
    })?;
    let Some(item) = item else {
        return Ok(HttpResponse::NoContent().finish());
    };
    let mut resp = HttpResponse::Ok();
    resp.insert_header((CONTENT_TYPE, "application/json"));
    if !item.etag.is_empty() {
        resp.insert_header((ETAG, item.etag.as_str()));
    }
    if let Some(expires) = item.expires_at {
        resp.insert_header(("metadata.ttlExpireTime", ttl_expire_time(expires)));
    }
    Ok(resp.body(item.data))
}

/// `POST|PUT /v1.0/state/{store}`.
pub async fn save(
    ctx: &ApiContext,
    req: &HttpRequest,
    store_name: &str,
    body: RequestBody,
) -> Result<HttpResponse, ApiError> {
    let store = lookup(ctx, store_name, &ctx.app_id)?;
    let bytes = body_bytes(body, "").await?;
    let items = request::decode_save(&bytes).map_err(ApiError::malformed)?;
    if items.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    let query_meta = query_metadata(req.query_string());
    let mut drafts = Vec::with_capacity(items.len());
    for item in items {
        let key = store.prefix.stored_key(&item.key).map_err(|e| ApiError::illegal_key(&store.name, e))?;
        drafts.push((key, item));
    }
    // One item is one `Set`; several are the store's `BulkSet`: every `Set` at once, not atomic.
    let one = drafts.len() == 1;
    let sets = drafts.into_iter().map(|(key, item)| {
        let backend = store.backend.clone();
        let query_meta = &query_meta;
        async move {
            let op = set_op(key, item, query_meta)?;
            backend.set(&op).await
        }
    });
    let errors: Vec<StoreError> =
        futures_util::future::join_all(sets).await.into_iter().filter_map(Result::err).collect();
    if errors.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    let (status, message) = save_error(one, &errors);
    Err(ApiError::legacy(
        status,
        codes::STATE_SAVE,
        format!("failed saving state in state store {store_name}: {message}"),
    ))
}

/// How daprd reports failed saves (`PerformBulkStoreOperation`, then `stateErrorResponse`): one
/// item keeps its error; of several, ETag errors only become one ETag error wrapping them all
/// (joined by newlines; invalid if any is invalid), and a mix is reported as its first ETag
/// error, other errors as the joined text with a 500.
fn save_error(one: bool, errors: &[StoreError]) -> (StatusCode, String) {
    if one {
        return (etag_status(&errors[0]), errors[0].to_string());
    }
    let joined = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    let is_etag = |e: &StoreError| matches!(e, StoreError::EtagMismatch(_) | StoreError::EtagInvalid(_));
    if errors.iter().all(is_etag) {
        let wrapped = if errors.iter().any(|e| matches!(e, StoreError::EtagInvalid(_))) {
            StoreError::EtagInvalid(Some(joined))
        } else {
            StoreError::EtagMismatch(Some(joined))
        };
        return (etag_status(&wrapped), wrapped.to_string());
    }
    match errors.iter().find(|e| is_etag(e)) {
        Some(first) => (etag_status(first), first.to_string()),
        None => (StatusCode::INTERNAL_SERVER_ERROR, joined),
    }
}

/// Builds one write from a decoded item (options checked, TTL parsed, value re-marshalled).
fn set_op(key: String, item: SetRequest, query_meta: &BTreeMap<String, String>) -> Result<SetOp, StoreError> {
    let concurrency = state::parse_concurrency(item.concurrency.as_deref())?;
    state::check_consistency(item.consistency.as_deref())?;
    let mut metadata = item.metadata;
    metadata.extend(query_meta.iter().map(|(k, v)| (k.clone(), v.clone())));
    Ok(SetOp {
        key,
        value: gojson::marshal(&item.value),
        etag: item.etag,
        concurrency,
        consistency_strong: item.consistency.as_deref() == Some("strong"),
        ttl: state::ttl_from_metadata(&metadata),
    })
}

/// `DELETE /v1.0/state/{store}/{key}`.
pub async fn delete(
    ctx: &ApiContext,
    req: &HttpRequest,
    store_name: &str,
    key: &str,
) -> Result<HttpResponse, ApiError> {
    let store = lookup(ctx, store_name, &ctx.app_id)?;
    let stored = store.prefix.stored_key(key).map_err(|e| ApiError::illegal_key(&store.name, e))?;
    let etag = req.headers().get(IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let concurrency = url::query_get(req.query_string(), "concurrency");
    let consistency = url::query_get(req.query_string(), "consistency");
    let result = async {
        let concurrency = state::parse_concurrency(concurrency.as_deref())?;
        state::check_consistency(consistency.as_deref())?;
        store.backend.delete(&DeleteOp { key: stored, etag, concurrency }).await
    }
    .await;
    match result {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(ApiError::legacy(
            etag_status(&e),
            codes::STATE_DELETE,
            format!("failed deleting state with key {key}: {e}"),
        )),
    }
}

/// `POST|PUT /v1.0/state/{store}/bulk`: `[{"key","data"?,"etag"?,"metadata"?,"error"?}]\n`.
pub async fn bulk_get(
    ctx: &ApiContext,
    store_name: &str,
    body: RequestBody,
) -> Result<HttpResponse, ApiError> {
    let store = lookup(ctx, store_name, &ctx.app_id)?;
    let bytes = body_bytes(body, "failed deserializing HTTP body: ").await?;
    let bulk = request::decode_bulk(&bytes)
        .map_err(|e| ApiError::malformed(format!("failed deserializing HTTP body: {e}")))?;
    let mut stored = Vec::with_capacity(bulk.keys.len());
    for key in &bulk.keys {
        stored.push(store.prefix.stored_key(key).map_err(|e| ApiError::illegal_key(&store.name, e))?);
    }
    if stored.is_empty() {
        return Ok(HttpResponse::Ok().content_type("application/json").body("[]\n"));
    }
    let results = store.backend.bulk_get(&stored).await.map_err(|e| {
        ApiError::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::STATE_BULK_GET,
            format!("failed getting state in bulk: {e}"),
        )
    })?;
    // Built by hand so `data` stays the stored JSON verbatim; every string goes through Go's
    // (HTML-safe) string encoder.
    let mut out: Vec<u8> = Vec::with_capacity(64 * results.len() + 3);
    out.push(b'[');
    for (i, state::BulkItem { key: stored_key, result }) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"key\":");
        out.extend(gojson::string(keys::original_key(stored_key)));
        match result {
            Ok(Some(item)) => {
                out.extend_from_slice(b",\"data\":");
                out.extend_from_slice(&item.data);
                if !item.etag.is_empty() {
                    out.extend_from_slice(b",\"etag\":");
                    out.extend(gojson::string(&item.etag));
                }
                if let Some(expires) = item.expires_at {
                    out.extend_from_slice(b",\"metadata\":{\"ttlExpireTime\":");
                    out.extend(gojson::string(&ttl_expire_time(expires)));
                    out.push(b'}');
                }
            }
            Ok(None) => {}
            Err(e) => {
                out.extend_from_slice(b",\"error\":");
                out.extend(gojson::string(e));
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]\n");
    Ok(HttpResponse::Ok().content_type("application/json").body(out))
}

/// `POST|PUT /v1.0/state/{store}/transaction`: all operations or none.
pub async fn transaction(
    ctx: &ApiContext,
    req: &HttpRequest,
    store_name: &str,
    body: RequestBody,
) -> Result<HttpResponse, ApiError> {
    let store = lookup(ctx, store_name, &ctx.app_id)?;
    let bytes = body_bytes(body, "failed deserializing HTTP body: ").await?;
    let tx = request::decode_transaction(&bytes)
        .map_err(|e| ApiError::malformed(format!("failed deserializing HTTP body: {e}")))?;
    if tx.operations.is_empty() {
        return Ok(HttpResponse::NoContent().finish());
    }
    let query_meta = query_metadata(req.query_string());
    let mut drafts = Vec::with_capacity(tx.operations.len());
    for op in tx.operations {
        let is_upsert = match op.operation.as_str() {
            "upsert" => true,
            "delete" => false,
            other => {
                return Err(ApiError::legacy(
                    StatusCode::BAD_REQUEST,
                    codes::NOT_SUPPORTED_STATE_OPERATION,
                    format!("operation type {other} not supported"),
                ))
            }
        };
        let key =
            store.prefix.stored_key(&op.request.key).map_err(|e| ApiError::illegal_key(&store.name, e))?;
        drafts.push((is_upsert, key, op.request));
    }
    let result = async {
        let mut ops = Vec::with_capacity(drafts.len());
        for (is_upsert, key, request) in drafts {
            if is_upsert {
                ops.push(TxOp::Set(set_op(key, request, &query_meta)?));
            } else {
                let concurrency = state::parse_concurrency(request.concurrency.as_deref())?;
                ops.push(TxOp::Delete(DeleteOp { key, etag: request.etag, concurrency }));
            }
        }
        store.backend.transact(&ops).await
    }
    .await;
    match result {
        Ok(()) => Ok(HttpResponse::NoContent().finish()),
        Err(e) => Err(ApiError::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::STATE_TRANSACTION,
            format!("error while executing state transaction: {e}"),
        )),
    }
}

/// `POST|PUT /v1.0-alpha1/state/{store}/query`: neither store implements querying.
pub async fn query(ctx: &ApiContext, store_name: &str) -> Result<HttpResponse, ApiError> {
    // daprd passes an empty app-id on this path, so the ErrorInfo metadata is null.
    let store = lookup(ctx, store_name, "")?;
    Err(ApiError::query_not_supported(&store.name))
}

#[cfg(test)]
mod tests {
    use super::ttl_expire_time;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn ttl_expire_time_is_gos_rfc3339_in_utc() {
        assert_eq!(ttl_expire_time(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(ttl_expire_time(UNIX_EPOCH + Duration::from_secs(1_767_225_600)), "2026-01-01T00:00:00Z");
        assert_eq!(ttl_expire_time(UNIX_EPOCH + Duration::from_secs(951_827_696)), "2000-02-29T12:34:56Z");
        // Sub-second parts are dropped, not rounded.
        assert_eq!(ttl_expire_time(UNIX_EPOCH + Duration::from_millis(59_999)), "1970-01-01T00:00:59Z");
    }
}
