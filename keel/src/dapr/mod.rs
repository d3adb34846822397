//! Everything about talking to a Dapr sidecar over HTTP.

pub mod error_body;
pub mod headers;

pub use error_body::DaprErrorBody;
