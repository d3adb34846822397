//! `GET /v1.0/healthz` and `GET /v1.0/healthz/outbound` (daprd's `pkg/api/http/healthz.go`).
//! The sidecar is "ready" once init completes, which waits for the app port to accept
//! connections when there is one; outbound health is ready as soon as the API serves. App health
//! checks never flip either endpoint (daprd at HEAD).

use super::errors::{codes, ApiError};
use super::ApiContext;
use crate::golang::url;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

/// Whether init has completed; others can wait for it.
#[derive(Debug)]
pub struct Readiness {
    ready: tokio::sync::watch::Sender<bool>,
}

impl Default for Readiness {
    fn default() -> Self {
        Readiness { ready: tokio::sync::watch::Sender::new(false) }
    }
}

impl Readiness {
    /// Marks init complete.
    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// True once init has completed.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// Resolves once init has completed.
    pub async fn wait(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }
}

/// `GET /v1.0/healthz[?appid=<id>]`: 204, or 500 before init / for another app-id.
pub fn healthz(req: &HttpRequest, ctx: &ApiContext) -> Result<HttpResponse, ApiError> {
    if !ctx.readiness.is_ready() {
        return Err(ApiError::legacy(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::HEALTH_NOT_READY,
            "dapr is not ready: [runtime]",
        ));
    }
    if let Some(appid) = url::query_get(req.query_string(), "appid").filter(|a| !a.is_empty()) {
        if appid != ctx.app_id {
            return Err(ApiError::legacy(
                StatusCode::INTERNAL_SERVER_ERROR,
                codes::HEALTH_APPID_NOT_MATCH,
                "dapr app-id does not match",
            ));
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /v1.0/healthz/outbound`: 204 as soon as the API serves.
pub fn outbound() -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::NoContent().finish())
}
