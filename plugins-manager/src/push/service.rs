//! The push API's operations over the store: register (or re-register), heartbeat,
//! deregister, list, and the liveness sweep. Every change of the route table goes through
//! `Store::commit` with the record it belongs to, like a plugin registration, and is pushed to
//! keel; a heartbeat writes its record conditionally on the ETag it read, then, only if the
//! status it implies may differ from the table's, the status alone.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use keel_sdk::dapr::{DeleteItem, SaveItem, TransactionOp};
use keel_sdk::protocol::{PluginStatus, RouteTable};

use super::config::PushConfig;
use super::error::PushError;
use super::model::{record_key, reported_status, RegisterBody, ServiceRecord};
use crate::error::RegistryError;
use crate::model::unix_ms;
use crate::registry::Registry;

/// Probes in flight at once during a sweep.
const PROBE_CONCURRENCY: usize = 64;

/// Attempts of one heartbeat whose record keeps changing under it (its registrant
/// re-registering or heartbeating at the same moment).
const HEARTBEAT_ATTEMPTS: u32 = 3;

/// What every worker of the push API and its sweeper share.
pub struct PushState {
    /// The settings.
    pub cfg: PushConfig,
    /// When this process started (ms since the epoch): heartbeats count from here at the
    /// earliest, so a restart gives every service one TTL of grace.
    pub boot_ms: u64,
    /// Failed health probes in a row, by service (the sweeper's; a heartbeat clears it).
    probe_failures: Mutex<HashMap<String, u32>>,
    /// Verifies the client-credentials tokens of services registering from elsewhere than
    /// loopback (auth's keys, refreshed through the registry's sidecar).
    pub verifier: keel_sdk::tokens::Verifier,
}

impl PushState {
    /// Fresh state for `cfg`.
    pub fn new(cfg: PushConfig) -> Arc<Self> {
        let verifier = keel_sdk::tokens::Verifier::new(keel_sdk::tokens::VerifierConfig {
            issuer: cfg.issuer.clone(),
            audience: cfg.audience.clone(),
            ..keel_sdk::tokens::VerifierConfig::default()
        });
        Arc::new(Self { cfg, boot_ms: unix_ms(), probe_failures: Mutex::new(HashMap::new()), verifier })
    }

    fn failures(&self, name: &str) -> u32 {
        self.probe_failures.lock().unwrap_or_else(|e| e.into_inner()).get(name).copied().unwrap_or(0)
    }

    fn set_failures(&self, name: &str, n: u32) {
        let mut m = self.probe_failures.lock().unwrap_or_else(|e| e.into_inner());
        if n == 0 {
            m.remove(name);
        } else {
            m.insert(name.to_owned(), n);
        }
    }
}

/// One thread's handle: the registry's store and calls plus the shared push state.
#[derive(Clone)]
pub struct Push {
    pub reg: Registry,
    pub state: Arc<PushState>,
}

fn save(record: &ServiceRecord) -> Result<TransactionOp, PushError> {
    let value = serde_json::to_value(record).map_err(|e| RegistryError::Internal(e.to_string()))?;
    Ok(TransactionOp::Upsert(SaveItem::new(record_key(&record.name), value)))
}

impl Push {
    /// A service's record.
    pub async fn record(&self, name: &str) -> Result<Option<ServiceRecord>, PushError> {
        Ok(self.read(name).await?.map(|(r, _)| r))
    }

    /// A service's record with the ETag a write conditional on it names.
    async fn read(&self, name: &str) -> Result<Option<(ServiceRecord, Option<String>)>, PushError> {
        let store = &self.reg.store;
        let found = store
            .dapr()
            .get_state_json(store.name(), &record_key(name))
            .await
            .map_err(RegistryError::store)?;
        Ok(found)
    }

    /// Registers `body` for `registrant`, or updates it when the same registrant registered it
    /// before. Returns the record and whether it is new.
    pub async fn register(
        &self,
        body: RegisterBody,
        registrant: String,
        peer: IpAddr,
    ) -> Result<(ServiceRecord, bool), PushError> {
        let now = unix_ms();
        let console = body.console.clone();
        let mut record = body.validate(&self.state.cfg, registrant, peer, now)?;
        super::model::check_console(&record.name, &console)?;
        let name = record.name.clone();
        let before = self.record(&name).await?;
        if let Some(old) = &before {
            if old.registrant != record.registrant {
                return Err(PushError::TakenByOther(name));
            }
            record.registered_at_ms = old.registered_at_ms;
        }
        let op = save(&record)?;
        let route = record.route(PluginStatus::Active);
        let known = before.is_some();
        // The closure returns registry errors; a push refusal is kept here and reported instead.
        let mut refusal: Option<PushError> = None;
        let committed = self
            .reg
            .store
            .commit(|t| {
                if t.plugins.contains_key(&name) {
                    refusal = Some(PushError::TakenByPlugin(name.clone()));
                } else if !known && t.services.contains_key(&name) {
                    // Someone else registered it between our read and this commit.
                    refusal = Some(PushError::TakenByOther(name.clone()));
                }
                if refusal.is_some() {
                    return Err(RegistryError::BadRequest("refused".into()));
                }
                t.services.insert(name.clone(), route.clone());
                crate::console::declare(t, &name, &console)?;
                Ok(vec![op.clone()])
            })
            .await;
        let table = match (committed, refusal) {
            (_, Some(refused)) => return Err(refused),
            (result, None) => result?,
        };
        self.state.set_failures(&name, 0);
        tracing::info!(service = %name, base_url = %record.base_url(), update = known, "Pushed service registered");
        if let Some(t) = table {
            self.reg.calls.push_routes(&t).await;
        }
        Ok((record, !known))
    }

    /// A heartbeat from `registrant`: refreshes the record and, when the status it implies
    /// differs from the table's, changes the table at once. The record is written conditionally
    /// on the ETag it was read with, so a deregistration (or eviction) landing in between is a
    /// 404, never a record brought back without its route; a re-registration or another
    /// heartbeat in between makes it start over.
    pub async fn heartbeat(
        &self,
        name: &str,
        status: &str,
        registrant: &str,
    ) -> Result<PluginStatus, PushError> {
        for _ in 0..HEARTBEAT_ATTEMPTS {
            let (record, etag) = self.read(name).await?.ok_or_else(|| PushError::Unknown(name.to_owned()))?;
            if let Some(done) = self.beat(record, etag, status, registrant).await? {
                return Ok(done);
            }
        }
        Err(RegistryError::Contention(HEARTBEAT_ATTEMPTS).into())
    }

    /// One heartbeat on `record` as read with `etag`; `None` when the record changed since (and
    /// still exists): the heartbeat is to start over.
    async fn beat(
        &self,
        mut record: ServiceRecord,
        etag: Option<String>,
        status: &str,
        registrant: &str,
    ) -> Result<Option<PluginStatus>, PushError> {
        let name = record.name.clone();
        if record.registrant != registrant {
            return Err(PushError::NotRegistrant { name, what: "send its heartbeats" });
        }
        let now = unix_ms();
        let wanted = reported_status(status);
        // The table's status can differ from what the previous heartbeat implied only if the
        // sweep changed it: for silence (the previous heartbeat older than the TTL) or failed
        // probes. Otherwise the heartbeat writes its record alone, without reading the table
        // (1,000 services heartbeating would otherwise read the whole table 33 times a second).
        let cfg = &self.state.cfg;
        let silent = now.saturating_sub(record.last_heartbeat_ms)
            > record.interval_ms(cfg) * u64::from(cfg.missed_heartbeats);
        let may_differ =
            silent || reported_status(&record.reported) != wanted || self.state.failures(&name) > 0;
        record.last_heartbeat_ms = now;
        record.reported = status.to_owned();
        if !self.save_if_unchanged(&record, etag).await? {
            return Ok(None);
        }
        self.state.set_failures(&name, 0);
        if may_differ {
            self.set_status(&name, wanted).await?;
        }
        Ok(Some(wanted))
    }

    /// Writes `record` if its stored ETag is still `etag`. `Ok(false)`: it changed meanwhile;
    /// [`PushError::Unknown`]: it is gone (deregistered or evicted meanwhile).
    async fn save_if_unchanged(
        &self,
        record: &ServiceRecord,
        etag: Option<String>,
    ) -> Result<bool, PushError> {
        let store = &self.reg.store;
        let value = serde_json::to_value(record).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let mut item = SaveItem::new(record_key(&record.name), value);
        if etag.is_some() {
            item = item.first_write(etag.clone());
        }
        let Err(error) = store.dapr().save_state(store.name(), &[item]).await else { return Ok(true) };
        // A lost first-write race, whichever way the store reports it (some answer a plain 500):
        // the record moved or went. Anything else is the store's failure.
        match self.read(&record.name).await? {
            None => Err(PushError::Unknown(record.name.clone())),
            Some((_, now)) if now != etag => Ok(false),
            Some(_) => Err(RegistryError::store(error).into()),
        }
    }

    /// Sets `name`'s status in the route table (nothing else of its entry: a re-registration
    /// may have written it since) and tells keel; [`PushError::Unknown`] when it has no entry.
    async fn set_status(&self, name: &str, wanted: PluginStatus) -> Result<(), PushError> {
        let mut before = None;
        let changed = self
            .reg
            .store
            .commit(|t| {
                let entry =
                    t.services.get_mut(name).ok_or_else(|| RegistryError::NotFound(name.to_owned()))?;
                before = Some(entry.status);
                entry.status = wanted;
                Ok(Vec::new())
            })
            .await
            .map_err(|e| match e {
                RegistryError::NotFound(_) => PushError::Unknown(name.to_owned()),
                e => e.into(),
            })?;
        if let Some(t) = changed {
            tracing::info!(service = name, from = ?before, to = %wanted, "Pushed service status changed by a heartbeat");
            self.reg.calls.push_routes(&t).await;
        }
        Ok(())
    }

    /// Removes `name`, for its registrant only.
    pub async fn deregister(&self, name: &str, registrant: &str) -> Result<ServiceRecord, PushError> {
        let record = self.record(name).await?.ok_or_else(|| PushError::Unknown(name.to_owned()))?;
        if record.registrant != registrant {
            return Err(PushError::NotRegistrant { name: name.to_owned(), what: "deregister it" });
        }
        self.remove(name).await?;
        tracing::info!(service = name, "Pushed service deregistered");
        Ok(record)
    }

    async fn remove(&self, name: &str) -> Result<(), PushError> {
        let key = record_key(name);
        let table = self
            .reg
            .store
            .commit(|t| {
                t.services.remove(name);
                crate::console::drop_owner(t, name);
                Ok(vec![TransactionOp::Delete(DeleteItem::new(key.clone()))])
            })
            .await?;
        self.state.set_failures(name, 0);
        if let Some(t) = table {
            self.reg.calls.push_routes(&t).await;
        }
        Ok(())
    }

    /// The table and the records of every pushed service in it.
    pub async fn all(&self) -> Result<(RouteTable, BTreeMap<String, ServiceRecord>), PushError> {
        let (table, records) = self.all_tagged().await?;
        Ok((table, records.into_iter().map(|(name, (r, _))| (name, r)).collect()))
    }

    /// [`Self::all`] with each record's ETag, so a change decided on what was read (an
    /// eviction) can be made conditional on it.
    async fn all_tagged(
        &self,
    ) -> Result<(RouteTable, BTreeMap<String, (ServiceRecord, Option<String>)>), PushError> {
        let (table, _) = self.reg.store.table().await?;
        let keys: Vec<String> = table.services.keys().map(|n| record_key(n)).collect();
        let mut records = BTreeMap::new();
        if !keys.is_empty() {
            let store = &self.reg.store;
            for item in store.dapr().bulk_get(store.name(), &keys).await.map_err(RegistryError::store)? {
                let Some(data) = item.data else { continue };
                match serde_json::from_value::<ServiceRecord>(data) {
                    Ok(r) => {
                        records.insert(r.name.clone(), (r, item.etag));
                    }
                    Err(error) => tracing::warn!(key = %item.key, %error, "Unreadable pushed service record"),
                }
            }
        }
        Ok((table, records))
    }

    /// One liveness round (the lease holder's): probe the services that gave a health check,
    /// then set every service's status from its heartbeats and probes, evicting the silent
    /// ones, in one commit.
    pub async fn sweep(&self) -> Result<(), PushError> {
        let (table, tagged) = self.all_tagged().await?;
        let etags: BTreeMap<&str, Option<&String>> =
            tagged.iter().map(|(n, (_, e))| (n.as_str(), e.as_ref())).collect();
        let records: BTreeMap<String, ServiceRecord> =
            tagged.iter().map(|(n, (r, _))| (n.clone(), r.clone())).collect();
        if records.is_empty() {
            return Ok(());
        }
        let probes = futures_util::stream::iter(records.values().filter(|r| r.health_check_url.is_some()))
            .map(|r| async move { (r.name.clone(), self.probe(r).await) })
            .buffer_unordered(PROBE_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        for (name, ok) in probes {
            let n = if ok { 0 } else { self.state.failures(&name) + 1 };
            self.state.set_failures(&name, n);
        }
        let now = unix_ms();
        let cfg = &self.state.cfg;
        let mut changes: Vec<(String, Option<PluginStatus>)> = Vec::new();
        for (name, route) in &table.services {
            let Some(rec) = records.get(name) else { continue };
            let wanted = rec.desired(cfg, now, self.state.boot_ms, self.state.failures(name));
            if wanted != Some(route.status) {
                changes.push((name.clone(), wanted));
            }
        }
        if changes.is_empty() {
            return Ok(());
        }
        let evicted: Vec<String> =
            changes.iter().filter(|(_, s)| s.is_none()).map(|(n, _)| n.clone()).collect();
        let new = self
            .reg
            .store
            .commit(|t| {
                let mut ops = Vec::new();
                for (name, wanted) in &changes {
                    match wanted {
                        None => {
                            t.services.remove(name);
                            crate::console::drop_owner(t, name);
                            // Only the record that was read: a heartbeat that landed during the
                            // sweep's probes makes the commit fail, and the next sweep sees it.
                            let delete = match etags.get(name.as_str()).copied().flatten() {
                                Some(etag) => DeleteItem::if_match(record_key(name), etag.clone()),
                                None => DeleteItem::new(record_key(name)),
                            };
                            ops.push(TransactionOp::Delete(delete));
                        }
                        Some(s) => {
                            if let Some(r) = t.services.get_mut(name) {
                                r.status = *s;
                            }
                        }
                    }
                }
                Ok(ops)
            })
            .await?;
        for (name, wanted) in &changes {
            match wanted {
                None => tracing::warn!(service = %name, "Pushed service evicted: no heartbeat for too long"),
                Some(s) => tracing::info!(service = %name, to = %s, "Pushed service status changed"),
            }
        }
        for name in evicted {
            self.state.set_failures(&name, 0);
        }
        if let Some(t) = new {
            self.reg.calls.push_routes(&t).await;
        }
        Ok(())
    }

    /// `GET <health_check_url>` through the registry's sidecar (a non-Dapr endpoint by URL);
    /// any 2xx within the time limit is alive.
    async fn probe(&self, r: &ServiceRecord) -> bool {
        let Some(path) = &r.health_check_url else { return true };
        let dapr = self.reg.store.dapr().with_timeout(self.state.cfg.probe_timeout());
        let id = keel_sdk::dapr::invoke::endpoint_id(&r.base_url());
        let method_path = format!("{}{}", r.base_path.trim_end_matches('/'), path);
        match dapr.invoke::<()>(actix_web::http::Method::GET, &id, &method_path, None).await {
            Ok(answer) if answer.status.is_success() => true,
            Ok(answer) => {
                tracing::debug!(service = %r.name, status = answer.status.as_u16(), "Health probe failed");
                false
            }
            Err(error) => {
                tracing::debug!(service = %r.name, %error, "Health probe failed");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sidecar::test_util::FakeSidecar;

    const WHO: &str = "addr:127.0.0.1";

    /// The push API's operations over the stand-in's fake sidecar (its real state API; keel,
    /// which registrations tell, is absent, which they only log).
    async fn push() -> Push {
        let sidecar = FakeSidecar::builder("plugins").start().await.client_config();
        let reg = Registry::new(crate::RegistryState::new(crate::Config::default(), sidecar));
        Push { reg, state: PushState::new(PushConfig::default()) }
    }

    fn body() -> RegisterBody {
        serde_json::from_value(serde_json::json!({
            "name": "svc", "host": "127.0.0.1", "port": 8010,
            "endpoints": [{"path": "hello", "method": "GET", "is_public": true}],
        }))
        .unwrap()
    }

    fn local() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    async fn gone(push: &Push) -> bool {
        let (table, _) = push.reg.store.table().await.unwrap();
        push.record("svc").await.unwrap().is_none() && !table.services.contains_key("svc")
    }

    #[actix_rt::test]
    async fn a_heartbeat_overtaken_by_a_deregistration_is_a_404_and_brings_nothing_back() {
        let push = push().await;
        // Read as a heartbeat reads it, then the deregistration lands before its write: one
        // heartbeat that changes no status (the record alone), one that does (and the table).
        for status in ["healthy", "unhealthy"] {
            push.register(body(), WHO.into(), local()).await.unwrap();
            let (record, etag) = push.read("svc").await.unwrap().unwrap();
            push.deregister("svc", WHO).await.unwrap();
            let beat = push.beat(record, etag, status, WHO).await;
            assert!(matches!(beat, Err(PushError::Unknown(_))), "{status}: {beat:?}");
            assert!(gone(&push).await, "{status}: the heartbeat brought the service back");
        }
        // So the name is anyone's again.
        let (_, new) =
            push.register(body(), "addr:127.0.0.2".into(), "127.0.0.2".parse().unwrap()).await.unwrap();
        assert!(new);
    }

    #[actix_rt::test]
    async fn a_heartbeat_whose_record_moved_starts_over_and_a_status_needs_a_route() {
        let push = push().await;
        push.register(body(), WHO.into(), local()).await.unwrap();
        let (stale, etag) = push.read("svc").await.unwrap().unwrap();
        // Another heartbeat (or a re-registration) wrote the record since it was read.
        assert_eq!(push.heartbeat("svc", "healthy", WHO).await.unwrap(), PluginStatus::Active);
        assert_eq!(push.beat(stale, etag, "healthy", WHO).await.unwrap(), None, "starts over");
        // Started over, it lands, and a status it reports reaches the table.
        assert_eq!(push.heartbeat("svc", "unhealthy", WHO).await.unwrap(), PluginStatus::Failed);
        let (table, _) = push.reg.store.table().await.unwrap();
        assert_eq!(table.services["svc"].status, PluginStatus::Failed);
        // A status for a service no longer in the table writes nothing.
        push.deregister("svc", WHO).await.unwrap();
        assert!(matches!(push.set_status("svc", PluginStatus::Active).await, Err(PushError::Unknown(_))));
        assert!(gone(&push).await);
        assert!(matches!(push.heartbeat("svc", "healthy", WHO).await, Err(PushError::Unknown(_))));
    }
}
