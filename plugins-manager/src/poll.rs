//! Status polling: while this replica holds the lease, every `poll_interval_ms` it calls
//! `GET /v1/status` on every registered plugin (each call limited by `poll_timeout_ms`, at most
//! `poll_concurrency` at once), records what each reports, marks `UNREACHABLE` after
//! `unreachable_after` polls in a row without a valid answer, and makes a plugin `ACTIVE` again
//! at its first good answer. Status changes are committed to the route table at once and pushed
//! to keel; the health of every plugin (last check, last error, failure count) is saved after each
//! round, so a replica taking over continues the counts.

use std::collections::BTreeMap;
use std::time::Instant;

use futures_util::stream::{self, StreamExt};
use keel_sdk::protocol::errors::PlatformError;
use keel_sdk::protocol::PluginStatus;
use tokio::sync::watch;

use crate::error::RegistryError;
use crate::lease::Leadership;
use crate::model::{unix_ms, Health, HealthDoc};
use crate::registry::Registry;

/// The status to record after one poll of a plugin currently in `current`, updating `health`.
pub fn next_status(
    current: PluginStatus,
    health: &mut Health,
    outcome: Result<PluginStatus, String>,
    unreachable_after: u32,
    now_ms: u64,
) -> PluginStatus {
    health.last_checked_ms = now_ms;
    match outcome {
        Ok(reported) => {
            health.failures = 0;
            health.last_error = None;
            reported
        }
        Err(error) => {
            health.failures = health.failures.saturating_add(1);
            health.last_error = Some(error);
            if health.failures >= unreachable_after {
                PluginStatus::Unreachable
            } else {
                current
            }
        }
    }
}

/// Polls while leader, until `shutdown`.
pub async fn run(
    reg: Registry,
    mut leader: watch::Receiver<Leadership>,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = reg.state.cfg.poll_interval();
    let mut epoch = None;
    let mut health: BTreeMap<String, Health> = BTreeMap::new();
    loop {
        let lead = *leader.borrow_and_update();
        if !lead.is_valid() {
            tokio::select! {
                changed = leader.changed() => if changed.is_err() { break },
                _ = shutdown.changed() => break,
            }
            continue;
        }
        let started = Instant::now();
        if epoch != Some(lead.epoch) {
            // Newly leader: continue from what the previous holder (maybe this one) saved.
            match reg.store.health().await {
                Ok(doc) => {
                    health = doc.plugins;
                    epoch = Some(lead.epoch);
                }
                Err(error) => {
                    tracing::warn!(%error, detail = error.detail(), "Cannot load poll health; retrying next round")
                }
            }
        }
        if epoch == Some(lead.epoch) {
            if let Err(error) = round(&reg, &mut health, &leader).await {
                tracing::warn!(%error, detail = error.detail(), "Polling round failed");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep_until((started + interval).into()) => {}
            // keel reported a plugin unreachable: probe it now rather than at the next round.
            _ = reg.state.poll_now.notified() => {}
            _ = shutdown.changed() => break,
        }
    }
}

/// One round: poll everything, commit status changes, push them, save health.
async fn round(
    reg: &Registry,
    health: &mut BTreeMap<String, Health>,
    leader: &watch::Receiver<Leadership>,
) -> Result<(), RegistryError> {
    let cfg = &reg.state.cfg;
    let (table, _) = reg.store.table().await?;
    let results: Vec<(String, Result<PluginStatus, RegistryError>)> =
        stream::iter(table.plugins.keys().cloned())
            .map(|id| {
                let calls = reg.calls.clone();
                async move {
                    let outcome = calls.status(&id).await;
                    (id, outcome)
                }
            })
            .buffer_unordered(cfg.poll_concurrency)
            .collect()
            .await;

    // Suspects (keel could not reach them on live traffic) need one failed probe, not
    // `unreachable_after`: live traffic already failed, the probe confirms it.
    let suspects = std::mem::take(&mut *reg.state.suspects.lock().unwrap_or_else(|p| p.into_inner()));
    let now = unix_ms();
    let mut changes: BTreeMap<String, (PluginStatus, PluginStatus)> = BTreeMap::new();
    for (id, outcome) in results {
        // Our own sidecar failing says nothing about the plugin: no verdict this round.
        if matches!(outcome, Err(RegistryError::Sidecar(_))) {
            continue;
        }
        let Some(entry) = table.plugins.get(&id) else { continue };
        let h = health.entry(id.clone()).or_default();
        let after = if suspects.contains(&id) { 1 } else { cfg.unreachable_after };
        let next = next_status(entry.status, h, outcome.map_err(|e| e.to_string()), after, now);
        if next != entry.status {
            changes.insert(id, (entry.status, next));
        }
    }
    health.retain(|id, _| table.plugins.contains_key(id));

    if !changes.is_empty() {
        if !leader.borrow().is_valid() {
            // The lease ran out during the round: the next holder decides.
            return Ok(());
        }
        let committed = reg
            .store
            .commit(|t| {
                for (id, (_, next)) in &changes {
                    if let Some(entry) = t.plugins.get_mut(id) {
                        entry.status = *next;
                    }
                }
                Ok(Vec::new())
            })
            .await?;
        for (id, (from, to)) in &changes {
            let error = health.get(id).and_then(|h| h.last_error.as_deref()).unwrap_or("");
            tracing::info!(plugin = %id, %from, %to, error, "Plugin status changed");
        }
        if let Some(table) = committed {
            reg.calls.push_routes(&table).await;
        }
    }
    reg.store.save_health(&HealthDoc { plugins: health.clone() }).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use PluginStatus::*;

    #[test]
    fn reported_statuses_are_recorded_as_they_are() {
        let mut h = Health::default();
        for s in [Failed, Stopping, Starting, Active] {
            assert_eq!(next_status(Active, &mut h, Ok(s), 3, 1), s);
        }
        assert_eq!(h.failures, 0);
    }

    #[test]
    fn n_failures_in_a_row_mark_unreachable_and_one_good_answer_recovers() {
        let mut h = Health::default();
        assert_eq!(next_status(Active, &mut h, Err("timeout".into()), 3, 1), Active);
        assert_eq!(next_status(Active, &mut h, Err("timeout".into()), 3, 2), Active);
        assert_eq!(h.failures, 2);
        assert_eq!(next_status(Active, &mut h, Err("gone".into()), 3, 3), Unreachable);
        assert_eq!(h.last_error.as_deref(), Some("gone"));
        assert_eq!(next_status(Unreachable, &mut h, Err("gone".into()), 3, 4), Unreachable);
        assert_eq!(next_status(Unreachable, &mut h, Ok(Active), 3, 5), Active);
        assert_eq!((h.failures, h.last_error.clone(), h.last_checked_ms), (0, None, 5));
    }

    #[test]
    fn a_good_answer_between_failures_resets_the_count() {
        let mut h = Health::default();
        next_status(Active, &mut h, Err("x".into()), 2, 1);
        next_status(Active, &mut h, Ok(Active), 2, 2);
        assert_eq!(next_status(Active, &mut h, Err("x".into()), 2, 3), Active);
    }
}
