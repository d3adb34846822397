//! Login tickets in a plugin's back end (TarsWeb's `checkTicket`, `hasDevAuth`, `hasOpeAuth`,
//! `hasAdminAuth`): keel forwards the console's requests for `/plugins/<group>/...` with
//! `x-keel-ticket`, a ticket bound to this plugin; the plugin asks auth (through its own sidecar,
//! so auth sees its app-id) who it is and what they may do.
//!
//! ```no_run
//! use actix_web::{HttpRequest, HttpResponse};
//! use keel_sdk::dapr::DaprClient;
//! use keel_sdk::management::tickets::Action;
//! use keel_sdk::plugin::tickets::{check_ticket, has_permission, ticket_of};
//!
//! async fn page(req: HttpRequest) -> HttpResponse {
//!     let dapr = DaprClient::from_env();
//!     let Some(ticket) = ticket_of(&req) else { return HttpResponse::Unauthorized().finish() };
//!     match check_ticket(&dapr, ticket).await {
//!         Ok(user) => {
//!             let admin = has_permission(&dapr, ticket, "notes-ui", Action::Administer).await;
//!             HttpResponse::Ok().body(format!("hello {} (admin: {admin:?})", user.username))
//!         }
//!         Err(e) => HttpResponse::build(e.status()).body(e.to_string()),
//!     }
//! }
//! ```

use std::time::Duration;

use actix_web::http::{header, Method, StatusCode};
use actix_web::HttpRequest;

use crate::dapr::{DaprClient, DaprError};
use crate::management::tickets::{
    Action, PermissionAnswer, PermissionQuery, TicketInfo, TicketQuery, TICKET_PREFIX,
};
use crate::protocol::errors::{Code, ErrorBody};
use crate::protocol::headers::X_KEEL_TICKET;
use crate::protocol::{Reply, AUTH_APP_ID};

/// Who a checked ticket belongs to.
pub type TicketUser = TicketInfo;

/// The cookie a plugin's own pages may keep the ticket in.
pub const TICKET_COOKIE: &str = "keel_ticket";
/// The query parameter a page may carry it in (an `<iframe src>` or a link).
pub const TICKET_PARAM: &str = "ticket";
/// Longest wait for auth's answer.
pub const TICKET_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a ticket was not accepted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TicketError {
    /// Unknown, expired or revoked (401 `ERR_TICKET_INVALID`): the person logs in again.
    #[error("{0}")]
    Invalid(String),
    /// Meant for another app (403 `ERR_TICKET_AUDIENCE`).
    #[error("{0}")]
    Audience(String),
    /// Auth refused the call for another reason (a malformed request, a bad target).
    #[error("auth refused the ticket call ({status} {code}): {msg}")]
    Refused { status: u16, code: String, msg: String },
    /// Auth could not be asked (sidecar or auth down, timeout, an unreadable answer).
    #[error("auth could not be asked about the ticket: {0}")]
    Unavailable(#[source] DaprError),
}

impl TicketError {
    /// The status a plugin answers its own caller with: 401, 403, or 503 when auth is away.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Invalid(_) => StatusCode::UNAUTHORIZED,
            Self::Audience(_) => StatusCode::FORBIDDEN,
            Self::Refused { status, .. } => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// The request's ticket: the `x-keel-ticket` header (what keel sends), else the `keel_ticket`
/// cookie, else the `ticket` query parameter. Only values shaped like a ticket count.
pub fn ticket_of(req: &HttpRequest) -> Option<&str> {
    let shaped = |t: &&str| t.starts_with(TICKET_PREFIX) && t.len() <= 128;
    let from_header = req.headers().get(X_KEEL_TICKET).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(t) = from_header.filter(shaped) {
        return Some(t);
    }
    let from_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == TICKET_COOKIE)
        .map(|(_, value)| value.trim_matches('"'));
    if let Some(t) = from_cookie.filter(shaped) {
        return Some(t);
    }
    // Tickets are base64url: no percent-decoding needed for a real one.
    req.query_string()
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| *name == TICKET_PARAM)
        .map(|(_, value)| value)
        .filter(shaped)
}

/// Asks auth who `ticket` belongs to. The ticket must be bound to this plugin (auth compares its
/// audience with this plugin's app-id).
pub async fn check_ticket(dapr: &DaprClient, ticket: &str) -> Result<TicketUser, TicketError> {
    let query = TicketQuery { ticket: ticket.to_owned() };
    ask::<TicketInfo, _>(dapr, "v1/tickets/check", &query).await
}

/// Asks auth whether the person behind `ticket` may `action` the plugin (or pushed service)
/// `target`. A refusal by the rule is `Ok(false)`; an unusable ticket is an error.
pub async fn has_permission(
    dapr: &DaprClient,
    ticket: &str,
    target: &str,
    action: Action,
) -> Result<bool, TicketError> {
    let query = PermissionQuery { ticket: ticket.to_owned(), target: target.to_owned(), action };
    Ok(ask::<PermissionAnswer, _>(dapr, "v1/permissions/check", &query).await?.allowed)
}

/// One call to auth, with its answer or refusal decoded.
async fn ask<T, B>(dapr: &DaprClient, path: &str, body: &B) -> Result<T, TicketError>
where
    T: serde::de::DeserializeOwned,
    B: serde::Serialize,
{
    let dapr = dapr.with_timeout(TICKET_TIMEOUT.min(dapr.config().timeout));
    let answer =
        dapr.invoke(Method::POST, AUTH_APP_ID, path, Some(body)).await.map_err(TicketError::Unavailable)?;
    if answer.status.is_success() {
        return answer.json::<Reply<T>>().map(|r| r.body).map_err(TicketError::Unavailable);
    }
    let refusal = answer.json::<ErrorBody>().map_err(TicketError::Unavailable)?;
    Err(match Code::from_name(&refusal.code) {
        Some(Code::TicketInvalid) => TicketError::Invalid(refusal.msg),
        Some(Code::TicketAudience) => TicketError::Audience(refusal.msg),
        _ => TicketError::Refused { status: answer.status.as_u16(), code: refusal.code, msg: refusal.msg },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    const T: &str = "kt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[test]
    fn the_header_comes_first_then_the_cookie_then_the_query() {
        let req = TestRequest::get()
            .uri("/p?ticket=kt_query")
            .insert_header(("cookie", "a=b; keel_ticket=kt_cookie"))
            .insert_header((X_KEEL_TICKET, T))
            .to_http_request();
        assert_eq!(ticket_of(&req), Some(T));
        let req = TestRequest::get()
            .uri("/p?ticket=kt_query")
            .insert_header(("cookie", "a=b; keel_ticket=kt_cookie"))
            .to_http_request();
        assert_eq!(ticket_of(&req), Some("kt_cookie"));
        let req = TestRequest::get().uri("/p?x=1&ticket=kt_query").to_http_request();
        assert_eq!(ticket_of(&req), Some("kt_query"));
    }

    #[test]
    fn values_not_shaped_like_a_ticket_are_not_tickets() {
        let req = TestRequest::get()
            .uri("/p?ticket=eyJhbGciOi")
            .insert_header((X_KEEL_TICKET, "Bearer x"))
            .to_http_request();
        assert_eq!(ticket_of(&req), None);
        assert_eq!(ticket_of(&TestRequest::get().uri("/p").to_http_request()), None);
    }

    #[test]
    fn refusals_keep_their_status_for_the_plugins_own_answer() {
        assert_eq!(TicketError::Invalid("x".into()).status(), StatusCode::UNAUTHORIZED);
        assert_eq!(TicketError::Audience("x".into()).status(), StatusCode::FORBIDDEN);
    }
}
