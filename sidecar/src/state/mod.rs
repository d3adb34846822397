//! The state building block: the stores declared in the resources folders, with daprd's
//! semantics (ETags, first-write / last-write, TTL, transactions, key prefixes) as each of
//! components-contrib's stores has them.
//!
//! Every store is called through the async [`StateStore`] trait. The server stores (Redis,
//! PostgreSQL) are async clients with their own pools and a time limit on every call; the local
//! ones (in-memory, sqlite) implement the synchronous [`BlockingStore`] and are adapted by
//! [`Local`], which runs sqlite on tokio's blocking pool so the runtime never waits on the disk.

pub mod keys;
pub mod memory;
pub mod postgres;
pub mod redis;
pub mod request;
pub mod sqlite;

use crate::components::{Component, ComponentKind};
use futures_util::future::BoxFuture;
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
    /// Not given. Every store but Redis treats it as last-write; Redis checks a given ETag only
    /// when the concurrency is not an explicit `last-write`.
    #[default]
    Unset,
    /// Without an ETag, the write fails if the key exists.
    FirstWrite,
    /// Without an ETag, the write wins.
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
    /// `options.consistency` is `strong` (Redis then waits for its replicas).
    pub consistency_strong: bool,
    /// The item's `ttlInSeconds` metadata as sent (each store parses it with its own rules and
    /// error text); `None` when absent.
    pub ttl: Option<String>,
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

/// One answer of a bulk get: the stored key, and the item, none, or a per-key error text.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem {
    /// The stored (prefixed) key.
    pub key: String,
    /// What was found.
    pub result: Result<Option<Item>, String>,
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
    /// Anything else (disk, sqlite, the server): daprd answers 500.
    #[error("{0}")]
    Other(String),
}

/// The future a store call returns.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

fn detail(inner: &Option<String>) -> String {
    inner.as_ref().map(|s| format!(": {s}")).unwrap_or_default()
}

impl StoreError {
    /// True for an ETag mismatch (409 on save/delete).
    pub fn is_etag_mismatch(&self) -> bool {
        matches!(self, StoreError::EtagMismatch(_))
    }
}

/// A state store, as daprd's state API calls it.
pub trait StateStore: Send + Sync {
    /// The live (unexpired) item at `key`.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>>;
    /// Several keys (daprd's `BulkGet`). The default is components-contrib's `DefaultBulkStore`:
    /// one `get` per key, all at once, answered in request order, a failed key carrying its error.
    fn bulk_get<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<BulkItem>> {
        Box::pin(async move {
            let gets = keys.iter().map(|k| async move {
                BulkItem { key: k.clone(), result: self.get(k).await.map_err(|e| e.to_string()) }
            });
            Ok(futures_util::future::join_all(gets).await)
        })
    }
    /// One write with ETag / first-write checks.
    fn set<'a>(&'a self, op: &'a SetOp) -> StoreFuture<'a, ()>;
    /// One delete with ETag checks.
    fn delete<'a>(&'a self, op: &'a DeleteOp) -> StoreFuture<'a, ()>;
    /// A transaction (daprd's `Multi`), as atomic as the store makes it.
    fn transact<'a>(&'a self, ops: &'a [TxOp]) -> StoreFuture<'a, ()>;
    /// What `/v1.0/metadata` reports.
    fn capabilities(&self) -> Capabilities;
}

/// A store whose calls are synchronous (in-memory, sqlite); [`Local`] makes it a [`StateStore`].
pub trait BlockingStore: Send + Sync + 'static {
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

/// A [`BlockingStore`] as a [`StateStore`]: called inline when its calls never wait (in-memory),
/// on tokio's blocking pool otherwise (sqlite).
pub struct Local<S> {
    inner: Arc<S>,
    offload: bool,
}

impl<S: BlockingStore> Local<S> {
    /// Calls `inner` on the current task (only for stores that never block).
    pub fn inline(inner: Arc<S>) -> Self {
        Local { inner, offload: false }
    }

    /// Calls `inner` on the blocking pool.
    pub fn offloaded(inner: Arc<S>) -> Self {
        Local { inner, offload: true }
    }

    fn call<'a, T: Send + 'static>(
        &'a self,
        f: impl FnOnce(&S) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'a, T> {
        if !self.offload {
            return Box::pin(std::future::ready(f(&self.inner)));
        }
        let inner = self.inner.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(&inner))
                .await
                .unwrap_or_else(|e| Err(StoreError::Other(e.to_string())))
        })
    }
}

impl<S: BlockingStore> StateStore for Local<S> {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        let key = key.to_owned();
        self.call(move |s| s.get(&key))
    }

    fn bulk_get<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<BulkItem>> {
        // One trip to the blocking pool for every key, answered in request order.
        let keys = keys.to_vec();
        self.call(move |s| {
            Ok(keys
                .into_iter()
                .map(|key| {
                    let result = s.get(&key).map_err(|e| e.to_string());
                    BulkItem { key, result }
                })
                .collect())
        })
    }

    fn set<'a>(&'a self, op: &'a SetOp) -> StoreFuture<'a, ()> {
        let op = op.clone();
        self.call(move |s| s.set(&op))
    }

    fn delete<'a>(&'a self, op: &'a DeleteOp) -> StoreFuture<'a, ()> {
        let op = op.clone();
        self.call(move |s| s.delete(&op))
    }

    fn transact<'a>(&'a self, ops: &'a [TxOp]) -> StoreFuture<'a, ()> {
        let ops = ops.to_vec();
        self.call(move |s| s.transact(&ops))
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }
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
    /// The store's server could not be reached or prepared at start (daprd's `Init` failing).
    #[error("component {name} ({file}): {reason}")]
    Init {
        /// The component.
        name: String,
        /// Its file.
        file: String,
        /// What failed, with the metadata field to fix where one is at fault.
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
    /// Opens every state component: sqlite files are created if missing, Redis and PostgreSQL
    /// are connected to (and PostgreSQL's tables migrated) within the component's time limits.
    /// As daprd, any store that cannot be opened is an error that stops the sidecar (unless it
    /// says `spec.ignoreErrors`). Secret stores are not state stores: `crate::secrets` opens them.
    pub async fn open(
        components: &[Component],
        app_id: &str,
        namespace_env: Option<&str>,
    ) -> Result<Self, OpenError> {
        let mut by_name = BTreeMap::new();
        for c in components.iter().filter(|c| c.kind.is_state_store()) {
            let prefix = KeyPrefix::from_component(c, app_id, namespace_env)?;
            let backend = match open_backend(c).await {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) if c.ignore_errors => {
                    tracing::warn!(component = %c.name, error = %e, "Skipping state store (ignoreErrors)");
                    continue;
                }
                Err(e) => return Err(e),
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

/// Opens the implementation of one state component; `None` for a component that is not a state
/// store (a secret store).
async fn open_backend(c: &Component) -> Result<Option<Arc<dyn StateStore>>, OpenError> {
    Ok(Some(match c.kind {
        ComponentKind::StateInMemory => Arc::new(Local::inline(Arc::new(memory::MemoryStore::default()))),
        ComponentKind::StateSqlite => {
            let owned = c.clone();
            let store = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&owned))
                .await
                .map_err(|e| OpenError::Init {
                    name: c.name.clone(),
                    file: c.file.display().to_string(),
                    reason: e.to_string(),
                })??;
            Arc::new(Local::offloaded(Arc::new(store)))
        }
        ComponentKind::StateRedis => Arc::new(redis::RedisStore::open(c).await?),
        ComponentKind::StatePostgres => Arc::new(postgres::PostgresStore::open(c).await?),
        ComponentKind::SecretStoreEnv | ComponentKind::SecretStoreFile => return Ok(None),
    }))
}

/// Parses `ttlInSeconds` as the in-memory and sqlite stores do: absent → no TTL, ≤ 0 → no TTL,
/// not an integer → an error (daprd answers 500).
pub fn ttl_atoi(raw: Option<&str>) -> Result<Option<Duration>, StoreError> {
    let Some(raw) = raw else {
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

/// The `ttlInSeconds` of an item's metadata, as [`SetOp::ttl`] carries it.
pub fn ttl_from_metadata(metadata: &BTreeMap<String, String>) -> Option<String> {
    metadata.get("ttlInSeconds").cloned()
}

/// Go's `strconv.ParseInt(s, 10, 64)` error text for `raw` (`parsing "x": invalid syntax`).
pub fn parse_int_error(func: &str, raw: &str) -> String {
    let quoted = crate::golang::quote::quote(raw);
    let all_digits = {
        let digits = raw.strip_prefix(['+', '-']).unwrap_or(raw);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    };
    let why = if all_digits { "value out of range" } else { "invalid syntax" };
    format!("strconv.{func}: parsing {quoted}: {why}")
}

/// Parses `options.concurrency` / the `concurrency` query parameter (`CheckRequestOptions`).
pub fn parse_concurrency(v: Option<&str>) -> Result<Concurrency, StoreError> {
    match v.unwrap_or("") {
        "" => Ok(Concurrency::Unset),
        "last-write" => Ok(Concurrency::LastWrite),
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
