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
pub mod faults;
pub mod platform;
pub mod ports;
pub mod process;
pub mod python;
pub mod servers;
pub mod tokens;
pub mod wait;

pub use build::bin_path;
pub use platform::{AppSpec, Platform, RunningApp};
pub use ports::free_port;
pub use process::alive;
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

/// Standard padded base64 (RFC 4648 §4) of `bytes`, for the secrets the tests write (the kit has
/// no base64 crate).
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod base64_tests {
    #[test]
    fn matches_rfc_4648_test_vectors() {
        let cases = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")];
        for (plain, encoded) in cases {
            assert_eq!(super::base64(plain.as_bytes()), encoded);
        }
    }
}
