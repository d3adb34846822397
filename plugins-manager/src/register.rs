//! Registration, in the order of platform.md §3, all-or-nothing:
//!
//! 1. `GET /v1/identify` through the sidecar: reachable, HTTP 200, `ret == 0`, well-formed, the id
//!    it reports is the id asked for, not registered yet, platform version compatible;
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
//! store exactly as it was; step 4 is atomic.

use keel_sdk::dapr::{SaveItem, TransactionOp};
use keel_sdk::protocol::{
    parse_version, AddonsIdentifyRequest, IdError, ImplementedEndpoint, PluginId, PluginRef, KEEL_VERSION,
};

use crate::error::RegistryError;
use crate::model::{record_key, unix_ms, ImplementationIndex, PluginRecord, PluginView};
use crate::registry::Registry;
use crate::secret::Secret;
use crate::table;

/// `POST /v1/plugins` body.
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
            secret.check(self.shared.cfg.secret_min_len)?;
        }
        let _in_flight = self.shared.begin(id.as_str())?;
        self.run_steps(&id, req.secret, false).await
    }

    /// Registers core service `id` (a reserved id, no secret). When it is registered already,
    /// its record and route entry follow its current identify (a core service upgraded in place
    /// cannot be unregistered and registered again). `Ok(None)` when nothing changed.
    pub async fn register_core(&self, id: &str) -> Result<Option<PluginView>, RegistryError> {
        let id = PluginId::parse(id).map_err(RegistryError::InvalidId)?;
        let _in_flight = self.shared.begin(id.as_str())?;
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
        let plugin = self.calls.identify(id.as_str()).await?;
        if plugin.id != *id {
            return Err(RegistryError::IdMismatch {
                requested: id.to_string(),
                reported: plugin.id.to_string(),
            });
        }
        let stored = self.store.record(id.as_str()).await?;
        if stored.as_ref().is_some_and(|r| r.identify == plugin.doc) {
            return Ok(None);
        }
        let record = PluginRecord {
            id: id.to_string(),
            identify: plugin.doc.clone(),
            registered_at_ms: stored.as_ref().map(|r| r.registered_at_ms).unwrap_or_else(unix_ms),
            core: true,
        };
        let record_value =
            serde_json::to_value(&record).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let table = self
            .store
            .commit(|t| {
                let entry =
                    t.plugins.get_mut(id.as_str()).ok_or_else(|| RegistryError::NotFound(id.to_string()))?;
                table::refresh_entry(entry, &plugin);
                Ok(vec![TransactionOp::Upsert(SaveItem::new(record_key(id.as_str()), record_value.clone()))])
            })
            .await?;
        let Some(table) = table else { return Ok(None) };
        tracing::info!(plugin = %id, version = %plugin.version, table_version = table.version, "Core service record refreshed");
        self.calls.push_routes(&table).await;
        let entry =
            table.plugins.get(id.as_str()).ok_or_else(|| RegistryError::Internal("entry vanished".into()))?;
        Ok(Some(PluginView::build(id.as_str(), entry, Some(&record), None, &ImplementationIndex::of(&table))))
    }

    async fn run_steps(
        &self,
        id: &PluginId,
        secret: Option<Secret>,
        core: bool,
    ) -> Result<PluginView, RegistryError> {
        let _turn = self
            .shared
            .registrations
            .acquire()
            .await
            .map_err(|_| RegistryError::Internal("registrations are closed".into()))?;
        // 1. Who it is, and whether it may join.
        let plugin = self.calls.identify(id.as_str()).await?;
        if plugin.id != *id {
            return Err(RegistryError::IdMismatch {
                requested: id.to_string(),
                reported: plugin.id.to_string(),
            });
        }
        let (current, _) = self.store.table().await?;
        if current.plugins.contains_key(id.as_str()) {
            return Err(RegistryError::AlreadyRegistered(id.to_string()));
        }
        let platform = parse_version("platform version", KEEL_VERSION)
            .map_err(|e| RegistryError::Internal(e.to_string()))?;
        plugin
            .check_platform(&platform)
            .map_err(|source| RegistryError::PlatformTooOld { id: id.to_string(), source })?;

        // 2. The points it implements: every static check first, then each extended plugin's word.
        let plan = table::check_extensions(&current, &plugin)?;
        for ext in &plan {
            let req = AddonsIdentifyRequest {
                plugin: PluginRef { id: id.to_string(), version: plugin.version.to_string() },
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

        // 3. Its status, recorded as reported.
        let status = self.calls.status_at_registration(id.as_str()).await?;

        // 3b. Its client credentials in auth, before anything is written: a registration that
        // cannot give the plugin its credentials does not happen (undone below if the write fails).
        if let Some(s) = &secret {
            self.calls.put_client(id.as_str(), s).await?;
        }
        let had_secret = secret.is_some();

        // 4. The record and the route table, in one conditional write. The secret is not part of
        // it: auth holds it (hashed) from step 3b on, and hashing it a second time here only
        // doubled the cost of every registration.
        let record = PluginRecord {
            id: id.to_string(),
            identify: plugin.doc.clone(),
            registered_at_ms: unix_ms(),
            core,
        };
        let record_value =
            serde_json::to_value(&record).map_err(|e| RegistryError::Internal(e.to_string()))?;
        let committed = self
            .store
            .commit(|t| {
                if t.plugins.contains_key(id.as_str()) {
                    return Err(RegistryError::AlreadyRegistered(id.to_string()));
                }
                let plan = table::check_extensions(t, &plugin)?;
                table::add_plugin(t, &plugin, status, &plan);
                Ok(vec![TransactionOp::Upsert(SaveItem::new(record_key(id.as_str()), record_value.clone()))])
            })
            .await
            .and_then(|t| t.ok_or_else(|| RegistryError::Internal("registration changed nothing".into())));
        let table = match committed {
            Ok(table) => table,
            Err(e) => {
                if had_secret {
                    self.calls.delete_client(id.as_str()).await;
                }
                return Err(e);
            }
        };
        tracing::info!(plugin = %id, version = %plugin.version, %status, core, table_version = table.version, "Plugin registered");

        // 5. Keel routes to it from now on.
        self.calls.push_routes(&table).await;

        let entry =
            table.plugins.get(id.as_str()).ok_or_else(|| RegistryError::Internal("entry vanished".into()))?;
        Ok(PluginView::build(id.as_str(), entry, Some(&record), None, &ImplementationIndex::of(&table)))
    }
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
}
