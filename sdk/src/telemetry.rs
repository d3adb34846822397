//! Tracing set-up shared by every service: readable lines by default, JSON with
//! `KEEL_LOG_FORMAT=json`, filtered by `KEEL_LOG` (or `RUST_LOG`), e.g. `KEEL_LOG=keel_sdk=debug`.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing_subscriber::EnvFilter;

use crate::protocol::errors::{log_at, Refused};

/// Installs the global subscriber for `service`. Safe to call more than once (later calls are
/// ignored), so tests and binaries can share set-up code.
pub fn init(service: &str) {
    let filter = std::env::var("KEEL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let json = std::env::var("KEEL_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .with_target(false);
    let installed = if json { builder.json().try_init() } else { builder.try_init() };
    if installed.is_ok() {
        tracing::debug!(service, "tracing initialised");
    }
}

/// Whether log lines on stderr get ANSI colours: only on a terminal, and never with `NO_COLOR`
/// set to anything (<https://no-color.org>), so files and pipes get plain text.
pub fn colour() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Middleware (use with `actix_web::middleware::from_fn`) writing one line per request at
/// `debug`: method, path, status, duration. The query string is left out: it may carry secrets.
pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    tracing::debug!(%method, %path, status = res.status().as_u16(), elapsed_ms = started.elapsed().as_secs_f64() * 1e3, "request");
    Ok(res)
}

/// Middleware (use with `actix_web::middleware::from_fn`) logging each refused request once,
/// after the handler, at the level its fault calls for ([`crate::protocol::Code::level`]): the
/// caller's mistakes at `info`, a plugin's at `warn`, the sidecar's and the platform's at `error`
/// or `warn`, with the detail the response itself never carries. Error messages never contain
/// secrets; each service's error type is written that way.
pub async fn log_failures(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let method = req.method().clone();
    let path = req.path().to_owned();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    if let Some(r) = res.response().extensions().get::<Refused>() {
        let (code, msg, detail) = (r.code.name(), r.msg.as_str(), r.detail.as_deref());
        log_at!(r.code.level(), %method, %path, status, code, msg, detail, "Request refused");
    } else if let Some(error) = res.response().error() {
        if res.status().is_server_error() {
            tracing::warn!(%method, %path, status, %error, "Request failed");
        } else {
            tracing::debug!(%method, %path, status, %error, "Request refused");
        }
    }
    Ok(res)
}
