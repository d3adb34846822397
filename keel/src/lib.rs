//! Keel's shared library: the plugin protocol, the Dapr sidecar client, the plugin kit,
//! configuration and telemetry. Every Keel service and every Rust plugin uses it.

#![forbid(unsafe_code)]

pub mod dapr;
pub mod protocol;
