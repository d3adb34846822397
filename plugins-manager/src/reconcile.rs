//! The reconciler: at boot and every `reconcile_interval_ms`, every replica finishes the
//! cross-service changes ([`crate::intents`]) that nobody is working on any more: those claimed
//! already, and those older than `reconcile_grace_ms` (their owner died, or lost its store or
//! auth). So after any crash, once the registry and auth are up again, a plugin that is not
//! registered has no client credentials, and a half-done unregistration is completed.
//!
//! Every replica runs it: settling is conditional at each step, so replicas racing on one
//! intent do the same thing at most twice, and no replica's death delays it past one interval.

use keel_sdk::protocol::errors::PlatformError;
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::intents::{Intents, Settled};
use crate::model::unix_ms;
use crate::registry::Registry;

impl Registry {
    /// The intents in this registry's store.
    pub fn intents(&self) -> Intents<'_> {
        Intents { store: &self.store, calls: &self.calls }
    }

    /// Intents written before this instant (ms since the epoch) may be finished by anyone.
    pub fn stale_before(&self) -> u64 {
        unix_ms().saturating_sub(self.state.cfg.reconcile_grace_ms)
    }

    /// Settles `id`'s intent now (its owner, after its change failed or committed); a failure
    /// leaves it to the reconciler, and says so.
    pub async fn settle_now(&self, id: &str) {
        if let Err(error) = self.intents().settle(id).await {
            tracing::warn!(plugin = id, %error, detail = error.detail(), "Cross-service change not settled yet; the reconciler will finish it");
        }
    }

    /// One round: settles every intent nobody is working on, then prunes the index. Returns how
    /// many were settled.
    pub async fn reconcile(&self) -> Result<usize, RegistryError> {
        let intents = self.intents();
        let (index, _) = intents.index().await?;
        let stale_before = self.stale_before();
        let mut settled = 0;
        for intent in intents.all(&index).await? {
            if !(intent.claimed || intent.at_ms < stale_before) {
                continue;
            }
            match intents.settle(&intent.id).await {
                Ok(Settled::Nothing) => {}
                Ok(_) => settled += 1,
                Err(error) => {
                    tracing::warn!(plugin = %intent.id, %error, detail = error.detail(), "Cross-service change not settled; trying again next round")
                }
            }
        }
        intents.prune().await?;
        Ok(settled)
    }
}

/// Runs [`Registry::reconcile`] at once and then every `reconcile_interval_ms` until `shutdown`.
pub async fn run(reg: Registry, mut shutdown: watch::Receiver<bool>) {
    let interval = reg.state.cfg.reconcile_interval();
    loop {
        match reg.reconcile().await {
            Ok(0) => {}
            Ok(settled) => tracing::info!(settled, "Reconciled cross-service changes left half done"),
            Err(error) => {
                tracing::warn!(%error, detail = error.detail(), "Reconciliation round failed; trying again next round")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
    }
}
