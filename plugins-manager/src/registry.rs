//! The registry's operations other than registration itself (see `register.rs`): reading plugins
//! and routes, and unregistering. [`Registry`] holds one thread's sidecar clients;
//! [`RegistryState`] is what every thread of the process shares.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use keel_sdk::dapr::{DaprClient, DeleteItem, SidecarConfig, TransactionOp};
use keel_sdk::management::registry::{ListQuery, Listing, PluginView};
use keel_sdk::protocol::{PluginId, PluginStatus, RouteTable};

use crate::calls::Calls;
use crate::config::Config;
use crate::error::RegistryError;
use crate::intents::Op;
use crate::model::{plugin_view, record_key, HealthDoc, ImplementationIndex};
use crate::store::Store;
use crate::table;

/// State shared by every worker and background task of one registry process.
pub struct RegistryState {
    /// The configuration.
    pub cfg: Config,
    /// Where the sidecar is.
    pub sidecar: SidecarConfig,
    /// Commits queue on this, so one process never races itself on the route table.
    commit_lock: Arc<tokio::sync::Mutex<()>>,
    /// Ids being registered by this process right now.
    in_flight: Mutex<HashSet<String>>,
    /// Turns to run a registration (`max_concurrent_registrations`).
    pub registrations: tokio::sync::Semaphore,
    /// Who may change what ([`crate::authorize`]), from `cfg.grants`.
    pub policy: keel_sdk::access::Policy,
    /// Plugins keel reported unreachable on live traffic: the next poll probes them at once,
    /// and one failed probe marks them `UNREACHABLE` ([`crate::poll`]).
    pub suspects: Mutex<HashSet<String>>,
    /// Wakes the poller for an early round when a suspect is reported.
    pub poll_now: tokio::sync::Notify,
}

impl RegistryState {
    /// Shared state for `cfg`, talking to the sidecar at `sidecar`.
    pub fn new(cfg: Config, sidecar: SidecarConfig) -> Arc<Self> {
        Arc::new(Self {
            sidecar,
            commit_lock: Arc::new(tokio::sync::Mutex::new(())),
            in_flight: Mutex::new(HashSet::new()),
            suspects: Mutex::new(HashSet::new()),
            poll_now: tokio::sync::Notify::new(),
            registrations: tokio::sync::Semaphore::new(cfg.max_concurrent_registrations.max(1)),
            // `start` validated the configuration; an invalid one here (tests) grants nothing extra.
            policy: cfg.policy().unwrap_or_default(),
            cfg,
        })
    }

    /// Marks `id` as being registered until the guard drops; a second registration of the same id
    /// on this replica is refused at once instead of doing the whole work to lose at the commit.
    pub fn begin(self: &Arc<Self>, id: &str) -> Result<InFlight, RegistryError> {
        let mut ids = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if !ids.insert(id.to_owned()) {
            return Err(RegistryError::InProgress(id.to_owned()));
        }
        Ok(InFlight { state: Arc::clone(self), id: id.to_owned() })
    }
}

/// A registration in progress; dropping it ends it.
pub struct InFlight {
    state: Arc<RegistryState>,
    id: String,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.state.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
    }
}

/// One thread's handle on the registry: shared state plus that thread's sidecar clients
/// (`awc` clients are per thread, so this is built per worker and per background task).
#[derive(Clone)]
pub struct Registry {
    /// Process-wide state.
    pub state: Arc<RegistryState>,
    /// The state store.
    pub store: Store,
    /// Calls to plugins and keel.
    pub calls: Calls,
}

impl Registry {
    /// A handle for the current thread.
    pub fn new(state: Arc<RegistryState>) -> Self {
        let dapr = DaprClient::new(state.sidecar.clone().with_timeout(state.cfg.store_timeout()));
        let store = Store::new(dapr.clone(), &state.cfg.store, Arc::clone(&state.commit_lock));
        let calls = Calls::new(&dapr, &state.cfg);
        Self { state, store, calls }
    }

    /// The route table keel routes by.
    pub async fn routes(&self) -> Result<RouteTable, RegistryError> {
        Ok(self.store.table().await?.0)
    }

    /// keel could not reach plugin `id` on live traffic: probe it at the next round, now. A
    /// pushed service is left to the push sweeper's own probes; another replica than the
    /// poller's records the suspicion for when it holds the lease.
    pub async fn suspect(&self, id: &str) -> Result<(), RegistryError> {
        PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let (table, _) = self.store.table().await?;
        if table.plugins.contains_key(id) {
            self.state.suspects.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned());
            self.state.poll_now.notify_one();
            tracing::info!(plugin = id, "keel reports the plugin unreachable; probing it now");
        } else if !table.services.contains_key(id) {
            return Err(RegistryError::NotFound(id.to_owned()));
        }
        Ok(())
    }

    /// One plugin.
    pub async fn get(&self, id: &str) -> Result<PluginView, RegistryError> {
        PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let (table, _) = self.store.table().await?;
        let Some(entry) = table.plugins.get(id) else {
            // A pushed service, or nothing.
            let mut pushed = crate::push::views::pushed_views(&self.store, &table).await?;
            return pushed.remove(id).ok_or_else(|| RegistryError::NotFound(id.to_owned()));
        };
        let record = self.store.record(id).await?;
        let health = self.store.health().await?;
        let index = ImplementationIndex::of(&table);
        Ok(plugin_view(id, entry, record.as_ref(), health.plugins.get(id), &index))
    }

    /// One page of plugins, by ascending id.
    pub async fn list(&self, q: ListQuery) -> Result<Listing, RegistryError> {
        let cfg = &self.state.cfg;
        let limit = q.limit.unwrap_or(cfg.page_size);
        if limit == 0 || limit > cfg.max_page_size {
            return Err(RegistryError::BadRequest(format!(
                "limit must be between 1 and {}",
                cfg.max_page_size
            )));
        }
        let status = match q.status.as_deref() {
            Some(s) => Some(s.parse::<PluginStatus>().map_err(|e| RegistryError::BadRequest(e.to_string()))?),
            None => None,
        };
        let (table, _) = self.store.table().await?;
        let pushed = crate::push::views::pushed_views(&self.store, &table).await?;
        let mut ids: Vec<&String> = table
            .plugins
            .iter()
            .filter(|(_, e)| status.is_none_or(|s| e.status == s))
            .map(|(id, _)| id)
            .chain(pushed.iter().filter(|(_, v)| status.is_none_or(|s| v.status == s)).map(|(id, _)| id))
            .collect();
        ids.sort();
        let total = ids.len();
        let offset = match &q.after {
            Some(after) => ids.partition_point(|id| id.as_str() <= after.as_str()),
            None => q.offset.unwrap_or(0).min(total),
        };
        let page: Vec<String> =
            ids[offset..(offset + limit).min(total)].iter().map(|s| (*s).clone()).collect();
        let next_after = (offset + page.len() < total).then(|| page.last().cloned()).flatten();
        let records = self.store.records(&page).await?;
        let health: HealthDoc = self.store.health().await?;
        let index = ImplementationIndex::of(&table);
        let plugins = page
            .iter()
            .filter_map(|id| match table.plugins.get(id) {
                Some(entry) => Some(plugin_view(id, entry, records.get(id), health.plugins.get(id), &index)),
                None => pushed.get(id).cloned(),
            })
            .collect();
        Ok(Listing { total, offset, limit, plugins, next_after })
    }

    /// Unregisters `id`: refused while other plugins implement its points unless `force`, and
    /// removes the implementations it provided to the plugins it extended. The record and the
    /// table change in one transaction, under an intent written first ([`crate::intents`]) that
    /// then has auth remove the plugin's client credentials: here at once, or by the reconciler
    /// when auth is down or this process dies first. Returns the plugin as it was.
    pub async fn unregister(&self, id: &str, force: bool) -> Result<PluginView, RegistryError> {
        let pid = PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let before = self.get(id).await?;
        if pid.is_reserved() {
            return Err(RegistryError::CoreService(id.to_owned()));
        }
        // A pushed service (or nothing) is not unregistered here: refused before any intent, whose
        // settling would remove the client credentials of whatever has this id.
        if !self.store.table().await?.0.plugins.contains_key(id) {
            return Err(RegistryError::NotFound(id.to_owned()));
        }
        let credentials = self.store.record(id).await?.and_then(|r| r.credentials);
        let held = self.intents().begin(id, Op::Unregister, credentials, self.stale_before()).await?;
        let touch = held.touch_op()?;
        let mut dropped = Vec::new();
        let committed = self
            .store
            .commit_guarded(Some(&held), |t| {
                if !t.plugins.contains_key(id) {
                    return Err(RegistryError::NotFound(id.to_owned()));
                }
                let users = table::implementers_of(t, id);
                if !users.is_empty() && !force {
                    let implementers = users
                        .iter()
                        .map(|(point, by)| format!("{by:?} implements {point:?}"))
                        .collect::<Vec<_>>();
                    return Err(RegistryError::InUse {
                        id: id.to_owned(),
                        implementers: implementers.join(", "),
                    });
                }
                dropped = users;
                table::remove_plugin(t, id);
                crate::console::drop_owner(t, id);
                Ok(vec![TransactionOp::Delete(DeleteItem::new(record_key(id))), touch.clone()])
            })
            .await
            .and_then(|t| t.ok_or_else(|| RegistryError::Internal("unregistering changed nothing".into())));
        let table = match committed {
            Ok(table) => table,
            Err(e) => {
                // Still registered (or gone by another request): settling keeps or removes the
                // credentials by what the store now says.
                self.settle_now(id).await;
                return Err(e);
            }
        };
        tracing::info!(
            plugin = id,
            forced = force,
            dropped_implementers = dropped.len(),
            table_version = table.version,
            "Plugin unregistered"
        );
        crate::crash_point::reached(&self.state.cfg, crate::crash_point::AFTER_UNREGISTER_COMMIT).await;
        self.calls.push_routes(&table).await;
        // Its client credentials go with it (a no-op at auth when it had none).
        self.settle_now(id).await;
        Ok(before)
    }
}
