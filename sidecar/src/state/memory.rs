//! `state.in-memory`, as components-contrib's in-memory store: a map under one lock, a random
//! UUID ETag per write, lazy TTL expiry, and transactions that check every ETag before applying
//! anything (so they are atomic).

use super::{
    new_etag, ttl_atoi, BlockingStore, Capabilities, Concurrency, DeleteOp, Item, SetOp, StoreError, TxOp,
};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Writes between two sweeps of expired items, so keys nobody reads again do not pile up.
const SWEEP_EVERY_WRITES: u32 = 1024;

/// The in-memory store.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    items: HashMap<String, Item>,
    writes_since_sweep: u32,
}

fn has_etag(etag: &Option<String>) -> Option<&str> {
    etag.as_deref().filter(|e| !e.is_empty())
}

// === impl Inner ===

impl Inner {
    /// The live item at `key`, dropping it first if it has expired.
    fn live(&mut self, key: &str, now: SystemTime) -> Option<&Item> {
        let expired = self.items.get(key).is_some_and(|i| i.expires_at.is_some_and(|t| t <= now));
        if expired {
            self.items.remove(key);
        }
        self.items.get(key)
    }

    fn check_set(&mut self, op: &SetOp, now: SystemTime) -> Result<(), StoreError> {
        match has_etag(&op.etag) {
            Some(etag) => self.check_etag(&op.key, etag, now),
            None if op.concurrency == Concurrency::FirstWrite => match self.live(&op.key, now) {
                Some(_) => {
                    Err(StoreError::EtagMismatch(Some("item already exists and no etag was passed".into())))
                }
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    fn check_delete(&mut self, op: &DeleteOp, now: SystemTime) -> Result<(), StoreError> {
        match has_etag(&op.etag) {
            Some(etag) => self.check_etag(&op.key, etag, now),
            None => Ok(()),
        }
    }

    fn check_etag(&mut self, key: &str, expect: &str, now: SystemTime) -> Result<(), StoreError> {
        match self.live(key, now) {
            None => Err(StoreError::EtagMismatch(Some(format!("state not exist or expired for key={key}")))),
            Some(item) if item.etag != expect => Err(StoreError::EtagMismatch(Some(format!(
                "state etag not match for key={key}: current={}, expect={expect}",
                item.etag
            )))),
            Some(_) => Ok(()),
        }
    }

    fn apply_set(&mut self, op: &SetOp, ttl: Option<Duration>, now: SystemTime) {
        let item = Item { data: op.value.clone(), etag: new_etag(), expires_at: ttl.map(|ttl| now + ttl) };
        self.items.insert(op.key.clone(), item);
        self.writes_since_sweep += 1;
        if self.writes_since_sweep >= SWEEP_EVERY_WRITES {
            self.writes_since_sweep = 0;
            self.items.retain(|_, i| i.expires_at.is_none_or(|t| t > now));
        }
    }
}

// === impl MemoryStore ===

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the map half-written (every mutation is a
        // single insert/remove), so a poisoned lock is still safe to use.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(any(test, feature = "test-util"))]
impl MemoryStore {
    /// Every live item with its stored key, in no particular order (what a test inspects).
    pub fn items(&self) -> Vec<(String, Item)> {
        let now = SystemTime::now();
        let inner = self.lock();
        inner
            .items
            .iter()
            .filter(|(_, i)| i.expires_at.is_none_or(|t| t > now))
            .map(|(k, i)| (k.clone(), i.clone()))
            .collect()
    }
}

impl BlockingStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        Ok(self.lock().live(key, SystemTime::now()).cloned())
    }

    fn set(&self, op: &SetOp) -> Result<(), StoreError> {
        let ttl = ttl_atoi(op.ttl.as_deref())?;
        let now = SystemTime::now();
        let mut inner = self.lock();
        inner.check_set(op, now)?;
        inner.apply_set(op, ttl, now);
        Ok(())
    }

    fn delete(&self, op: &DeleteOp) -> Result<(), StoreError> {
        let now = SystemTime::now();
        let mut inner = self.lock();
        inner.check_delete(op, now)?;
        inner.items.remove(&op.key);
        Ok(())
    }

    fn transact(&self, ops: &[TxOp]) -> Result<(), StoreError> {
        let ttls = ops
            .iter()
            .map(|op| match op {
                TxOp::Set(s) => ttl_atoi(s.ttl.as_deref()),
                TxOp::Delete(_) => Ok(None),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let now = SystemTime::now();
        let mut inner = self.lock();
        // Check everything first, then apply: nothing is written unless every check passes.
        for op in ops {
            match op {
                TxOp::Set(s) => inner.check_set(s, now)?,
                TxOp::Delete(d) => inner.check_delete(d, now)?,
            }
        }
        for (op, ttl) in ops.iter().zip(ttls) {
            match op {
                TxOp::Set(s) => inner.apply_set(s, ttl, now),
                TxOp::Delete(d) => {
                    inner.items.remove(&d.key);
                }
            }
        }
        Ok(())
    }

    fn capabilities(&self) -> Capabilities {
        &["ETAG", "TRANSACTIONAL", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE", "ACTOR"]
    }
}
