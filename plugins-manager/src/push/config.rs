//! The push API's settings (`[push]` in the registry's configuration, `KEEL_PUSH__<KEY>` in the
//! environment). The defaults let the guide's own code run unchanged: its `REGISTRY_URL` is
//! `http://localhost:8001`, its heartbeat every 30 s.

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
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
    /// Allow loopback hosts (`localhost`, `127.0.0.0/8`, `::1`), for registrants on loopback
    /// themselves (a service on the registry's own machine): from anywhere else, loopback would
    /// be keel's machine, not the registrant's.
    pub allow_loopback_hosts: bool,
    /// Ports a loopback host may not be registered with, besides the push listener's own: the
    /// platform's listeners on this machine (the stock `dapr.yaml`'s app ports 3100-3199, its
    /// sidecars' HTTP APIs 3500-3599, keel's public port 8000, the push listener's 8001, keel's
    /// admin port 9464), so the gateway cannot hand the network keel's sidecar or app port.
    /// `8000,3500-3599`: ports and inclusive ranges, comma-separated.
    pub denied_ports: PortList,
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
            denied_ports: PortList(vec![3100..=3199, 3500..=3599, 8000..=8000, 8001..=8001, 9464..=9464]),
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
        if self.heartbeat_interval_ms * u64::from(self.missed_heartbeats) > self.longest_ttl_ms() {
            return Err("configuration key push.evict_after_ms: must be longer than missed_heartbeats heartbeat intervals and one sweep_interval_ms".into());
        }
        Ok(())
    }

    /// The longest time without a heartbeat before `UNREACHABLE` (`missed_heartbeats`
    /// intervals) that still leaves one sweep to mark a silent service so before it is evicted.
    pub fn longest_ttl_ms(&self) -> u64 {
        self.evict_after_ms.saturating_sub(self.sweep_interval_ms)
    }

    /// The longest `heartbeat_interval` (seconds) a service may declare: [`Self::longest_ttl_ms`]
    /// over `missed_heartbeats`, at most an hour.
    pub fn longest_interval_s(&self) -> u64 {
        (self.longest_ttl_ms() / (1_000 * u64::from(self.missed_heartbeats).max(1))).min(3_600)
    }

    /// Whether a loopback host may not be registered with `port`: one of `denied_ports`, or the
    /// push listener's own.
    pub fn denies_port(&self, port: u16) -> bool {
        port == self.listen.port() || self.denied_ports.contains(port)
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

/// Ports and inclusive port ranges, written `8000,3500-3599` (in a file or a `KEEL_*` variable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PortList(Vec<RangeInclusive<u16>>);

impl PortList {
    /// Whether `port` is in the list.
    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|r| r.contains(&port))
    }
}

impl TryFrom<String> for PortList {
    type Error = String;

    fn try_from(list: String) -> Result<Self, String> {
        let mut ranges = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let bad = || format!("{entry:?} is not a port or a range of ports such as 3500-3599");
            let port = |s: &str| s.trim().parse::<u16>().map_err(|_| bad());
            let range = match entry.split_once('-') {
                Some((from, to)) => port(from)?..=port(to)?,
                None => port(entry)?..=port(entry)?,
            };
            if range.is_empty() {
                return Err(bad());
            }
            ranges.push(range);
        }
        Ok(Self(ranges))
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            if r.start() == r.end() {
                write!(f, "{sep}{}", r.start())?;
            } else {
                write!(f, "{sep}{}-{}", r.start(), r.end())?;
            }
        }
        Ok(())
    }
}

impl From<PortList> for String {
    fn from(list: PortList) -> Self {
        list.to_string()
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
        // Three default intervals and a sweep must fit before eviction.
        let tight = PushConfig { evict_after_ms: 93_000, ..PushConfig::default() };
        assert!(tight.validate().unwrap_err().contains("evict_after_ms"));
        assert!(PushConfig { evict_after_ms: 95_000, ..PushConfig::default() }.validate().is_ok());
        // 600 s eviction, one 5 s sweep, 3 missed intervals: 198 s at most.
        assert_eq!(c.longest_interval_s(), 198);
        let long = PushConfig { evict_after_ms: 86_400_000, ..PushConfig::default() };
        assert_eq!(long.longest_interval_s(), 3_600);
    }

    #[test]
    fn the_platforms_own_ports_are_denied_on_loopback_and_the_list_reads_back() {
        let c = PushConfig::default();
        for port in [3100, 3101, 3500, 3513, 8000, 8001, 9464] {
            assert!(c.denies_port(port), "{port}");
        }
        for port in [3000, 8010, 8020, 9008, 40_000] {
            assert!(!c.denies_port(port), "{port}");
        }
        let moved =
            PushConfig { listen: SocketAddr::from(([127, 0, 0, 1], 18_001)), ..PushConfig::default() };
        assert!(moved.denies_port(18_001), "the push listener's own port, wherever it is");
        assert_eq!(c.denied_ports.to_string(), "3100-3199,3500-3599,8000,8001,9464");
        let read = PortList::try_from(" 8000, 3500-3599 ,".to_owned()).unwrap();
        assert!(read.contains(3555) && read.contains(8000) && !read.contains(8001));
        for bad in ["80x", "3599-3500", "1-70000", "-5"] {
            assert!(PortList::try_from(bad.to_owned()).unwrap_err().contains(bad), "{bad}");
        }
        assert_eq!(PortList::try_from(String::new()).unwrap(), PortList(Vec::new()));
    }
}
