//! The records of the platform's management APIs, as they travel on the wire: what the registry
//! ([`registry`] and [`console`], app-id `plugins`), auth ([`auth`]) and hosting ([`hosting`]) answer and accept. The services serialize
//! their answers with these types and clients (`keelctl`, integrators' code) read them with the
//! same ones, so there is one definition of every field.
//!
//! Only the wire is here. What a service keeps for itself (stored records, password and secret
//! hashes, poll health, signing keys) stays in the service, which builds these views from it.
//!
//! Answers are sent inside the protocol envelope, flattened next to the record's fields
//! (`{"ret": 0, "msg": "ok", ...}`, [`crate::protocol::Reply`]); refusals are the catalogue's
//! [`crate::protocol::ErrorBody`].
//!
//! # Reading and writing
//!
//! - **Answers tolerate what they do not know.** No answer type denies unknown fields, and fields
//!   a client can live without default when absent, so a client built against this version reads
//!   the answers of a newer server (which may add fields).
//! - **Request bodies are strict.** The services refuse a body with a field they do not know
//!   (`deny_unknown_fields`), so a typo (`"nmae"`) is a 400, not a silently ignored change.
//! - **Field names, order and omissions are the API.** The services' tests pin the exact bytes of
//!   each answer; change a type here and those tests say which answer changed.
//!
//! # How to use
//!
//! ```
//! use keel_sdk::management::registry::PluginView;
//! use keel_sdk::protocol::Reply;
//!
//! let body = r#"{"ret":0,"msg":"ok","id":"echo","version":"1.0.0","status":"ACTIVE",
//!                "added_by_a_newer_server":true}"#;
//! let answer: Reply<PluginView> = serde_json::from_str(body).unwrap();
//! assert!(answer.envelope.is_ok());
//! assert!(answer.body.status.is_active());
//! ```

pub mod auth;
pub mod console;
pub mod hosting;
pub mod openapi;
pub mod registry;
pub mod tickets;

#[cfg(test)]
mod tests;
