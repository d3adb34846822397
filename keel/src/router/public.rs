//! The external flow's gate (keel's public port): who a client is, decided by keel itself from
//! the client's bearer token, before the request joins the internal flow's checks and forwarding.
//!
//! Token verification arrives with the auth service (issue 5) as an implementation of
//! [`TokenVerifier`]. Until one is configured the gate refuses every request with 401: the public
//! port is never open without authentication.

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;

use super::errors::RouteError;
use crate::protocol::RouteTable;

/// `x-keel-user`: the verified subject, added for the plugin.
pub const X_KEEL_USER: &str = "x-keel-user";
/// `x-keel-tenant`: the verified subject's tenant.
pub const X_KEEL_TENANT: &str = "x-keel-tenant";
/// `x-keel-roles`: the verified subject's roles, comma-separated.
pub const X_KEEL_ROLES: &str = "x-keel-roles";

/// Who an external client is, as its verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject (`sub`).
    pub user: String,
    /// The tenant.
    pub tenant: String,
    /// The roles.
    pub roles: Vec<String>,
}

/// Verifies an external request's credentials locally (signature with the algorithm pinned,
/// expiry, issuer, audience), with no call to auth per request. Called once per request on the
/// public port, on a worker thread: it must not block.
pub trait TokenVerifier: Send + Sync + 'static {
    /// `authorization` is the request's `Authorization` header, if any. A refusal should be
    /// [`RouteError::Unauthenticated`] with a message that names the problem but not the token.
    fn verify(&self, authorization: Option<&str>) -> Result<Identity, RouteError>;
}

/// Decides whether an external request may pass: `Ok(None)` for an endpoint the plugin declared
/// public, `Ok(Some(identity))` for a verified token.
pub fn authenticate(
    verifier: Option<&dyn TokenVerifier>,
    req: &HttpRequest,
    table: &RouteTable,
    plugin: &str,
    endpoint: &str,
) -> Result<Option<Identity>, RouteError> {
    let verifier = verifier.ok_or_else(|| {
        RouteError::Unauthenticated(
            "keel's public port has no token verification configured, so it refuses every request".into(),
        )
    })?;
    let declared_public =
        table.plugins.get(plugin).is_some_and(|p| p.public_endpoints.iter().any(|e| e == endpoint));
    if declared_public {
        return Ok(None);
    }
    let header = match req.headers().get(AUTHORIZATION) {
        Some(v) => Some(
            v.to_str().map_err(|_| RouteError::Unauthenticated("malformed Authorization header".into()))?,
        ),
        None => None,
    };
    verifier.verify(header).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::ResponseError;
    use serde_json::json;

    struct Fixed;

    impl TokenVerifier for Fixed {
        fn verify(&self, authorization: Option<&str>) -> Result<Identity, RouteError> {
            match authorization {
                Some("Bearer good") => {
                    Ok(Identity { user: "ann".into(), tenant: "t1".into(), roles: vec!["admin".into()] })
                }
                _ => Err(RouteError::Unauthenticated("invalid token".into())),
            }
        }
    }

    fn table() -> RouteTable {
        serde_json::from_value(json!({"version": 1, "plugins": {
            "echo": {"status": "ACTIVE", "public_endpoints": ["hello"]}}}))
        .unwrap()
    }

    #[test]
    fn without_a_verifier_everything_is_401_even_public_endpoints() {
        let req = TestRequest::default().insert_header((AUTHORIZATION, "Bearer good")).to_http_request();
        for endpoint in ["hello", "private"] {
            let err = authenticate(None, &req, &table(), "echo", endpoint).unwrap_err();
            assert_eq!(err.status_code().as_u16(), 401);
        }
    }

    #[test]
    fn a_verifier_decides_except_for_declared_public_endpoints() {
        let good = TestRequest::default().insert_header((AUTHORIZATION, "Bearer good")).to_http_request();
        let none = TestRequest::default().to_http_request();
        let v: &dyn TokenVerifier = &Fixed;
        assert_eq!(authenticate(Some(v), &good, &table(), "echo", "private").unwrap().unwrap().user, "ann");
        assert_eq!(authenticate(Some(v), &none, &table(), "echo", "hello").unwrap(), None);
        let err = authenticate(Some(v), &none, &table(), "echo", "private").unwrap_err();
        assert_eq!(err.status_code().as_u16(), 401);
    }
}
