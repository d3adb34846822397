//! The console's session endpoints on keel's public port (`docs/console.md`):
//!
//! - `POST /console/api/login` `{username, password, tenant?}`: auth's `POST /v1/tickets` through
//!   keel's sidecar; sets `keel_session` (the ticket, `HttpOnly`) and `keel_csrf` (random, read by
//!   the console's script), both `SameSite=Lax; Path=/`, `Secure` over https. The answer carries
//!   who logged in, never the ticket. Auth's refusal (wrong password 401, throttled 429) is passed
//!   on as auth gave it.
//! - `POST /console/api/logout`: revokes the ticket at auth, forgets it here, clears both cookies.
//! - `GET /console/api/me`: who the session cookie belongs to.
//!
//! Login is refused from another site's page (`Origin` check: login CSRF); logout needs the
//! full CSRF defence, like every state-changing cookie request.

use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::http::header;
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use rand::RngCore;
use serde::Serialize;

use super::csrf;
use super::errors::RouteError;
use super::session::{self, set_cookie};
use super::state::RouterState;
use keel_sdk::access::Scope;
use keel_sdk::dapr::DaprClient;
use keel_sdk::management::tickets::{CreatedTicket, NewTicket, TicketQuery};
use keel_sdk::protocol::headers::{CSRF_COOKIE, SESSION_COOKIE};
use keel_sdk::protocol::{Reply, AUTH_APP_ID};

/// Largest login body (a user name, a password, a tenant).
const MAX_LOGIN_BYTES: usize = 8 * 1024;

/// Mounts the endpoints; register before the console's pages.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console/api")
            .app_data(web::PayloadConfig::new(MAX_LOGIN_BYTES))
            .route("/login", web::post().to(login))
            .route("/logout", web::post().to(logout))
            .route("/me", web::get().to(me))
            .default_service(web::to(no_such_api)),
    );
}

/// Who is logged in, as the console shows it.
#[derive(Debug, Serialize)]
struct Me<'a> {
    username: &'a str,
    tenant: &'a str,
    roles: &'a [String],
    scope: Scope,
}

/// The login answer: who, and until when (never the ticket: it lives in the HttpOnly cookie).
#[derive(Serialize)]
struct LoggedIn<'a> {
    user: Me<'a>,
    idle_expires_at: u64,
    expires_at: u64,
}

fn now_s() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

async fn login(
    req: HttpRequest,
    body: web::Bytes,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> Result<HttpResponse, RouteError> {
    csrf::same_origin(&req)?; // 403: a login form of another site
    let new: NewTicket = serde_json::from_slice(&body).map_err(|_| {
        // serde would quote the offending value, which may be the password.
        RouteError::BadLogin
    })?;
    let dapr = dapr.with_timeout(session::AUTH_TIMEOUT.min(dapr.config().timeout));
    let mut up = dapr.invoke_request(Method::POST, AUTH_APP_ID, "v1/tickets");
    // auth throttles failed logins by client address: keel's word on it, as for the password grant.
    let client = req
        .peer_addr()
        .map(|peer| state.trusted_proxies.client(peer.ip(), req.headers()))
        .and_then(crate::client_addr::header_value);
    if let Some(v) = &client {
        up = up.insert_header((header::X_FORWARDED_FOR, v.clone()));
    }
    let mut answer = up
        .send_json(&new)
        .await
        .map_err(|e| RouteError::AuthUnavailable { detail: format!("asking auth to log in: {e}") })?;
    let status = answer.status();
    let bytes =
        answer.body().limit(64 * 1024).await.map_err(|e| RouteError::AuthUnavailable {
            detail: format!("reading auth's login answer: {e}"),
        })?;
    if !status.is_success() {
        // auth's own refusal and sentence (wrong password, throttled, disabled user).
        let mut res = HttpResponse::build(status);
        for name in [header::CONTENT_TYPE, header::RETRY_AFTER] {
            if let Some(v) = answer.headers().get(&name) {
                res.insert_header((name, v.clone()));
            }
        }
        return Ok(res.body(bytes));
    }
    let created: CreatedTicket = serde_json::from_slice::<Reply<CreatedTicket>>(&bytes)
        .map(|r| r.body)
        .map_err(|e| RouteError::Internal(format!("auth's login answer: {e}")))?;
    // auth's management API (users, tenants, roles) verifies bearer tokens, not tickets: keel
    // keeps the same login's tokens for the session and sends them there (session.rs).
    let mut form = vec![
        ("grant_type", "password"),
        ("username", new.username.as_str()),
        ("password", new.password.as_str()),
    ];
    if let Some(t) = &new.tenant {
        form.push(("tenant", t.as_str()));
    }
    match session::token_grant(&dapr, &form, client).await {
        Ok(tokens) => state.sessions.keep_tokens(&created.ticket, tokens),
        Err(e) => tracing::warn!(error = %e, "Console login without a token for auth's management pages"),
    }
    let secure = session::is_https(&req, &state.trusted_proxies);
    let max_age = created.expires_at.saturating_sub(now_s());
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    let user = &created.user;
    let shown = LoggedIn {
        user: Me { username: &user.username, tenant: &user.tenant, roles: &user.roles, scope: user.scope },
        idle_expires_at: created.idle_expires_at,
        expires_at: created.expires_at,
    };
    Ok(HttpResponse::Ok()
        .append_header((
            header::SET_COOKIE,
            set_cookie(SESSION_COOKIE, &created.ticket, true, secure, max_age),
        ))
        .append_header((header::SET_COOKIE, set_cookie(CSRF_COOKIE, &token, false, secure, max_age)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(shown))
}

async fn logout(
    req: HttpRequest,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> Result<HttpResponse, RouteError> {
    let secure = session::is_https(&req, &state.trusted_proxies);
    if let Some(ticket) = session::session_of(&req) {
        csrf::check(&req)?; // 403: another site cannot log a person out
        state.sessions.forget(ticket);
        let revoke = TicketQuery { ticket: ticket.to_owned() };
        let dapr = dapr.with_timeout(session::AUTH_TIMEOUT.min(dapr.config().timeout));
        let answer = dapr
            .invoke(Method::POST, AUTH_APP_ID, "v1/tickets/revoke", Some(&revoke))
            .await
            .map_err(|e| RouteError::AuthUnavailable { detail: format!("asking auth to revoke: {e}") })?;
        if answer.status != StatusCode::NO_CONTENT && !answer.status.is_success() {
            return Err(RouteError::AuthUnavailable {
                detail: format!("auth answered {} to revoke", answer.status),
            });
        }
    }
    Ok(HttpResponse::NoContent()
        .append_header((header::SET_COOKIE, set_cookie(SESSION_COOKIE, "", true, secure, 0)))
        .append_header((header::SET_COOKIE, set_cookie(CSRF_COOKIE, "", false, secure, 0)))
        .finish())
}

async fn me(
    req: HttpRequest,
    state: web::Data<RouterState>,
    dapr: web::Data<DaprClient>,
) -> Result<HttpResponse, RouteError> {
    let Some(ticket) = session::session_of(&req) else {
        return Err(RouteError::Unauthenticated("not logged in to the console".into()));
    };
    let who = state.sessions.identity(&dapr, ticket).await?;
    let me = Me { username: &who.sub, tenant: &who.tenant, roles: &who.roles, scope: who.scope };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(me))
}

async fn no_such_api(req: HttpRequest) -> Result<HttpResponse, RouteError> {
    Err(RouteError::NoSuchApi { path: req.path().to_owned() })
}
