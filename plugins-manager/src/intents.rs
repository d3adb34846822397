//! Intents: how a change that spans the registry's store and auth (a plugin's client credentials)
//! stays all-or-nothing when either process dies at any point or the store stalls
//! (docs/architecture.md, "Cross-service writes").
//!
//! Before it touches auth, a registration with a secret (and every unregistration) writes an
//! [`Intent`] under `keel-intent-<id>`, in one transaction with the [`IntentIndex`] that lets a
//! reconciler find it (the Dapr state API cannot list keys). Its commit is conditional on the
//! intent's ETag: a registration's commit deletes the intent, an unregistration's rewrites it.
//! Whoever finishes an intent ([`Intents::settle`]) first *claims* it (a conditional rewrite),
//! so a commit still on its way (a stalled store) can no longer land; then the credentials stay
//! only if the plugin is registered with them (its record names the intent's attempt), else auth
//! removes the credentials of that attempt and only those; then the intent goes.
//!
//! The owner settles its intent as soon as its change fails or (unregistration) commits; anyone
//! else only once it is older than `reconcile_grace_ms` or claimed ([`crate::reconcile`]), so a
//! live change is never cut short unless it is far slower than it can be.

use std::collections::BTreeSet;

use keel_sdk::dapr::{DeleteItem, SaveItem, TransactionOp};
use keel_sdk::service::retry::{self, BackoffBuilder};
use serde::{Deserialize, Serialize};

use crate::calls::Calls;
use crate::error::RegistryError;
use crate::model::unix_ms;
use crate::store::Store;

/// Key prefix of intents.
pub const INTENT_PREFIX: &str = "keel-intent-";
/// Key of the index of ids that may have an intent.
pub const INDEX_KEY: &str = "keel-intents";

/// The state key of plugin `id`'s intent.
pub fn intent_key(id: &str) -> String {
    format!("{INTENT_PREFIX}{id}")
}

/// A new attempt id: what auth tags the credentials with.
pub fn new_attempt() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What the change is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// A registration with a secret: credentials given to auth before the commit.
    Register,
    /// An unregistration: credentials removed from auth after the commit.
    Unregister,
}

/// A change in progress that touches auth, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The plugin.
    pub id: String,
    /// What is being done.
    pub op: Op,
    /// The credentials concerned: the attempt id auth tags them with (`None`: an unregistration
    /// of a plugin whose record names none, i.e. registered before tags existed; whatever
    /// credentials it has are removed, as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<String>,
    /// When it was written (ms since the epoch).
    pub at_ms: u64,
    /// Claimed by whoever is finishing it: its commit can no longer land.
    #[serde(default)]
    pub claimed: bool,
}

/// The ids that may have an intent (a superset: pruned by the reconciler).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentIndex {
    /// The ids.
    pub ids: BTreeSet<String>,
}

/// An intent written by this process, and the ETag its commit is conditional on.
#[derive(Debug, Clone)]
pub struct Held {
    /// The intent.
    pub intent: Intent,
    /// Its ETag when written.
    pub etag: String,
}

impl Held {
    /// The commit operation of a registration: the intent goes, if still untouched.
    pub fn delete_op(&self) -> TransactionOp {
        TransactionOp::Delete(DeleteItem::if_match(intent_key(&self.intent.id), self.etag.clone()))
    }

    /// The commit operation of an unregistration: the intent stays (to be settled), if still
    /// untouched.
    pub fn touch_op(&self) -> Result<TransactionOp, RegistryError> {
        Ok(TransactionOp::Upsert(
            SaveItem::new(intent_key(&self.intent.id), to_value(&self.intent)?)
                .first_write(Some(self.etag.clone())),
        ))
    }
}

/// How settling an intent ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// There was none (or someone else finished it).
    Nothing,
    /// The credentials were kept: the plugin is registered with them.
    Kept,
    /// The credentials of the attempt were removed from auth.
    Removed,
}

/// Intents in the registry's store, and auth for the credentials they concern.
pub struct Intents<'a> {
    /// The store.
    pub store: &'a Store,
    /// Calls to auth.
    pub calls: &'a Calls,
}

impl Intents<'_> {
    /// The intent of `id` and its ETag.
    pub async fn read(&self, id: &str) -> Result<Option<(Intent, Option<String>)>, RegistryError> {
        let dapr = self.store.dapr();
        dapr.get_state_json(self.store.name(), &intent_key(id)).await.map_err(RegistryError::store)
    }

    /// Writes a new intent for `id`, with the index, in one transaction. An intent already there
    /// that anyone may finish (`stale_before_ms`, or claimed) is settled first; a live one means
    /// another change of `id` is under way ([`RegistryError::InProgress`]).
    pub async fn begin(
        &self,
        id: &str,
        op: Op,
        attempt: Option<String>,
        stale_before_ms: u64,
    ) -> Result<Held, RegistryError> {
        let mut pauses = retry::after_race(15).build();
        loop {
            if let Some((existing, _)) = self.read(id).await? {
                if !(existing.claimed || existing.at_ms < stale_before_ms) {
                    return Err(RegistryError::InProgress(id.to_owned()));
                }
                self.settle(id).await?;
                continue;
            }
            let intent =
                Intent { id: id.to_owned(), op, attempt: attempt.clone(), at_ms: unix_ms(), claimed: false };
            // The index is one document every change with an intent writes: in turn with this
            // process's other writers (never across a call to auth), so only replicas race on it.
            let turn = self.store.turn().await;
            let (mut index, index_etag) = self.index().await?;
            index.ids.insert(id.to_owned());
            let ops = [
                TransactionOp::Upsert(SaveItem::new(intent_key(id), to_value(&intent)?).first_write(None)),
                // Written even when unchanged: a reconciler pruning the index meanwhile loses.
                TransactionOp::Upsert(SaveItem::new(INDEX_KEY, to_value(&index)?).first_write(index_etag)),
            ];
            let written = self.store.dapr().transact(self.store.name(), &ops).await;
            drop(turn);
            match written {
                Ok(()) => {}
                Err(e) if e.is_etag_mismatch() => {
                    let Some(pause) = pauses.next() else { return Err(RegistryError::Contention(16)) };
                    tokio::time::sleep(pause).await;
                    continue;
                }
                Err(e) => return Err(RegistryError::store(e)),
            }
            let etag = match self.read(id).await? {
                Some((stored, Some(etag))) if stored == intent => etag,
                // Settled by someone else already (it was read as stale): nothing of ours is left.
                _ => return Err(RegistryError::InProgress(id.to_owned())),
            };
            return Ok(Held { intent, etag });
        }
    }

    /// Finishes the intent of `id`, whoever wrote it: claims it, keeps the credentials only if
    /// the plugin is registered with them, else removes that attempt's credentials from auth,
    /// then deletes the intent. Safe to repeat and to run on several replicas at once. When auth
    /// cannot be reached the intent stays (claimed) for the next try.
    pub async fn settle(&self, id: &str) -> Result<Settled, RegistryError> {
        let intent = loop {
            let Some((mut intent, etag)) = self.read(id).await? else { return Ok(Settled::Nothing) };
            if intent.claimed {
                break intent;
            }
            let Some(etag) = etag else {
                return Err(RegistryError::Internal("the state store gave an intent no ETag".into()));
            };
            intent.claimed = true;
            let claim = SaveItem::new(intent_key(id), to_value(&intent)?).first_write(Some(etag));
            match self.store.dapr().save_state(self.store.name(), &[claim]).await {
                Ok(()) => break intent,
                // Its commit landed or someone else claimed it meanwhile: look again.
                Err(e) if e.is_etag_mismatch() => continue,
                Err(e) => return Err(RegistryError::store(e)),
            }
        };
        let record = self.store.record(id).await?;
        let in_use = record.is_some_and(|r| r.credentials == intent.attempt);
        let outcome = if in_use {
            Settled::Kept
        } else {
            self.calls.delete_client(id, intent.attempt.as_deref()).await?;
            Settled::Removed
        };
        // The claimed intent, at whatever ETag it has now (a repeat of this finish may have
        // touched nothing: claims are only written once).
        if let Some((_, Some(now))) = self.read(id).await? {
            let gone = self.store.dapr().delete_state(self.store.name(), &intent_key(id), Some(&now)).await;
            match gone {
                Ok(()) => {}
                Err(e) if e.is_etag_mismatch() => {}
                Err(e) => return Err(RegistryError::store(e)),
            }
        }
        tracing::info!(plugin = id, op = ?intent.op, ?outcome, "Cross-service change settled");
        Ok(outcome)
    }

    /// The index and its ETag.
    pub async fn index(&self) -> Result<(IntentIndex, Option<String>), RegistryError> {
        let found = self
            .store
            .dapr()
            .get_state_json::<IntentIndex>(self.store.name(), INDEX_KEY)
            .await
            .map_err(RegistryError::store)?;
        Ok(found.unwrap_or_default())
    }

    /// The intents of the indexed ids, by id.
    pub async fn all(&self, index: &IntentIndex) -> Result<Vec<Intent>, RegistryError> {
        if index.ids.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = index.ids.iter().map(|id| intent_key(id)).collect();
        let items =
            self.store.dapr().bulk_get(self.store.name(), &keys).await.map_err(RegistryError::store)?;
        let mut out = Vec::new();
        for item in items {
            let Some(data) = item.data else { continue };
            match serde_json::from_value::<Intent>(data) {
                Ok(intent) => out.push(intent),
                Err(error) => tracing::warn!(key = %item.key, %error, "Unreadable intent"),
            }
        }
        Ok(out)
    }

    /// Drops from the index the ids that have no intent, conditionally on the index's ETag (a
    /// new intent written meanwhile makes this a no-op until the next round).
    pub async fn prune(&self) -> Result<(), RegistryError> {
        let (index, etag) = self.index().await?;
        let Some(etag) = etag else { return Ok(()) };
        let live: BTreeSet<String> = self.all(&index).await?.into_iter().map(|i| i.id).collect();
        if live.len() == index.ids.len() {
            return Ok(());
        }
        let pruned = IntentIndex { ids: live };
        let save = SaveItem::new(INDEX_KEY, to_value(&pruned)?).first_write(Some(etag));
        match self.store.dapr().save_state(self.store.name(), &[save]).await {
            Ok(()) => Ok(()),
            Err(e) if e.is_etag_mismatch() => Ok(()),
            Err(e) => Err(RegistryError::store(e)),
        }
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, RegistryError> {
    serde_json::to_value(value).map_err(|e| RegistryError::Internal(e.to_string()))
}
