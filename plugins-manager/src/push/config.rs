//! The push API's settings (`[push]` in the registry's configuration, `KEEL_PUSH__<KEY>` in the
//! environment). The defaults let the guide's own code run unchanged: its `REGISTRY_URL` is
//! `http://localhost:8001`, its heartbeat every 30 s.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How services register themselves and how long they live without a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PushConfig {
    /// Serve the push API at all.
    pub enabled: bool,
    /// Its own listener, beside the app port: services call it directly (the guide's
    /// `REGISTRY_URL`), not through a sidecar. Loopback by default.
    pub listen: SocketAddr,
    /// The heartbeat interval of a service that declares none (Eureka's and the guide's 30 s).
    pub heartbeat_interval_ms: u64,
    /// Missed intervals after which a service is `UNREACHABLE` (Eureka's 3 × 30 s = 90 s).
    pub missed_heartbeats: u32,
    /// Time without a heartbeat after which a service is removed altogether (Consul's
    /// `DeregisterCriticalServiceAfter`); longer than `missed_heartbeats` intervals.
    pub evict_after_ms: u64,
    /// How often the lease holder checks every service's liveness (and probes its
    /// `health_check_url`).
    pub sweep_interval_ms: u64,
    /// Time limit of one health probe.
    pub probe_timeout_ms: u64,
    /// Failed probes in a row after which a service is `UNREACHABLE`.
    pub probe_failures: u32,
    /// Accept a registration without credentials from loopback clients (local development).
    pub open_loopback: bool,
    /// Hosts a service may register besides loopback and its registrant's own address: IP
    /// addresses or exact host names. Anything else is refused, so the gateway cannot be made a
    /// proxy to, say, `169.254.169.254`.
    pub allowed_hosts: Vec<String>,
    /// Allow loopback hosts (`localhost`, `127.0.0.0/8`, `::1`).
    pub allow_loopback_hosts: bool,
    /// Largest registration body.
    pub max_body_bytes: usize,
    /// The token issuer accepted from services registering with a client-credentials token
    /// (auth's `issuer`, the same as keel's `KEEL_ISSUER`).
    pub issuer: String,
    /// The token audience accepted likewise (auth's `audience`).
    pub audience: String,
}

impl Default for PushConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8001)),
            heartbeat_interval_ms: 30_000,
            missed_heartbeats: 3,
            evict_after_ms: 600_000,
            sweep_interval_ms: 5_000,
            probe_timeout_ms: 2_000,
            probe_failures: 3,
            open_loopback: true,
            allowed_hosts: Vec::new(),
            allow_loopback_hosts: true,
            max_body_bytes: 256 * 1024,
            issuer: keel_sdk::tokens::DEFAULT_ISSUER.to_owned(),
            audience: keel_sdk::tokens::DEFAULT_AUDIENCE.to_owned(),
        }
    }
}

impl PushConfig {
    /// Checks the values, naming the key.
    pub fn validate(&self) -> Result<(), String> {
        for (key, v) in [
            ("push.heartbeat_interval_ms", self.heartbeat_interval_ms),
            ("push.missed_heartbeats", u64::from(self.missed_heartbeats)),
            ("push.sweep_interval_ms", self.sweep_interval_ms),
            ("push.probe_timeout_ms", self.probe_timeout_ms),
            ("push.probe_failures", u64::from(self.probe_failures)),
        ] {
            if v == 0 {
                return Err(format!("configuration key {key}: must be greater than 0"));
            }
        }
        if self.evict_after_ms <= self.heartbeat_interval_ms * u64::from(self.missed_heartbeats) {
            return Err("configuration key push.evict_after_ms: must be longer than missed_heartbeats heartbeat intervals".into());
        }
        Ok(())
    }

    /// `sweep_interval_ms` as a duration.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis(self.sweep_interval_ms)
    }

    /// `probe_timeout_ms` as a duration.
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_guides_and_eurekas() {
        let c = PushConfig::default();
        c.validate().unwrap();
        assert_eq!(c.listen.port(), 8001);
        assert_eq!(c.heartbeat_interval_ms * u64::from(c.missed_heartbeats), 90_000);
        let bad = PushConfig { evict_after_ms: 1_000, ..PushConfig::default() };
        assert!(bad.validate().unwrap_err().contains("evict_after_ms"));
    }
}
