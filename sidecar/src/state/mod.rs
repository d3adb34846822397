//! The state building block: the stores declared in the resources folders, with daprd's
//! semantics (ETags, first-write / last-write, TTL, atomic transactions, key prefixes).
//!
//! Store calls are synchronous (sqlite blocks); the HTTP handlers run every call through
//! `web::block` so the async runtime never waits on the disk.

pub mod keys;
pub mod memory;
pub mod request;
pub mod sqlite;

use crate::components::{Component, ComponentKind};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

pub use keys::KeyPrefix;

/// Features daprd reports for a store in `/v1.0/metadata` (its `Features()` plus `ACTOR` when the
/// store has both ETAG and TRANSACTIONAL).
pub type Capabilities = &'static [&'static str];

/// How a write treats an existing value (`options.concurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Concurrency {
    /// Without an ETag, the write fails if the key exists.
    FirstWrite,
    /// The default: without an ETag, the write wins.
    #[default]
    LastWrite,
}

/// One write, with the key already prefixed.
#[derive(Debug, Clone, PartialEq)]
pub struct SetOp {
    /// Stored key (`appid||key`).
    pub key: String,
    /// The value's stored bytes (Go's `json.Marshal` of the decoded value).
    pub value: Vec<u8>,
    /// The ETag the caller expects; `None` or empty means "no ETag".
    pub etag: Option<String>,
    /// Concurrency mode.
    pub concurrency: Concurrency,
    /// Time to live, when `ttlInSeconds` > 0.
    pub ttl: Option<Duration>,
}

/// One delete, with the key already prefixed.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteOp {
    /// Stored key.
    pub key: String,
    /// The ETag the caller expects (`If-Match`).
    pub etag: Option<String>,
    /// Concurrency mode.
    pub concurrency: Concurrency,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    /// `upsert`.
    Set(SetOp),
    /// `delete`.
    Delete(DeleteOp),
}

/// A stored value.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// The stored bytes.
    pub data: Vec<u8>,
    /// Its ETag.
    pub etag: String,
    /// When it expires, if it has a TTL.
    pub expires_at: Option<SystemTime>,
}

/// A store failure, worded as components-contrib words it (daprd puts this text after its own
/// prefix, e.g. `failed saving state in state store s: <this>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// `state.ETagError` of kind mismatch: daprd answers 409 on save and delete.
    #[error("possible etag mismatch. error from state store{}", detail(.0))]
    EtagMismatch(Option<String>),
    /// `state.ETagError` of kind invalid: daprd answers 400.
    #[error("invalid etag value{}", detail(.0))]
    EtagInvalid(Option<String>),
    /// Anything else (disk, sqlite): daprd answers 500.
    #[error("{0}")]
    Other(String),
}

fn detail(inner: &Option<String>) -> String {
    inner.as_ref().map(|s| format!(": {s}")).unwrap_or_default()
}

impl StoreError {
    /// True for an ETag mismatch (409 on save/delete).
    pub fn is_etag_mismatch(&self) -> bool {
        matches!(self, StoreError::EtagMismatch(_))
    }
}

/// A state store. Every method may block; call them off the async runtime.
pub trait StateStore: Send + Sync {
    /// The live (unexpired) item at `key`.
    fn get(&self, key: &str) -> Result<Option<Item>, StoreError>;
    /// One write with ETag / first-write checks.
    fn set(&self, op: &SetOp) -> Result<(), StoreError>;
    /// One delete with ETag checks; deleting a missing key without an ETag succeeds.
    fn delete(&self, op: &DeleteOp) -> Result<(), StoreError>;
    /// All operations or none.
    fn transact(&self, ops: &[TxOp]) -> Result<(), StoreError>;
    /// What `/v1.0/metadata` reports.
    fn capabilities(&self) -> Capabilities;
}

/// A configured store: its component and its implementation.
pub struct Store {
    /// `metadata.name`.
    pub name: String,
    /// `spec.type` as written.
    pub type_name: String,
    /// `spec.version`.
    pub version: String,
    /// How keys are prefixed.
    pub prefix: KeyPrefix,
    /// The implementation.
    pub backend: Arc<dyn StateStore>,
}

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A metadata value is invalid.
    #[error("component {name} ({file}): metadata {field}: {reason}")]
    Metadata {
        /// The component.
        name: String,
        /// Its file.
        file: String,
        /// The metadata name.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The sqlite database could not be opened or prepared.
    #[error("component {name}: opening sqlite database {path}: {source}")]
    Sqlite {
        /// The component.
        name: String,
        /// The database path.
        path: String,
        /// The sqlite error (boxed: it is large and rare).
        #[source]
        source: Box<rusqlite::Error>,
    },
}

/// The stores of one sidecar, by name.
#[derive(Default)]
pub struct Stores {
    by_name: BTreeMap<String, Store>,
}

impl FromIterator<Store> for Stores {
    /// Stores built by hand (the `test-util` fake sidecar); [`Stores::open`] builds them from
    /// component files.
    fn from_iter<I: IntoIterator<Item = Store>>(stores: I) -> Self {
        Stores { by_name: stores.into_iter().map(|s| (s.name.clone(), s)).collect() }
    }
}

impl Stores {
    /// Opens every state component (sqlite files are created if missing). Blocks: call it before
    /// the servers start or off the runtime.
    pub fn open(
        components: &[Component],
        app_id: &str,
        namespace_env: Option<&str>,
    ) -> Result<Self, OpenError> {
        let mut by_name = BTreeMap::new();
        for c in components {
            let prefix = KeyPrefix::from_component(c, app_id, namespace_env)?;
            let backend: Arc<dyn StateStore> = match c.kind {
                ComponentKind::StateInMemory => Arc::new(memory::MemoryStore::default()),
                ComponentKind::StateSqlite => Arc::new(sqlite::SqliteStore::open(c)?),
                // Not a state store: `crate::secrets` opens those.
                ComponentKind::SecretStoreEnv | ComponentKind::SecretStoreFile => continue,
            };
            by_name.insert(
                c.name.clone(),
                Store {
                    name: c.name.clone(),
                    type_name: c.type_name.clone(),
                    version: c.version.clone(),
                    prefix,
                    backend,
                },
            );
        }
        Ok(Stores { by_name })
    }

    /// The store called `name`.
    pub fn get(&self, name: &str) -> Option<&Store> {
        self.by_name.get(name)
    }

    /// True when no state store is configured at all (daprd's 500 `ERR_STATE_STORE_NOT_CONFIGURED`).
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Every store, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Store> {
        self.by_name.values()
    }
}

/// Parses `ttlInSeconds` from an item's metadata as components-contrib does: absent → no TTL,
/// ≤ 0 → no TTL, not an integer → an error (daprd answers 500).
pub fn ttl_from_metadata(metadata: &BTreeMap<String, String>) -> Result<Option<Duration>, StoreError> {
    let Some(raw) = metadata.get("ttlInSeconds") else {
        return Ok(None);
    };
    let secs: i64 = raw.parse().map_err(|_| {
        StoreError::Other(format!(
            "incorrect value for metadata 'ttlInSeconds': strconv.Atoi: parsing {}: invalid syntax",
            crate::golang::quote::quote(raw)
        ))
    })?;
    Ok((secs > 0).then(|| Duration::from_secs(secs as u64)))
}

/// Parses `options.concurrency` / the `concurrency` query parameter (`CheckRequestOptions`).
pub fn parse_concurrency(v: Option<&str>) -> Result<Concurrency, StoreError> {
    match v.unwrap_or("") {
        "" | "last-write" => Ok(Concurrency::LastWrite),
        "first-write" => Ok(Concurrency::FirstWrite),
        other => Err(StoreError::Other(format!("unrecognized concurrency model '{other}'"))),
    }
}

/// Validates `options.consistency` / the `consistency` query parameter.
pub fn check_consistency(v: Option<&str>) -> Result<(), StoreError> {
    match v.unwrap_or("") {
        "" | "strong" | "eventual" => Ok(()),
        other => Err(StoreError::Other(format!("unrecognized consistency model '{other}'"))),
    }
}

/// A fresh ETag: a random UUID, as the in-memory and sqlite stores use.
pub fn new_etag() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests;
