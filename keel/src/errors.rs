//! Keel's own refusals (`platform.md` §5): one enum whose variants carry the context of each case,
//! mapped onto the platform's catalogue ([`keel_sdk::protocol::errors`]) by one `code()` match.
//! The catalogue decides the HTTP status, whose fault it is (and so the log level) and the wire
//! shape: `{"ret": -<status>, "msg", "code", "plugin"?, "status"?}` with `x-keel-error: 1`, so a
//! caller can tell keel's refusal from the plugin's own answer. Answers that come back from a
//! plugin never pass here.

use std::time::Duration;

use actix_web::http::header::WWW_AUTHENTICATE;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder, ResponseError};

use keel_sdk::protocol::errors::{self, Code, PlatformError};
use keel_sdk::protocol::{IdError, PluginStatus};
use keel_sdk::tokens::VerifyError;

/// The challenge of a 401 without an `error` (no token was presented in the Bearer scheme).
const CHALLENGE: &str = "Bearer realm=\"keel\"";

/// A refused token's message, with what to send when none was.
fn token_message(e: &VerifyError) -> String {
    match e {
        VerifyError::Missing => {
            "missing bearer token: send \"Authorization: Bearer <token>\" with an access token from auth"
                .into()
        }
        other => other.to_string(),
    }
}

/// Why keel refused or failed a request. Grouped by whose fault it is, as the catalogue is.
#[derive(Debug, thiserror::Error)]
pub enum RouteError {
    // === the caller ===
    /// The path is not `/<plugin_id>/<endpoint...>` (or `/addons/<point>`, `/apis/...`).
    #[error("malformed path {path:?}: {reason}")]
    BadPath { path: String, reason: &'static str },
    /// The plugin id in the path is not a valid id.
    #[error("bad plugin id in the path: {0}")]
    BadId(#[source] IdError),
    /// The request carries no caller identity (`dapr-caller-app-id`): it did not come through a
    /// sidecar.
    #[error("no caller identity: keel accepts calls only through a Dapr sidecar (dapr-caller-app-id)")]
    NoCaller,
    /// The public port has no way to verify tokens, or the token did not verify.
    #[error("{0}")]
    Unauthenticated(String),
    /// The bearer token is missing or did not verify (auth's tokens, [`keel_sdk::tokens`]).
    #[error("{}", token_message(.0))]
    BadToken(#[source] VerifyError),
    /// `Authorization` carries another scheme than `Bearer` (the design document's `token`,
    /// `Basic`, a bare token). `scheme` is shown only when it looks like a scheme name, never
    /// when it could be the credential itself.
    #[error(
        "Authorization {} is not accepted here: send \"Authorization: Bearer <token>\" with an access token from auth (POST /apis/auth/v1/oauth/token)",
        scheme.as_ref().map_or_else(|| "without a scheme".to_owned(), |s| format!("scheme {s:?}"))
    )]
    WrongScheme { scheme: Option<String> },
    /// The caller is not a registered plugin (nor a core service).
    #[error("caller {caller:?} is not a registered plugin")]
    UnregisteredCaller { caller: String },
    /// An addon point asked for from outside: points are called by the plugin that declares them.
    #[error(
        "addon points are called by the plugin that declares them, through keel's app port, not from outside"
    )]
    AddonsFromOutside,
    /// A path naming keel as its target: routing keel to itself would make keel the caller of
    /// the next hop and hide who called.
    #[error("keel does not route to itself: call keel's /v1/... API directly")]
    KeelItself,
    /// The caller stamped is `keel`: someone called through keel's own sidecar, which makes no
    /// call a core service's.
    #[error(
        "a call through keel's own sidecar is nobody's call (keel never calls itself): call through your own app's sidecar"
    )]
    ThroughKeelsSidecar,
    /// The calling app holds no grant for one of keel's control endpoints.
    #[error("{0}")]
    NotGranted(#[source] keel_sdk::access::Denied),
    /// The verified user may not call this plugin at all.
    #[error("{user:?} may not call plugin {plugin:?}")]
    PluginNotAllowed { user: String, plugin: String },
    /// The plugin is not enabled for the verified user's tenant.
    #[error("plugin {plugin:?} is not enabled for tenant {tenant:?}: ask the tenant's admin to enable it")]
    PluginNotEnabled { plugin: String, tenant: String },
    /// No plugin with this id is registered.
    #[error("plugin {plugin:?} is not registered")]
    UnknownPlugin { plugin: String },
    /// No console entry is registered under `/plugins/<group>/`.
    #[error("no console entry is registered under /plugins/{group}/")]
    UnknownConsoleGroup { group: String },
    /// The caller declared no addon point of this name.
    #[error("plugin {caller:?} declares no addon point {point:?}")]
    UnknownPoint { caller: String, point: String },
    /// The point is declared but no plugin implements it.
    #[error("no plugin implements addon point {point:?} of {caller:?}")]
    NoImplementer { caller: String, point: String },
    /// A path under keel's own `/v1/...` API that does not exist.
    #[error("keel serves no {path:?}: /v1/... is keel's own API (identify, status, routes)")]
    NoSuchApi { path: String },
    /// The method is not allowed on one of keel's own endpoints.
    #[error("{method} is not allowed on {path:?}")]
    MethodNotAllowed { method: String, path: String },
    /// The request body is larger than the configured limit.
    #[error("request body to {plugin:?} is larger than the limit of {limit} bytes")]
    BodyTooLarge { plugin: String, limit: u64 },
    /// The request body is larger than a Dapr sidecar on the way accepts (its
    /// `--max-body-size`): the caller's fault, set keel's and the sidecars' limits together.
    #[error(
        "request body to {plugin:?} is larger than a Dapr sidecar on the way accepts (daprd --max-body-size, \
         daprHTTPMaxRequestSize in dapr.yaml); keel's own limit is {limit} bytes, and the sidecars' should be the same"
    )]
    OverSidecarLimit { plugin: String, limit: u64 },
    /// The request target is longer than keel's limit.
    #[error("the request's path and query are longer than keel's limit of {limit} bytes")]
    TargetTooLong { limit: usize },
    /// The request's headers are over one of keel's limits.
    #[error("the request has more {what} than keel's limit of {limit}")]
    HeadTooLarge { what: &'static str, limit: usize },
    /// The request body could not be read from the caller.
    #[error("request body to {plugin:?} could not be read: {reason}")]
    BadBody { plugin: String, reason: String },
    /// The external pre-route check (keel's addon point) refused the request.
    #[error("the external pre-route check refused the request: {reason}")]
    Denied { reason: String },
    /// A control-plane document (the pushed route table) does not parse.
    #[error("malformed {what}: {reason}")]
    BadDocument { what: &'static str, reason: String },

    // === a plugin ===
    /// The target is registered but not `ACTIVE`.
    #[error("plugin {plugin:?} is {status}, not ACTIVE")]
    NotActive { plugin: String, status: PluginStatus, retry_after: Duration },
    /// keel's last requests to the plugin could not reach it, so it is ejected for a while
    /// ([`crate::outlier`]), whatever the table says until the registry's poll confirms it.
    #[error("plugin {plugin:?} is unreachable: keel's last requests to it failed to reach it")]
    Ejected { plugin: String, retry_after: Duration },
    /// keel's sidecar answered that it could not invoke the plugin. `detail` (the sidecar's
    /// words) is logged, not sent: it may name internal addresses.
    #[error("plugin {plugin:?} is unreachable")]
    Unreachable { plugin: String, detail: String },
    /// No answer from the plugin within its time limit (keel's, or a resiliency timeout on the
    /// sidecar).
    #[error("plugin {plugin:?} did not answer within {after:?}")]
    Timeout { plugin: String, after: Duration },
    /// The external pre-route check could not be asked, so the request is refused (fail closed).
    /// `detail` is logged, not sent.
    #[error("the external pre-route check ({plugin}) did not answer, so the request is refused")]
    CheckUnavailable { plugin: String, detail: String, retry_after: Duration },

    // === the console's session (session.rs, csrf.rs) ===
    /// The session cookie's ticket is unknown, expired or revoked: auth's sentence.
    #[error("{0}; log in to the console again")]
    SessionInvalid(String),
    /// A state-changing request authenticated by the session cookie without the CSRF defence.
    #[error("{0}")]
    Csrf(String),
    /// A console login whose body is not `{username, password, tenant?}` (never quoted: it may
    /// hold the password).
    #[error(
        "the login body must be JSON {{\"username\": ..., \"password\": ..., \"tenant\": ... (optional)}}"
    )]
    BadLogin,
    /// auth could not be asked about a console session. `detail` is logged, not sent.
    #[error("auth could not be asked about the console session; try again shortly")]
    AuthUnavailable { detail: String },

    // === keel's own sidecar ===
    /// keel could not reach its own sidecar (nothing is known about the plugin). `detail` is
    /// logged, not sent.
    #[error("keel cannot reach its Dapr sidecar")]
    SidecarUnavailable { detail: String },

    // === keel itself ===
    /// Too many requests in flight (to `scope`: a plugin, or `keel` overall) and no turn came
    /// within the queue timeout ([`crate::shedding`]).
    #[error("keel is overloaded: too many requests in flight to {scope}; retry shortly")]
    Overloaded { scope: String, retry_after: Duration },
    /// keel has no route table yet (starting up, store not readable).
    #[error("keel is starting: the route table is not loaded yet")]
    NotReady { retry_after: Duration },
    /// A bug or an impossible state; the detail is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

// === impl RouteError ===

impl PlatformError for RouteError {
    fn code(&self) -> Code {
        match self {
            Self::BadPath { .. } => Code::BadPath,
            Self::BadId(_) => Code::BadPluginId,
            Self::NoCaller => Code::NoCaller,
            Self::Unauthenticated(_) | Self::BadToken(_) | Self::WrongScheme { .. } => Code::Unauthenticated,
            Self::UnregisteredCaller { .. } => Code::UnregisteredCaller,
            Self::AddonsFromOutside => Code::AddonsInternalOnly,
            Self::KeelItself => Code::KeelNotRoutable,
            Self::ThroughKeelsSidecar => Code::CallerNotAllowed,
            Self::NotGranted(denied) => denied.code(),
            Self::PluginNotAllowed { .. } => Code::PluginNotAllowed,
            Self::PluginNotEnabled { .. } => Code::PluginNotEnabled,
            Self::UnknownPlugin { .. } => Code::UnknownPlugin,
            Self::UnknownConsoleGroup { .. } => Code::NotFound,
            Self::UnknownPoint { .. } => Code::UnknownPoint,
            Self::NoImplementer { .. } => Code::NoImplementer,
            Self::NoSuchApi { .. } => Code::NoSuchApi,
            Self::MethodNotAllowed { .. } => Code::MethodNotAllowed,
            Self::BodyTooLarge { .. } | Self::OverSidecarLimit { .. } => Code::BodyTooLarge,
            Self::TargetTooLong { .. } => Code::UriTooLong,
            Self::HeadTooLarge { .. } => Code::HeadersTooLarge,
            Self::BadBody { .. } => Code::BadBody,
            Self::Denied { .. } => Code::PreRouteDenied,
            Self::BadDocument { .. } => Code::BadDocument,
            Self::NotActive { .. } | Self::Ejected { .. } => Code::PluginNotActive,
            Self::Unreachable { .. } => Code::PluginUnreachable,
            Self::Timeout { .. } => Code::PluginTimeout,
            Self::CheckUnavailable { .. } => Code::PreRouteUnavailable,
            Self::SidecarUnavailable { .. } => Code::SidecarUnavailable,
            Self::SessionInvalid(_) => Code::TicketInvalid,
            Self::Csrf(_) => Code::Csrf,
            Self::BadLogin => Code::BadRequest,
            Self::AuthUnavailable { .. } => Code::DependencyUnavailable,
            Self::NotReady { .. } => Code::NotReady,
            Self::Overloaded { .. } => Code::Overloaded,
            Self::Internal(_) => Code::Internal,
        }
    }

    fn plugin(&self) -> Option<&str> {
        match self {
            Self::UnknownPlugin { plugin }
            | Self::PluginNotEnabled { plugin, .. }
            | Self::BodyTooLarge { plugin, .. }
            | Self::OverSidecarLimit { plugin, .. }
            | Self::BadBody { plugin, .. }
            | Self::NotActive { plugin, .. }
            | Self::Ejected { plugin, .. }
            | Self::Unreachable { plugin, .. }
            | Self::Timeout { plugin, .. } => Some(plugin),
            _ => None,
        }
    }

    fn plugin_status(&self) -> Option<PluginStatus> {
        match self {
            Self::NotActive { status, .. } => Some(*status),
            Self::Ejected { .. } => Some(PluginStatus::Unreachable),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::NotActive { retry_after, .. }
            | Self::Ejected { retry_after, .. }
            | Self::Overloaded { retry_after, .. }
            | Self::NotReady { retry_after }
            | Self::CheckUnavailable { retry_after, .. } => Some(*retry_after),
            _ => None,
        }
    }

    fn decorate(&self, res: &mut HttpResponseBuilder) {
        // RFC 6750 §3: every 401 of the public port says how to authenticate; `invalid_token`
        // only when a token was presented and refused.
        let challenge = match self {
            Self::BadToken(e) => e.www_authenticate(),
            Self::Unauthenticated(_) | Self::WrongScheme { .. } => CHALLENGE.to_owned(),
            _ => return,
        };
        res.insert_header((WWW_AUTHENTICATE, challenge));
    }

    fn detail(&self) -> Option<String> {
        match self {
            Self::Unreachable { detail, .. }
            | Self::CheckUnavailable { detail, .. }
            | Self::SidecarUnavailable { detail }
            | Self::AuthUnavailable { detail }
            | Self::Internal(detail) => Some(detail.clone()),
            _ => None,
        }
    }
}

impl ResponseError for RouteError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        errors::respond(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use actix_web::http::header::RETRY_AFTER;
    use keel_sdk::protocol::errors::{ErrorBody, Fault, Refused};
    use keel_sdk::protocol::headers::X_KEEL_ERROR;
    use keel_sdk::protocol::PluginId;

    /// A secret-looking cause that must never reach a caller.
    const INSIDE: &str = "dial tcp 10.0.0.7:3001";

    /// One of every variant, with the code, status and fault the catalogue gives it. A new
    /// variant does not compile until it is added here (the match below).
    fn every_variant() -> Vec<(RouteError, &'static str, u16, Fault)> {
        let after = Duration::from_secs(5);
        let cases = vec![
            (RouteError::BadPath { path: "/".into(), reason: "empty" }, "ERR_BAD_PATH", 400, Fault::Client),
            (
                RouteError::BadId(PluginId::parse("Bad_Id").unwrap_err()),
                "ERR_BAD_PLUGIN_ID",
                400,
                Fault::Client,
            ),
            (RouteError::NoCaller, "ERR_NO_CALLER", 401, Fault::Client),
            (RouteError::Unauthenticated("expired".into()), "ERR_UNAUTHENTICATED", 401, Fault::Client),
            (RouteError::BadToken(VerifyError::Expired), "ERR_UNAUTHENTICATED", 401, Fault::Client),
            (
                RouteError::WrongScheme { scheme: Some("token".into()) },
                "ERR_UNAUTHENTICATED",
                401,
                Fault::Client,
            ),
            (
                RouteError::UnregisteredCaller { caller: "x".into() },
                "ERR_UNREGISTERED_CALLER",
                403,
                Fault::Client,
            ),
            (RouteError::AddonsFromOutside, "ERR_ADDONS_INTERNAL_ONLY", 403, Fault::Client),
            (RouteError::KeelItself, "ERR_KEEL_NOT_ROUTABLE", 403, Fault::Client),
            (RouteError::ThroughKeelsSidecar, "ERR_CALLER_NOT_ALLOWED", 403, Fault::Client),
            (
                RouteError::NotGranted(keel_sdk::access::Denied::NoGrant {
                    what: "pushing the route table".into(),
                    app: "greeter".into(),
                    grant: keel_sdk::access::Grant::PushRoutes,
                }),
                "ERR_CALLER_NOT_ALLOWED",
                403,
                Fault::Client,
            ),
            (
                RouteError::PluginNotAllowed { user: "ann".into(), plugin: "secret".into() },
                "ERR_PLUGIN_NOT_ALLOWED",
                403,
                Fault::Client,
            ),
            (
                RouteError::PluginNotEnabled { plugin: "echo".into(), tenant: "acme".into() },
                "ERR_PLUGIN_NOT_ENABLED",
                403,
                Fault::Client,
            ),
            (RouteError::UnknownPlugin { plugin: "nope".into() }, "ERR_UNKNOWN_PLUGIN", 404, Fault::Client),
            (RouteError::UnknownConsoleGroup { group: "nope".into() }, "ERR_NOT_FOUND", 404, Fault::Client),
            (
                RouteError::UnknownPoint { caller: "x".into(), point: "p".into() },
                "ERR_UNKNOWN_POINT",
                404,
                Fault::Client,
            ),
            (
                RouteError::NoImplementer { caller: "x".into(), point: "p".into() },
                "ERR_NO_IMPLEMENTER",
                404,
                Fault::Client,
            ),
            (RouteError::NoSuchApi { path: "/v1/x".into() }, "ERR_NO_SUCH_API", 404, Fault::Client),
            (
                RouteError::MethodNotAllowed { method: "POST".into(), path: "/v1/routes".into() },
                "ERR_METHOD_NOT_ALLOWED",
                405,
                Fault::Client,
            ),
            (
                RouteError::BodyTooLarge { plugin: "x".into(), limit: 1 },
                "ERR_BODY_TOO_LARGE",
                413,
                Fault::Client,
            ),
            (RouteError::TargetTooLong { limit: 8 }, "ERR_URI_TOO_LONG", 414, Fault::Client),
            (
                RouteError::HeadTooLarge { what: "header lines", limit: 8 },
                "ERR_HEADERS_TOO_LARGE",
                431,
                Fault::Client,
            ),
            (
                RouteError::OverSidecarLimit { plugin: "x".into(), limit: 1 },
                "ERR_BODY_TOO_LARGE",
                413,
                Fault::Client,
            ),
            (
                RouteError::BadBody { plugin: "x".into(), reason: "reset".into() },
                "ERR_BAD_BODY",
                400,
                Fault::Client,
            ),
            (
                RouteError::Denied { reason: "office hours".into() },
                "ERR_PRE_ROUTE_DENIED",
                403,
                Fault::Client,
            ),
            (
                RouteError::BadDocument { what: "route table", reason: "EOF".into() },
                "ERR_BAD_DOCUMENT",
                400,
                Fault::Client,
            ),
            (
                RouteError::NotActive {
                    plugin: "echo".into(),
                    status: PluginStatus::Failed,
                    retry_after: after,
                },
                "ERR_PLUGIN_NOT_ACTIVE",
                503,
                Fault::Plugin,
            ),
            (
                RouteError::Ejected { plugin: "echo".into(), retry_after: after },
                "ERR_PLUGIN_NOT_ACTIVE",
                503,
                Fault::Plugin,
            ),
            (
                RouteError::Overloaded { scope: "echo".into(), retry_after: after },
                "ERR_OVERLOADED",
                503,
                Fault::Platform,
            ),
            (
                RouteError::Unreachable { plugin: "echo".into(), detail: INSIDE.into() },
                "ERR_PLUGIN_UNREACHABLE",
                502,
                Fault::Plugin,
            ),
            (
                RouteError::Timeout { plugin: "echo".into(), after: Duration::from_millis(500) },
                "ERR_PLUGIN_TIMEOUT",
                504,
                Fault::Plugin,
            ),
            (
                RouteError::CheckUnavailable {
                    plugin: "gate".into(),
                    detail: INSIDE.into(),
                    retry_after: after,
                },
                "ERR_PRE_ROUTE_UNAVAILABLE",
                503,
                Fault::Plugin,
            ),
            (
                RouteError::SidecarUnavailable { detail: INSIDE.into() },
                "ERR_SIDECAR_UNAVAILABLE",
                503,
                Fault::Sidecar,
            ),
            (
                RouteError::SessionInvalid("the ticket was revoked".into()),
                "ERR_TICKET_INVALID",
                401,
                Fault::Client,
            ),
            (RouteError::Csrf("no token".into()), "ERR_CSRF", 403, Fault::Client),
            (RouteError::BadLogin, "ERR_BAD_REQUEST", 400, Fault::Client),
            (
                RouteError::AuthUnavailable { detail: INSIDE.into() },
                "ERR_DEPENDENCY_UNAVAILABLE",
                503,
                Fault::Platform,
            ),
            (RouteError::NotReady { retry_after: Duration::ZERO }, "ERR_NOT_READY", 503, Fault::Platform),
            (RouteError::Internal(format!("bug near {INSIDE}")), "ERR_INTERNAL", 500, Fault::Platform),
        ];
        for (e, ..) in &cases {
            // Exhaustive on purpose: a new variant must be added to the cases above.
            match e {
                RouteError::BadPath { .. }
                | RouteError::BadId(_)
                | RouteError::NoCaller
                | RouteError::Unauthenticated(_)
                | RouteError::BadToken(_)
                | RouteError::WrongScheme { .. }
                | RouteError::UnregisteredCaller { .. }
                | RouteError::AddonsFromOutside
                | RouteError::KeelItself
                | RouteError::ThroughKeelsSidecar
                | RouteError::NotGranted(_)
                | RouteError::PluginNotAllowed { .. }
                | RouteError::PluginNotEnabled { .. }
                | RouteError::UnknownPlugin { .. }
                | RouteError::UnknownConsoleGroup { .. }
                | RouteError::UnknownPoint { .. }
                | RouteError::NoImplementer { .. }
                | RouteError::NoSuchApi { .. }
                | RouteError::MethodNotAllowed { .. }
                | RouteError::BodyTooLarge { .. }
                | RouteError::OverSidecarLimit { .. }
                | RouteError::TargetTooLong { .. }
                | RouteError::HeadTooLarge { .. }
                | RouteError::BadBody { .. }
                | RouteError::Denied { .. }
                | RouteError::BadDocument { .. }
                | RouteError::NotActive { .. }
                | RouteError::Ejected { .. }
                | RouteError::Unreachable { .. }
                | RouteError::Timeout { .. }
                | RouteError::CheckUnavailable { .. }
                | RouteError::SidecarUnavailable { .. }
                | RouteError::SessionInvalid(_)
                | RouteError::Csrf(_)
                | RouteError::BadLogin
                | RouteError::AuthUnavailable { .. }
                | RouteError::NotReady { .. }
                | RouteError::Overloaded { .. }
                | RouteError::Internal(_) => {}
            }
        }
        cases
    }

    #[actix_web::test]
    async fn every_variant_is_a_tagged_envelope_with_its_catalogue_code() {
        let cases = every_variant();
        assert_eq!(cases.len(), 39, "one case per variant");
        for (e, name, status, fault) in cases {
            let code = e.code();
            assert_eq!((code.name(), code.status().as_u16(), code.fault()), (name, status, fault), "{e}");
            assert_eq!(e.status_code().as_u16(), status, "{e}");
            let res = e.error_response();
            assert_eq!(res.status().as_u16(), status, "{e}");
            assert_eq!(res.headers().get(X_KEEL_ERROR).unwrap(), "1", "{e}");
            assert_eq!(res.headers().contains_key(RETRY_AFTER), e.retry_after().is_some(), "{e}");
            let refused = res.extensions().get::<Refused>().cloned().expect("Refused for the logging phase");
            assert_eq!(refused.code, code);
            let bytes = to_bytes(res.into_body()).await.unwrap();
            let body: ErrorBody = serde_json::from_slice(&bytes).unwrap();
            assert_eq!((body.ret, body.code.as_str()), (-i32::from(status), name), "{e}");
            assert_eq!(body.plugin.as_deref(), e.plugin(), "{e}");
            assert!(!body.msg.is_empty());
            // What only the log may see never reaches the caller, 5xx or not.
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("10.0.0.7"), "{name} leaks its detail: {text}");
            if let Some(detail) = e.detail() {
                assert_eq!(refused.detail.as_deref(), Some(detail.as_str()), "{e}");
            }
        }
    }

    #[actix_web::test]
    async fn not_active_carries_its_status_and_retry_after() {
        let e = RouteError::NotActive {
            plugin: "echo".into(),
            status: PluginStatus::Failed,
            retry_after: Duration::from_secs(5),
        };
        let res = e.error_response();
        assert_eq!(res.headers().get(RETRY_AFTER).unwrap(), "5");
        let body: ErrorBody = serde_json::from_slice(&to_bytes(res.into_body()).await.unwrap()).unwrap();
        assert_eq!(body.status, Some(PluginStatus::Failed));
        assert!(body.msg.contains("\"echo\""), "{}", body.msg);
        // Whole seconds, at least one.
        let res = RouteError::NotReady { retry_after: Duration::ZERO }.error_response();
        assert_eq!(res.headers().get(RETRY_AFTER).unwrap(), "1");
    }
}
