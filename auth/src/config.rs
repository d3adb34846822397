//! Auth's configuration: one typed struct, loaded by `keel_sdk::config::load` (defaults, then the
//! file named by `KEEL_CONFIG`, then `KEEL_*` variables such as `KEEL_ACCESS_TOKEN_TTL_SECONDS`).
//!
//! Unknown keys are not rejected: the `KEEL_` prefix is shared with settings read elsewhere
//! (`KEEL_LOG`, `KEEL_LOG_FORMAT`, `KEEL_CONFIG`), so `deny_unknown_fields` would refuse a normal
//! environment. [`Config::validate`] checks the values instead.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The environment variable holding the bootstrap super-admin's password. Read verbatim: the
/// `config` crate would turn a password such as `007` or `1e3` into a number first.
pub const ADMIN_PASSWORD_ENV: &str = "KEEL_ADMIN_PASSWORD";

/// Auth's private state store (components/auth-state.yaml).
pub const AUTH_STORE: &str = "auth-state";
/// Auth's secret store (components/secretstore.yaml).
pub const SECRET_STORE: &str = "auth-secrets";
/// The secret holding the sealing key.
pub const SEALING_SECRET: &str = "sealing-key";

/// Everything auth can be told. Every duration carries its unit in its name.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Address the API and the protocol endpoints listen on. Default: 127.0.0.1 and `APP_PORT`
    /// (what `dapr run` and the stand-in set), or any free port when unset.
    pub listen: SocketAddr,
    /// Number of HTTP worker threads (0: one per CPU).
    pub workers: usize,
    /// Auth's private Dapr state store (keys prefixed `auth/`): signing keys, users, clients,
    /// refresh tokens. Its component is scoped to auth, so no other sidecar reads it.
    pub store: String,
    /// The shared state store where auth publishes what keel reads: revocations and grants.
    pub shared_store: String,
    /// Dapr secret store holding the sealing key.
    pub secret_store: String,
    /// Name of the secret (and of its key) holding the sealing key: base64 of 32 bytes.
    pub sealing_secret: String,
    /// Time limit for one call to the state store.
    pub store_timeout_ms: u64,
    /// How long to wait for the sidecar at start.
    pub sidecar_wait_ms: u64,
    /// User name of the bootstrap super-admin (tenant `platform`), created on the first start.
    pub admin_username: String,
    /// Password of the bootstrap super-admin (`KEEL_ADMIN_PASSWORD`), used on the first start
    /// only. Unset: a password is generated and printed once to the log.
    pub admin_password: Option<String>,
    /// `iss` of every token, and the only issuer accepted.
    pub issuer: String,
    /// `aud` of every token, and the only audience accepted.
    pub audience: String,
    /// Lifetime of access tokens.
    pub access_token_ttl_seconds: u64,
    /// Lifetime of a login's refresh tokens (absolute: refreshing does not extend it).
    pub refresh_token_ttl_seconds: u64,
    /// Clock skew tolerated on `exp`/`nbf` when auth checks tokens itself (management API,
    /// introspection).
    pub clock_leeway_seconds: u64,
    /// How often keys and revocations are re-read from the store (changes by other replicas).
    pub reload_interval_ms: u64,
    /// Argon2id memory cost in KiB (the argon2 crate's default: 19456, OWASP's minimum).
    pub argon2_memory_kib: u32,
    /// Argon2id passes.
    pub argon2_iterations: u32,
    /// Argon2id lanes.
    pub argon2_parallelism: u32,
    /// Password hashes computed at the same time (0: one per CPU); each takes
    /// `argon2_memory_kib` of memory, so this bounds memory under a login storm.
    pub max_concurrent_hashes: usize,
    /// Shortest password accepted.
    pub min_password_length: usize,
    /// Failed logins of one user from one client address before each further one waits
    /// (`crate::throttle`).
    pub login_free_failures: u32,
    /// Failed logins from one client address, whichever users, before each further one waits.
    pub login_free_failures_per_address: u32,
    /// The first wait; each further failure doubles it.
    pub login_delay_base_ms: u64,
    /// The longest wait, and how long a failure is remembered.
    pub login_delay_max_seconds: u64,
    /// A console login ticket dies after this long without a check (`crate::tickets`).
    pub ticket_idle_seconds: u64,
    /// A console login ticket dies this long after the login, however much it is used.
    pub ticket_ttl_seconds: u64,
}

impl std::fmt::Debug for Config {
    // The admin password is a secret: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("store", &self.store)
            .field("shared_store", &self.shared_store)
            .field("secret_store", &self.secret_store)
            .field("admin_username", &self.admin_username)
            .field("admin_password", &self.admin_password.as_ref().map(|_| "<redacted>"))
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("access_token_ttl_seconds", &self.access_token_ttl_seconds)
            .field("refresh_token_ttl_seconds", &self.refresh_token_ttl_seconds)
            .field("ticket_idle_seconds", &self.ticket_idle_seconds)
            .field("ticket_ttl_seconds", &self.ticket_ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl Default for Config {
    fn default() -> Self {
        let argon = argon2::Params::default();
        Self {
            listen: keel_sdk::config::app_listen_addr(),
            workers: 0,
            store: AUTH_STORE.to_owned(),
            shared_store: keel_sdk::protocol::STATE_STORE.to_owned(),
            secret_store: SECRET_STORE.to_owned(),
            sealing_secret: SEALING_SECRET.to_owned(),
            store_timeout_ms: 5_000,
            sidecar_wait_ms: 60_000,
            admin_username: "admin".to_owned(),
            admin_password: None,
            issuer: keel_sdk::tokens::DEFAULT_ISSUER.to_owned(),
            audience: keel_sdk::tokens::DEFAULT_AUDIENCE.to_owned(),
            access_token_ttl_seconds: 3_600,
            refresh_token_ttl_seconds: 7 * 24 * 3_600,
            clock_leeway_seconds: 5,
            reload_interval_ms: 2_000,
            argon2_memory_kib: argon.m_cost(),
            argon2_iterations: argon.t_cost(),
            argon2_parallelism: argon.p_cost(),
            max_concurrent_hashes: 0,
            min_password_length: 8,
            login_free_failures: 5,
            login_free_failures_per_address: 20,
            login_delay_base_ms: 1_000,
            login_delay_max_seconds: 900,
            ticket_idle_seconds: 30 * 60,
            ticket_ttl_seconds: 12 * 3_600,
        }
    }
}

/// A configuration value that cannot work.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct InvalidConfig(String);

impl Config {
    /// Defaults, the `KEEL_CONFIG` file, `KEEL_*` variables; `KEEL_ADMIN_PASSWORD` verbatim.
    pub fn load() -> Result<Self, Box<keel_sdk::config::ConfigError>> {
        let mut cfg: Self = keel_sdk::config::load(None).map_err(Box::new)?;
        if let Some(pw) = std::env::var(ADMIN_PASSWORD_ENV).ok().filter(|p| !p.is_empty()) {
            cfg.admin_password = Some(pw);
        }
        Ok(cfg)
    }

    /// Checks the values before any port is bound.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let bad = |m: String| Err(InvalidConfig(m));
        if self.access_token_ttl_seconds == 0 || self.refresh_token_ttl_seconds == 0 {
            return bad("access_token_ttl_seconds and refresh_token_ttl_seconds must be above 0".into());
        }
        let names = [&self.issuer, &self.audience, &self.store, &self.shared_store, &self.secret_store];
        if names.iter().any(|n| n.is_empty()) || self.sealing_secret.is_empty() {
            return bad(
                "issuer, audience, store, shared_store, secret_store and sealing_secret must not be empty"
                    .into(),
            );
        }
        if self.reload_interval_ms == 0 || self.store_timeout_ms == 0 {
            return bad("reload_interval_ms and store_timeout_ms must be above 0".into());
        }
        if self.ticket_idle_seconds == 0 || self.ticket_ttl_seconds == 0 {
            return bad("ticket_idle_seconds and ticket_ttl_seconds must be above 0".into());
        }
        if self.login_delay_base_ms == 0 || self.login_delay_max_seconds == 0 {
            return bad("login_delay_base_ms and login_delay_max_seconds must be above 0".into());
        }
        if let Err(e) = self.argon2_params() {
            return bad(format!("argon2 parameters: {e}"));
        }
        if crate::model::check_username(&self.admin_username).is_err() {
            return bad(format!("admin_username {:?} is not a valid user name", self.admin_username));
        }
        if self.admin_password.as_ref().is_some_and(|p| p.chars().count() < self.min_password_length) {
            return bad(format!(
                "{ADMIN_PASSWORD_ENV} is shorter than min_password_length ({})",
                self.min_password_length
            ));
        }
        Ok(())
    }

    /// The Argon2id parameters.
    pub fn argon2_params(&self) -> Result<argon2::Params, argon2::Error> {
        argon2::Params::new(self.argon2_memory_kib, self.argon2_iterations, self.argon2_parallelism, None)
    }

    /// [`Self::store_timeout_ms`] as a duration.
    pub fn store_timeout(&self) -> Duration {
        Duration::from_millis(self.store_timeout_ms)
    }

    /// The verifier configuration auth checks tokens with (its own issuer, audience, leeway).
    pub fn verifier(&self) -> keel_sdk::tokens::VerifierConfig {
        keel_sdk::tokens::VerifierConfig {
            issuer: self.issuer.clone(),
            audience: self.audience.clone(),
            leeway: Duration::from_secs(self.clock_leeway_seconds),
            state_store: self.shared_store.clone(),
            ..keel_sdk::tokens::VerifierConfig::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_the_issue() {
        let cfg = Config::default();
        cfg.validate().unwrap();
        assert_eq!((cfg.access_token_ttl_seconds, cfg.refresh_token_ttl_seconds), (3_600, 604_800));
        assert_eq!(cfg.argon2_params().unwrap(), argon2::Params::default());
    }

    #[test]
    fn impossible_values_are_refused_before_start() {
        let bad = [
            Config { access_token_ttl_seconds: 0, ..Config::default() },
            Config { ticket_idle_seconds: 0, ..Config::default() },
            Config { issuer: String::new(), ..Config::default() },
            Config { argon2_memory_kib: 1, ..Config::default() },
            Config { admin_username: "no spaces".into(), ..Config::default() },
            Config { admin_password: Some("short".into()), ..Config::default() },
        ];
        for cfg in bad {
            assert!(cfg.validate().is_err(), "{cfg:?}");
        }
    }

    #[test]
    fn the_admin_password_is_never_printed() {
        let cfg = Config { admin_password: Some("hunter2-hunter2".into()), ..Config::default() };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
