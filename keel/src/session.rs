//! The console's cookie sessions (issue 16, `docs/console.md`): the cookie `keel_session` holds
//! an auth ticket; keel accepts it on the public port as it accepts a bearer token, asking auth
//! (`POST /v1/tickets/check`) at most every [`CHECK_TTL`] per session, and hands each plugin a
//! ticket bound to it (`POST /v1/tickets/bind`), never the session's own.
//!
//! The caches are keyed by the SHA-256 of the ticket, so keel's memory holds no ticket as a key;
//! a logout drops the session's entries at once (on this keel; another replica forgets within
//! [`CHECK_TTL`]).
//!
//! [`SessionGate`] wraps the configured [`TokenVerifier`]: a request with an `Authorization`
//! header is the token verifier's; one with only the session cookie is checked here, with the
//! CSRF defence ([`crate::csrf`]) on state-changing methods.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;
use quick_cache::sync::Cache;
use sha2::{Digest, Sha256};

use super::errors::RouteError;
use super::gate::{Identity, TokenVerifier};
use keel_sdk::dapr::DaprClient;
use keel_sdk::management::auth::TokenResponse;
use keel_sdk::management::tickets::{BindTicket, BoundTicket, TicketInfo, TicketQuery};
use keel_sdk::protocol::errors::ErrorBody;
use keel_sdk::protocol::headers::SESSION_COOKIE;
use keel_sdk::protocol::{Reply, AUTH_APP_ID};

/// How long a check of a session with auth is believed: revocation by another keel replica, or
/// by auth itself (a disabled user), takes effect within it.
pub const CHECK_TTL: Duration = Duration::from_secs(5);

/// How long keel waits for auth's answer about a ticket.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(5);

/// Sessions cached at most (each entry is small; an old one is evicted first).
const CACHE_ENTRIES: usize = 10_000;

/// The session ticket a request was authenticated with, kept in the request's extensions for
/// the forwarding step (which binds it to the target plugin). No `Debug`: it is a secret.
#[derive(Clone)]
pub struct SessionTicket(pub Arc<str>);

/// SHA-256 of a ticket: the cache key.
type Key = [u8; 32];

/// The console sessions keel knows: checks and bound tickets, cached briefly.
pub struct Sessions {
    checks: Cache<Key, (Instant, Arc<Identity>)>,
    bound: Cache<(Key, String), (Instant, Arc<str>)>,
    /// Access tokens for auth's own management API (users, tenants, roles), which verifies
    /// bearer tokens itself: obtained with the login's password grant, refreshed before expiry,
    /// in memory only (a keel restart loses them: those pages then ask to log in again).
    tokens: Cache<Key, Arc<AuthTokens>>,
}

/// A session's tokens for auth. No `Debug`: secrets.
pub struct AuthTokens {
    access: String,
    until: Instant,
    refresh: Option<String>,
}

/// Renew an access token this long before it expires.
const RENEW_BEFORE: Duration = Duration::from_secs(30);

impl Default for Sessions {
    fn default() -> Self {
        Self {
            checks: Cache::new(CACHE_ENTRIES),
            bound: Cache::new(CACHE_ENTRIES),
            tokens: Cache::new(CACHE_ENTRIES),
        }
    }
}

fn key(ticket: &str) -> Key {
    Sha256::digest(ticket.as_bytes()).into()
}

/// The value of cookie `name` in the request, if any (the first one).
pub fn cookie<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim().trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// The session ticket of the request's cookie.
pub fn session_of(req: &HttpRequest) -> Option<&str> {
    cookie(req, SESSION_COOKIE)
}

impl Sessions {
    /// Who the session `ticket` belongs to: from the cache when checked within [`CHECK_TTL`],
    /// else from auth. An unknown, expired or revoked ticket is 401 with auth's sentence.
    pub async fn identity(&self, dapr: &DaprClient, ticket: &str) -> Result<Arc<Identity>, RouteError> {
        let k = key(ticket);
        if let Some((at, who)) = self.checks.get(&k) {
            if at.elapsed() < CHECK_TTL {
                return Ok(who);
            }
        }
        let info: TicketInfo =
            ask(dapr, "v1/tickets/check", &TicketQuery { ticket: ticket.to_owned() }).await?;
        let who = Arc::new(Identity {
            sub: info.username,
            tenant: info.tenant,
            roles: info.roles,
            client_id: None,
            // Not the ticket: the identity is logged and vouched for.
            jti: "console-session".into(),
            exp: info.expires_at,
            scope: info.scope,
        });
        self.checks.insert(k, (Instant::now(), who.clone()));
        Ok(who)
    }

    /// The ticket bound to plugin `audience` for the session `ticket` (cached like checks: auth
    /// derives the same one each time, and it dies with the session).
    pub async fn bound(
        &self,
        dapr: &DaprClient,
        ticket: &str,
        audience: &str,
    ) -> Result<Arc<str>, RouteError> {
        let k = (key(ticket), audience.to_owned());
        if let Some((at, bound)) = self.bound.get(&k) {
            if at.elapsed() < CHECK_TTL {
                return Ok(bound);
            }
        }
        let body = BindTicket { ticket: ticket.to_owned(), audience: audience.to_owned() };
        let answer: BoundTicket = ask(dapr, "v1/tickets/bind", &body).await?;
        let bound: Arc<str> = answer.ticket.into();
        self.bound.insert(k, (Instant::now(), bound.clone()));
        Ok(bound)
    }

    /// Keeps the tokens of auth's password grant for the session `ticket`.
    pub fn keep_tokens(&self, ticket: &str, answer: TokenResponse) {
        let until = Instant::now() + Duration::from_secs(answer.expires_in);
        let tokens = AuthTokens { access: answer.access_token, until, refresh: answer.refresh_token };
        self.tokens.insert(key(ticket), Arc::new(tokens));
    }

    /// The session's access token for auth's management API, renewed with its refresh token
    /// when about to expire; `None` when keel has none (a restart) or the renewal was refused.
    pub async fn auth_token(&self, dapr: &DaprClient, ticket: &str) -> Option<String> {
        let k = key(ticket);
        let tokens = self.tokens.get(&k)?;
        if tokens.until > Instant::now() + RENEW_BEFORE {
            return Some(tokens.access.clone());
        }
        let refresh = tokens.refresh.as_deref()?;
        let form = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
        let renewed = token_grant(dapr, &form, None).await.ok()?;
        let access = renewed.access_token.clone();
        self.keep_tokens(ticket, renewed);
        Some(access)
    }

    /// Forgets the session `ticket` here (a logout): its next use asks auth, which refuses it.
    pub fn forget(&self, ticket: &str) {
        let k = key(ticket);
        self.checks.remove(&k);
        self.tokens.remove(&k);
        // Bound entries are keyed by plugin too; drop every one of this session's.
        let mine: Vec<(Key, String)> =
            self.bound.iter().filter(|((sk, _), _)| *sk == k).map(|(key, _)| key).collect();
        for entry in mine {
            self.bound.remove(&entry);
        }
    }
}

/// auth's `POST /v1/oauth/token` with `form`, through keel's sidecar (`client`: the person's
/// address, for auth's throttling).
pub async fn token_grant(
    dapr: &DaprClient,
    form: &[(&str, &str)],
    client: Option<HeaderValue>,
) -> Result<TokenResponse, RouteError> {
    let dapr = dapr.with_timeout(AUTH_TIMEOUT.min(dapr.config().timeout));
    let mut up = dapr.invoke_request(Method::POST, AUTH_APP_ID, "v1/oauth/token");
    if let Some(ip) = client {
        up = up.insert_header((header::X_FORWARDED_FOR, ip));
    }
    let unavailable = |e: String| RouteError::AuthUnavailable { detail: format!("auth's token grant: {e}") };
    let mut res = up.send_form(&form).await.map_err(|e| unavailable(e.to_string()))?;
    let body = res.body().limit(64 * 1024).await.map_err(|e| unavailable(e.to_string()))?;
    if !res.status().is_success() {
        return Err(unavailable(format!("answered {}", res.status())));
    }
    serde_json::from_slice(&body).map_err(|e| unavailable(e.to_string()))
}

/// `Authorization: Bearer <the session's access token>` for a cookie request to auth (whose
/// management API verifies bearer tokens itself); `None` otherwise.
pub async fn auth_bearer_for(
    req: &HttpRequest,
    state: &crate::state::RouterState,
    dapr: &DaprClient,
    plugin: &str,
) -> Option<HeaderValue> {
    if plugin != AUTH_APP_ID || req.headers().contains_key(header::AUTHORIZATION) {
        return None;
    }
    let SessionTicket(ticket) = req.extensions().get::<SessionTicket>().cloned()?;
    let token = state.sessions.auth_token(dapr, &ticket).await?;
    HeaderValue::from_str(&format!("Bearer {token}")).ok()
}

/// One call to auth through keel's sidecar, its envelope-wrapped answer decoded; a refusal
/// becomes the matching [`RouteError`], with auth's sentence.
pub async fn ask<T, B>(dapr: &DaprClient, path: &str, body: &B) -> Result<T, RouteError>
where
    T: serde::de::DeserializeOwned,
    B: serde::Serialize,
{
    let dapr = dapr.with_timeout(AUTH_TIMEOUT.min(dapr.config().timeout));
    let answer = dapr
        .invoke(Method::POST, AUTH_APP_ID, path, Some(body))
        .await
        .map_err(|e| RouteError::AuthUnavailable { detail: format!("asking auth ({path}): {e}") })?;
    if answer.status.is_success() {
        return answer
            .json::<Reply<T>>()
            .map(|r| r.body)
            .map_err(|e| RouteError::Internal(format!("auth's answer to {path}: {e}")));
    }
    let refusal = answer.json::<ErrorBody>().ok();
    Err(refused(answer.status.as_u16(), refusal, path))
}

/// auth's refusal as keel's: a bad ticket is 401 (the person logs in again), auth away is 503.
fn refused(status: u16, refusal: Option<ErrorBody>, path: &str) -> RouteError {
    let msg = refusal
        .map(|r| r.msg.trim_end_matches('.').to_owned())
        .unwrap_or_else(|| format!("auth answered {status} to {path}"));
    match status {
        401 => RouteError::SessionInvalid(msg),
        s if s >= 500 => {
            RouteError::AuthUnavailable { detail: format!("auth answered {s} to {path}: {msg}") }
        }
        _ => RouteError::Internal(format!("auth refused {path} ({status}): {msg}")),
    }
}

/// The `x-keel-ticket` value for a request to `plugin`: the session's ticket bound to it, for a
/// request authenticated by the session cookie to a console page (`/plugins/...`) or a hosted
/// service (`/plugin_service/...`); `None` otherwise.
pub async fn bound_for(
    req: &HttpRequest,
    state: &crate::state::RouterState,
    dapr: &DaprClient,
    plugin: &str,
) -> Result<Option<HeaderValue>, RouteError> {
    let path = req.path();
    let console_page = crate::target::is_console_path(path)
        || path
            .strip_prefix('/')
            .and_then(|p| p.strip_prefix(crate::target::HOSTED))
            .is_some_and(|p| p.starts_with('/'));
    let ticket = req.extensions().get::<SessionTicket>().cloned();
    let (true, Some(SessionTicket(ticket))) = (console_page, ticket) else { return Ok(None) };
    let bound = state.sessions.bound(dapr, &ticket, plugin).await?;
    // A ticket is base64url text: always a valid header value.
    Ok(HeaderValue::from_str(&bound).ok())
}

/// The public port's gate: bearer tokens through the configured verifier, the console's session
/// cookie here.
pub struct SessionGate {
    tokens: Arc<dyn TokenVerifier>,
    sessions: Arc<Sessions>,
}

impl SessionGate {
    /// Sessions in front of `tokens`.
    pub fn new(tokens: Arc<dyn TokenVerifier>, sessions: Arc<Sessions>) -> Self {
        Self { tokens, sessions }
    }
}

impl TokenVerifier for SessionGate {
    fn authenticate<'a>(
        &'a self,
        req: &'a HttpRequest,
        dapr: &'a DaprClient,
    ) -> LocalBoxFuture<'a, Result<Arc<Identity>, RouteError>> {
        // A bearer token wins: an API client that also carries a console cookie means the token.
        let ticket = match session_of(req) {
            Some(t) if !req.headers().contains_key(header::AUTHORIZATION) => t,
            _ => return self.tokens.authenticate(req, dapr),
        };
        Box::pin(async move {
            super::csrf::check(req)?; // 403 ERR_CSRF: a state-changing request without the defence
            let who = self.sessions.identity(dapr, ticket).await?; // 401 expired, revoked, unknown
            req.extensions_mut().insert(SessionTicket(ticket.into()));
            Ok(who)
        })
    }

    fn authorize(&self, who: &Identity, plugin: &str) -> Result<(), RouteError> {
        self.tokens.authorize(who, plugin)
    }

    fn keep_fresh(&self, dapr: DaprClient) {
        self.tokens.keep_fresh(dapr)
    }
}

/// Whether the request came over https, as a trusted proxy says (`x-forwarded-proto`); keel's
/// own port is plain HTTP.
pub fn is_https(req: &HttpRequest, trusted: &crate::client_addr::TrustedProxies) -> bool {
    let from_proxy = req.peer_addr().is_some_and(|peer| trusted.contains(peer.ip()));
    from_proxy
        && req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value: `HttpOnly` for the session, `SameSite=Lax; Path=/` always, `Secure`
/// over https; `max_age` 0 clears it.
pub fn set_cookie(name: &str, value: &str, http_only: bool, secure: bool, max_age: u64) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age}");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    // Built from a ticket or random base64url and fixed text: always a valid header value.
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn the_session_cookie_is_read_among_others() {
        let req = TestRequest::default()
            .insert_header((header::COOKIE, "theme=dark; keel_session=kt_abc; keel_csrf=x"))
            .to_http_request();
        assert_eq!(session_of(&req), Some("kt_abc"));
        assert_eq!(cookie(&req, "keel_csrf"), Some("x"));
        assert_eq!(session_of(&TestRequest::default().to_http_request()), None);
        let empty = TestRequest::default().insert_header((header::COOKIE, "keel_session=")).to_http_request();
        assert_eq!(session_of(&empty), None);
    }

    #[test]
    fn cookies_have_the_attributes_of_the_model() {
        let c = set_cookie("keel_session", "kt_x", true, false, 60);
        assert_eq!(c, "keel_session=kt_x; Path=/; SameSite=Lax; Max-Age=60; HttpOnly");
        let c = set_cookie("keel_csrf", "r", false, true, 0);
        assert_eq!(c, "keel_csrf=r; Path=/; SameSite=Lax; Max-Age=0; Secure");
    }

    #[test]
    fn https_is_believed_only_from_a_trusted_proxy() {
        use crate::client_addr::TrustedProxies;
        let peer: std::net::SocketAddr = "10.0.0.1:5000".parse().unwrap();
        let req = || TestRequest::default().peer_addr(peer).insert_header(("x-forwarded-proto", "https"));
        assert!(is_https(&req().to_http_request(), &TrustedProxies::parse("10.0.0.0/8").unwrap()));
        assert!(!is_https(&req().to_http_request(), &TrustedProxies::parse("").unwrap()));
    }

    #[test]
    fn forgetting_a_session_drops_its_bound_tickets_only() {
        let s = Sessions::default();
        let now = Instant::now();
        s.bound.insert((key("kt_a"), "p1".into()), (now, "kt_b1".into()));
        s.bound.insert((key("kt_a"), "p2".into()), (now, "kt_b2".into()));
        s.bound.insert((key("kt_other"), "p1".into()), (now, "kt_b3".into()));
        s.forget("kt_a");
        assert_eq!(s.bound.len(), 1);
    }
}
