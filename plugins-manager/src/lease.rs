//! The polling lease: with several registry replicas on one store, only the holder polls.
//!
//! The lease is one state key holding `{holder, expires_ms}`. Every fifth of `lease_ms` each
//! replica reads it and, when it is free, expired or its own, writes it back conditionally on the
//! ETag it read (first-write), with an expiry four fifths of `lease_ms` ahead (and a matching
//! `ttlInSeconds`, so a dead holder's key also disappears from the store). Two replicas racing
//! for it: one write wins, the other gets an ETag mismatch. A holder that stops, even killed, is
//! replaced within `lease_ms`: its expiry is at most 4/5 of it away and the others look every 1/5.
//! The holder considers itself leader only until the expiry measured from *before* its read, so
//! it stops polling before anyone else may start. On a clean stop it deletes the key at once.

use std::time::{Duration, Instant};

use keel_sdk::dapr::SaveItem;
use keel_sdk::protocol::errors::PlatformError;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::model::{unix_ms, LEASE_KEY};
use crate::registry::Registry;
use crate::store::Store;

/// The stored lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseDoc {
    /// The holding replica.
    pub holder: String,
    /// When it runs out unless renewed (ms since the epoch).
    pub expires_ms: u64,
}

/// Whether this replica may poll, as published to the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Leadership {
    /// Increases each time this replica (re)acquires the lease, so the poller reloads what the
    /// previous holder persisted.
    pub epoch: u64,
    /// Leader until then; `None` when not leader.
    pub until: Option<Instant>,
}

impl Leadership {
    /// True while this replica holds an unexpired lease.
    pub fn is_valid(&self) -> bool {
        self.until.is_some_and(|u| Instant::now() < u)
    }
}

/// Keeps trying to hold the lease until `shutdown`, publishing the outcome every tick on `tx`;
/// releases it on the way out.
pub async fn run(
    reg: Registry,
    holder: String,
    tx: watch::Sender<Leadership>,
    mut shutdown: watch::Receiver<bool>,
) {
    let lease = Duration::from_millis(reg.state.cfg.lease_ms);
    let hold = lease * 4 / 5;
    let tick = lease / 5;
    let mut state = Leadership::default();
    loop {
        let started = Instant::now();
        match try_hold(&reg.store, &holder, hold).await {
            Ok(true) => {
                if !state.is_valid() {
                    state.epoch += 1;
                    tracing::info!(%holder, epoch = state.epoch, "Polling lease acquired; this replica polls");
                }
                state.until = Some(started + hold);
            }
            Ok(false) => {
                if state.until.is_some() {
                    tracing::warn!(%holder, "Polling lease taken by another replica; this one stops polling");
                }
                state.until = None;
            }
            // Keep what we had: the validity runs out by itself if the store stays unreachable.
            Err(error) => tracing::warn!(%error, detail = error.detail(), "Polling lease check failed"),
        }
        tx.send_replace(state);
        tokio::select! {
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => break,
        }
    }
    if state.until.is_some() {
        tx.send_replace(Leadership { epoch: state.epoch, until: None });
        release(&reg.store, &holder).await;
    }
}

/// Reads the lease and writes it for `holder` when it is free, expired or already `holder`'s.
async fn try_hold(store: &Store, holder: &str, hold: Duration) -> Result<bool, RegistryError> {
    let now = unix_ms();
    let current = store.dapr().get_state(store.name(), LEASE_KEY).await.map_err(RegistryError::store)?;
    let etag = match current {
        None => None,
        Some(item) => {
            // An unreadable lease is treated as expired: better one takeover than nobody polling.
            if let Ok(doc) = item.json::<LeaseDoc>("decode the polling lease") {
                if doc.holder != holder && doc.expires_ms > now {
                    return Ok(false);
                }
            }
            item.etag
        }
    };
    let doc = LeaseDoc { holder: holder.to_owned(), expires_ms: now + hold.as_millis() as u64 };
    let value = serde_json::to_value(&doc).map_err(|e| RegistryError::Internal(e.to_string()))?;
    let ttl_s = hold.as_millis().div_ceil(1000) as u64 + 1;
    let item = SaveItem::new(LEASE_KEY, value).first_write(etag).ttl_seconds(ttl_s);
    match store.dapr().save_state(store.name(), &[item]).await {
        Ok(()) => Ok(true),
        Err(e) if e.is_etag_mismatch() => Ok(false),
        Err(e) => Err(RegistryError::store(e)),
    }
}

/// Deletes the lease if `holder` still has it, so another replica takes over at its next look.
async fn release(store: &Store, holder: &str) {
    let outcome = async {
        let Some(item) = store.dapr().get_state(store.name(), LEASE_KEY).await? else { return Ok(()) };
        let mine = item.json::<LeaseDoc>("decode the polling lease").is_ok_and(|d| d.holder == holder);
        if mine {
            store.dapr().delete_state(store.name(), LEASE_KEY, item.etag.as_deref()).await?;
        }
        Ok::<_, keel_sdk::dapr::DaprError>(())
    };
    match outcome.await {
        Ok(()) => tracing::info!(%holder, "Polling lease released"),
        Err(error) => tracing::warn!(%error, "Polling lease not released; it expires by itself"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leadership_is_valid_only_until_its_deadline() {
        assert!(!Leadership::default().is_valid());
        let now = Instant::now();
        assert!(Leadership { epoch: 1, until: Some(now + Duration::from_secs(1)) }.is_valid());
        assert!(!Leadership { epoch: 1, until: Some(now) }.is_valid());
    }
}
