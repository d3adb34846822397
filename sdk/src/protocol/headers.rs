//! The header names Keel adds or reads, once for every service (the `dapr-*` ones Dapr itself
//! stamps are in [`crate::dapr::headers`]).

use actix_web::http::header::HeaderName;

/// `x-keel-error: 1` marks an answer a Keel service built itself as a refusal, so a caller can
/// tell it from a plugin's own answer (linkerd's `l5d-proxy-error`).
pub const X_KEEL_ERROR: HeaderName = HeaderName::from_static("x-keel-error");
/// `x-keel-caller`: the plugin that really called (internal flow); the target's sidecar sees
/// keel as the caller, so keel says who it was.
pub const X_KEEL_CALLER: HeaderName = HeaderName::from_static("x-keel-caller");
/// `x-keel-user`: the verified `sub` (a user name, or a client id), external flow.
pub const X_KEEL_USER: HeaderName = HeaderName::from_static("x-keel-user");
/// `x-keel-tenant`: the verified tenant.
pub const X_KEEL_TENANT: HeaderName = HeaderName::from_static("x-keel-tenant");
/// `x-keel-roles`: the verified roles, comma-separated.
pub const X_KEEL_ROLES: HeaderName = HeaderName::from_static("x-keel-roles");

/// `x-keel-scope`: the verified administration scope (`platform` or `tenant`).
pub const X_KEEL_SCOPE: HeaderName = HeaderName::from_static("x-keel-scope");
/// `x-keel-client`: set for client-credentials tokens, the verified client id.
pub const X_KEEL_CLIENT: HeaderName = HeaderName::from_static("x-keel-client");
/// `x-keel-ticket`: the login ticket keel hands a plugin's console pages (`/plugins/<group>/`),
/// bound to that plugin; the plugin checks it with auth (`crate::plugin::tickets`).
pub const X_KEEL_TICKET: HeaderName = HeaderName::from_static("x-keel-ticket");
/// `x-keel-csrf`: the console's CSRF token, equal to its `keel_csrf` cookie, on every
/// state-changing request authenticated by the session cookie (`docs/console.md`).
pub const X_KEEL_CSRF: HeaderName = HeaderName::from_static("x-keel-csrf");
/// The console's session cookie: the auth ticket (HttpOnly).
pub const SESSION_COOKIE: &str = "keel_session";
/// The console's CSRF cookie: random, readable by the console's script, echoed as `x-keel-csrf`.
pub const CSRF_COOKIE: &str = "keel_csrf";

/// Every client-sent header with this prefix is removed at keel's door: only keel sets them.
pub const KEEL_PREFIX: &str = "x-keel-";
