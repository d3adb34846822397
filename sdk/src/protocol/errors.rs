//! The platform's one error catalogue: every refusal any Keel service makes has a [`Code`] here,
//! with its stable name (`ERR_...`), its HTTP status and whose fault it is ([`Fault`], after
//! pingora's `ErrorSource`). The fault decides the log level; the code decides the status. On the
//! wire every refusal is the same [`ErrorBody`] — `{"ret": -<status>, "msg": "...", "code":
//! "ERR_..."}` — and carries `x-keel-error: 1` ([`super::headers::X_KEEL_ERROR`]).
//!
//! Each service keeps its own error enum, whose variants carry the context of the case (which
//! plugin, which limit), and implements [`PlatformError`] for it: one `code()` match, and
//! [`respond`] builds the answer. A logging middleware finds what was refused in the response's
//! extensions ([`Refused`]) whatever the service's error type.
//!
//! ```
//! use keel_sdk::protocol::errors::{Code, Fault};
//! assert_eq!(Code::PluginUnreachable.status().as_u16(), 502);
//! assert_eq!(Code::PluginUnreachable.fault(), Fault::Plugin);
//! assert_eq!(Code::PluginUnreachable.name(), "ERR_PLUGIN_UNREACHABLE");
//! ```

use std::fmt;
use std::time::Duration;

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde::{Deserialize, Serialize};

use super::headers::X_KEEL_ERROR;
use super::PluginStatus;

/// Who is to blame for a refusal; decides how loudly it is logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The caller sent something wrong or is not allowed: their business, logged at `info`.
    Client,
    /// A plugin (the target, the one being registered, a hook) misbehaved or is down: `warn`.
    Plugin,
    /// The service's own Dapr sidecar could not be used: the operator's problem, `error`.
    Sidecar,
    /// The platform itself: starting, its store, a core service, a bug. `error` for a 500,
    /// `warn` for the rest (they are transient).
    Platform,
}

macro_rules! catalogue {
    ($( $(#[$doc:meta])* $variant:ident => ($name:literal, $status:literal, $fault:ident), )+) => {
        /// Every refusal the platform makes. Names and statuses are stable: clients match on
        /// `code` in the body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )+
        }

        impl Code {
            /// Every code, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The stable machine-readable name, e.g. `ERR_UNKNOWN_PLUGIN`.
            pub const fn name(self) -> &'static str {
                match self { $(Code::$variant => $name,)+ }
            }

            /// The HTTP status the refusal is answered with.
            pub fn status(self) -> StatusCode {
                let code: u16 = match self { $(Code::$variant => $status,)+ };
                StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }

            /// Whose fault it is.
            pub const fn fault(self) -> Fault {
                match self { $(Code::$variant => Fault::$fault,)+ }
            }
        }
    };
}

catalogue! {
    // === the caller ===
    /// A body or query that does not parse, or a value out of bounds.
    BadRequest => ("ERR_BAD_REQUEST", 400, Client),
    /// A path that is not one of the shapes keel routes.
    BadPath => ("ERR_BAD_PATH", 400, Client),
    /// A plugin id that is not a valid id.
    BadPluginId => ("ERR_BAD_PLUGIN_ID", 400, Client),
    /// A request body that could not be read.
    BadBody => ("ERR_BAD_BODY", 400, Client),
    /// A plugin secret that is missing or out of bounds.
    BadSecret => ("ERR_BAD_SECRET", 400, Client),
    /// A control-plane document (a pushed route table) that does not parse.
    BadDocument => ("ERR_BAD_DOCUMENT", 400, Client),
    /// No caller identity: the request did not come through a Dapr sidecar.
    NoCaller => ("ERR_NO_CALLER", 401, Client),
    /// The app API token is missing or wrong: only the app's own sidecar may call it.
    AppToken => ("ERR_APP_TOKEN", 401, Client),
    /// No valid access token (or ticket).
    Unauthenticated => ("ERR_UNAUTHENTICATED", 401, Client),
    /// A login ticket that is unknown, expired or revoked (or whose user is disabled or gone).
    TicketInvalid => ("ERR_TICKET_INVALID", 401, Client),
    /// A ticket presented by an app it is not meant for: a bound ticket outside its plugin, a
    /// console session ticket outside keel.
    TicketAudience => ("ERR_TICKET_AUDIENCE", 403, Client),
    /// A state-changing request authenticated by the console's session cookie without the CSRF
    /// defence: its `Origin` (or `Referer`) is another site's, or `x-keel-csrf` does not equal
    /// the `keel_csrf` cookie.
    Csrf => ("ERR_CSRF", 403, Client),
    /// Authenticated, but not allowed to do this.
    Forbidden => ("ERR_FORBIDDEN", 403, Client),
    /// The calling app is not a registered plugin (nor a core service).
    UnregisteredCaller => ("ERR_UNREGISTERED_CALLER", 403, Client),
    /// The calling app may not use this API.
    CallerNotAllowed => ("ERR_CALLER_NOT_ALLOWED", 403, Client),
    /// The verified user may not call this plugin.
    PluginNotAllowed => ("ERR_PLUGIN_NOT_ALLOWED", 403, Client),
    /// The plugin is not enabled for the verified user's tenant (a tenant admin enables it).
    PluginNotEnabled => ("ERR_PLUGIN_NOT_ENABLED", 403, Client),
    /// Addon points are called by the plugin that declares them, never from outside.
    AddonsInternalOnly => ("ERR_ADDONS_INTERNAL_ONLY", 403, Client),
    /// keel does not route to itself.
    KeelNotRoutable => ("ERR_KEEL_NOT_ROUTABLE", 403, Client),
    /// The id belongs to the platform.
    ReservedId => ("ERR_RESERVED_ID", 403, Client),
    /// A core service cannot be unregistered.
    CoreService => ("ERR_CORE_SERVICE", 403, Client),
    /// The external pre-route check refused the request.
    PreRouteDenied => ("ERR_PRE_ROUTE_DENIED", 403, Client),
    /// The thing asked for does not exist (or is not visible to the caller).
    NotFound => ("ERR_NOT_FOUND", 404, Client),
    /// No plugin with this id is registered.
    UnknownPlugin => ("ERR_UNKNOWN_PLUGIN", 404, Client),
    /// The caller declared no addon point of this name.
    UnknownPoint => ("ERR_UNKNOWN_POINT", 404, Client),
    /// The point is declared but no plugin implements it.
    NoImplementer => ("ERR_NO_IMPLEMENTER", 404, Client),
    /// A path under a service's own `/v1/...` API that does not exist.
    NoSuchApi => ("ERR_NO_SUCH_API", 404, Client),
    /// The method is not allowed on this path.
    MethodNotAllowed => ("ERR_METHOD_NOT_ALLOWED", 405, Client),
    /// The thing exists already or is in use.
    Conflict => ("ERR_CONFLICT", 409, Client),
    /// The plugin is registered already.
    AlreadyRegistered => ("ERR_ALREADY_REGISTERED", 409, Client),
    /// Another request is registering the same plugin right now.
    InProgress => ("ERR_IN_PROGRESS", 409, Client),
    /// Other plugins implement the plugin's points.
    InUse => ("ERR_IN_USE", 409, Client),
    /// Another plugin implements the point already.
    PointTaken => ("ERR_POINT_TAKEN", 409, Client),
    /// The request body is larger than the configured limit.
    BodyTooLarge => ("ERR_BODY_TOO_LARGE", 413, Client),
    /// The request target (path and query) is longer than the configured limit.
    UriTooLong => ("ERR_URI_TOO_LONG", 414, Client),
    /// The request's headers are more, or larger, than the configured limits.
    HeadersTooLarge => ("ERR_HEADERS_TOO_LARGE", 431, Client),
    /// Too many attempts (failed logins): slow down, see `Retry-After`.
    RateLimited => ("ERR_RATE_LIMITED", 429, Client),
    /// OAuth `invalid_request` (RFC 6749 §5.2).
    OAuthInvalidRequest => ("ERR_OAUTH_INVALID_REQUEST", 400, Client),
    /// OAuth `invalid_client`.
    OAuthInvalidClient => ("ERR_OAUTH_INVALID_CLIENT", 401, Client),
    /// OAuth `invalid_grant`.
    OAuthInvalidGrant => ("ERR_OAUTH_INVALID_GRANT", 400, Client),
    /// OAuth `unsupported_grant_type`.
    OAuthUnsupportedGrantType => ("ERR_OAUTH_UNSUPPORTED_GRANT_TYPE", 400, Client),
    /// OAuth `unsupported_token_type` (RFC 7009 §2.2.1).
    OAuthUnsupportedTokenType => ("ERR_OAUTH_UNSUPPORTED_TOKEN_TYPE", 400, Client),
    /// A hosted-service bundle that cannot be installed: its `plugin.yaml` (the field named), its
    /// layout, or its start file.
    BadBundle => ("ERR_BAD_BUNDLE", 400, Client),
    /// A bundle archive entry that would land outside the bundle (`..`, an absolute path, a link
    /// pointing out, a device file).
    UnsafeBundle => ("ERR_UNSAFE_BUNDLE", 400, Client),
    /// A bundle archive, or what it unpacks to, over the configured limits.
    BundleTooLarge => ("ERR_BUNDLE_TOO_LARGE", 413, Client),
    /// Another hosted service already serves this `root_route`.
    RootRouteTaken => ("ERR_ROOT_ROUTE_TAKEN", 409, Client),
    /// The hosted service is installed at this version already.
    AlreadyInstalled => ("ERR_ALREADY_INSTALLED", 409, Client),
    /// No hosted service serves this `root_route`.
    UnknownRoot => ("ERR_UNKNOWN_ROOT", 404, Client),
    /// Another registrant holds this console path, or the plugin declared it in its identify
    /// (issue 16).
    ConsolePathTaken => ("ERR_CONSOLE_PATH_TAKEN", 409, Client),
    /// A console entry that does not validate: a path outside the registrant's group, a bad
    /// `type`, `extern`, name or URL (the field named).
    BadConsoleEntry => ("ERR_BAD_CONSOLE_ENTRY", 422, Client),

    // === a plugin ===
    /// The plugin is registered but not `ACTIVE`.
    PluginNotActive => ("ERR_PLUGIN_NOT_ACTIVE", 503, Plugin),
    /// The plugin could not be reached through its sidecar.
    PluginUnreachable => ("ERR_PLUGIN_UNREACHABLE", 502, Plugin),
    /// The plugin did not answer within its time limit.
    PluginTimeout => ("ERR_PLUGIN_TIMEOUT", 504, Plugin),
    /// The plugin answered a protocol call with an unexpected HTTP status.
    PluginHttp => ("ERR_PLUGIN_HTTP", 502, Plugin),
    /// The plugin answered a protocol call with `ret != 0`.
    PluginRefused => ("ERR_PLUGIN_REFUSED", 502, Plugin),
    /// The plugin's `/v1/identify` does not parse or does not validate.
    MalformedIdentify => ("ERR_MALFORMED_IDENTIFY", 422, Plugin),
    /// The plugin's `/v1/status` does not parse.
    MalformedStatus => ("ERR_MALFORMED_STATUS", 502, Plugin),
    /// The plugin reports another id than the app-id it runs under.
    IdMismatch => ("ERR_ID_MISMATCH", 422, Plugin),
    /// The plugin needs a newer platform.
    PlatformTooOld => ("ERR_PLATFORM_TOO_OLD", 422, Plugin),
    /// A plugin the registrant extends is not registered.
    MainNotRegistered => ("ERR_MAIN_NOT_REGISTERED", 424, Plugin),
    /// A plugin the registrant extends is outside the version range it was written against.
    MainVersion => ("ERR_MAIN_VERSION", 424, Plugin),
    /// A plugin that the plugin being enabled for a tenant needs (its `dependence`) is not
    /// registered, or outside the version range it needs.
    DependencyMissing => ("ERR_DEPENDENCY_MISSING", 424, Plugin),
    /// The extended plugin does not offer the point.
    PointNotDeclared => ("ERR_POINT_NOT_DECLARED", 422, Plugin),
    /// The extended plugin's `/v1/addons/identify` refused the implementation.
    AddonsRefused => ("ERR_ADDONS_REFUSED", 403, Plugin),
    /// The external pre-route check did not answer, so the request is refused (fail closed).
    PreRouteUnavailable => ("ERR_PRE_ROUTE_UNAVAILABLE", 503, Plugin),
    /// The hosted service is starting or restarting (see `Retry-After`).
    ServiceStarting => ("ERR_SERVICE_STARTING", 503, Plugin),
    /// The hosted service crashed too often and is `FAILED` until reinstalled or restarted.
    ServiceFailed => ("ERR_SERVICE_FAILED", 503, Plugin),
    /// The hosted service is routed but did not accept the connection (it has just died, most
    /// likely, and is being restarted).
    ServiceUnreachable => ("ERR_SERVICE_UNREACHABLE", 503, Plugin),

    // === the service's own sidecar ===
    /// The service's own Dapr sidecar cannot be reached or failed.
    SidecarUnavailable => ("ERR_SIDECAR_UNAVAILABLE", 503, Sidecar),

    // === the platform ===
    /// The service is starting (keel: no route table loaded yet).
    NotReady => ("ERR_NOT_READY", 503, Platform),
    /// The state store failed.
    StoreUnavailable => ("ERR_STORE_UNAVAILABLE", 503, Platform),
    /// Every attempt lost a concurrent-write race.
    Contention => ("ERR_CONTENTION", 503, Platform),
    /// A core service this request needs did not answer.
    DependencyUnavailable => ("ERR_DEPENDENCY_UNAVAILABLE", 503, Platform),
    /// Too much in flight: refused at once rather than queued.
    Overloaded => ("ERR_OVERLOADED", 503, Platform),
    /// A bug or an impossible state; the detail is logged, never sent.
    Internal => ("ERR_INTERNAL", 500, Platform),
}

// === impl Code ===

impl Code {
    /// The envelope's `ret`: the negated HTTP status (the `code` tells cases apart).
    pub fn ret(self) -> i32 {
        -i32::from(self.status().as_u16())
    }

    /// How loudly a refusal of this code is logged.
    pub fn level(self) -> tracing::Level {
        match self.fault() {
            Fault::Client => tracing::Level::INFO,
            Fault::Plugin => tracing::Level::WARN,
            Fault::Sidecar => tracing::Level::ERROR,
            Fault::Platform if self.status().as_u16() == 500 => tracing::Level::ERROR,
            Fault::Platform => tracing::Level::WARN,
        }
    }

    /// The code named `name`, if the catalogue has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|c| c.name() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The JSON body of every refusal: the protocol envelope, the code, and what a program needs to
/// react (the plugin concerned, its status, the OAuth error of RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// `-<HTTP status>`.
    pub ret: i32,
    /// A sentence a person can act on.
    pub msg: String,
    /// The catalogue name (`ERR_...`). Kept as text when read, so a newer peer's codes parse.
    pub code: String,
    /// The plugin the refusal is about, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// That plugin's status, for `ERR_PLUGIN_NOT_ACTIVE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PluginStatus>,
    /// OAuth endpoints: the RFC 6749 §5.2 `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OAuth endpoints: the RFC 6749 §5.2 `error_description` (the same text as `msg`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// A service's error, as the catalogue needs to see it. Implement `code` (one `match`); the rest
/// has defaults. `Display` is the message sent, except for 500s, which say only that something
/// failed (their text goes to the log as the detail).
pub trait PlatformError: std::error::Error {
    /// The catalogue entry for this case.
    fn code(&self) -> Code;

    /// The plugin the refusal is about.
    fn plugin(&self) -> Option<&str> {
        None
    }

    /// The plugin's status, when the refusal is that it is not `ACTIVE`.
    fn plugin_status(&self) -> Option<PluginStatus> {
        None
    }

    /// When to retry (sets `Retry-After`, whole seconds, at least 1).
    fn retry_after(&self) -> Option<Duration> {
        None
    }

    /// What the log gets beyond the message: causes that are not sent to the caller (internal
    /// addresses, store errors).
    fn detail(&self) -> Option<String> {
        None
    }

    /// The OAuth `error` for refusals of OAuth endpoints.
    fn oauth_error(&self) -> Option<&'static str> {
        None
    }

    /// Adds headers of the case (a `WWW-Authenticate` challenge, `Cache-Control`).
    fn decorate(&self, _res: &mut HttpResponseBuilder) {}
}

/// What a response refused, left in its extensions by [`respond`] for the logging phase.
#[derive(Debug, Clone)]
pub struct Refused {
    /// The catalogue entry.
    pub code: Code,
    /// What the caller was told.
    pub msg: String,
    /// What only the log gets.
    pub detail: Option<String>,
}

/// The message a caller is told for `e`: its `Display`, except that a 500 never carries detail.
pub fn message(e: &dyn PlatformError) -> String {
    match e.code() {
        Code::Internal => "internal error; see the service's log".to_owned(),
        _ => e.to_string(),
    }
}

/// The body for `e`.
pub fn body(e: &dyn PlatformError) -> ErrorBody {
    let code = e.code();
    let msg = message(e);
    let oauth = e.oauth_error();
    ErrorBody {
        ret: code.ret(),
        code: code.name().to_owned(),
        plugin: e.plugin().map(str::to_owned),
        status: e.plugin_status(),
        error: oauth.map(str::to_owned),
        error_description: oauth.map(|_| msg.clone()),
        msg,
    }
}

/// The answer to a refusal: the code's status, `x-keel-error: 1`, `Retry-After` when the case
/// has one, the case's own headers, the JSON [`ErrorBody`], and [`Refused`] in the extensions.
pub fn respond(e: &dyn PlatformError) -> HttpResponse {
    let code = e.code();
    let mut res = HttpResponse::build(code.status());
    res.insert_header((X_KEEL_ERROR, HeaderValue::from_static("1")));
    if let Some(after) = e.retry_after() {
        res.insert_header((RETRY_AFTER, after.as_secs().max(1)));
    }
    e.decorate(&mut res);
    let body = body(e);
    let detail = match code {
        Code::Internal => Some(e.detail().unwrap_or_else(|| e.to_string())),
        _ => e.detail(),
    };
    res.extensions_mut().insert(Refused { code, msg: body.msg.clone(), detail });
    res.json(body)
}

/// Logs a refusal at its fault's level, with the fields every service uses.
#[macro_export]
#[doc(hidden)]
macro_rules! __log_refusal {
    ($level:expr, $($field:tt)*) => {
        match $level {
            $crate::__private::tracing::Level::ERROR => $crate::__private::tracing::error!($($field)*),
            $crate::__private::tracing::Level::WARN => $crate::__private::tracing::warn!($($field)*),
            $crate::__private::tracing::Level::INFO => $crate::__private::tracing::info!($($field)*),
            $crate::__private::tracing::Level::DEBUG => $crate::__private::tracing::debug!($($field)*),
            _ => $crate::__private::tracing::trace!($($field)*),
        }
    };
}
pub use crate::__log_refusal as log_at;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use std::collections::HashSet;

    #[derive(Debug, thiserror::Error)]
    #[error("plugin {0:?} is unreachable")]
    struct Unreachable(&'static str, &'static str);

    impl PlatformError for Unreachable {
        fn code(&self) -> Code {
            Code::PluginUnreachable
        }
        fn plugin(&self) -> Option<&str> {
            Some(self.0)
        }
        fn detail(&self) -> Option<String> {
            Some(self.1.to_owned())
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("boom at line 3")]
    struct Bug;

    impl PlatformError for Bug {
        fn code(&self) -> Code {
            Code::Internal
        }
    }

    #[test]
    fn names_are_unique_and_shaped_and_statuses_are_errors() {
        let mut names = HashSet::new();
        for code in Code::ALL {
            assert!(names.insert(code.name()), "{code} twice");
            assert!(code.name().starts_with("ERR_"), "{code}");
            assert!(code.name().bytes().all(|b| b.is_ascii_uppercase() || b == b'_'), "{code}");
            let status = code.status();
            assert!(status.is_client_error() || status.is_server_error(), "{code}: {status}");
            assert_eq!(code.ret(), -i32::from(status.as_u16()));
            assert_eq!(Code::from_name(code.name()), Some(*code));
            // The caller's faults are 4xx; nobody else's is (a refused addon implementation is
            // the extended plugin's word, answered as 403 to whoever registers).
            if code.fault() == Fault::Client {
                assert!(status.is_client_error(), "{code}");
            }
        }
    }

    #[test]
    fn the_fault_decides_the_log_level() {
        assert_eq!(Code::BadPath.level(), tracing::Level::INFO);
        assert_eq!(Code::PluginUnreachable.level(), tracing::Level::WARN);
        assert_eq!(Code::SidecarUnavailable.level(), tracing::Level::ERROR);
        assert_eq!(Code::NotReady.level(), tracing::Level::WARN);
        assert_eq!(Code::Internal.level(), tracing::Level::ERROR);
    }

    #[actix_web::test]
    async fn a_refusal_is_a_tagged_envelope_with_its_code() {
        let res = respond(&Unreachable("echo", "dial tcp 10.0.0.7:3001"));
        assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
        assert_eq!(res.headers().get(X_KEEL_ERROR).unwrap(), "1");
        let refused = res.extensions().get::<Refused>().cloned().unwrap();
        assert_eq!(refused.code, Code::PluginUnreachable);
        assert_eq!(refused.detail.as_deref(), Some("dial tcp 10.0.0.7:3001"));
        let body: ErrorBody = serde_json::from_slice(&to_bytes(res.into_body()).await.unwrap()).unwrap();
        assert_eq!(body.ret, -502);
        assert_eq!(body.code, "ERR_PLUGIN_UNREACHABLE");
        assert_eq!(body.plugin.as_deref(), Some("echo"));
        assert!(!body.msg.contains("10.0.0.7"));
    }

    #[actix_web::test]
    async fn a_500_says_nothing_of_its_cause() {
        let res = respond(&Bug);
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let refused = res.extensions().get::<Refused>().cloned().unwrap();
        assert_eq!(refused.detail.as_deref(), Some("boom at line 3"));
        let body = to_bytes(res.into_body()).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("line 3"));
    }
}
