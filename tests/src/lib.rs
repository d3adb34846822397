//! The end-to-end test kit: starts the platform's real binaries, each behind its own sidecar
//! stand-in process, on free loopback ports, waits on their health endpoints, and stops
//! everything when the test ends (also on panic).
//!
//! # How to use
//!
//! ```no_run
//! # async fn demo() {
//! use keel_e2e::{AppSpec, Platform};
//! let mut platform = Platform::new();
//! platform.start(AppSpec::bin("echo", "echo")).await;
//! let res = keel_e2e::client()
//!     .get(format!("{}/v1.0/invoke/echo/method/v1/identify", platform.dapr_url("echo")))
//!     .send()
//!     .await
//!     .unwrap();
//! assert!(res.status().is_success());
//! # }
//! ```

pub mod build;
pub mod platform;
pub mod ports;
pub mod servers;
pub mod tokens;
pub mod wait;

pub use build::bin_path;
pub use platform::{AppSpec, Platform, RunningApp};
pub use ports::free_port;
pub use tokens::RunTokens;
pub use wait::{eventually, wait_healthy};

use std::time::Duration;

/// An HTTP client for tests: no redirects followed, a generous time limit, no pool cap.
pub fn client() -> awc::Client {
    awc::Client::builder()
        .connector(awc::Connector::new().limit(0))
        .disable_redirects()
        .timeout(Duration::from_secs(60))
        .finish()
}
