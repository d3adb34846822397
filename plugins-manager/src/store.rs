//! The registry's view of the Dapr state store: reading the route table, plugin records and poll
//! health, and [`Store::commit`], the only way the route table changes.
//!
//! Every change (registration, deletion, status change) goes through one state transaction that
//! writes the new table conditionally on the ETag it was read with, together with the plugin
//! records that change with it. The table is the serialisation point: two replicas racing never
//! lose each other's work (the loser re-reads and re-applies its change), and a crash leaves either
//! the old state or the new one, never half of it. Within one process, commits also queue on a
//! local lock, so racing requests of one replica do not even have to retry.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use keel_sdk::dapr::{DaprClient, SaveItem, TransactionOp};
use keel_sdk::protocol::{RouteTable, RoutesVersion, ROUTES_KEY, ROUTES_VERSION_KEY};
use keel_sdk::service::retry::{self, BackoffBuilder};

use crate::error::RegistryError;
use crate::model::{record_key, HealthDoc, PluginRecord, HEALTH_KEY};

/// Attempts of one commit before giving up with [`RegistryError::Contention`].
const COMMIT_ATTEMPTS: u32 = 30;

/// The registry's state, in one Dapr state store.
#[derive(Clone)]
pub struct Store {
    dapr: DaprClient,
    name: Arc<str>,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// The store `name` through `dapr`; `lock` is shared by every worker of the process.
    pub fn new(dapr: DaprClient, name: &str, lock: Arc<tokio::sync::Mutex<()>>) -> Self {
        Self { dapr, name: name.into(), lock }
    }

    /// The store's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The sidecar client used for the store.
    pub fn dapr(&self) -> &DaprClient {
        &self.dapr
    }

    /// This process's turn to write a shared document (the one commits queue on): in-process
    /// writers of one document then never race each other, only other replicas.
    pub async fn turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// The route table and its ETag (an empty table and no ETag before the first registration).
    pub async fn table(&self) -> Result<(RouteTable, Option<String>), RegistryError> {
        match self.dapr.get_state(&self.name, ROUTES_KEY).await.map_err(RegistryError::store)? {
            Some(item) => {
                let table = item.json("decode the route table").map_err(RegistryError::store)?;
                Ok((table, item.etag))
            }
            None => Ok((RouteTable::default(), None)),
        }
    }

    /// Plugin `id`'s record.
    pub async fn record(&self, id: &str) -> Result<Option<PluginRecord>, RegistryError> {
        let found =
            self.dapr.get_state_json(&self.name, &record_key(id)).await.map_err(RegistryError::store)?;
        Ok(found.map(|(record, _etag)| record))
    }

    /// The records of `ids` (missing or unreadable ones are left out and logged).
    pub async fn records(&self, ids: &[String]) -> Result<BTreeMap<String, PluginRecord>, RegistryError> {
        if ids.is_empty() {
            return Ok(BTreeMap::new());
        }
        let keys: Vec<String> = ids.iter().map(|id| record_key(id)).collect();
        let items = self.dapr.bulk_get(&self.name, &keys).await.map_err(RegistryError::store)?;
        let mut out = BTreeMap::new();
        for item in items {
            let Some(data) = item.data else { continue };
            match serde_json::from_value::<PluginRecord>(data) {
                Ok(record) => {
                    out.insert(record.id.clone(), record);
                }
                Err(error) => tracing::warn!(key = %item.key, %error, "Unreadable plugin record"),
            }
        }
        Ok(out)
    }

    /// The poll health document (empty when never written).
    pub async fn health(&self) -> Result<HealthDoc, RegistryError> {
        let found = self.dapr.get_state_json(&self.name, HEALTH_KEY).await.map_err(RegistryError::store)?;
        Ok(found.map(|(doc, _)| doc).unwrap_or_default())
    }

    /// Replaces the poll health document. Only the lease holder writes it, so the last write wins.
    pub async fn save_health(&self, doc: &HealthDoc) -> Result<(), RegistryError> {
        let value = serde_json::to_value(doc).map_err(|e| RegistryError::Internal(e.to_string()))?;
        self.dapr
            .save_state(&self.name, &[SaveItem::new(HEALTH_KEY, value)])
            .await
            .map_err(RegistryError::store)
    }

    /// Applies `change` to the current route table and writes the result, with the operations
    /// `change` returns, in one transaction conditional on the table's ETag. On a lost race the
    /// table is read again and `change` runs again after a pause (`retry::after_race`), so it must
    /// decide from the table it is given (its refusals are returned as they are). Returns the new
    /// table, or `None` when `change` changed nothing. The table's version increases by one with
    /// every write.
    pub async fn commit<F>(&self, change: F) -> Result<Option<RouteTable>, RegistryError>
    where
        F: FnMut(&mut RouteTable) -> Result<Vec<TransactionOp>, RegistryError>,
    {
        self.commit_guarded(None, change).await
    }

    /// [`Store::commit`] for a change whose operations are conditional on the ETag of an intent
    /// it holds ([`crate::intents::Held`]): when the intent changed (someone settled it), the
    /// commit can never land and ends with [`RegistryError::Abandoned`] instead of retrying.
    pub async fn commit_guarded<F>(
        &self,
        guard: Option<&crate::intents::Held>,
        mut change: F,
    ) -> Result<Option<RouteTable>, RegistryError>
    where
        F: FnMut(&mut RouteTable) -> Result<Vec<TransactionOp>, RegistryError>,
    {
        let _queued = self.lock.lock().await;
        let mut pauses = commit_pauses();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.try_commit(&mut change).await? {
                Attempt::Unchanged => return Ok(None),
                Attempt::Written(table) => return Ok(Some(table)),
                Attempt::Raced => {}
            }
            if let Some(held) = guard {
                let key = crate::intents::intent_key(&held.intent.id);
                let now = self.dapr.get_state(&self.name, &key).await.map_err(RegistryError::store)?;
                if now.and_then(|item| item.etag).as_deref() != Some(held.etag.as_str()) {
                    return Err(RegistryError::Abandoned(held.intent.id.clone()));
                }
            }
            let Some(pause) = pauses.next() else { return Err(RegistryError::Contention(attempts)) };
            tracing::debug!(attempts, ?pause, "Route table changed under a commit; retrying");
            tokio::time::sleep(pause).await;
        }
    }

    /// One attempt of [`Store::commit`]: read the table, apply `change`, write conditionally.
    async fn try_commit<F>(&self, change: &mut F) -> Result<Attempt, RegistryError>
    where
        F: FnMut(&mut RouteTable) -> Result<Vec<TransactionOp>, RegistryError>,
    {
        let (before, etag) = self.table().await?;
        let mut table = before.clone();
        let mut ops = change(&mut table)?;
        if table == before && ops.is_empty() {
            return Ok(Attempt::Unchanged);
        }
        table.version = before.version + 1;
        let value = serde_json::to_value(&table).map_err(|e| RegistryError::Internal(e.to_string()))?;
        ops.push(TransactionOp::Upsert(SaveItem::new(ROUTES_KEY, value).first_write(etag.clone())));
        // The version alone, for every keel replica to watch (`ROUTES_VERSION_KEY`); the table's
        // conditional write above decides the transaction, so this one needs no ETag (on Redis
        // it may land without the table, which only makes keel re-read a table it has).
        let version = serde_json::to_value(RoutesVersion { version: table.version })
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        ops.push(TransactionOp::Upsert(SaveItem::new(ROUTES_VERSION_KEY, version)));
        match self.dapr.transact(&self.name, &ops).await {
            Ok(()) => Ok(Attempt::Written(table)),
            Err(e) if e.is_etag_mismatch() => Ok(Attempt::Raced),
            Err(e) => {
                // Redis (daprd's component and the stand-in alike) reports a transaction's ETag
                // mismatch as a plain 500 ("failed to set key"), having run the other
                // operations anyway (MULTI/EXEC is not atomic there). A table that moved since
                // it was read means a race: retry, rewriting every operation of the change
                // (each is an upsert or delete of this change's own keys, so a partial run is
                // overwritten); a table that did not move means the store really failed.
                match self.table().await {
                    Ok((_, now)) if now != etag => {
                        tracing::debug!(error = %e, "Transaction failed and the route table moved: a race");
                        Ok(Attempt::Raced)
                    }
                    _ => Err(RegistryError::store(e)),
                }
            }
        }
    }
}

/// How one attempt of a commit ended.
enum Attempt {
    /// The change changed nothing; nothing was written.
    Unchanged,
    /// The new table was written.
    Written(RouteTable),
    /// The table changed since it was read (an ETag mismatch): try again.
    Raced,
}

/// The pauses between the attempts of one commit: the platform's schedule after a lost race
/// (5 ms doubling up to 320 ms, jittered so racing replicas spread out), one fewer than
/// [`COMMIT_ATTEMPTS`].
fn commit_pauses() -> impl Iterator<Item = Duration> {
    retry::after_race(COMMIT_ATTEMPTS as usize - 1).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commit_pauses_between_its_attempts_growing_and_bounded() {
        let pauses: Vec<Duration> = commit_pauses().collect();
        assert_eq!(pauses.len() + 1, COMMIT_ATTEMPTS as usize);
        assert!(pauses[0] < Duration::from_millis(11), "{pauses:?}");
        assert!(pauses[3] >= Duration::from_millis(40), "{pauses:?}");
        assert!(pauses.iter().all(|p| *p <= Duration::from_millis(640)), "{pauses:?}");
    }
}
