//! Typed access to the Dapr state store: reads with ETags, compare-and-swap updates retried on a
//! lost race, and multi-key transactions. Every write that must not race is conditional, and
//! every retry after a lost race goes through [`retry_races`].

use std::future::Future;

use keel_sdk::dapr::{DaprClient, DeleteItem, SaveItem, TransactionOp};
use keel_sdk::service::retry::{self, Retryable};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::AuthError;

/// Retries after a lost race before giving up with [`AuthError::Contention`] (16 attempts in all).
const RACE_RETRIES: usize = 15;

/// One thread's handle on auth's stores (the sidecar client is per thread): its private store,
/// readable only by auth's sidecar, and the shared one where it publishes what keel reads.
#[derive(Clone)]
pub struct Store {
    dapr: DaprClient,
    name: String,
    shared: String,
}

/// A value and the ETag it was read with (`None`: the key did not exist).
pub struct Versioned<T> {
    /// The value (the default when the key did not exist).
    pub value: T,
    /// Its ETag.
    pub etag: Option<String>,
}

impl Store {
    /// The store `name` through `dapr`, for everything (private and published alike).
    pub fn new(dapr: DaprClient, name: &str) -> Self {
        Self::split(dapr, name, name)
    }

    /// Private state in `private`, what keel reads published in `shared`.
    pub fn split(dapr: DaprClient, private: &str, shared: &str) -> Self {
        Self { dapr, name: private.to_owned(), shared: shared.to_owned() }
    }

    /// The shared store (itself when not split), where the revocations and the grants keel reads
    /// are published.
    pub fn published(&self) -> Store {
        Self::new(self.dapr.clone(), &self.shared)
    }

    /// The shared store when it is another store than the private one: where older versions kept
    /// everything, so start-up moves what it finds there ([`crate::migrate`]).
    pub fn legacy(&self) -> Option<Store> {
        (self.shared != self.name).then(|| self.published())
    }

    /// The sidecar client.
    pub fn dapr(&self) -> &DaprClient {
        &self.dapr
    }

    /// Reads `key`; `None` when it does not exist.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Versioned<T>>, AuthError> {
        Ok(self
            .dapr
            .get_state_json::<T>(&self.name, key)
            .await?
            .map(|(value, etag)| Versioned { value, etag }))
    }

    /// Reads `key`, or the default with no ETag when it does not exist.
    pub async fn get_or_default<T: DeserializeOwned + Default>(
        &self,
        key: &str,
    ) -> Result<Versioned<T>, AuthError> {
        Ok(self.get(key).await?.unwrap_or(Versioned { value: T::default(), etag: None }))
    }

    /// Writes `value` under `key` only if the key is still at `etag` (`None`: only if it does not
    /// exist). A lost race is a `DaprError` for which `is_etag_mismatch()` holds.
    pub async fn put_if<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        etag: Option<String>,
        ttl_seconds: Option<u64>,
    ) -> Result<(), AuthError> {
        let mut item = SaveItem::new(key, to_json(value)?).first_write(etag);
        if let Some(ttl) = ttl_seconds {
            item = item.ttl_seconds(ttl);
        }
        Ok(self.dapr.save_state(&self.name, &[item]).await?)
    }

    /// Writes `value` under `key` whatever is there (last write wins).
    pub async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), AuthError> {
        Ok(self.dapr.save_state(&self.name, &[SaveItem::new(key, to_json(value)?)]).await?)
    }

    /// Writes `value` under `key` whatever is there, dropped by the store after `ttl_seconds`.
    pub async fn put_expiring<T: Serialize>(
        &self,
        key: &str,
        value: &T,
        ttl_seconds: u64,
    ) -> Result<(), AuthError> {
        let item = SaveItem::new(key, to_json(value)?).ttl_seconds(ttl_seconds);
        Ok(self.dapr.save_state(&self.name, &[item]).await?)
    }

    /// Deletes `key` if it is still at `etag`.
    pub async fn delete_if(&self, key: &str, etag: Option<&str>) -> Result<(), AuthError> {
        Ok(self.dapr.delete_state(&self.name, key, etag).await?)
    }

    /// Runs `ops` atomically.
    pub async fn transact(&self, ops: &[TransactionOp]) -> Result<(), AuthError> {
        Ok(self.dapr.transact(&self.name, ops).await?)
    }

    /// Read-modify-write of `key` with compare-and-swap, retried when another writer won. `change`
    /// sees the current value (the default when absent) and may refuse with an error, in which
    /// case nothing is written. It runs once per attempt, so it only edits the value it is given.
    pub async fn update<T, R>(
        &self,
        key: &str,
        change: impl Fn(&mut T) -> Result<R, AuthError>,
    ) -> Result<R, AuthError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        let out = self.cas(key, false, &change).await?;
        out.ok_or_else(|| AuthError::Internal(format!("state {key:?} vanished during an update")))
    }

    /// Like [`Self::update`], but `missing` when the key does not exist (nothing is created).
    pub async fn update_existing<T, R>(
        &self,
        key: &str,
        missing: impl Fn() -> AuthError,
        change: impl Fn(&mut T) -> Result<R, AuthError>,
    ) -> Result<R, AuthError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        self.cas(key, true, &change).await?.ok_or_else(missing)
    }

    /// One compare-and-swap, retried on a lost race; `Ok(None)` when `must_exist` and the key
    /// does not.
    async fn cas<T, R>(
        &self,
        key: &str,
        must_exist: bool,
        change: &impl Fn(&mut T) -> Result<R, AuthError>,
    ) -> Result<Option<R>, AuthError>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        retry_races(format!("state {key:?}"), || async move {
            let Versioned { mut value, etag } = self.get_or_default::<T>(key).await?;
            if must_exist && etag.is_none() {
                return Ok(None);
            }
            let out = change(&mut value)?;
            self.put_if(key, &value, etag, None).await?;
            Ok(Some(out))
        })
        .await
    }
}

/// Runs `attempt` (read, decide, conditional write) until it does not lose a concurrent-write
/// race, pausing between tries the way every Keel service does after one
/// ([`retry::after_race`]: short, growing and jittered, so racing writers spread out). Any other
/// error ends it at once; still losing after the last retry is [`AuthError::Contention`] on `what`.
pub async fn retry_races<T, Fut>(
    what: impl Into<String>,
    attempt: impl FnMut() -> Fut,
) -> Result<T, AuthError>
where
    Fut: Future<Output = Result<T, AuthError>>,
{
    retry_races_on(retry::after_race(RACE_RETRIES), what, attempt).await
}

/// [`retry_races`] on `schedule`.
async fn retry_races_on<T, Fut>(
    schedule: retry::ExponentialBuilder,
    what: impl Into<String>,
    attempt: impl FnMut() -> Fut,
) -> Result<T, AuthError>
where
    Fut: Future<Output = Result<T, AuthError>>,
{
    attempt.retry(schedule).when(is_race).await.map_err(|e| {
        if is_race(&e) {
            AuthError::Contention(what.into())
        } else {
            e
        }
    })
}

/// True when `e` is a lost race (worth re-reading and retrying).
pub fn is_race(e: &AuthError) -> bool {
    matches!(e, AuthError::Store(d) if d.is_etag_mismatch())
}

/// A value as JSON for the store.
pub fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value, AuthError> {
    serde_json::to_value(value).map_err(|e| AuthError::Internal(format!("encode state: {e}")))
}

/// An upsert inside a transaction, conditional on `etag` (`None`: the key must be new).
pub fn upsert_if<T: Serialize>(
    key: &str,
    value: &T,
    etag: Option<String>,
) -> Result<TransactionOp, AuthError> {
    Ok(TransactionOp::Upsert(SaveItem::new(key, to_json(value)?).first_write(etag)))
}

/// A delete inside a transaction, conditional on `etag`.
pub fn delete_if(key: &str, etag: Option<String>) -> TransactionOp {
    match etag {
        Some(etag) => TransactionOp::Delete(DeleteItem::if_match(key, etag)),
        None => TransactionOp::Delete(DeleteItem::new(key)),
    }
}

#[cfg(test)]
mod tests;
