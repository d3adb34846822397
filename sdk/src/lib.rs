//! Keel's shared library: the plugin protocol and the platform's error catalogue ([`protocol`]),
//! the Dapr sidecar client ([`dapr`]), the plugin kit ([`plugin`]), token verification
//! ([`tokens`]), configuration ([`config`]), telemetry ([`telemetry`]), the start-up and door
//! every service shares ([`service`]), and the records of the management APIs that services and
//! clients share ([`management`]). Every Keel service and every Rust plugin uses it; see
//! [`plugin`] for a complete plugin.

#![forbid(unsafe_code)]

pub mod access;
pub mod config;
pub mod dapr;
pub mod http;
pub mod management;
pub mod plugin;
pub mod protocol;
pub mod service;
pub mod telemetry;
pub mod tokens;

/// What the crate's exported macros need, so their users need not depend on it themselves.
#[doc(hidden)]
pub mod __private {
    pub use tracing;
}
