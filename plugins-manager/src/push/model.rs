//! The guide's registration body, what is stored of it, and the pure rules over it: validation,
//! the host allow-list, and the status a service should have from its heartbeats and probes.

use std::net::IpAddr;

use keel_sdk::protocol::{
    ConsoleEntry, PluginId, PluginStatus, PushedEndpoint, PushedRoute, MAX_CONSOLE_ENTRIES,
};
use serde::{Deserialize, Serialize};

use super::config::PushConfig;
use super::error::PushError;
use crate::error::RegistryError;

/// Key prefix of pushed services' records (beside `keel-plugin-<id>`).
pub const RECORD_PREFIX: &str = "keel-push-";

/// The state key of service `name`'s record.
pub fn record_key(name: &str) -> String {
    format!("{RECORD_PREFIX}{name}")
}

/// `POST /api/registry/register`, the guide's `SERVICE_CONFIG`. Unknown fields are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct RegisterBody {
    /// The service's unique name: a DNS label, like a plugin id.
    pub name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub version: String,
    /// Where the gateway reaches it (through keel's sidecar).
    pub host: String,
    pub port: u16,
    /// Path prefix on the service; `/` for none.
    #[serde(default)]
    pub base_path: String,
    /// A path on the service the registry probes, like a plugin's `/v1/status`.
    #[serde(default)]
    pub health_check_url: Option<String>,
    #[serde(default)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default = "yes")]
    pub requires_auth: bool,
    #[serde(default)]
    pub endpoints: Vec<EndpointDecl>,
    /// Seconds between heartbeats, when not the platform's default (an extension of the guide).
    #[serde(default)]
    pub heartbeat_interval: Option<u64>,
    /// Its console entries (issue 16, `docs/console.md`), under `/plugins/<name>/`: written
    /// with each registration, removed with the service (an extension of the guide).
    #[serde(default)]
    pub console: Vec<ConsoleEntry>,
}

/// Checks a registration's console entries for the service `name` (at most
/// [`MAX_CONSOLE_ENTRIES`], each in its own group); refused as `422 ERR_BAD_CONSOLE_ENTRY`.
pub fn check_console(name: &str, console: &[ConsoleEntry]) -> Result<(), PushError> {
    if console.len() > MAX_CONSOLE_ENTRIES {
        let max = MAX_CONSOLE_ENTRIES;
        return Err(RegistryError::TooManyConsoleEntries { owner: name.to_owned(), max }.into());
    }
    for e in console {
        e.check(name).map_err(RegistryError::BadConsoleEntry)?;
    }
    Ok(())
}

fn yes() -> bool {
    true
}

/// One of the guide's `endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDecl {
    pub path: String,
    pub method: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub is_public: bool,
}

/// One pushed service, as stored under `keel-push-<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub version: String,
    pub host: String,
    pub port: u16,
    /// Normalised: `/` or `/a/b`.
    pub base_path: String,
    pub health_check_url: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub tags: Vec<String>,
    pub requires_auth: bool,
    /// Normalised: paths without surrounding slashes, methods upper case.
    pub endpoints: Vec<EndpointDecl>,
    pub heartbeat_interval_ms: Option<u64>,
    /// Who registered it: `addr:<ip>` for an open (loopback) registration. Only they may
    /// heartbeat, re-register or deregister it.
    pub registrant: String,
    pub registered_at_ms: u64,
    pub last_heartbeat_ms: u64,
    /// The status its last heartbeat reported (`healthy` at registration).
    pub reported: String,
}

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

impl RegisterBody {
    /// Checks the body and the host, and turns it into a record for `registrant` (`peer` is
    /// the registering client's address).
    pub fn validate(
        self,
        cfg: &PushConfig,
        registrant: String,
        peer: IpAddr,
        now_ms: u64,
    ) -> Result<ServiceRecord, PushError> {
        let bad = |m: String| Err(PushError::BadBody(m));
        let id = PluginId::parse(&self.name).map_err(|e| PushError::BadBody(format!("name: {e}")))?;
        if id.is_reserved() {
            return Err(PushError::Reserved(self.name));
        }
        if self.port == 0 {
            return bad("port: must be between 1 and 65535".into());
        }
        host_allowed(cfg, &self.host, self.port, peer)?;
        let base_path =
            normalise_base(&self.base_path).map_err(|m| PushError::BadBody(format!("base_path: {m}")))?;
        if let Some(h) = &self.health_check_url {
            if !h.starts_with('/') || has_dot_segment(h) || h.contains(['?', '#']) {
                return bad(format!(
                    "health_check_url: {h:?} must be a path on the service, starting with '/'"
                ));
            }
        }
        let longest = cfg.longest_interval_s();
        if self.heartbeat_interval.is_some_and(|s| s == 0 || s > longest) {
            return bad(format!(
                "heartbeat_interval: seconds between 1 and {longest}: {} missed intervals and one liveness sweep must fit within the eviction time (push.evict_after_ms, {} s), or a silent service would be evicted without ever being UNREACHABLE, a live one between two heartbeats",
                cfg.missed_heartbeats,
                cfg.evict_after_ms / 1_000
            ));
        }
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for (i, e) in self.endpoints.into_iter().enumerate() {
            let method = e.method.trim().to_ascii_uppercase();
            if !METHODS.contains(&method.as_str()) {
                return bad(format!(
                    "endpoints[{i}].method: {:?} is not one of {}",
                    e.method,
                    METHODS.join(", ")
                ));
            }
            let path = e.path.trim_matches('/').to_owned();
            if has_dot_segment(&path) || path.contains(['?', '#']) || path.contains("//") {
                return bad(format!("endpoints[{i}].path: {:?} must be a plain relative path", e.path));
            }
            endpoints.push(EndpointDecl { path, method, ..e });
        }
        Ok(ServiceRecord {
            name: self.name,
            display_name: self.display_name,
            description: self.description,
            version: self.version,
            host: self.host,
            port: self.port,
            base_path,
            health_check_url: self.health_check_url,
            metadata: self.metadata,
            tags: self.tags,
            requires_auth: self.requires_auth,
            endpoints,
            heartbeat_interval_ms: self.heartbeat_interval.map(|s| s * 1_000),
            registrant,
            registered_at_ms: now_ms,
            last_heartbeat_ms: now_ms,
            reported: "healthy".into(),
        })
    }
}

fn normalise_base(p: &str) -> Result<String, String> {
    let trimmed = p.trim_matches('/');
    if has_dot_segment(trimmed) || trimmed.contains(['?', '#']) || trimmed.contains("//") {
        return Err(format!("{p:?} must be a plain path"));
    }
    Ok(if trimmed.is_empty() { "/".into() } else { format!("/{trimmed}") })
}

fn has_dot_segment(p: &str) -> bool {
    p.split('/').any(|s| {
        s == "." || s == ".." || s.eq_ignore_ascii_case("%2e") || s.to_ascii_lowercase().contains("%2e%2e")
    })
}

/// The allow-list: a configured host; loopback (when allowed) for a registrant on loopback
/// itself, since from anywhere else loopback is keel's machine, not the registrant's; or the
/// registrant's own address. A loopback host is refused on the platform's own ports
/// ([`PushConfig::denies_port`]), however it is allowed. Names other than `localhost` are
/// matched exactly, never resolved (so DNS cannot change the answer after the check).
pub fn host_allowed(cfg: &PushConfig, host: &str, port: u16, peer: IpAddr) -> Result<(), PushError> {
    let refused =
        |why: String| Err(PushError::HostNotAllowed { host: host.chars().take(100).collect(), why });
    let h = host.trim_start_matches('[').trim_end_matches(']');
    if h.is_empty() {
        return Err(PushError::BadBody("host: must not be empty".into()));
    }
    let ip = h.parse::<IpAddr>().ok();
    let loopback = h.eq_ignore_ascii_case("localhost") || ip.is_some_and(is_loopback);
    if loopback && cfg.denies_port(port) {
        return refused(format!(
            "port {port} on loopback is one of the platform's own listeners (push.denied_ports, and the push listener's port)"
        ));
    }
    if cfg.allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)) {
        return Ok(());
    }
    if loopback {
        return if !cfg.allow_loopback_hosts {
            refused("loopback hosts are not allowed here".into())
        } else if !is_loopback(peer) {
            refused(format!(
                "a loopback host is the registering client's own machine only, and {peer} is not on this one: register an address keel's sidecar can reach the service at"
            ))
        } else {
            Ok(())
        };
    }
    match ip {
        Some(ip) if canonical(ip) == canonical(peer) => Ok(()),
        Some(_) => refused("only loopback, the registering client's own address and the configured allowed_hosts may be registered".into()),
        None if h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') => {
            refused("host names other than localhost must be listed in allowed_hosts".into())
        }
        None => Err(PushError::BadBody(format!("host: {:?} is not a host name or an IP address", host))),
    }
}

/// Loopback, including IPv4-mapped IPv6 loopback.
pub fn is_loopback(ip: IpAddr) -> bool {
    canonical(ip).is_loopback()
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

impl ServiceRecord {
    /// `http://host:port` (IPv6 in brackets).
    pub fn base_url(&self) -> String {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        if h.contains(':') {
            format!("http://[{h}]:{}", self.port)
        } else {
            format!("http://{h}:{}", self.port)
        }
    }

    /// The heartbeat interval in force.
    pub fn interval_ms(&self, cfg: &PushConfig) -> u64 {
        self.heartbeat_interval_ms.unwrap_or(cfg.heartbeat_interval_ms)
    }

    /// The status it should have at `now_ms`, `None` when it is to be evicted. Heartbeats are
    /// counted from `boot_ms` at the earliest: a registry restart gives every service one full
    /// TTL before anything expires.
    pub fn desired(
        &self,
        cfg: &PushConfig,
        now_ms: u64,
        boot_ms: u64,
        probe_failures: u32,
    ) -> Option<PluginStatus> {
        let seen = self.last_heartbeat_ms.max(boot_ms);
        let idle = now_ms.saturating_sub(seen);
        if idle > cfg.evict_after_ms {
            return None;
        }
        if idle > self.interval_ms(cfg) * u64::from(cfg.missed_heartbeats)
            || probe_failures >= cfg.probe_failures
        {
            return Some(PluginStatus::Unreachable);
        }
        Some(reported_status(&self.reported))
    }

    /// Its entry in the route table.
    pub fn route(&self, status: PluginStatus) -> PushedRoute {
        PushedRoute {
            status,
            version: self.version.clone(),
            base_url: self.base_url(),
            base_path: self.base_path.clone(),
            requires_auth: self.requires_auth,
            endpoints: self
                .endpoints
                .iter()
                .map(|e| PushedEndpoint {
                    path: e.path.clone(),
                    method: e.method.clone(),
                    is_public: e.is_public,
                })
                .collect(),
        }
    }
}

/// A heartbeat's `status` as a platform status: `healthy` (or `ok`, `up`, `active`) serves,
/// `starting`/`stopping` say so, anything else blocks traffic as `FAILED`.
pub fn reported_status(s: &str) -> PluginStatus {
    match s.to_ascii_lowercase().as_str() {
        "healthy" | "ok" | "up" | "active" | "passing" => PluginStatus::Active,
        "starting" => PluginStatus::Starting,
        "stopping" => PluginStatus::Stopping,
        _ => PluginStatus::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> IpAddr {
        "127.0.0.1".parse().unwrap()
    }

    #[test]
    fn hosts_are_allowed_only_from_the_list() {
        let cfg = PushConfig::default();
        let not_allowed = |r: Result<(), PushError>| matches!(r, Err(PushError::HostNotAllowed { .. }));
        for ok in ["localhost", "127.0.0.1", "127.0.0.9", "::1", "[::1]", "::ffff:127.0.0.1"] {
            assert!(host_allowed(&cfg, ok, 8010, peer()).is_ok(), "{ok}");
        }
        for no in ["169.254.169.254", "10.0.0.1", "0.0.0.0", "::", "example.com", "metadata.google.internal"]
        {
            assert!(not_allowed(host_allowed(&cfg, no, 8010, peer())), "{no}");
        }
        let from: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(host_allowed(&cfg, "10.1.2.3", 8010, from).is_ok(), "the registrant's own address");
        let listed = PushConfig { allowed_hosts: vec!["svc.internal".into()], ..PushConfig::default() };
        assert!(host_allowed(&listed, "svc.internal", 8010, peer()).is_ok());
        assert!(matches!(host_allowed(&cfg, "a b", 8010, peer()), Err(PushError::BadBody(_))));
    }

    #[test]
    fn loopback_is_the_registrants_own_machine_and_never_the_platforms_ports() {
        let cfg = PushConfig::default();
        // From another machine, loopback would be keel's own: refused, saying why.
        let remote: IpAddr = "10.1.2.3".parse().unwrap();
        for host in ["127.0.0.1", "localhost", "::1"] {
            match host_allowed(&cfg, host, 8010, remote) {
                Err(PushError::HostNotAllowed { why, .. }) => assert!(why.contains("10.1.2.3"), "{why}"),
                other => panic!("{host} from {remote}: {other:?}"),
            }
        }
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        assert!(host_allowed(&cfg, "127.0.0.1", 8010, mapped).is_ok(), "a mapped loopback peer is local");
        // keel's sidecar, its app port, the public and admin ports, the push listener: refused
        // on loopback, even from loopback and even when listed; elsewhere they are anyone's.
        for port in [3500, 3100, 3513, 8000, 8001, 9464] {
            match host_allowed(&cfg, "127.0.0.1", port, peer()) {
                Err(PushError::HostNotAllowed { why, .. }) => assert!(why.contains("denied_ports"), "{why}"),
                other => panic!("port {port}: {other:?}"),
            }
        }
        let listed = PushConfig { allowed_hosts: vec!["localhost".into()], ..PushConfig::default() };
        assert!(matches!(
            host_allowed(&listed, "localhost", 3500, remote),
            Err(PushError::HostNotAllowed { .. })
        ));
        assert!(
            host_allowed(&listed, "localhost", 8010, remote).is_ok(),
            "listed explicitly: the operator's call"
        );
        assert!(host_allowed(&cfg, "10.1.2.3", 3500, remote).is_ok(), "the registrant's own machine's port");
        let off = PushConfig { allow_loopback_hosts: false, ..PushConfig::default() };
        assert!(matches!(
            host_allowed(&off, "127.0.0.1", 8010, peer()),
            Err(PushError::HostNotAllowed { .. })
        ));
    }

    #[test]
    fn liveness_follows_heartbeats_probes_and_the_boot_grace() {
        let cfg = PushConfig::default();
        let body: RegisterBody =
            serde_json::from_value(serde_json::json!({"name": "svc", "host": "localhost", "port": 8010}))
                .unwrap();
        let rec = body.validate(&cfg, "addr:127.0.0.1".into(), peer(), 1_000).unwrap();
        assert_eq!(rec.base_path, "/");
        assert!(rec.requires_auth);
        assert_eq!(rec.desired(&cfg, 60_000, 0, 0), Some(PluginStatus::Active));
        assert_eq!(rec.desired(&cfg, 92_000, 0, 0), Some(PluginStatus::Unreachable));
        assert_eq!(rec.desired(&cfg, 60_000, 0, 3), Some(PluginStatus::Unreachable));
        assert_eq!(rec.desired(&cfg, 700_000, 0, 0), None);
        // Booted at 650 s: one TTL of grace, whatever the stored heartbeat says.
        assert_eq!(rec.desired(&cfg, 700_000, 650_000, 0), Some(PluginStatus::Active));
        let sick = ServiceRecord { reported: "unhealthy".into(), ..rec };
        assert_eq!(sick.desired(&cfg, 2_000, 0, 0), Some(PluginStatus::Failed));
    }

    #[test]
    fn bodies_are_checked_field_by_field() {
        let cfg = PushConfig::default();
        let check = |v: serde_json::Value| {
            serde_json::from_value::<RegisterBody>(v).unwrap().validate(&cfg, "a".into(), peer(), 0)
        };
        let base = |extra: serde_json::Value| {
            let mut v = serde_json::json!({"name": "svc", "host": "localhost", "port": 1});
            v.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            v
        };
        assert!(matches!(check(base(serde_json::json!({"name": "Bad_Name"}))), Err(PushError::BadBody(_))));
        assert!(matches!(check(base(serde_json::json!({"name": "keel"}))), Err(PushError::Reserved(_))));
        assert!(matches!(check(base(serde_json::json!({"base_path": "/../x"}))), Err(PushError::BadBody(_))));
        assert!(matches!(
            check(base(serde_json::json!({"endpoints": [{"path": "x", "method": "FETCH"}]}))),
            Err(PushError::BadBody(_))
        ));
        // A declared interval whose three misses would outlast the eviction time (600 s).
        for (interval, ok) in [(0, false), (1, true), (198, true), (199, false), (601, false), (3_600, false)]
        {
            match check(base(serde_json::json!({"heartbeat_interval": interval}))) {
                Ok(rec) => assert!(ok && rec.heartbeat_interval_ms == Some(interval * 1_000), "{interval}"),
                Err(PushError::BadBody(m)) => {
                    assert!(
                        !ok && m.contains("between 1 and 198") && m.contains("evict_after_ms"),
                        "{interval}: {m}"
                    )
                }
                Err(e) => panic!("{interval}: {e}"),
            }
        }
        let rec = check(base(
            serde_json::json!({"base_path": "/v2/", "endpoints": [{"path": "/data/", "method": "get"}]}),
        ))
        .unwrap();
        assert_eq!(
            (rec.base_path.as_str(), rec.endpoints[0].path.as_str(), rec.endpoints[0].method.as_str()),
            ("/v2", "data", "GET")
        );
    }
}
