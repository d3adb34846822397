//! Console login tickets and permission checks (`crate::tickets`), for keel and plugin back ends
//! through Dapr. Who calls is read as every core service reads it ([`Principal::from_headers`]:
//! the app-id the caller's sidecar stamped, and keel's `x-keel-*` only from keel): keel itself
//! creates, binds and revokes and checks session tickets; a plugin checks the tickets bound to
//! it. A person reaching these through keel's public port (`/apis/auth/v1/tickets...`) is not
//! keel, though keel's sidecar carried the request.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use keel_sdk::access::Principal;
use keel_sdk::management::tickets::{
    BindTicket, BoundTicket, CreatedTicket, NewTicket, PermissionAnswer, PermissionQuery, TicketInfo,
    TicketQuery,
};
use keel_sdk::protocol::{PluginId, Reply, RouteTable, KEEL_APP_ID, ROUTES_KEY};
use keel_sdk::service::snippet;
use keel_sdk::tokens::PLATFORM_TENANT;

use super::token::{check_password, no_store};
use crate::directory;
use crate::error::AuthError;
use crate::state::AuthState;
use crate::store::Store;
use crate::tickets::{self, rules, TicketRecord};

/// `POST /v1/tickets` (keel): a console login, throttled like the password grant.
pub async fn create(
    req: HttpRequest,
    body: web::Json<NewTicket>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    only_keel(&req, "creating console tickets")?;
    let tenant = body.tenant.as_deref().unwrap_or(PLATFORM_TENANT);
    let user = check_password(&req, &state, &store, &body.username, &body.password, tenant)
        .await?
        .ok_or(AuthError::WrongLogin)?;
    let record = directory::tenant(&store, tenant).await?;
    let (ticket, session, user) = tickets::create(&state, &store, &record, &user).await?;
    tracing::info!(user = %user.username, tenant, "Opened a console session");
    let answer = CreatedTicket {
        ticket,
        user,
        idle_expires_at: session.idle_expires_at,
        expires_at: session.expires_at,
    };
    Ok(no_store(HttpResponse::build(StatusCode::CREATED)).json(Reply::ok(answer)))
}

/// `POST /v1/tickets/bind` (keel): the ticket for plugin `audience` of a live session.
pub async fn bind(
    req: HttpRequest,
    body: web::Json<BindTicket>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    only_keel(&req, "binding tickets")?;
    PluginId::parse(&body.audience).map_err(|_| {
        AuthError::Invalid(format!(
            "audience {:?} is not a plugin id (lower-case letters, digits and '-')",
            snippet(body.audience.as_bytes())
        ))
    })?;
    let (ticket, checked) = tickets::bind(&state, &store, &body.ticket, &body.audience).await?;
    tracing::debug!(user = %checked.user.username, audience = %body.audience, "Bound a ticket");
    let answer = BoundTicket { ticket, expires_at: checked.session.expires_at };
    Ok(no_store(HttpResponse::Ok()).json(Reply::ok(answer)))
}

/// `POST /v1/tickets/check`: who the ticket belongs to, for the app it is meant for.
pub async fn check(
    req: HttpRequest,
    body: web::Json<TicketQuery>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let checked =
        tickets::check(&state, &store, &body.ticket, &Principal::from_headers(req.headers())).await?;
    let user = checked.user;
    let answer = TicketInfo {
        username: user.username,
        tenant: user.tenant,
        roles: user.roles,
        scope: user.scope,
        audience: checked.audience,
        expires_at: checked.session.expires_at,
    };
    Ok(no_store(HttpResponse::Ok()).json(Reply::ok(answer)))
}

/// `POST /v1/tickets/revoke` (keel): logout; the session's bound tickets die with it.
pub async fn revoke(
    req: HttpRequest,
    body: web::Json<TicketQuery>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    only_keel(&req, "revoking tickets")?;
    match tickets::revoke(&store, &body.ticket).await? {
        Some(TicketRecord::Session(s)) => {
            tracing::info!(user = %s.username, tenant = %s.tenant, bound = s.bound.len(), "Closed a console session");
        }
        Some(TicketRecord::Bound(b)) => tracing::info!(audience = %b.audience, "Revoked a bound ticket"),
        None => {}
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /v1/permissions/check`: may the ticket's user `action` the plugin `target`? The ticket
/// is checked as by `/v1/tickets/check` (same audience rule); the rule is [`rules::decide`].
pub async fn permission(
    req: HttpRequest,
    body: web::Json<PermissionQuery>,
    state: web::Data<AuthState>,
    store: web::Data<Store>,
) -> Result<HttpResponse, AuthError> {
    let checked =
        tickets::check(&state, &store, &body.ticket, &Principal::from_headers(req.headers())).await?;
    let table = store.published().get_or_default::<RouteTable>(ROUTES_KEY).await?.value;
    let (allowed, reason) = rules::decide(&checked.user, &checked.tenant, &table, &body.target, body.action);
    tracing::debug!(user = %checked.user.username, target = %snippet(body.target.as_bytes()), action = body.action.as_str(), allowed, "Permission check");
    let answer = PermissionAnswer { allowed, username: checked.user.username, reason };
    Ok(HttpResponse::Ok().json(Reply::ok(answer)))
}

/// Refuses every caller but keel itself.
fn only_keel(req: &HttpRequest, what: &str) -> Result<(), AuthError> {
    match Principal::from_headers(req.headers()) {
        Principal::App(app) if app == KEEL_APP_ID => Ok(()),
        other => Err(AuthError::CallerNotAllowed(format!(
            "{what} is keel's (app-id {KEEL_APP_ID:?}); {} may not",
            tickets::describe(&other)
        ))),
    }
}
