//! The router's configuration: [`RouterConfig`] from defaults, an optional file (`KEEL_CONFIG`) and
//! `KEEL_*` variables (`KEEL_UPSTREAM_TIMEOUT_MS=5000`), plus what Dapr hands every app in its
//! environment (`DAPR_HTTP_PORT`, `DAPR_API_TOKEN`, `APP_API_TOKEN`, `APP_PORT`).
//!
//! Unknown `KEEL_*` keys are ignored rather than refused: every service reads the same prefix
//! (and `KEEL_LOG`, `KEEL_CONFIG` belong to the shared set-up), so one service's key is another's
//! stranger. [`RouterConfig::validate`] checks every value before any port is bound.

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::gate::TokenVerifier;
use keel_sdk::access::AppGrants;
use keel_sdk::config::ConfigError;
use keel_sdk::dapr::SidecarConfig;

/// Everything `keel` reads from its configuration file or `KEEL_*` variables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RouterConfig {
    /// The app port (internal flow, keel's `/v1` API), `KEEL_LISTEN`. Unset: `127.0.0.1:$APP_PORT`,
    /// where keel's sidecar expects it.
    pub listen: Option<SocketAddr>,
    /// The admin port serving `GET /metrics` (Prometheus text) and `GET /readyz`,
    /// `KEEL_ADMIN_LISTEN`. Keep it off the public network.
    pub admin_listen: SocketAddr,
    /// Serve the external flow (`/apis/<plugin>/<endpoint>`), `KEEL_PUBLIC_ENABLED`. On by
    /// default, with every request verified against auth's published keys (only endpoints a
    /// plugin declares public pass without a token).
    pub public_enabled: bool,
    /// The only token issuer accepted on the public port, `KEEL_ISSUER` (auth reads the same
    /// key, so one setting keeps both in step).
    pub issuer: String,
    /// The only token audience accepted on the public port, `KEEL_AUDIENCE` (shared with auth).
    pub audience: String,
    /// The public port's address, `KEEL_PUBLIC_LISTEN`.
    pub public_listen: SocketAddr,
    /// HTTP worker threads per port, `KEEL_WORKERS`; 0 means one per CPU.
    pub workers: usize,
    /// Milliseconds a plugin gets to start answering (request upload included) before keel
    /// answers 504, `KEEL_UPSTREAM_TIMEOUT_MS`. A plugin's `timeout_ms` in the route table wins.
    pub upstream_timeout_ms: u64,
    /// Largest request body keel forwards, in bytes, `KEEL_MAX_BODY_BYTES`; larger ones get 413.
    /// Bodies are streamed, so this bounds what plugins receive, not keel's memory.
    pub max_body_bytes: u64,
    /// Milliseconds between re-reads of the route table from the store, in case a push from the
    /// registry was missed, `KEEL_ROUTES_REFRESH_MS`.
    pub routes_refresh_ms: u64,
    /// Milliseconds between reads of the table's version key (`keel-routes-version`), so that a
    /// change pushed to another keel replica is in effect here within this long,
    /// `KEEL_ROUTES_WATCH_MS`.
    pub routes_watch_ms: u64,
    /// Milliseconds between attempts to load the route table at boot while the store or the
    /// table is not there yet, `KEEL_ROUTES_RETRY_MS`.
    pub routes_retry_ms: u64,
    /// Seconds announced in `Retry-After` when a plugin is not ACTIVE or keel is starting,
    /// `KEEL_RETRY_AFTER_S` (the registry's status poll interval is a good value).
    pub retry_after_s: u64,
    /// Seconds in-flight requests get to finish on shutdown, `KEEL_SHUTDOWN_TIMEOUT_S`.
    pub shutdown_timeout_s: u64,
    /// Passive health ([`crate::outlier`]): connection failures in a row on live traffic that
    /// eject a plugin (503 at once, the registry told), `KEEL_OUTLIER_FAILURES`; 0 turns it off.
    pub outlier_failures: u32,
    /// The first ejection's length in milliseconds; each further one in a row is longer by as
    /// much, `KEEL_OUTLIER_EJECTION_MS`.
    pub outlier_ejection_ms: u64,
    /// The longest ejection, in milliseconds, `KEEL_OUTLIER_MAX_EJECTION_MS`.
    pub outlier_max_ejection_ms: u64,
    /// Load shedding ([`crate::shedding`]): requests forwarded at once, overall,
    /// `KEEL_MAX_IN_FLIGHT`.
    pub max_in_flight: u64,
    /// Requests forwarded at once to one plugin, `KEEL_MAX_IN_FLIGHT_PER_PLUGIN`.
    pub max_in_flight_per_plugin: u64,
    /// Milliseconds a request waits for a turn before 503 `ERR_OVERLOADED`,
    /// `KEEL_QUEUE_TIMEOUT_MS`.
    pub queue_timeout_ms: u64,
    /// Cookies that carry credentials, comma-separated names, `KEEL_CREDENTIAL_COOKIES`: removed
    /// (with `Authorization`) from external requests before a plugin or the pre-route hook sees
    /// them ([`crate::credentials`]).
    pub credential_cookies: String,
    /// What internal callers may do on keel's control API (`/v1/routes`), by app-id: the core
    /// services' own grants by default (`plugins`: `push-routes`, `read-routes`; `auth`:
    /// `read-routes`). A configuration file's `[grants]` table adds apps or replaces an app's
    /// list (`greeter = ["read-routes"]`).
    pub grants: AppGrants,
    /// Proxies in front of the public port whose `Forwarded`/`X-Forwarded-For` keel believes,
    /// comma-separated addresses or CIDR networks, `KEEL_TRUSTED_PROXIES`; none by default, so
    /// the TCP peer is the client ([`crate::client_addr`]).
    pub trusted_proxies: String,
    /// Longest request target (path and query) in bytes, `KEEL_MAX_TARGET_BYTES`: 414 with keel's
    /// envelope above. Below actix-http's own 128 KiB head limit.
    pub max_target_bytes: usize,
    /// Most header lines in a request, `KEEL_MAX_HEADERS`: 431 above. At most 96 (actix-http's
    /// own limit, past which it answers a bare 431 keel cannot dress).
    pub max_headers: usize,
    /// Largest sum of header names and values in bytes, `KEEL_MAX_HEADER_BYTES`: 431 above.
    /// Below actix-http's own 128 KiB head limit.
    pub max_header_bytes: usize,
}

impl Default for RouterConfig {
    fn default() -> Self {
        Self {
            listen: None,
            admin_listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
            public_enabled: true,
            issuer: keel_sdk::tokens::DEFAULT_ISSUER.to_owned(),
            audience: keel_sdk::tokens::DEFAULT_AUDIENCE.to_owned(),
            public_listen: SocketAddr::from(([0, 0, 0, 0], 8000)),
            workers: 0,
            upstream_timeout_ms: 30_000,
            max_body_bytes: 100 * 1024 * 1024,
            routes_refresh_ms: 5_000,
            routes_watch_ms: 500,
            routes_retry_ms: 1_000,
            retry_after_s: 5,
            shutdown_timeout_s: 10,
            outlier_failures: 3,
            outlier_ejection_ms: 5_000,
            outlier_max_ejection_ms: 30_000,
            max_in_flight: 10_000,
            max_in_flight_per_plugin: 1_000,
            // Short: a request that waited for a turn longer would be served late anyway, and one
            // refused must be refused fast (issue 19: within 10 ms; the benchmark's overload
            // section measured refusals at 5.2 ms p99 with 1 ms, 7.6 ms with 5). Envoy does not
            // wait at all.
            queue_timeout_ms: 1,
            credential_cookies: crate::credentials::DEFAULT_COOKIES.to_owned(),
            grants: AppGrants::core_defaults(),
            trusted_proxies: String::new(),
            max_target_bytes: 8 * 1024,
            max_headers: 64,
            max_header_bytes: 32 * 1024,
        }
    }
}

/// What [`super::start`] needs: the router's settings, its sidecar, the app token, and the
/// public port's token verifier.
#[derive(Clone)]
pub struct Config {
    /// The router's settings.
    pub router: RouterConfig,
    /// Keel's own sidecar; every forwarded request and every store read goes there.
    pub sidecar: SidecarConfig,
    /// `APP_API_TOKEN`: when set, requests to the app port must carry it in `dapr-api-token`.
    pub app_token: Option<String>,
    /// Verifies bearer tokens on the public port; `None` refuses every public request.
    pub verifier: Option<Arc<dyn TokenVerifier>>,
}

// === impl RouterConfig ===

impl RouterConfig {
    /// Checks every value; the message names the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let positive = [
            ("upstream_timeout_ms", self.upstream_timeout_ms),
            ("max_body_bytes", self.max_body_bytes),
            ("routes_refresh_ms", self.routes_refresh_ms),
            ("routes_watch_ms", self.routes_watch_ms),
            ("routes_retry_ms", self.routes_retry_ms),
            ("outlier_ejection_ms", self.outlier_ejection_ms),
            ("outlier_max_ejection_ms", self.outlier_max_ejection_ms),
            ("max_in_flight", self.max_in_flight),
            ("max_in_flight_per_plugin", self.max_in_flight_per_plugin),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(invalid(format!("{key} must be greater than 0")));
            }
        }
        crate::client_addr::TrustedProxies::parse(&self.trusted_proxies).map_err(invalid)?;
        use crate::limits::{ACTIX_MAX_HEADERS, ACTIX_MAX_HEAD_BYTES};
        let head = [
            ("max_target_bytes", self.max_target_bytes, ACTIX_MAX_HEAD_BYTES / 2),
            ("max_headers", self.max_headers, ACTIX_MAX_HEADERS),
            ("max_header_bytes", self.max_header_bytes, ACTIX_MAX_HEAD_BYTES / 2),
        ];
        for (key, value, max) in head {
            if value == 0 || value > max {
                return Err(invalid(format!(
                    "{key} must be between 1 and {max} (the HTTP server's own limit)"
                )));
            }
        }
        if self.public_enabled && (self.issuer.is_empty() || self.audience.is_empty()) {
            return Err(invalid("issuer and audience must not be empty while the public port is on".into()));
        }
        // Port 0 (any free port) never collides.
        if self.public_enabled && self.public_listen.port() != 0 && Some(self.public_listen) == self.listen {
            return Err(invalid(
                "public_listen must differ from listen: the app port trusts its sidecar".into(),
            ));
        }
        Ok(())
    }

    /// The app port's address.
    pub fn app_addr(&self) -> SocketAddr {
        self.listen.unwrap_or_else(keel_sdk::config::app_listen_addr)
    }

    /// Workers per port.
    pub fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(2, |n| n.get())
        } else {
            self.workers
        }
    }

    /// [`Self::upstream_timeout_ms`] as a duration.
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    /// [`Self::retry_after_s`] as a duration.
    pub fn retry_after(&self) -> Duration {
        Duration::from_secs(self.retry_after_s)
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(Box::new(config::ConfigError::Message(message)))
}

// === impl Config ===

impl Config {
    /// Loads the router's settings (defaults, `KEEL_CONFIG` file, `KEEL_*`) and Dapr's variables,
    /// and validates them.
    pub fn from_env() -> Result<Self, ConfigError> {
        let router: RouterConfig = keel_sdk::config::load(None)?;
        router.validate()?;
        // The public port verifies tokens itself, from auth's published keys.
        let verifier: Option<Arc<dyn TokenVerifier>> = router.public_enabled.then(|| {
            let cfg = keel_sdk::tokens::VerifierConfig {
                issuer: router.issuer.clone(),
                audience: router.audience.clone(),
                ..Default::default()
            };
            Arc::new(keel_sdk::tokens::Verifier::new(cfg)) as Arc<dyn TokenVerifier>
        });
        Ok(Self {
            router,
            sidecar: SidecarConfig::from_env(),
            app_token: std::env::var("APP_API_TOKEN").ok().filter(|t| !t.is_empty()),
            verifier,
        })
    }

    /// A configuration for tests and embedding: defaults, every port on loopback port 0, the
    /// public port off, no tokens.
    pub fn local(sidecar: SidecarConfig) -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        let router = RouterConfig {
            listen: Some(any),
            admin_listen: any,
            public_listen: any,
            public_enabled: false,
            workers: 1,
            ..Default::default()
        };
        Self { router, sidecar, app_token: None, verifier: None }
    }
}

impl fmt::Debug for Config {
    // The tokens are secrets: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("router", &self.router)
            .field("sidecar", &self.sidecar)
            .field("app_token", &self.app_token.as_ref().map(|_| "<redacted>"))
            .field("verifier", &self.verifier.as_ref().map(|_| "<configured>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn load(pairs: &[(&str, &str)]) -> Result<RouterConfig, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let cfg: RouterConfig =
            keel_sdk::config::load_from(None, config::Environment::with_prefix("KEEL").source(Some(map)))?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn defaults_open_the_public_port_with_auths_issuer_and_audience() {
        let cfg = load(&[]).unwrap();
        assert_eq!(cfg, RouterConfig::default());
        assert!(cfg.public_enabled);
        assert_eq!(cfg.issuer, keel_sdk::tokens::DEFAULT_ISSUER);
        assert_eq!(cfg.audience, keel_sdk::tokens::DEFAULT_AUDIENCE);
        let err = load(&[("KEEL_AUDIENCE", "")]).unwrap_err();
        assert!(err.to_string().contains("audience"), "{err}");
    }

    #[test]
    fn environment_overrides_and_other_services_keys_are_ignored() {
        let cfg = load(&[
            ("KEEL_UPSTREAM_TIMEOUT_MS", "750"),
            ("KEEL_PUBLIC_ENABLED", "true"),
            ("KEEL_PUBLIC_LISTEN", "127.0.0.1:18000"),
            ("KEEL_LISTEN", "127.0.0.1:3100"),
            ("KEEL_LOG", "debug"),
            ("KEEL_POLL_INTERVAL_MS", "100"),
        ])
        .unwrap();
        assert_eq!(cfg.upstream_timeout(), Duration::from_millis(750));
        assert!(cfg.public_enabled);
        assert_eq!(cfg.public_listen, "127.0.0.1:18000".parse().unwrap());
        assert_eq!(cfg.app_addr(), "127.0.0.1:3100".parse().unwrap());
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load(&[("KEEL_MAX_BODY_BYTES", "0")]).unwrap_err();
        assert!(err.to_string().contains("max_body_bytes"), "{err}");
        let err = load(&[("KEEL_ADMIN_LISTEN", "nowhere")]).unwrap_err();
        assert!(err.to_string().contains("admin_listen"), "{err}");
        let err = load(&[("KEEL_TRUSTED_PROXIES", "10.0.0.1, proxy.local")]).unwrap_err();
        assert!(
            err.to_string().contains("trusted_proxies") && err.to_string().contains("proxy.local"),
            "{err}"
        );
        assert!(load(&[("KEEL_TRUSTED_PROXIES", "10.0.0.0/8,::1")]).is_ok());
    }

    #[test]
    fn tokens_are_never_printed() {
        let mut cfg = Config::local(SidecarConfig::default());
        cfg.app_token = Some("s3cret".into());
        assert!(!format!("{cfg:?}").contains("s3cret"));
    }
}
