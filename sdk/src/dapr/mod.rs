//! Everything about talking to a Dapr sidecar over HTTP: where it is ([`SidecarConfig`]), the
//! client ([`DaprClient`]) with service invocation, the state API and the secrets API, its typed
//! errors, and the
//! header hygiene every forwarding part shares.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keel_sdk::dapr::DaprError> {
//! use keel_sdk::dapr::{DaprClient, SaveItem};
//! let dapr = DaprClient::from_env(); // DAPR_HTTP_PORT / DAPR_HTTP_ENDPOINT / DAPR_API_TOKEN
//! dapr.wait_for_sidecar(std::time::Duration::from_secs(30)).await?;
//! dapr.save_state("statestore", &[SaveItem::new("greeting", serde_json::json!("hi"))]).await?;
//! let hi: Option<(String, Option<String>)> = dapr.get_state_json("statestore", "greeting").await?;
//! # Ok(()) }
//! ```

pub mod client;
pub mod config;
pub mod error;
pub mod error_body;
pub mod headers;
pub mod invoke;
pub mod secrets;
pub mod state;

pub use client::DaprClient;
pub use config::SidecarConfig;
pub use error::DaprError;
pub use error_body::DaprErrorBody;
pub use invoke::{invoke_path, Invoked};
pub use secrets::Secret;
pub use state::{BulkItem, Concurrency, DeleteItem, SaveItem, StateItem, StateOptions, TransactionOp};
