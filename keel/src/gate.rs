//! The external flow's token gate (keel's public port): who a client is, decided by keel itself
//! from the client's bearer token, and whether it may call the plugin at all, before the request
//! goes on to the pre-route hook and the forwarding both flows share: a verified caller must also
//! belong to a tenant that enabled the plugin ([`enabled`]).
//!
//! Verification is pluggable ([`TokenVerifier`]); [`keel_sdk::tokens::Verifier`] (auth's EdDSA
//! tokens, keys and revocations kept in memory) implements it. Without a verifier the gate refuses
//! every request with 401: the public port is never open without authentication.

use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use futures_util::future::LocalBoxFuture;

use super::errors::RouteError;
use super::target::{self, Endpoint};
use keel_sdk::dapr::DaprClient;
use keel_sdk::protocol::{RouteTable, CORE_APP_IDS};
pub use keel_sdk::tokens::Identity;

/// Decides who an external request is from and what it may call. Called on the public port's
/// worker threads; implementations verify locally (no call to auth per request).
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies the request's credentials (usually `Authorization: Bearer <jwt>`). A refusal
    /// should be [`RouteError::Unauthenticated`] (401) with a message that never quotes the token.
    /// `dapr` is the worker's sidecar client, for a rate-limited key re-fetch.
    fn authenticate<'a>(
        &'a self,
        req: &'a HttpRequest,
        dapr: &'a DaprClient,
    ) -> LocalBoxFuture<'a, Result<Arc<Identity>, RouteError>>;

    /// Whether `who` may call `plugin` at all; a refusal should be
    /// [`RouteError::PluginNotAllowed`] (403). Plugins still check their own endpoints with the identity headers.
    fn authorize(&self, _who: &Identity, _plugin: &str) -> Result<(), RouteError> {
        Ok(())
    }

    /// Called once when the router starts, on its main thread: start whatever keeps the
    /// verifier's keys and revocations fresh.
    fn keep_fresh(&self, _dapr: DaprClient) {}
}

/// The configured verifier; without one the public port refuses every request, whatever it is.
pub fn verifier(configured: Option<&dyn TokenVerifier>) -> Result<&dyn TokenVerifier, RouteError> {
    configured.ok_or_else(|| {
        RouteError::Unauthenticated(
            "keel's public port has no token verification configured, so it refuses every request".into(),
        )
    })
}

/// Decides whether an external request may pass: `Ok(None)` for an endpoint the plugin declared
/// public, `Ok(Some(identity))` for a verified caller allowed to call `plugin` (shared with the
/// verifier's cache: nothing is copied per request).
pub async fn authenticate(
    verifier: &dyn TokenVerifier,
    req: &HttpRequest,
    dapr: &DaprClient,
    table: &RouteTable,
    Endpoint { plugin, endpoint }: Endpoint<'_>,
) -> Result<Option<Arc<Identity>>, RouteError> {
    let declared_public =
        table.plugins.get(plugin).is_some_and(|p| p.public_endpoints.iter().any(|e| e == endpoint));
    if declared_public {
        return Ok(None);
    }
    // A hosted service: a token, when sent, must be good; without one the request goes on as
    // nobody's, and hosting refuses it (401) unless the bundle is `is_open`. Logged-in people
    // reach every hosted service (no per-role grant: hosting is a core service, always enabled).
    let hosted = target::is_hosted(Endpoint { plugin, endpoint });
    let credentials = req.headers().contains_key(actix_web::http::header::AUTHORIZATION)
        || crate::session::session_of(req).is_some();
    if hosted && !credentials {
        return Ok(None);
    }
    scheme(req)?;
    let who = verifier.authenticate(req, dapr).await?;
    if !hosted {
        verifier.authorize(&who, plugin)?;
        enabled(table, plugin, &who.tenant)?;
    }
    Ok(Some(who))
}

/// Refuses an `Authorization` header in another scheme than `Bearer` with a message that says
/// what to send (the design document's `Authorization: token` among them; issue 18 §3).
fn scheme(req: &HttpRequest) -> Result<(), RouteError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else { return Ok(()) };
    // Only the scheme is read here (the token's bytes are checked once, by the verifier).
    let bytes = value.as_bytes().trim_ascii_start();
    let end = bytes.iter().position(|&b| b == b' ').unwrap_or(bytes.len());
    let scheme = std::str::from_utf8(&bytes[..end]).unwrap_or_default().trim_end();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(());
    }
    // A bare token would be its own "scheme": show only what looks like a scheme name.
    let named = scheme.len() <= 16 && !scheme.is_empty() && scheme.bytes().all(|b| b.is_ascii_alphabetic());
    Err(RouteError::WrongScheme { scheme: named.then(|| scheme.to_owned()) })
}

/// Whether `plugin` is enabled for `tenant` (tKeel's model, issue 13 §2): the route table lists
/// the tenants that enabled each plugin; the core services and the platform tenant always pass.
/// An unknown plugin passes here and is refused by name later (404).
pub fn enabled(table: &RouteTable, plugin: &str, tenant: &str) -> Result<(), RouteError> {
    match table.plugins.get(plugin) {
        Some(entry) if !CORE_APP_IDS.contains(&plugin) && !entry.enabled_for(tenant) => {
            Err(RouteError::PluginNotEnabled { plugin: plugin.to_owned(), tenant: tenant.to_owned() })
        }
        _ => Ok(()),
    }
}

// === impl TokenVerifier for tokens::Verifier ===

impl TokenVerifier for keel_sdk::tokens::Verifier {
    fn authenticate<'a>(
        &'a self,
        req: &'a HttpRequest,
        dapr: &'a DaprClient,
    ) -> LocalBoxFuture<'a, Result<Arc<Identity>, RouteError>> {
        Box::pin(async move {
            match keel_sdk::tokens::Verifier::authenticate(self, req.headers(), dapr).await {
                Ok(who) => Ok(who),
                Err(e) => Err(RouteError::BadToken(e)),
            }
        })
    }

    fn authorize(&self, who: &Identity, plugin: &str) -> Result<(), RouteError> {
        if self.can_call(who, plugin) {
            Ok(())
        } else {
            Err(RouteError::PluginNotAllowed { user: who.sub.clone(), plugin: plugin.to_owned() })
        }
    }

    fn keep_fresh(&self, dapr: DaprClient) {
        // The task lives as long as the router's system; the verifier keeps its last data when
        // a refresh fails.
        drop(self.spawn_refresher(dapr));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use actix_web::ResponseError;
    use keel_sdk::protocol::errors::PlatformError;
    use serde_json::json;

    /// Accepts `Bearer good` as ann (tenant t1, admin), who may call anything but `secret`.
    pub(crate) struct Fixed;

    pub(crate) fn ann() -> Identity {
        Identity {
            sub: "ann".into(),
            tenant: "t1".into(),
            roles: vec!["admin".into(), "dev".into()],
            client_id: None,
            jti: "j1".into(),
            exp: u64::MAX,
            scope: keel_sdk::access::Scope::Tenant,
        }
    }

    impl TokenVerifier for Fixed {
        fn authenticate<'a>(
            &'a self,
            req: &'a HttpRequest,
            _dapr: &'a DaprClient,
        ) -> LocalBoxFuture<'a, Result<Arc<Identity>, RouteError>> {
            let good = req.headers().get(AUTHORIZATION).is_some_and(|v| v == "Bearer good");
            Box::pin(async move {
                if good {
                    Ok(Arc::new(ann()))
                } else {
                    Err(RouteError::Unauthenticated("invalid token".into()))
                }
            })
        }

        fn authorize(&self, _who: &Identity, plugin: &str) -> Result<(), RouteError> {
            match plugin {
                "secret" => Err(RouteError::PluginNotAllowed { user: "ann".into(), plugin: plugin.into() }),
                _ => Ok(()),
            }
        }
    }

    fn table() -> RouteTable {
        serde_json::from_value(json!({"version": 1, "plugins": {
            "echo": {"status": "ACTIVE", "public_endpoints": ["hello"]},
            "secret": {"status": "ACTIVE"}}}))
        .unwrap()
    }

    #[test]
    fn a_plugin_not_enabled_for_the_tenant_is_403_but_core_and_platform_pass() {
        let t: RouteTable = serde_json::from_value(json!({"version": 1, "plugins": {
            "echo": {"status": "ACTIVE", "tenants": ["globex"]},
            "auth": {"status": "ACTIVE", "tenants": []},
            "open": {"status": "ACTIVE"}}}))
        .unwrap();
        let err = enabled(&t, "echo", "acme").unwrap_err();
        assert_eq!((err.status_code().as_u16(), err.code().name()), (403, "ERR_PLUGIN_NOT_ENABLED"));
        assert!(enabled(&t, "echo", "globex").is_ok());
        assert!(enabled(&t, "echo", "platform").is_ok());
        assert!(enabled(&t, "auth", "acme").is_ok());
        assert!(enabled(&t, "open", "acme").is_ok());
        assert!(enabled(&t, "nope", "acme").is_ok());
    }

    #[test]
    fn without_a_verifier_everything_is_401() {
        let err = verifier(None).err().unwrap();
        assert_eq!(err.status_code().as_u16(), 401);
        assert!(verifier(Some(&Fixed)).is_ok());
    }

    #[actix_web::test]
    async fn a_verifier_decides_except_for_declared_public_endpoints() {
        let dapr = DaprClient::new(Default::default());
        let good = TestRequest::default().insert_header((AUTHORIZATION, "Bearer good")).to_http_request();
        let none = TestRequest::default().to_http_request();
        let v: &dyn TokenVerifier = &Fixed;
        let at = |plugin, endpoint| Endpoint { plugin, endpoint };
        let who = authenticate(v, &good, &dapr, &table(), at("echo", "private")).await.unwrap();
        assert_eq!(who.unwrap().sub, "ann");
        assert_eq!(authenticate(v, &none, &dapr, &table(), at("echo", "hello")).await.unwrap(), None);
        let err = authenticate(v, &none, &dapr, &table(), at("echo", "private")).await.unwrap_err();
        assert_eq!(err.status_code().as_u16(), 401);
        for (sent, shown) in [
            ("token", "\"token\""),
            ("token abc", "\"token\""),
            ("Basic eA==", "\"Basic\""),
            ("eyJ.x.y", "without a scheme"),
        ] {
            let req = TestRequest::default().insert_header((AUTHORIZATION, sent)).to_http_request();
            let err = authenticate(v, &req, &dapr, &table(), at("echo", "private")).await.unwrap_err();
            let msg = err.to_string();
            assert_eq!(err.status_code().as_u16(), 401);
            assert!(msg.contains(shown) && msg.contains("\"Authorization: Bearer <token>\""), "{msg}");
            assert!(!msg.contains("abc") && !msg.contains("eyJ"), "{msg}");
        }
        let err = authenticate(v, &good, &dapr, &table(), at("secret", "x")).await.unwrap_err();
        assert_eq!((err.status_code().as_u16(), err.code().name()), (403, "ERR_PLUGIN_NOT_ALLOWED"));
    }
}
