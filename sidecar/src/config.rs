//! The settings of one sidecar, resolved from the command line or the run file before any port
//! is bound. Field docs give units and daprd's defaults.

use crate::components::ResourcesPath;
use crate::configuration::ConfigFile;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// daprd's `--max-body-size` default, `4Mi`.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 4 << 20;
/// daprd's `--read-buffer-size` default, `4Ki`.
pub const DEFAULT_READ_BUFFER_SIZE: u64 = 4 << 10;
/// daprd's `--dapr-graceful-shutdown-seconds` default.
pub const DEFAULT_GRACEFUL_SHUTDOWN: Duration = Duration::from_secs(5);
/// The runtime version the stand-in reports in `/v1.0/metadata`: the daprd it imitates.
pub const RUNTIME_VERSION: &str = "1.18.3";

/// One sidecar's settings.
#[derive(Debug, Clone)]
pub struct SidecarConfig {
    /// `--app-id`.
    pub app_id: String,
    /// `$NAMESPACE`, or `default` (daprd's `CurrentNamespace` in self-hosted mode).
    pub namespace: String,
    /// The raw `$NAMESPACE` (the `namespace` key prefix uses it only when set).
    pub namespace_env: Option<String>,
    /// `--app-port`; `None` runs a sidecar without an app channel.
    pub app_port: Option<u16>,
    /// `--app-channel-address`, default `127.0.0.1`.
    pub app_channel_address: String,
    /// Addresses the HTTP API listens on (daprd's `--dapr-listen-addresses`). The stand-in's
    /// default is loopback (`127.0.0.1`), deliberately unlike daprd's all interfaces: a local run
    /// should not offer its apps' sidecars to the network.
    pub listen_addresses: Vec<IpAddr>,
    /// `--dapr-http-port`; 0 picks a free port.
    pub dapr_http_port: u16,
    /// `--dapr-grpc-port`: reserved and reported only (the gRPC API is out of scope).
    pub dapr_grpc_port: u16,
    /// `--metrics-port`: reserved and reported only.
    pub metrics_port: u16,
    /// `--max-body-size` in bytes (default 4 MiB): request bodies above it fail with
    /// `stream too large`. `u64::MAX` is no limit (daprd's size ≤ 0).
    pub max_body_size: u64,
    /// `--read-buffer-size` in bytes (accepted; see the crate docs for what is not enforced).
    pub read_buffer_size: u64,
    /// Resources folders, in precedence order.
    pub resources_paths: Vec<ResourcesPath>,
    /// `--config` files (Configuration resources), laid over each other in order.
    pub config_files: Vec<ConfigFile>,
    /// The sidecar's environment (daprd's process environment): what `$VAR` in a Configuration
    /// and the `secretstores.local.env` store read. Later entries win.
    pub environment: Vec<(String, String)>,
    /// App health checks, when enabled.
    pub app_health: Option<AppHealthConfig>,
    /// `$DAPR_API_TOKEN`: when set, API calls must carry `dapr-api-token`.
    pub dapr_api_token: Option<String>,
    /// `$APP_API_TOKEN`: sent to the app as `dapr-api-token` on every call.
    pub app_api_token: Option<String>,
    /// `$DAPR_HOST_IP` (`127.0.0.1` when unset, as `dapr run` sets it): used in `X-Forwarded-For`.
    pub host_ip: String,
    /// The shared name registry file.
    pub registry_path: PathBuf,
    /// How long in-flight requests get to finish on shutdown.
    pub graceful_shutdown: Duration,
    /// HTTP server worker threads per listener.
    pub workers: usize,
}

/// daprd's app health check settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppHealthConfig {
    /// `--app-health-check-path`, default `/healthz`.
    pub path: String,
    /// `--app-health-probe-interval` (seconds), default 5 s.
    pub interval: Duration,
    /// `--app-health-probe-timeout` (milliseconds), default 500 ms; at most the interval.
    pub timeout: Duration,
    /// `--app-health-threshold`, default 3 consecutive failures.
    pub threshold: u32,
}

impl Default for AppHealthConfig {
    fn default() -> Self {
        AppHealthConfig {
            path: "/healthz".into(),
            interval: Duration::from_secs(5),
            timeout: Duration::from_millis(500),
            threshold: 3,
        }
    }
}

/// A setting that is out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The flag or run-file key.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

impl AppHealthConfig {
    /// daprd's checks: a positive interval and threshold, a timeout no longer than the interval.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, reason: String| Err(ConfigError { field: field.into(), reason });
        if self.interval.is_zero() {
            return err("appHealthProbeInterval", "must be greater than 0 seconds".into());
        }
        if self.timeout.is_zero() {
            return err("appHealthProbeTimeout", "must be greater than 0 milliseconds".into());
        }
        if self.timeout > self.interval {
            return err(
                "appHealthProbeTimeout",
                format!(
                    "{} ms must not be greater than the probe interval ({} s)",
                    self.timeout.as_millis(),
                    self.interval.as_secs()
                ),
            );
        }
        if self.threshold == 0 {
            return err("appHealthThreshold", "must be at least 1".into());
        }
        if !self.path.starts_with('/') {
            return err("appHealthCheckPath", format!("{:?} must start with /", self.path));
        }
        Ok(())
    }
}

impl SidecarConfig {
    /// A sidecar for `app_id` with daprd's defaults and no app.
    pub fn new(app_id: impl Into<String>, registry_path: PathBuf) -> Self {
        SidecarConfig {
            app_id: app_id.into(),
            namespace: "default".into(),
            namespace_env: None,
            app_port: None,
            app_channel_address: "127.0.0.1".into(),
            listen_addresses: vec![IpAddr::from([127, 0, 0, 1])],
            dapr_http_port: 0,
            dapr_grpc_port: 0,
            metrics_port: 0,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            read_buffer_size: DEFAULT_READ_BUFFER_SIZE,
            resources_paths: Vec::new(),
            config_files: Vec::new(),
            environment: Vec::new(),
            app_health: None,
            dapr_api_token: None,
            app_api_token: None,
            host_ip: "127.0.0.1".into(),
            registry_path,
            graceful_shutdown: DEFAULT_GRACEFUL_SHUTDOWN,
            workers: 2,
        }
    }

    /// Applies what daprd reads from its environment (`DAPR_API_TOKEN`, `APP_API_TOKEN`,
    /// `NAMESPACE`, `DAPR_HOST_IP`); `get` looks a name up in the sidecar's environment.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) {
        let nonempty = |k: &str| get(k).filter(|v| !v.is_empty());
        self.dapr_api_token = nonempty("DAPR_API_TOKEN");
        self.app_api_token = nonempty("APP_API_TOKEN");
        self.namespace_env = nonempty("NAMESPACE");
        self.namespace = self.namespace_env.clone().unwrap_or_else(|| "default".into());
        self.host_ip = nonempty("DAPR_HOST_IP").unwrap_or_else(|| "127.0.0.1".into());
    }

    /// Checks what daprd checks at start-up.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |field: &str, reason: String| Err(ConfigError { field: field.into(), reason });
        if self.app_id.is_empty() {
            return err("appID", "must not be empty".into());
        }
        // daprd's ValidateSelfHostedAppID: no dots (they separate the namespace) and no spaces.
        if self.app_id.contains('.') || self.app_id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err(
                "appID",
                format!("{:?} must not contain dots, spaces or control characters", self.app_id),
            );
        }
        if self.app_port == Some(0) {
            return err("appPort", "must be between 1 and 65535".into());
        }
        if self.max_body_size == 0 {
            return err("maxBodySize", "must be greater than 0".into());
        }
        if let Some(h) = &self.app_health {
            h.validate()?;
        }
        Ok(())
    }
}

/// A body limit from a `--max-body-size` quantity in bytes: daprd applies none for 0.
pub fn body_limit(bytes: u64) -> u64 {
    if bytes == 0 {
        u64::MAX
    } else {
        bytes
    }
}

/// A body limit from daprd's deprecated `--dapr-http-max-request-size` (megabytes; ≤ 0: none).
pub fn body_limit_mb(mb: i64) -> u64 {
    if mb <= 0 {
        u64::MAX
    } else {
        (mb as u64).saturating_mul(1 << 20)
    }
}

/// `--dapr-listen-addresses` / `apiListenAddresses`: comma-separated IP addresses.
pub fn parse_listen_addresses(list: &str) -> Result<Vec<IpAddr>, String> {
    let addrs: Vec<IpAddr> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpAddr>().map_err(|_| format!("{s:?} is not an IP address")))
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return Err(format!("{list:?} names no address"));
    }
    Ok(addrs)
}

/// A free TCP port number on 127.0.0.1, for ports that are only reported (`DAPR_GRPC_PORT`,
/// `DAPR_METRICS_PORT`), the way the dapr CLI's `freeport` picks them.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// The plan for one app of a run: its sidecar and, optionally, its process.
#[derive(Debug, Clone)]
pub struct AppPlan {
    /// The sidecar's settings.
    pub sidecar: SidecarConfig,
    /// The app's command, when there is one.
    pub command: Option<AppCommand>,
    /// The app protocol reported in `APP_PROTOCOL` (`http`).
    pub app_protocol: String,
}

/// How to start an app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCommand {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory (`appDirPath`).
    pub dir: PathBuf,
    /// Extra environment from the run file (`common.env` then `apps[i].env`), applied after
    /// the variables the run sets, so the file wins like under the dapr CLI.
    pub env: Vec<(String, String)>,
}
