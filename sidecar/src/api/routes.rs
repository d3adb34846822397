//! daprd's route table for the part of the API the stand-in serves, matched the way chi matches
//! it: on the escaped path when Go kept one, after `path.Clean` (chi's `CleanPath`, which also
//! drops a trailing slash), by method and pattern. Anything else — an unknown path or a known
//! path with the wrong verb — is the invocation fallback, exactly as daprd registers
//! `onDirectMessage` for both NotFound and MethodNotAllowed.

use super::errors::ApiError;
use crate::golang::{path, url};
use actix_web::http::Method;

/// A matched route, with its parameters decoded by `url.QueryUnescape`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1.0/healthz`.
    Healthz,
    /// `GET /v1.0/healthz/outbound`.
    HealthzOutbound,
    /// `GET /v1.0/metadata`.
    GetMetadata,
    /// `PUT /v1.0/metadata/{key}`.
    PutMetadata(String),
    /// `POST /v1.0/shutdown`.
    Shutdown,
    /// `GET /v1.0/state/{store}/{key}`.
    GetState(String, String),
    /// `DELETE /v1.0/state/{store}/{key}`.
    DeleteState(String, String),
    /// `POST|PUT /v1.0/state/{store}`.
    SaveState(String),
    /// `POST|PUT /v1.0/state/{store}/bulk`.
    BulkState(String),
    /// `POST|PUT /v1.0/state/{store}/transaction`.
    Transaction(String),
    /// `POST|PUT /v1.0-alpha1/state/{store}/query`.
    QueryState(String),
    /// `GET /v1.0/secrets/{store}/{key}`.
    GetSecret(String, String),
    /// `GET /v1.0/secrets/{store}/bulk`.
    BulkSecret(String),
}

/// Matches `method` and the routing path (see [`url::server_paths`]). `None` is everything
/// else: service invocation (`/v1.0/invoke/...`, `dapr-app-id`, or 404).
pub fn resolve(method: &Method, routing_path: &str) -> Result<Option<Route>, ApiError> {
    let cleaned = path::clean(routing_path);
    let segs: Vec<&str> = cleaned.split('/').filter(|s| !s.is_empty()).collect();
    let p = |name: &str, raw: &str| url::query_unescape(raw).map_err(|e| ApiError::bad_param(name, e));
    let is = |m: &Method| method == m;
    let post_or_put = is(&Method::POST) || is(&Method::PUT);
    let route = match segs.as_slice() {
        ["v1.0", "healthz"] if is(&Method::GET) => Route::Healthz,
        ["v1.0", "healthz", "outbound"] if is(&Method::GET) => Route::HealthzOutbound,
        ["v1.0", "metadata"] if is(&Method::GET) => Route::GetMetadata,
        ["v1.0", "metadata", key] if is(&Method::PUT) => Route::PutMetadata(p("key", key)?),
        ["v1.0", "shutdown"] if is(&Method::POST) => Route::Shutdown,
        ["v1.0", "state", store] if post_or_put => Route::SaveState(p("storeName", store)?),
        ["v1.0", "state", store, "bulk"] if post_or_put => Route::BulkState(p("storeName", store)?),
        ["v1.0", "state", store, "transaction"] if post_or_put => Route::Transaction(p("storeName", store)?),
        ["v1.0", "state", store, key] if is(&Method::GET) => {
            Route::GetState(p("storeName", store)?, p("key", key)?)
        }
        ["v1.0", "state", store, key] if is(&Method::DELETE) => {
            Route::DeleteState(p("storeName", store)?, p("key", key)?)
        }
        ["v1.0-alpha1", "state", store, "query"] if post_or_put => Route::QueryState(p("storeName", store)?),
        // chi: the literal `bulk` wins over `{key}`.
        ["v1.0", "secrets", store, "bulk"] if is(&Method::GET) => {
            Route::BulkSecret(p("secretStoreName", store)?)
        }
        ["v1.0", "secrets", store, key] if is(&Method::GET) => {
            Route::GetSecret(p("secretStoreName", store)?, p("key", key)?)
        }
        _ => return Ok(None),
    };
    Ok(Some(route))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The route matched; `None` is the invocation fallback.
    fn r(m: Method, p: &str) -> Option<Route> {
        resolve(&m, p).unwrap()
    }

    #[test]
    fn known_routes_match_by_method_and_pattern() {
        assert_eq!(r(Method::GET, "/v1.0/healthz"), Some(Route::Healthz));
        assert_eq!(r(Method::GET, "/v1.0/healthz/"), Some(Route::Healthz));
        assert_eq!(r(Method::GET, "//v1.0//healthz"), Some(Route::Healthz));
        assert_eq!(r(Method::HEAD, "/v1.0/healthz"), None);
        assert_eq!(r(Method::GET, "/v1.0/state/s"), None);
        assert_eq!(r(Method::PUT, "/v1.0/state/s"), Some(Route::SaveState("s".into())));
        assert_eq!(r(Method::GET, "/v1.0/state/s/bulk"), Some(Route::GetState("s".into(), "bulk".into())));
        assert_eq!(r(Method::POST, "/v1.0/state/s/bulk"), Some(Route::BulkState("s".into())));
        assert_eq!(r(Method::PUT, "/v1.0/state/s/k"), None);
        assert_eq!(r(Method::GET, "/v1.0/invoke/a/method/b"), None);
        assert_eq!(r(Method::GET, "/v1.0/secrets/s/bulk"), Some(Route::BulkSecret("s".into())));
        assert_eq!(r(Method::GET, "/v1.0/secrets/s/a%2Fb"), Some(Route::GetSecret("s".into(), "a/b".into())));
        assert_eq!(r(Method::POST, "/v1.0/secrets/s/k"), None);
        assert_eq!(r(Method::GET, "/v1.0/secrets/s"), None);
    }

    #[test]
    fn parameters_are_query_unescaped() {
        assert_eq!(r(Method::GET, "/v1.0/state/s/a%2Fb"), Some(Route::GetState("s".into(), "a/b".into())));
        assert_eq!(r(Method::GET, "/v1.0/state/s/a+b"), Some(Route::GetState("s".into(), "a b".into())));
        assert!(matches!(resolve(&Method::GET, "/v1.0/state/s/a%zz"), Err(ApiError::Text { .. })));
    }
}
