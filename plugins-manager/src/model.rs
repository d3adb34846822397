//! What the registry stores besides the route table, and how its API's answers are built from
//! it. The answers' types themselves are the shared wire records of
//! [`keel_sdk::management::registry`]; [`plugin_view`] joins what is stored into one.
//!
//! Stored (all in the configured state store):
//! - [`PluginRecord`] under `keel-plugin-<id>`: the identify document, when and how it was
//!   registered, which registration's credentials auth holds for it. Created and deleted only together with the route table.
//! - the route table (`keel_sdk::protocol::RouteTable`, key `keel-routes`): status, version, points and
//!   their implementers; the single document every change goes through.
//! - [`crate::intents::Intent`] under `keel-intent-<id>` and their index `keel-intents`: changes
//!   under way that touch auth too (a registration with a secret, an unregistration).
//! - [`HealthDoc`] under `keel-plugins-health`: the last poll of each plugin, written by the
//!   replica holding the polling lease once per round, so failure counts survive a handover.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use keel_sdk::management::registry::{Implementation, OfferedPoint, PluginKind, PluginView};
use keel_sdk::protocol::{Identify, RouteEntry, RouteTable};
use serde::{Deserialize, Serialize};

/// Key prefix of plugin records.
pub const RECORD_PREFIX: &str = "keel-plugin-";
/// Key of the poll health document.
pub const HEALTH_KEY: &str = "keel-plugins-health";
/// Key of the polling lease.
pub const LEASE_KEY: &str = "keel-plugins-poll-lease";

/// The state key of plugin `id`'s record.
pub fn record_key(id: &str) -> String {
    format!("{RECORD_PREFIX}{id}")
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `ms` (since the epoch) as RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T23:07:28.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days, for days since 1970-01-01.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60
    )
}

/// One registered plugin, as stored. Its secret is not here: auth keeps it, hashed, as the
/// plugin's client credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginRecord {
    /// The plugin's id.
    pub id: String,
    /// Its identify document as validated at registration.
    pub identify: Identify,
    /// When it was registered (ms since the epoch).
    pub registered_at_ms: u64,
    /// True for the platform's own services, registered by the registry itself.
    #[serde(default)]
    pub core: bool,
    /// The registration attempt whose client credentials auth holds for it (the tag auth keeps
    /// with them), when it was registered with a secret (`crate::intents`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
}

/// The outcome of the last polls of one plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// When it was last polled (ms since the epoch).
    pub last_checked_ms: u64,
    /// Why the last poll failed; absent after a good answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Polls in a row without a valid answer.
    #[serde(default)]
    pub failures: u32,
}

/// Poll health of every plugin, by id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthDoc {
    /// By plugin id.
    #[serde(default)]
    pub plugins: BTreeMap<String, Health>,
}

/// Who implements what, indexed by implementer: built once per request from the route table.
#[derive(Debug, Default)]
pub struct ImplementationIndex(BTreeMap<String, Vec<Implementation>>);

impl ImplementationIndex {
    /// Indexes every implemented point of `table`.
    pub fn of(table: &RouteTable) -> Self {
        let mut index: BTreeMap<String, Vec<Implementation>> = BTreeMap::new();
        for (main, entry) in &table.plugins {
            for (point, target) in &entry.addons {
                if let Some(t) = target {
                    index.entry(t.plugin.clone()).or_default().push(Implementation {
                        plugin: main.clone(),
                        point: point.clone(),
                        endpoint: t.endpoint.clone(),
                    });
                }
            }
        }
        Self(index)
    }

    /// What `id` implements.
    pub fn of_plugin(&self, id: &str) -> Vec<Implementation> {
        self.0.get(id).cloned().unwrap_or_default()
    }
}

/// The API's view of plugin `id`, from its route entry, its record (when readable) and its health.
pub fn plugin_view(
    id: &str,
    entry: &RouteEntry,
    record: Option<&PluginRecord>,
    health: Option<&Health>,
    index: &ImplementationIndex,
) -> PluginView {
    let desc = |point: &str| {
        record
            .and_then(|r| r.identify.addons.iter().find(|a| a.endpoint == point))
            .map(|a| a.desc.clone())
            .unwrap_or_default()
    };
    let registered_at_ms = record.map(|r| r.registered_at_ms).unwrap_or(0);
    // Registration itself checks the status, so until the first poll that is the last check.
    let last_checked_ms = health.map(|h| h.last_checked_ms).unwrap_or(registered_at_ms);
    PluginView {
        id: id.to_owned(),
        version: entry.version.clone(),
        keel_version: record.map(|r| r.identify.keel_version.clone()).filter(|v| !v.is_empty()),
        status: entry.status,
        core: record.is_some_and(|r| r.core),
        registered_at_ms,
        registered_at: rfc3339(registered_at_ms),
        last_checked_ms,
        last_checked_at: rfc3339(last_checked_ms),
        last_error: health.and_then(|h| h.last_error.clone()),
        consecutive_failures: health.map(|h| h.failures).unwrap_or(0),
        addons: entry
            .addons
            .iter()
            .map(|(point, target)| OfferedPoint {
                point: point.clone(),
                desc: desc(point),
                implemented_by: target.clone(),
            })
            .collect(),
        implements: index.of_plugin(id),
        public_endpoints: entry.public_endpoints.clone(),
        timeout_ms: entry.timeout_ms,
        kind: PluginKind::Plugin,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_sdk::protocol::{AddonPoint, AddonTarget, PluginStatus};

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(rfc3339(1_795_129_648_000), "2026-11-19T23:07:28.000Z");
    }

    #[test]
    fn views_join_the_table_the_record_and_the_health() {
        let mut table = RouteTable::default();
        let mut greeter = RouteEntry {
            status: PluginStatus::Active,
            version: "1.0.0".into(),
            addons: BTreeMap::new(),
            public_endpoints: vec![],
            timeout_ms: None,
            tenants: None,
        };
        greeter.addons.insert(
            "decorate".into(),
            Some(AddonTarget { plugin: "emoji".into(), endpoint: "hooks/d".into() }),
        );
        table.plugins.insert("greeter".into(), greeter.clone());
        let record = PluginRecord {
            id: "greeter".into(),
            identify: Identify {
                plugin_id: "greeter".into(),
                version: "1.0.0".into(),
                addons: vec![AddonPoint { endpoint: "decorate".into(), desc: "changes it".into() }],
                ..Identify::default()
            },
            registered_at_ms: 7,
            core: false,
            credentials: None,
        };
        let index = ImplementationIndex::of(&table);
        let view = plugin_view("greeter", &greeter, Some(&record), None, &index);
        assert_eq!(view.addons[0].desc, "changes it");
        assert_eq!(view.addons[0].implemented_by.as_ref().unwrap().plugin, "emoji");
        assert_eq!(view.last_checked_ms, 7);
        assert_eq!(index.of_plugin("emoji")[0].plugin, "greeter");
        let json = serde_json::to_string(&view).unwrap();
        assert!(!json.contains("argon2") && !json.contains("secret"), "{json}");
    }

    /// The exact bytes of a record and a listing as the API answers them: the CLI and other
    /// clients read these, so a change of name, order or omission is a change of the API.
    #[test]
    fn answers_keep_their_bytes() {
        use keel_sdk::management::registry::Listing;
        use keel_sdk::protocol::Reply;

        let mut table = RouteTable::default();
        let mut greeter = RouteEntry {
            status: PluginStatus::Active,
            version: "1.0.0".into(),
            addons: BTreeMap::new(),
            public_endpoints: vec!["hello".into()],
            timeout_ms: Some(2500),
            tenants: None,
        };
        greeter.addons.insert("decorate".into(), None);
        let emoji = RouteEntry {
            status: PluginStatus::Unreachable,
            version: "0.3.0".into(),
            addons: BTreeMap::new(),
            public_endpoints: vec![],
            timeout_ms: None,
            tenants: None,
        };
        greeter.addons.insert(
            "wrap".into(),
            Some(AddonTarget { plugin: "emoji".into(), endpoint: "hooks/wrap".into() }),
        );
        table.plugins.insert("greeter".into(), greeter.clone());
        table.plugins.insert("emoji".into(), emoji.clone());
        let record = PluginRecord {
            id: "greeter".into(),
            identify: Identify {
                plugin_id: "greeter".into(),
                version: "1.0.0".into(),
                keel_version: "1.0".into(),
                addons: vec![AddonPoint { endpoint: "decorate".into(), desc: "changes it".into() }],
                ..Identify::default()
            },
            registered_at_ms: 1_795_129_648_000,
            core: false,
            credentials: None,
        };
        let index = ImplementationIndex::of(&table);
        let greeter = plugin_view("greeter", &greeter, Some(&record), None, &index);
        assert_eq!(
            serde_json::to_string(&Reply::ok(greeter.clone())).unwrap(),
            concat!(
                r#"{"ret":0,"msg":"ok","id":"greeter","version":"1.0.0","keel_version":"1.0","status":"ACTIVE","#,
                r#""core":false,"registered_at_ms":1795129648000,"registered_at":"2026-11-19T23:07:28.000Z","#,
                r#""last_checked_ms":1795129648000,"last_checked_at":"2026-11-19T23:07:28.000Z","#,
                r#""last_error":null,"consecutive_failures":0,"#,
                r#""addons":[{"point":"decorate","desc":"changes it","implemented_by":null},"#,
                r#"{"point":"wrap","desc":"","implemented_by":{"plugin":"emoji","endpoint":"hooks/wrap"}}],"#,
                r#""implements":[],"public_endpoints":["hello"],"timeout_ms":2500}"#
            )
        );
        let health =
            Health { last_checked_ms: 1_000, last_error: Some("connection refused".into()), failures: 4 };
        let emoji = plugin_view("emoji", &emoji, None, Some(&health), &index);
        let emoji_json = concat!(
            r#"{"id":"emoji","version":"0.3.0","status":"UNREACHABLE","core":false,"#,
            r#""registered_at_ms":0,"registered_at":"1970-01-01T00:00:00.000Z","#,
            r#""last_checked_ms":1000,"last_checked_at":"1970-01-01T00:00:01.000Z","#,
            r#""last_error":"connection refused","consecutive_failures":4,"addons":[],"#,
            r#""implements":[{"plugin":"greeter","point":"wrap","endpoint":"hooks/wrap"}],"public_endpoints":[]}"#
        );
        let page = Listing {
            total: 2,
            offset: 0,
            limit: 1,
            plugins: vec![emoji.clone()],
            next_after: Some("emoji".into()),
        };
        assert_eq!(
            serde_json::to_string(&Reply::ok(page)).unwrap(),
            format!(
                r#"{{"ret":0,"msg":"ok","total":2,"offset":0,"limit":1,"plugins":[{emoji_json}],"next_after":"emoji"}}"#
            )
        );
        let last = Listing { total: 2, offset: 1, limit: 1, plugins: vec![emoji], next_after: None };
        assert_eq!(
            serde_json::to_string(&Reply::ok(last)).unwrap(),
            format!(r#"{{"ret":0,"msg":"ok","total":2,"offset":1,"limit":1,"plugins":[{emoji_json}]}}"#)
        );
    }
}
