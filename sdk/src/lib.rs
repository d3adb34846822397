//! Keel's shared library: the plugin protocol ([`protocol`]), the Dapr sidecar client ([`dapr`]),
//! the plugin kit ([`plugin`]), token verification ([`tokens`]), configuration ([`config`]) and
//! telemetry ([`telemetry`]). Every Keel service and every Rust plugin uses it; see [`plugin`] for
//! a complete plugin.

#![forbid(unsafe_code)]

pub mod config;
pub mod dapr;
pub mod plugin;
pub mod protocol;
pub mod telemetry;
pub mod tokens;
