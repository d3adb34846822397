//! The start-up every Keel service shares, so each `main` is a few lines: load and check the
//! configuration (exit 64, `EX_USAGE`, when it is bad, or when start fails with
//! `io::ErrorKind::InvalidInput`: something only the operator can fix), start, log where it listens, wait for
//! SIGTERM or Ctrl-C, drain. Also the pieces every service's door needs: the app API token check
//! ([`AppToken`]), actix's own refusals in the platform's error body ([`catalogue_errors`]), constant-time comparison of secrets ([`secret_eq`]), bounded quotes of
//! untrusted text ([`snippet`]) and retry schedules ([`retry`]).
//!
//! # How to use
//!
//! ```no_run
//! use std::net::SocketAddr;
//! struct Running { addr: SocketAddr }
//! impl keel_sdk::service::Running for Running {
//!     fn addresses(&self) -> Vec<(&'static str, SocketAddr)> { vec![("app", self.addr)] }
//!     async fn stop(self) -> std::io::Result<()> { Ok(()) }
//! }
//! fn main() -> std::process::ExitCode {
//!     keel_sdk::service::main(
//!         "hello",
//!         || Ok::<_, String>("127.0.0.1:0".parse::<SocketAddr>().unwrap()),
//!         |addr| async move { Ok(Running { addr }) },
//!     )
//! }
//! ```

mod app_token;
mod framework_errors;
pub mod retry;
mod text;

use std::fmt::Display;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;

pub use app_token::{secret_eq, AppToken, AppTokenRefused, HEALTHZ};
pub use framework_errors::catalogue_errors;
pub use text::snippet;

/// Exit status for an invalid configuration (sysexits' `EX_USAGE`).
pub const EX_USAGE: u8 = 64;

/// A started service, as its `main` sees it.
pub trait Running {
    /// Every listener, by port name (`app`, `public`, `admin`, ...), logged once started.
    fn addresses(&self) -> Vec<(&'static str, SocketAddr)>;

    /// Stops accepting, lets in-flight requests finish, and waits for the servers to end.
    fn stop(self) -> impl Future<Output = io::Result<()>>;
}

/// Runs a service from its `main`: tracing for `app_id`, `load` (its error exits 64), `start` on
/// an actix system, the addresses logged, then until SIGINT/SIGTERM, then a drain.
pub fn main<C, E, R, F, Fut>(app_id: &str, load: impl FnOnce() -> Result<C, E>, start: F) -> ExitCode
where
    E: Display,
    R: Running,
    F: FnOnce(C) -> Fut,
    Fut: Future<Output = io::Result<R>>,
{
    crate::telemetry::init(app_id);
    // Load configuration from the environment without binding ports.
    let cfg = match load() {
        Ok(cfg) => cfg,
        Err(error) => {
            tracing::error!(%error, "Invalid configuration");
            return ExitCode::from(EX_USAGE);
        }
    };
    actix_web::rt::System::new().block_on(async move {
        let running = match start(cfg).await {
            Ok(running) => running,
            // What only the operator can fix, found at start (a missing secret, say): the same
            // exit as a bad configuration.
            Err(error) if error.kind() == io::ErrorKind::InvalidInput => {
                tracing::error!(%error, "Invalid configuration");
                return ExitCode::from(EX_USAGE);
            }
            Err(error) => {
                tracing::error!(%error, "Cannot start");
                return ExitCode::FAILURE;
            }
        };
        for (port, addr) in running.addresses() {
            tracing::info!(port, %addr, "listening");
        }
        shutdown_signal().await;
        tracing::info!("Shutting down: finishing in-flight requests");
        match running.stop().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                tracing::error!(%error, "Did not stop cleanly");
                ExitCode::FAILURE
            }
        }
    })
}

/// Resolves on SIGINT or SIGTERM (what `dapr run` and the stand-in send on stop).
pub async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot listen for SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}
