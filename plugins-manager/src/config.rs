//! The registry's configuration: one typed struct, loaded by `keel_sdk::config::load` (defaults, then
//! the file named by `KEEL_CONFIG`, then `KEEL_*` variables such as `KEEL_POLL_INTERVAL_MS=2000`).
//!
//! Unknown keys are not rejected: the `KEEL_` prefix is shared with settings read elsewhere
//! (`KEEL_LOG`, `KEEL_LOG_FORMAT`, `KEEL_CONFIG`), so `deny_unknown_fields` would refuse to start
//! under a perfectly normal environment. [`Config::validate`] checks the values instead.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use keel_sdk::access::{AppGrants, Grant, Policy};
use serde::{Deserialize, Serialize};

/// Everything the registry can be told. Every duration carries its unit in its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the API and the protocol endpoints listen on. Default: 127.0.0.1 and `APP_PORT`
    /// (what `dapr run` and the stand-in set), or any free port when unset.
    pub listen: SocketAddr,
    /// Number of HTTP worker threads. The registry's traffic is light; 2 keeps memory low.
    pub workers: usize,
    /// Dapr state store holding plugin records, the route table, poll health and the lease.
    pub store: String,
    /// Time limit for `GET /v1/identify` and the first `GET /v1/status` on a plugin being
    /// registered.
    pub identify_timeout_ms: u64,
    /// Time limit for `POST /v1/addons/identify` on an extended plugin.
    pub addons_identify_timeout_ms: u64,
    /// Time limit for one `GET /v1/status` (at registration and when polling).
    pub poll_timeout_ms: u64,
    /// Time between the starts of two polling rounds.
    pub poll_interval_ms: u64,
    /// Consecutive polls without a valid answer after which a plugin is marked `UNREACHABLE`.
    pub unreachable_after: u32,
    /// How many plugins are polled at the same time.
    pub poll_concurrency: usize,
    /// Polling lease: a replica that stops (even killed) is replaced by another within this time.
    /// The holder renews it every fifth of it, so it must be well above the store's latency.
    pub lease_ms: u64,
    /// Time limit for one call to the state store.
    pub store_timeout_ms: u64,
    /// Time limit for pushing the route table to keel (`PUT /v1/routes`); a failed push is only
    /// logged, keel re-reads the store on its own timer.
    pub push_timeout_ms: u64,
    /// Time limit for storing or removing a plugin's client credentials in auth
    /// (`PUT`/`DELETE /v1/clients/<id>`); auth hashes the secret, which takes a while under load.
    pub auth_timeout_ms: u64,
    /// Time limit for a plugin's `POST /v1/tenant/enable` or `/v1/tenant/disable`.
    pub tenant_hook_timeout_ms: u64,
    /// Time between two rounds of the reconciler, which finishes the cross-service changes a
    /// crash left half done (`crate::reconcile`; the first round runs at boot).
    pub reconcile_interval_ms: u64,
    /// Age after which another replica (or this one after a restart) may finish a registration's
    /// or unregistration's intent: well above the longest a live change takes from its intent to
    /// its commit (one `auth_timeout_ms` and a few store calls). A change cut short by it fails
    /// cleanly (nothing registered), so this bounds how long leftover credentials live, not
    /// correctness.
    pub reconcile_grace_ms: u64,
    /// For crash tests only, never in production: the name of a point in a registration or an
    /// unregistration (`before-credentials`, `before-commit`, `after-commit`,
    /// `after-unregister-commit`) where the change stops and waits forever, as if the process had
    /// died there, until the test kills it. Empty (the default): off.
    pub test_crash_point: String,
    /// Register the core services (`keel`, `auth`, `plugins`) at boot, retrying until they answer.
    pub register_core: bool,
    /// With `register_core`, register `hosting` too (it is a core service, but a deployment may
    /// run without it: then the registry keeps trying quietly, at debug level after one line).
    pub register_hosting: bool,
    /// Longest pause between two attempts to register a core service: the pause starts at
    /// 200 ms and doubles up to this, then each pause gets up to as much again of random jitter
    /// (`keel_sdk::service::retry::until_up`).
    pub core_retry_max_ms: u64,
    /// Registrations worked on at once; more wait their turn. Each holds a copy of the route table
    /// while it runs, so this bounds the registry's memory under a burst (and a burst goes no
    /// faster with more: the commits queue anyway).
    pub max_concurrent_registrations: usize,
    /// Page size of `GET /v1/plugins` when the request gives no `limit`.
    pub page_size: usize,
    /// Largest `limit` a listing may ask for.
    pub max_page_size: usize,
    /// Shortest secret accepted at registration (characters).
    pub secret_min_len: usize,
    /// Push registration and its own listener (`docs/push.md`; `KEEL_PUSH__<KEY>`).
    pub push: crate::push::PushConfig,
    /// What internal callers may do beyond the core services' own needs, by app-id: grant names
    /// comma-separated (`register-plugins`, `enable-plugins`), e.g. `grants.ops =
    /// "register-plugins"` in the file or `KEEL_GRANTS__OPS=register-plugins`. Being a core
    /// app-id grants nothing by itself (`keel_sdk::access`).
    pub grants: BTreeMap<String, String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: keel_sdk::config::app_listen_addr(),
            workers: 2,
            store: keel_sdk::protocol::STATE_STORE.to_owned(),
            identify_timeout_ms: 5_000,
            addons_identify_timeout_ms: 5_000,
            poll_timeout_ms: 2_000,
            poll_interval_ms: 5_000,
            unreachable_after: 3,
            poll_concurrency: 64,
            lease_ms: 15_000,
            store_timeout_ms: 5_000,
            push_timeout_ms: 2_000,
            auth_timeout_ms: 15_000,
            tenant_hook_timeout_ms: 5_000,
            reconcile_interval_ms: 10_000,
            reconcile_grace_ms: 60_000,
            test_crash_point: String::new(),
            register_core: true,
            register_hosting: true,
            core_retry_max_ms: 5_000,
            max_concurrent_registrations: 8,
            page_size: 100,
            max_page_size: 1_000,
            secret_min_len: 8,
            push: crate::push::PushConfig::default(),
            grants: BTreeMap::new(),
        }
    }
}

/// A configuration value out of range; names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key}: {reason}")]
pub struct InvalidConfig {
    /// The key (as in the file; `KEEL_<KEY>` in the environment).
    pub key: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl Config {
    /// Loads the configuration from its sources (see the module doc).
    pub fn load() -> Result<Self, Box<keel_sdk::config::ConfigError>> {
        keel_sdk::config::load(None).map_err(Box::new)
    }

    /// Checks the values that would make the service misbehave, before any port is bound.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let positive: [(&'static str, u64); 13] = [
            ("reconcile_interval_ms", self.reconcile_interval_ms),
            ("reconcile_grace_ms", self.reconcile_grace_ms),
            ("tenant_hook_timeout_ms", self.tenant_hook_timeout_ms),
            ("workers", self.workers as u64),
            ("identify_timeout_ms", self.identify_timeout_ms),
            ("addons_identify_timeout_ms", self.addons_identify_timeout_ms),
            ("poll_timeout_ms", self.poll_timeout_ms),
            ("auth_timeout_ms", self.auth_timeout_ms),
            ("poll_interval_ms", self.poll_interval_ms),
            ("unreachable_after", self.unreachable_after as u64),
            ("poll_concurrency", self.poll_concurrency as u64),
            ("page_size", self.page_size as u64),
            ("max_concurrent_registrations", self.max_concurrent_registrations as u64),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(InvalidConfig { key, reason: "must be greater than 0".into() });
            }
        }
        if !self.test_crash_point.is_empty()
            && !crate::crash_point::NAMES.contains(&self.test_crash_point.as_str())
        {
            return Err(InvalidConfig {
                key: "test_crash_point",
                reason: format!("unknown point (one of {})", crate::crash_point::NAMES.join(", ")),
            });
        }
        if self.store.trim().is_empty() {
            return Err(InvalidConfig { key: "store", reason: "must name a Dapr state store".into() });
        }
        if self.lease_ms < 500 {
            return Err(InvalidConfig { key: "lease_ms", reason: "must be at least 500".into() });
        }
        if self.push.enabled {
            self.push.validate().map_err(|reason| InvalidConfig { key: "push", reason })?;
        }
        if self.max_page_size < self.page_size {
            return Err(InvalidConfig { key: "max_page_size", reason: "must be at least page_size".into() });
        }
        self.policy()?;
        Ok(())
    }

    /// The authorization policy: the core services' own grants plus [`Config::grants`].
    pub fn policy(&self) -> Result<Policy, InvalidConfig> {
        let mut grants = AppGrants::core_defaults();
        for (app, names) in &self.grants {
            let parsed = names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| {
                    serde_json::from_value::<Grant>(serde_json::Value::String(n.to_owned())).map_err(|_| {
                        InvalidConfig {
                            key: "grants",
                            reason: format!(
                                "{app}: unknown grant {n:?} (e.g. register-plugins, enable-plugins)"
                            ),
                        }
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            grants.add(app, parsed);
        }
        Ok(Policy { grants, ..Policy::default() })
    }

    /// `identify_timeout_ms` as a duration.
    pub fn identify_timeout(&self) -> Duration {
        Duration::from_millis(self.identify_timeout_ms)
    }

    /// `addons_identify_timeout_ms` as a duration.
    pub fn addons_identify_timeout(&self) -> Duration {
        Duration::from_millis(self.addons_identify_timeout_ms)
    }

    /// `poll_timeout_ms` as a duration.
    pub fn poll_timeout(&self) -> Duration {
        Duration::from_millis(self.poll_timeout_ms)
    }

    /// `poll_interval_ms` as a duration.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_interval_ms)
    }

    /// `store_timeout_ms` as a duration.
    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }

    /// `auth_timeout_ms` as a duration.
    pub fn auth_timeout(&self) -> Duration {
        Duration::from_millis(self.auth_timeout_ms)
    }

    /// `tenant_hook_timeout_ms` as a duration.
    pub fn tenant_hook_timeout(&self) -> Duration {
        Duration::from_millis(self.tenant_hook_timeout_ms)
    }

    /// `reconcile_interval_ms` as a duration.
    pub fn reconcile_interval(&self) -> Duration {
        Duration::from_millis(self.reconcile_interval_ms)
    }

    /// `push_timeout_ms` as a duration.
    pub fn push_timeout(&self) -> Duration {
        Duration::from_millis(self.push_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_issue() {
        let c = Config::default();
        c.validate().unwrap();
        assert_eq!(c.poll_interval(), Duration::from_secs(5));
        assert_eq!(c.unreachable_after, 3);
        assert_eq!(c.store, "statestore");
    }

    #[test]
    fn zero_values_are_refused_with_their_key() {
        let c = Config { poll_interval_ms: 0, ..Config::default() };
        assert_eq!(c.validate().unwrap_err().key, "poll_interval_ms");
        let c = Config { lease_ms: 10, ..Config::default() };
        assert!(c.validate().unwrap_err().to_string().contains("lease_ms"));
    }

    #[test]
    fn environment_overrides_defaults() {
        let env: std::collections::HashMap<String, String> =
            [("KEEL_POLL_INTERVAL_MS", "250"), ("KEEL_LOG", "debug"), ("KEEL_LISTEN", "127.0.0.1:4000")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let c: Config =
            keel_sdk::config::load_from(None, config_env(env)).expect("unknown KEEL_LOG must not be refused");
        assert_eq!(c.poll_interval_ms, 250);
        assert_eq!(c.listen, "127.0.0.1:4000".parse().unwrap());
    }

    #[test]
    fn grants_are_read_by_name_and_refused_when_unknown() {
        let env: std::collections::HashMap<String, String> =
            [("KEEL_GRANTS__OPS", "register-plugins, enable-plugins")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        let c: Config = keel_sdk::config::load_from(None, config_env(env)).unwrap();
        let policy = c.policy().unwrap();
        assert!(policy.grants.has("ops", Grant::RegisterPlugins));
        assert!(policy.grants.has("ops", Grant::EnablePlugins));
        assert!(!policy.grants.has("keel", Grant::RegisterPlugins));
        let c = Config { grants: [("ops".into(), "root".into())].into(), ..Config::default() };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("grants") && err.contains("\"root\""), "{err}");
    }

    #[test]
    fn push_denied_ports_are_read_from_the_environment_one_or_many() {
        for (value, denied, allowed) in [("8000", 8000, 3500), ("8000,3500-3599", 3555, 3600)] {
            let env = [("KEEL_PUSH__DENIED_PORTS".to_owned(), value.to_owned())].into();
            let c: Config = keel_sdk::config::load_from(None, config_env(env)).unwrap();
            assert!(c.push.denies_port(denied) && !c.push.denies_port(allowed), "{value}");
        }
        let env = [("KEEL_PUSH__DENIED_PORTS".to_owned(), "80x".to_owned())].into();
        let err = keel_sdk::config::load_from::<Config>(None, config_env(env)).unwrap_err().to_string();
        assert!(err.contains("80x"), "{err}");
    }

    fn config_env(map: std::collections::HashMap<String, String>) -> ::config::Environment {
        ::config::Environment::with_prefix("KEEL").source(Some(map))
    }
}
