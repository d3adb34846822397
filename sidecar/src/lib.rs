//! A single-machine stand-in for Dapr's sidecar: the part of `daprd` 1.18's HTTP API that Keel
//! uses (service invocation, state, health, metadata, shutdown), behaving as daprd does, plus
//! `dapr run` (one app with its sidecar, or every app of a multi-app run file).
//!
//! Layered like daprd: [`api`] turns HTTP into typed calls, [`messaging`] decides where an
//! invocation goes (resolving app-ids through the shared [`registry`]), [`channel`] talks to the
//! app, [`internal`] is the port other sidecars call, [`state`] holds the stores. [`sidecar`]
//! assembles one sidecar; [`supervisor`] runs apps and sidecars for the [`cli`].
//!
//! # How to use
//! ```text
//! sidecar run -f dapr.yaml
//! sidecar run --app-id orders --app-port 3000 --resources-path ./components -- python3 app.py
//! ```
//! Each sidecar prints `sidecar ready app_id=<id> dapr_http_port=<port> app_port=<port>` on
//! stdout once its `/v1.0/healthz` answers 204.

#![forbid(unsafe_code)]

pub mod acl;
pub mod api;
pub mod channel;
pub mod cli;
pub mod components;
pub mod config;
pub mod configuration;
pub mod golang;
pub mod internal;
pub mod messaging;
pub mod quantity;
pub mod registry;
pub mod runfile;
pub mod secrets;
pub mod security;
pub mod sidecar;
mod sqlite_lock;
pub mod state;
pub mod supervisor;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
pub mod tokens;
