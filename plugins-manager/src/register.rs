//! Registration, in the order of platform.md §3, all-or-nothing:
//!
//! 1. `GET /v1/identify` through the sidecar: reachable, HTTP 200, `ret == 0`, well-formed, the id
//!    it reports is the id asked for, not registered yet (neither as a plugin nor as a pushed
//!    service, `docs/push.md`), platform version compatible;
//! 2. each `main_plugin` entry: the extended plugin is registered, in the version range, declares
//!    the points, nobody else implements them (all entries checked before any remote call, so a
//!    refusal tells no extended plugin about an implementer that will never exist), then each
//!    extended plugin's `/v1/addons/identify` accepts;
//! 3. `GET /v1/status`: the status to record;
//! 4. one conditional transaction writes the record and the new route table (the checks of 1–2
//!    that depend on the table run again inside it, against the table actually written);
//! 5. the new table is pushed to keel.
//!
//! Nothing is written before step 4, so a refusal or a crash at any earlier point leaves the
//! store exactly as it was; step 4 is atomic. The one write outside the store, the plugin's client
//! credentials in auth, is made just before step 4 under an intent written first
//! ([`crate::intents`]): step 4 deletes the intent in its transaction, and an intent left behind
//! (step 4 failed, the registry or auth died, the store stalled) is settled by taking that
//! attempt's credentials back, here at once or later by the reconciler ([`crate::reconcile`]).
//!
//! `Registry::run_steps` reads as that list: one function per step, in order.

use keel_sdk::dapr::{SaveItem, TransactionOp};
use keel_sdk::management::registry::PluginView;
use keel_sdk::protocol::{
    parse_version, AddonsIdentifyRequest, IdError, ImplementedEndpoint, PluginId, PluginRef, PluginStatus,
    RouteTable, ValidIdentify, KEEL_VERSION,
};

use crate::crash_point;
use crate::error::RegistryError;
use crate::intents::{new_attempt, Held, Op};
use crate::model::{plugin_view, record_key, unix_ms, ImplementationIndex, PluginRecord};
use crate::registry::Registry;
use crate::secret::Secret;
use crate::table;

/// `POST /v1/plugins` body as received: the wire shape is
/// [`keel_sdk::management::registry::Registration`], read by hand here (see [`Self::parse`]).
#[derive(Debug, Clone)]
pub struct RegisterRequest {
    /// The plugin's Dapr app-id.
    pub id: String,
    /// Its client secret, if it has one.
    pub secret: Option<Secret>,
}

impl RegisterRequest {
    /// Parses the body by hand rather than with derived serde, so that no parse error can echo a
    /// secret back (serde quotes offending values, e.g. a secret sent as a number).
    pub fn parse(body: &[u8]) -> Result<Self, RegistryError> {
        let bad = |m: &str| RegistryError::BadRequest(m.to_owned());
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| RegistryError::BadRequest(format!("body is not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("body must be a JSON object {\"id\": ..., \"secret\": ...}"))?;
        let id = match obj.get("id") {
            Some(serde_json::Value::String(id)) => id.clone(),
            Some(_) => return Err(bad("id must be a string")),
            None => return Err(bad("id is required: the Dapr app-id of the plugin to register")),
        };
        let secret = match obj.get("secret") {
            Some(serde_json::Value::String(s)) => Some(Secret::new(s.clone())),
            None | Some(serde_json::Value::Null) => None,
            Some(_) => return Err(bad("secret must be a string")),
        };
        Ok(Self { id, secret })
    }
}

impl Registry {
    /// Registers a third-party plugin (reserved ids refused). The secret is optional: it is the
    /// plugin's client secret for auth's client-credentials grant, so a plugin registered without
    /// one simply cannot obtain tokens of its own.
    pub async fn register(&self, req: RegisterRequest) -> Result<PluginView, RegistryError> {
        let id = PluginId::parse_unreserved(&req.id).map_err(|e| match e {
            IdError::Reserved { id } => RegistryError::ReservedId(id),
            other => RegistryError::InvalidId(other),
        })?;
        if let Some(secret) = &req.secret {
            secret.check(self.state.cfg.secret_min_len)?;
        }
        let _in_flight = self.state.begin(id.as_str())?;
        self.run_steps(&id, req.secret, false).await
    }

    /// Registers core service `id` (a reserved id, no secret). When it is registered already,
    /// its record and route entry follow its current identify (a core service upgraded in place
    /// cannot be unregistered and registered again). `Ok(None)` when nothing changed.
    pub async fn register_core(&self, id: &str) -> Result<Option<PluginView>, RegistryError> {
        let id = PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let _in_flight = self.state.begin(id.as_str())?;
        match self.run_steps(&id, None, true).await {
            Ok(view) => Ok(Some(view)),
            Err(RegistryError::AlreadyRegistered(_)) => self.refresh_core(&id).await,
            Err(e) => Err(e),
        }
    }

    /// Brings a registered core service's record and route entry in line with its identify:
    /// version, public endpoints and offered points (implementers of points it still offers are
    /// kept). Core services implement no points of other plugins, so `main_plugin` is not redone.
    async fn refresh_core(&self, id: &PluginId) -> Result<Option<PluginView>, RegistryError> {
        let plugin = self.identify_as(id).await?;
        let stored = self.store.record(id.as_str()).await?;
        if stored.as_ref().is_some_and(|r| r.identify == plugin.doc) {
            return Ok(None);
        }
        let record = PluginRecord {
            id: id.to_string(),
            identify: plugin.doc.clone(),
            registered_at_ms: stored.as_ref().map(|r| r.registered_at_ms).unwrap_or_else(unix_ms),
            core: true,
            credentials: None,
        };
        let record_value =
            serde_json::to_value(&record).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let table = self
            .store
            .commit(|t| {
                let entry =
                    t.plugins.get_mut(id.as_str()).ok_or_else(|| RegistryError::NotFound(id.to_string()))?;
                table::refresh_entry(entry, &plugin);
                crate::console::declare(t, id.as_str(), &plugin.doc.console)?;
                Ok(vec![TransactionOp::Upsert(SaveItem::new(record_key(id.as_str()), record_value.clone()))])
            })
            .await?;
        let Some(table) = table else { return Ok(None) };
        tracing::info!(plugin = %id, version = %plugin.version, table_version = table.version, "Core service record refreshed");
        self.tell_keel(&table).await;
        view_of(id, &table, &record).map(Some)
    }

    /// The steps of platform.md §3 in order, each its own function below. All-or-nothing:
    /// nothing is written before step 4 but the intent under which the client credentials are
    /// given to auth (settled, taking them back, if step 4 does not happen), and step 4 is one
    /// atomic write.
    async fn run_steps(
        &self,
        id: &PluginId,
        secret: Option<Secret>,
        core: bool,
    ) -> Result<PluginView, RegistryError> {
        let _turn = self
            .state
            .registrations
            .acquire()
            .await
            .map_err(|_| RegistryError::Internal("registrations are closed".into()))?;
        // 1. Who it is, and whether it may join.
        let (plugin, current) = self.identify(id).await?;
        // 2. The points it implements: every static check first, then each extended plugin's word.
        self.check_implementations(&plugin, &current).await?;
        // 3. Its status, recorded as reported.
        let status = self.check_status(id).await?;
        // Its client credentials in auth, the one thing done outside the registry's store.
        let held = self.give_credentials(id, secret.as_ref()).await?;
        if held.is_some() {
            crash_point::reached(&self.state.cfg, crash_point::BEFORE_COMMIT).await;
        }
        // 4. The record and the route table, in one conditional write.
        let (table, record) = match self.persist(&plugin, status, core, held.as_ref()).await {
            Ok(persisted) => persisted,
            Err(e) => {
                if held.is_some() {
                    self.settle_now(id.as_str()).await;
                }
                return Err(e);
            }
        };
        if held.is_some() {
            crash_point::reached(&self.state.cfg, crash_point::AFTER_COMMIT).await;
        }
        tracing::info!(plugin = %id, version = %plugin.version, %status, core, table_version = table.version, "Plugin registered");
        // 5. Keel routes to it from now on.
        self.tell_keel(&table).await;
        view_of(id, &table, &record)
    }

    /// Step 1: `GET /v1/identify` answered (reachable, 200, `ret == 0`, well-formed) by a plugin
    /// that reports the id asked for, is not registered yet (nor is a pushed service of that
    /// name) and fits this platform's version. Returns it with the route table it was checked
    /// against.
    async fn identify(&self, id: &PluginId) -> Result<(ValidIdentify, RouteTable), RegistryError> {
        let plugin = self.identify_as(id).await?;
        let (current, _) = self.store.table().await?;
        not_taken(&current, id.as_str())?;
        let platform = parse_version("platform version", KEEL_VERSION)
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        plugin
            .check_platform(&platform)
            .map_err(|source| RegistryError::PlatformTooOld { id: id.to_string(), source })?;
        Ok((plugin, current))
    }

    /// `GET /v1/identify` on `id`, validated, from a plugin that reports `id` as its own.
    async fn identify_as(&self, id: &PluginId) -> Result<ValidIdentify, RegistryError> {
        let plugin = self.calls.identify(id.as_str()).await?;
        if plugin.id != *id {
            return Err(RegistryError::IdMismatch {
                requested: id.to_string(),
                reported: plugin.id.to_string(),
            });
        }
        Ok(plugin)
    }

    /// Step 2: each `main_plugin` entry names a registered plugin, in its version range, that
    /// declares the points and has no other implementer for them (every entry checked against
    /// `current` before any call, so a refusal tells no extended plugin about an implementer that
    /// will never exist); then each extended plugin's `/v1/addons/identify` accepts.
    async fn check_implementations(
        &self,
        plugin: &ValidIdentify,
        current: &RouteTable,
    ) -> Result<(), RegistryError> {
        for ext in table::check_extensions(current, plugin)? {
            let req = AddonsIdentifyRequest {
                plugin: PluginRef { id: plugin.id.to_string(), version: plugin.version.to_string() },
                endpoint: ext
                    .points
                    .iter()
                    .map(|p| ImplementedEndpoint {
                        addons_point: p.addons.clone(),
                        endpoint: p.endpoint.clone(),
                    })
                    .collect(),
            };
            self.calls.addons_identify(&ext.main, &req).await?;
        }
        Ok(())
    }

    /// Step 3: `GET /v1/status` on the plugin; what it reports is the status recorded.
    async fn check_status(&self, id: &PluginId) -> Result<PluginStatus, RegistryError> {
        self.calls.status_at_registration(id.as_str()).await
    }

    /// Between steps 3 and 4: the plugin's client credentials, given to auth before anything but
    /// their intent is written, so a registration that cannot give the plugin its credentials
    /// does not happen. The intent held (a plugin registered without a secret has none).
    async fn give_credentials(
        &self,
        id: &PluginId,
        secret: Option<&Secret>,
    ) -> Result<Option<Held>, RegistryError> {
        let Some(secret) = secret else { return Ok(None) };
        let attempt = new_attempt();
        let held = self
            .intents()
            .begin(id.as_str(), Op::Register, Some(attempt.clone()), self.stale_before())
            .await?;
        let given = async {
            // Registered since step 1 (by a registration without a secret, or one that committed
            // before this intent was written): credentials now would replace the plugin's own.
            if self.store.table().await?.0.plugins.contains_key(id.as_str()) {
                return Err(RegistryError::AlreadyRegistered(id.to_string()));
            }
            crash_point::reached(&self.state.cfg, crash_point::BEFORE_CREDENTIALS).await;
            self.calls.put_client(id.as_str(), secret, &attempt).await
        };
        match given.await {
            Ok(()) => Ok(Some(held)),
            Err(e) => {
                // auth may have stored them before failing to answer: settled like any other.
                self.settle_now(id.as_str()).await;
                Err(e)
            }
        }
    }

    /// Step 4: the record and the new route table in one transaction, conditional on the table's
    /// ETag, so racing registrations never lose each other's work. The checks of steps 1 and 2
    /// that depend on the table run again inside every attempt, against the table actually
    /// written. The secret is not part of it: auth holds it (hashed); the record names the
    /// attempt whose credentials those are, and the transaction deletes that attempt's intent,
    /// conditionally on its ETag, so a commit that comes after the intent was settled fails.
    async fn persist(
        &self,
        plugin: &ValidIdentify,
        status: PluginStatus,
        core: bool,
        held: Option<&Held>,
    ) -> Result<(RouteTable, PluginRecord), RegistryError> {
        let id = plugin.id.as_str();
        let record = PluginRecord {
            id: id.to_owned(),
            identify: plugin.doc.clone(),
            registered_at_ms: unix_ms(),
            core,
            credentials: held.and_then(|h| h.intent.attempt.clone()),
        };
        let record_value =
            serde_json::to_value(&record).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let table = self
            .store
            .commit_guarded(held, |t| {
                not_taken(t, id)?;
                let plan = table::check_extensions(t, plugin)?;
                table::add_plugin(t, plugin, status, &plan, core);
                crate::console::declare(t, id, &plugin.doc.console)?;
                let mut ops =
                    vec![TransactionOp::Upsert(SaveItem::new(record_key(id), record_value.clone()))];
                ops.extend(held.map(Held::delete_op));
                Ok(ops)
            })
            .await?
            .ok_or_else(|| RegistryError::Internal("registration changed nothing".into()))?;
        Ok((table, record))
    }

    /// Step 5: the new route table pushed to keel, which routes by it from then on. A failed
    /// push is only logged: keel re-reads the store on its own timer.
    async fn tell_keel(&self, table: &RouteTable) {
        self.calls.push_routes(table).await;
    }
}

/// `id` is free in `table`: no plugin has it, and no pushed service (one name, one registrant,
/// whichever way it came in).
fn not_taken(table: &RouteTable, id: &str) -> Result<(), RegistryError> {
    if table.plugins.contains_key(id) {
        return Err(RegistryError::AlreadyRegistered(id.to_owned()));
    }
    if table.services.contains_key(id) {
        return Err(RegistryError::PushedName(id.to_owned()));
    }
    Ok(())
}

/// The view of `id` as registered in `table` with `record` (not polled yet).
fn view_of(id: &PluginId, table: &RouteTable, record: &PluginRecord) -> Result<PluginView, RegistryError> {
    let entry =
        table.plugins.get(id.as_str()).ok_or_else(|| RegistryError::Internal("entry vanished".into()))?;
    Ok(plugin_view(id.as_str(), entry, Some(record), None, &ImplementationIndex::of(table)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_parsed_without_echoing_the_secret() {
        let r = RegisterRequest::parse(br#"{"id": "echo", "secret": "s3cr3t-value"}"#).unwrap();
        assert_eq!(r.id, "echo");
        assert!(!format!("{r:?}").contains("s3cr3t"));
        let err =
            RegisterRequest::parse(br#"{"id": "echo", "secret": 98765432123}"#).unwrap_err().to_string();
        assert!(err.contains("secret must be a string") && !err.contains("98765432123"), "{err}");
        assert!(RegisterRequest::parse(br#"{"secret": "x"}"#)
            .unwrap_err()
            .to_string()
            .contains("id is required"));
        assert!(RegisterRequest::parse(b"[1]").unwrap_err().to_string().contains("JSON object"));
        assert!(RegisterRequest::parse(b"{").unwrap_err().to_string().contains("not JSON"));
        assert!(RegisterRequest::parse(br#"{"id": "x"}"#).unwrap().secret.is_none());
    }

    #[test]
    fn an_id_is_taken_by_a_plugin_or_a_pushed_service() {
        use keel_sdk::protocol::{PushedRoute, RouteEntry};
        let mut t = RouteTable::default();
        t.plugins.insert("echo".into(), RouteEntry::new(PluginStatus::Active, "1.0.0"));
        let pushed = PushedRoute {
            status: PluginStatus::Active,
            version: "1.0.0".into(),
            base_url: "http://127.0.0.1:8010".into(),
            base_path: "/".into(),
            requires_auth: true,
            endpoints: Vec::new(),
        };
        t.services.insert("my-plugin".into(), pushed);
        assert!(matches!(not_taken(&t, "echo"), Err(RegistryError::AlreadyRegistered(_))));
        assert!(matches!(not_taken(&t, "my-plugin"), Err(RegistryError::PushedName(_))));
        assert!(not_taken(&t, "free").is_ok());
    }

    #[test]
    fn the_body_parsed_is_the_one_the_shared_type_writes() {
        use keel_sdk::management::registry::Registration;
        for secret in [None, Some("s3cr3t-value".to_owned())] {
            let body = Registration { id: "echo".into(), secret: secret.clone() };
            let parsed = RegisterRequest::parse(&serde_json::to_vec(&body).unwrap()).unwrap();
            assert_eq!(parsed.id, "echo");
            assert_eq!(parsed.secret.map(|s| s.expose().to_owned()), secret);
        }
    }
}
