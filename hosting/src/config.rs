//! hosting's configuration: one typed struct under the key `hosting`, loaded by
//! `keel_sdk::config` (defaults, then the file named by `KEEL_CONFIG`, then environment variables
//! `KEEL_HOSTING__<KEY>`, e.g. `KEEL_HOSTING__DATA_DIR=/var/lib/keel-hosting`).
//!
//! The keys live under `hosting` so that they can refuse typos (`deny_unknown_fields`) while the
//! rest of the `KEEL_` namespace (`KEEL_LOG`, `KEEL_CONFIG`, other services' keys in a shared
//! file) passes by untouched. [`Config::validate`] checks the values before any port is bound.

use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything hosting can be told. Every duration carries its unit in its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address of the app port (management API, `/plugin_service/<root_route>/...`, the protocol
    /// endpoints). Default: 127.0.0.1 and `APP_PORT` (what `dapr run` sets), or any free port.
    pub listen: SocketAddr,
    /// Address of the local port: `/<root_route>/...` for processes on this machine (the seed's
    /// `http://127.0.0.1:9008/<root_route>/`).
    pub local_listen: SocketAddr,
    /// HTTP worker threads of each port.
    pub workers: usize,
    /// Dapr state store holding the records and archives (keys prefixed `hosting/`).
    pub store: String,
    /// Time limit for one call to the state store.
    pub store_timeout_ms: u64,
    /// How long to wait for the sidecar at start.
    pub sidecar_wait_ms: u64,
    /// Where bundles are unpacked and run, output is kept, and PIDs are noted. Rebuilt from the
    /// state store when empty.
    pub data_dir: PathBuf,
    /// A folder of bundles (each a folder with `plugin.yaml` and `workspace/`, or a `.tar.gz`)
    /// installed at boot, for local development. Unset: none.
    pub bundles_dir: Option<PathBuf>,
    /// First port handed to hosted services.
    pub port_range_start: u16,
    /// Last port handed to hosted services.
    pub port_range_end: u16,
    /// Name of the PID file the service writes in its `workspace/` (the seed's `pid.txt`).
    pub pid_file: String,
    /// How long a start may take: the PID file written and the port accepting connections.
    pub start_timeout_ms: u64,
    /// How long `<start_file> stop` may run.
    pub stop_script_timeout_ms: u64,
    /// After `stop` (and again after SIGTERM), how long the process gets to go before the next step.
    pub stop_grace_ms: u64,
    /// Interval between two probes of a running service's port.
    pub probe_interval_ms: u64,
    /// Consecutive failed port probes after which a running service is restarted.
    pub probe_failures: u32,
    /// First pause before a restart; doubles with every crash inside the window.
    pub restart_backoff_min_ms: u64,
    /// Longest pause before a restart.
    pub restart_backoff_max_ms: u64,
    /// Crashes within `crash_window_ms` after which a service is `FAILED` (systemd's
    /// `StartLimitBurst`).
    pub crash_burst: u32,
    /// The window of `crash_burst` (systemd's `StartLimitIntervalSec`).
    pub crash_window_ms: u64,
    /// Starts an upgrade's new version gets before the upgrade is abandoned (the old version
    /// keeps serving).
    pub upgrade_attempts: u32,
    /// After an upgrade's switch, how long the old version keeps running for requests in flight.
    pub upgrade_drain_ms: u64,
    /// Largest bundle archive accepted (bytes, compressed).
    pub max_archive_bytes: u64,
    /// Largest total size of the files a bundle unpacks to (bytes).
    pub max_unpacked_bytes: u64,
    /// Most entries a bundle archive may have.
    pub max_entries: u64,
    /// Size of one chunk of an archive in the state store (bytes, before base64).
    pub archive_chunk_bytes: usize,
    /// A service's output file is rotated past this size (bytes).
    pub log_max_bytes: u64,
    /// Rotated output files kept per service.
    pub log_keep: u32,
    /// `Retry-After` while a service is starting or restarting (seconds).
    pub retry_after_starting_s: u64,
    /// `Retry-After` while a service is `FAILED` (seconds).
    pub retry_after_failed_s: u64,
    /// Time limit for a hosted service's answer head (the body streams without limit).
    pub upstream_timeout_ms: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: keel_sdk::config::app_listen_addr(),
            local_listen: SocketAddr::from(([127, 0, 0, 1], 9008)),
            workers: 2,
            store: keel_sdk::protocol::STATE_STORE.to_owned(),
            store_timeout_ms: 10_000,
            sidecar_wait_ms: 60_000,
            data_dir: PathBuf::from("target/hosting"),
            bundles_dir: None,
            port_range_start: 20_000,
            port_range_end: 20_999,
            pid_file: "pid.txt".to_owned(),
            start_timeout_ms: 30_000,
            stop_script_timeout_ms: 2_000,
            stop_grace_ms: 1_500,
            probe_interval_ms: 1_000,
            probe_failures: 3,
            restart_backoff_min_ms: 200,
            restart_backoff_max_ms: 10_000,
            crash_burst: 5,
            crash_window_ms: 60_000,
            upgrade_attempts: 2,
            upgrade_drain_ms: 1_000,
            max_archive_bytes: 64 * 1024 * 1024,
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_entries: 10_000,
            archive_chunk_bytes: 1024 * 1024,
            log_max_bytes: 10 * 1024 * 1024,
            log_keep: 3,
            retry_after_starting_s: 1,
            retry_after_failed_s: 30,
            upstream_timeout_ms: 60_000,
        }
    }
}

/// The file and environment shape: hosting's keys under `hosting`, everything else ignored.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
struct Root {
    hosting: Config,
}

/// A configuration value out of range; names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key hosting.{key} (KEEL_HOSTING__{env}): {reason}")]
pub struct InvalidConfig {
    key: &'static str,
    env: String,
    reason: String,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> InvalidConfig {
    InvalidConfig { key, env: key.to_ascii_uppercase(), reason: reason.into() }
}

// === impl Config ===

impl Config {
    /// Loads the configuration from its sources (see the module doc).
    pub fn load() -> Result<Self, Box<keel_sdk::config::ConfigError>> {
        let root: Root = keel_sdk::config::load(None).map_err(Box::new)?;
        Ok(root.hosting)
    }

    /// [`Config::load`] with explicit sources (tests pass a map instead of the environment).
    pub fn load_from(
        file: Option<PathBuf>,
        env: config::Environment,
    ) -> Result<Self, Box<keel_sdk::config::ConfigError>> {
        let root: Root = keel_sdk::config::load_from(file, env).map_err(Box::new)?;
        Ok(root.hosting)
    }

    /// Checks the values that would make the service misbehave, before any port is bound.
    pub fn validate(&self) -> Result<(), InvalidConfig> {
        let positive: [(&'static str, u64); 16] = [
            ("workers", self.workers as u64),
            ("store_timeout_ms", self.store_timeout_ms),
            ("start_timeout_ms", self.start_timeout_ms),
            ("stop_script_timeout_ms", self.stop_script_timeout_ms),
            ("stop_grace_ms", self.stop_grace_ms),
            ("probe_interval_ms", self.probe_interval_ms),
            ("probe_failures", u64::from(self.probe_failures)),
            ("restart_backoff_min_ms", self.restart_backoff_min_ms),
            ("crash_burst", u64::from(self.crash_burst)),
            ("crash_window_ms", self.crash_window_ms),
            ("upgrade_attempts", u64::from(self.upgrade_attempts)),
            ("max_archive_bytes", self.max_archive_bytes),
            ("max_unpacked_bytes", self.max_unpacked_bytes),
            ("max_entries", self.max_entries),
            ("archive_chunk_bytes", self.archive_chunk_bytes as u64),
            ("log_max_bytes", self.log_max_bytes),
        ];
        if let Some((key, _)) = positive.iter().find(|(_, v)| *v == 0) {
            return Err(invalid(key, "must be above 0"));
        }
        if self.port_range_start == 0 || self.port_range_end < self.port_range_start {
            return Err(invalid("port_range_end", "the port range must be non-empty and start above 0"));
        }
        if self.restart_backoff_max_ms < self.restart_backoff_min_ms {
            return Err(invalid("restart_backoff_max_ms", "must not be below restart_backoff_min_ms"));
        }
        // Archives travel through the sidecar's state API in chunks (base64: 4/3 larger); daprd
        // refuses bodies over 4 MiB by default.
        if self.archive_chunk_bytes > 2 * 1024 * 1024 {
            return Err(invalid(
                "archive_chunk_bytes",
                "at most 2 MiB, so a chunk fits daprd's 4 MiB body limit",
            ));
        }
        let pid = std::path::Path::new(&self.pid_file);
        if self.pid_file.is_empty() || pid.components().count() != 1 || self.pid_file.starts_with('.') {
            return Err(invalid("pid_file", "must be a plain file name (the seed's pid.txt)"));
        }
        if self.store.is_empty() {
            return Err(invalid("store", "must not be empty"));
        }
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty"));
        }
        if self.listen == self.local_listen && self.listen.port() != 0 {
            return Err(invalid("local_listen", "must differ from listen"));
        }
        Ok(())
    }

    /// The ports hosted services are given.
    pub fn ports(&self) -> RangeInclusive<u16> {
        self.port_range_start..=self.port_range_end
    }

    /// Milliseconds as a duration.
    pub fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> config::Environment {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        config::Environment::with_prefix("KEEL").source(Some(map))
    }

    #[test]
    fn defaults_are_valid_and_serve_the_seeds_local_port() {
        let cfg = Config::default();
        cfg.validate().unwrap();
        assert_eq!(cfg.local_listen.to_string(), "127.0.0.1:9008");
        assert_eq!(cfg.pid_file, "pid.txt");
    }

    #[test]
    fn hosting_keys_come_from_keel_hosting_variables_and_others_pass_by() {
        let cfg = Config::load_from(
            None,
            env(&[
                ("KEEL_HOSTING__DATA_DIR", "/tmp/h"),
                ("KEEL_HOSTING__PORT_RANGE_START", "31000"),
                ("KEEL_HOSTING__BUNDLES_DIR", "examples/b"),
                ("KEEL_LOG", "debug"),
                ("KEEL_ADMIN_PASSWORD", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.data_dir, PathBuf::from("/tmp/h"));
        assert_eq!(cfg.port_range_start, 31000);
        assert_eq!(cfg.bundles_dir, Some(PathBuf::from("examples/b")));
    }

    #[test]
    fn a_misspelt_hosting_key_is_refused_by_name() {
        let err = Config::load_from(None, env(&[("KEEL_HOSTING__DATA_DIRR", "/tmp/h")])).unwrap_err();
        assert!(err.to_string().contains("data_dirr"), "{err}");
    }

    #[test]
    fn impossible_values_are_refused_naming_the_key() {
        let cases = [
            (Config { crash_burst: 0, ..Config::default() }, "crash_burst"),
            (Config { port_range_start: 10, port_range_end: 9, ..Config::default() }, "port_range_end"),
            (Config { pid_file: "../pid".into(), ..Config::default() }, "pid_file"),
            (Config { archive_chunk_bytes: 8 << 20, ..Config::default() }, "archive_chunk_bytes"),
        ];
        for (cfg, key) in cases {
            let err = cfg.validate().unwrap_err();
            assert!(err.to_string().contains(key), "{err}");
        }
    }
}
