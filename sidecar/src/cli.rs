//! The command line, shaped like the dapr CLI's `dapr run`: either `-f <run file>` for every app
//! of a multi-app run, or one app described by flags, with its command after `--`.

use crate::components::ResourcesPath;
use crate::config::{self, AppCommand, AppHealthConfig, AppPlan, ConfigError, SidecarConfig};
use crate::configuration::ConfigFile;
use crate::quantity;
use crate::registry;
use crate::runfile::{self, RunFileError};
use crate::tokens;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

/// `sidecar`: a local stand-in for `dapr run` and `daprd`.
#[derive(Debug, Parser)]
#[command(
    name = "sidecar",
    version,
    about = "Local stand-in for `dapr run` and daprd's HTTP API (daprd 1.18)"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run apps with their sidecars: `run -f dapr.yaml`, or `run --app-id X ... -- <command>`.
    Run(RunArgs),
}

/// `sidecar run` flags (the dapr CLI's names and short forms).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Multi-app run file, or a folder holding `dapr.yaml`.
    #[arg(short = 'f', long = "run-file", conflicts_with_all = ["app_id", "command"])]
    pub run_file: Option<PathBuf>,
    /// The app-id (a random one when omitted, like the CLI).
    #[arg(short = 'a', long = "app-id")]
    pub app_id: Option<String>,
    /// The port the app listens on (-1: no app port).
    #[arg(short = 'p', long = "app-port", default_value_t = -1, allow_negative_numbers = true)]
    pub app_port: i64,
    /// The sidecar's HTTP port (-1: a free port).
    #[arg(short = 'H', long = "dapr-http-port", default_value_t = -1, allow_negative_numbers = true)]
    pub dapr_http_port: i64,
    /// The gRPC port number given to the app (reserved only; the gRPC API is out of scope).
    #[arg(short = 'G', long = "dapr-grpc-port", default_value_t = -1, allow_negative_numbers = true)]
    pub dapr_grpc_port: i64,
    /// The metrics port number given to the app (reserved only).
    #[arg(short = 'M', long = "metrics-port", default_value_t = -1, allow_negative_numbers = true)]
    pub metrics_port: i64,
    /// The app protocol (only `http` is supported).
    #[arg(short = 'P', long = "app-protocol", default_value = "http")]
    pub app_protocol: String,
    /// The address the app listens on.
    #[arg(long = "app-channel-address", default_value = "127.0.0.1")]
    pub app_channel_address: String,
    /// A resources (components) folder; repeatable. Default `~/.dapr/components`.
    #[arg(long = "resources-path")]
    pub resources_paths: Vec<PathBuf>,
    /// Deprecated alias of `--resources-path`.
    #[arg(short = 'd', long = "components-path", hide = true)]
    pub components_path: Option<PathBuf>,
    /// A Configuration file (access control, mTLS, secret scopes); repeatable, later files
    /// layered over earlier ones. Default `~/.dapr/config.yaml` when it exists.
    #[arg(short = 'c', long = "config")]
    pub config: Vec<PathBuf>,
    /// Probe the app's health endpoint.
    #[arg(long = "enable-app-health-check")]
    pub enable_app_health_check: bool,
    /// The app's health endpoint.
    #[arg(long = "app-health-check-path", default_value = "/healthz")]
    pub app_health_check_path: String,
    /// Seconds between probes.
    #[arg(long = "app-health-probe-interval", default_value_t = 5)]
    pub app_health_probe_interval: u64,
    /// Probe timeout in milliseconds.
    #[arg(long = "app-health-probe-timeout", default_value_t = 500)]
    pub app_health_probe_timeout: u64,
    /// Consecutive failures before the app is unhealthy.
    #[arg(long = "app-health-threshold", default_value_t = 3)]
    pub app_health_threshold: u32,
    /// Largest request body, as a quantity (`4Mi`, the default; 0: no limit).
    #[arg(long = "max-body-size")]
    pub max_body_size: Option<String>,
    /// daprd's deprecated form of `--max-body-size`, in MB (≤ 0: no limit); `--max-body-size`
    /// wins when both are given.
    #[arg(long = "dapr-http-max-request-size", allow_negative_numbers = true)]
    pub dapr_http_max_request_size: Option<i64>,
    /// Accepted (`4Ki`); see the crate docs.
    #[arg(long = "read-buffer-size", default_value = "4Ki")]
    pub read_buffer_size: String,
    /// Comma-separated addresses for the HTTP API (default: 127.0.0.1; daprd's is all
    /// interfaces, `0.0.0.0`).
    #[arg(long = "dapr-listen-addresses")]
    pub listen_addresses: Option<String>,
    /// Seconds in-flight requests get on shutdown.
    #[arg(long = "dapr-graceful-shutdown-seconds", default_value_t = 5)]
    pub graceful_shutdown_seconds: u64,
    /// The shared name registry file (default `~/.dapr/standin/registry.db`).
    #[arg(long = "registry", env = registry::ENV_REGISTRY)]
    pub registry: Option<PathBuf>,
    /// Where to write each app's API tokens (`<app-id>.env`, mode 0600) for tools that call a
    /// sidecar themselves; removed when the run stops. Nothing is written without it.
    #[arg(long = "tokens-dir", env = "SIDECAR_TOKENS_DIR")]
    pub tokens_dir: Option<PathBuf>,
    /// Log level for sidecar lines (`RUST_LOG` overrides).
    #[arg(long = "log-level", default_value = "info")]
    pub log_level: String,
    /// The app's command (after `--`).
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// The command line cannot be turned into a run.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A run-file problem.
    #[error(transparent)]
    RunFile(#[from] RunFileError),
    /// A flag problem.
    #[error("--{}", .0)]
    Flag(ConfigError),
}

fn flag(field: &str, reason: String) -> CliError {
    CliError::Flag(ConfigError { field: field.into(), reason })
}

/// The process environment as pairs (read once, never modified).
pub fn process_env() -> Vec<(String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

// === impl RunArgs ===

impl RunArgs {
    /// The registry file: `--registry`, `$SIDECAR_REGISTRY`, or the default under `$HOME`.
    pub fn registry_path(&self) -> PathBuf {
        self.registry.clone().unwrap_or_else(registry::default_path)
    }

    /// Resolves the flags (or the run file) into one plan per app.
    pub fn plan(&self, env: &[(String, String)]) -> Result<Vec<AppPlan>, CliError> {
        let registry_path = self.registry_path();
        let home = env.iter().find(|(k, _)| k == "HOME").map(|(_, v)| PathBuf::from(v));
        if let Some(file) = &self.run_file {
            let inputs =
                runfile::Inputs { inherited_env: env, home: home.as_deref(), registry_path: &registry_path };
            let mut plans = runfile::load(file, &inputs)?;
            // The local run is safe by default: apps without tokens get their own.
            tokens::generate_missing(&mut plans);
            return Ok(plans);
        }
        let app_id = self
            .app_id
            .clone()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| format!("app-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let mut cfg = SidecarConfig::new(app_id, registry_path);
        cfg.apply_env(|k| env.iter().rev().find(|(ek, _)| ek == k).map(|(_, v)| v.clone()));
        cfg.environment = env.to_vec();
        cfg.config_files = if self.config.is_empty() {
            runfile::default_config(home.as_deref())
        } else {
            self.config.iter().map(|path| ConfigFile { path: path.clone(), required: true }).collect()
        };
        let port = |name: &str, v: i64| -> Result<Option<u16>, CliError> {
            match v {
                v if v <= 0 => Ok(None),
                v if v <= 65535 => Ok(Some(v as u16)),
                v => Err(flag(name, format!("{v} is not a port number (1-65535)"))),
            }
        };
        cfg.app_port = port("app-port", self.app_port)?;
        cfg.dapr_http_port = port("dapr-http-port", self.dapr_http_port)?.unwrap_or(0);
        let reserve = |name: &str, p: Option<u16>| match p {
            Some(p) => Ok(p),
            None => config::free_port().map_err(|e| flag(name, format!("cannot reserve a free port: {e}"))),
        };
        cfg.dapr_grpc_port = reserve("dapr-grpc-port", port("dapr-grpc-port", self.dapr_grpc_port)?)?;
        cfg.metrics_port = reserve("metrics-port", port("metrics-port", self.metrics_port)?)?;
        if self.app_protocol != "http" {
            return Err(flag(
                "app-protocol",
                format!("{:?} is not supported by the local sidecar: only \"http\" is", self.app_protocol),
            ));
        }
        cfg.app_channel_address = self.app_channel_address.clone();
        let mut paths: Vec<PathBuf> = self.resources_paths.clone();
        paths.extend(self.components_path.clone());
        cfg.resources_paths = if paths.is_empty() {
            runfile::default_resources(home.as_deref())
        } else {
            paths.into_iter().map(|path| ResourcesPath { path, required: true }).collect()
        };
        if self.enable_app_health_check {
            cfg.app_health = Some(AppHealthConfig {
                path: self.app_health_check_path.clone(),
                interval: Duration::from_secs(self.app_health_probe_interval),
                timeout: Duration::from_millis(self.app_health_probe_timeout),
                threshold: self.app_health_threshold,
            });
        }
        cfg.max_body_size = match (&self.max_body_size, self.dapr_http_max_request_size) {
            (Some(q), _) => config::body_limit(
                quantity::parse_bytes(q).map_err(|e| flag("max-body-size", e.to_string()))?,
            ),
            (None, Some(mb)) => config::body_limit_mb(mb),
            (None, None) => config::DEFAULT_MAX_BODY_SIZE,
        };
        cfg.read_buffer_size = quantity::parse_bytes(&self.read_buffer_size)
            .map_err(|e| flag("read-buffer-size", e.to_string()))?;
        if let Some(list) = &self.listen_addresses {
            cfg.listen_addresses =
                config::parse_listen_addresses(list).map_err(|e| flag("dapr-listen-addresses", e))?;
        }
        cfg.graceful_shutdown = Duration::from_secs(self.graceful_shutdown_seconds);
        cfg.validate().map_err(|e| flag(&kebab(&e.field), e.reason))?;
        let command = (!self.command.is_empty()).then(|| AppCommand {
            argv: self.command.clone(),
            dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            env: Vec::new(),
        });
        Ok(vec![AppPlan { sidecar: cfg, command, app_protocol: "http".into() }])
    }
}

/// `appHealthProbeTimeout` → `app-health-probe-timeout`, so flag errors name the flag.
fn kebab(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out.replace("app-i-d", "app-id")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> RunArgs {
        let mut full = vec!["sidecar", "run"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).unwrap().command {
            Command::Run(a) => a,
        }
    }

    #[test]
    fn single_app_flags_become_a_plan() {
        let a = args(&[
            "-a",
            "orders",
            "-p",
            "3000",
            "-H",
            "3500",
            "--resources-path",
            "/r",
            "--enable-app-health-check",
            "--max-body-size",
            "8Mi",
            "--registry",
            "/tmp/r.db",
            "--",
            "python3",
            "app.py",
        ]);
        let plans = a.plan(&[("DAPR_API_TOKEN".into(), "t".into())]).unwrap();
        let p = &plans[0];
        assert_eq!(p.sidecar.app_id, "orders");
        assert_eq!(p.sidecar.app_port, Some(3000));
        assert_eq!(p.sidecar.dapr_http_port, 3500);
        assert_eq!(p.sidecar.max_body_size, 8 << 20);
        assert_eq!(p.sidecar.dapr_api_token.as_deref(), Some("t"));
        assert_eq!(p.sidecar.registry_path, PathBuf::from("/tmp/r.db"));
        assert!(p.sidecar.app_health.is_some());
        assert_eq!(p.command.as_ref().unwrap().argv, vec!["python3", "app.py"]);
    }

    #[test]
    fn bad_flags_name_the_flag() {
        let e = args(&["-a", "x", "--max-body-size", "big"]).plan(&[]).unwrap_err().to_string();
        assert!(e.starts_with("--max-body-size"), "{e}");
        let e = args(&["-a", "x", "-P", "grpc"]).plan(&[]).unwrap_err().to_string();
        assert!(e.starts_with("--app-protocol"), "{e}");
        let e = args(&["-a", "x", "--enable-app-health-check", "--app-health-probe-timeout", "9000"])
            .plan(&[])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--app-health-probe-timeout"), "{e}");
    }

    #[test]
    fn body_size_flags_follow_daprd() {
        let size = |argv: &[&str]| {
            let mut full = vec!["-a", "x"];
            full.extend_from_slice(argv);
            args(&full).plan(&[]).unwrap()[0].sidecar.max_body_size
        };
        assert_eq!(size(&[]), 4 << 20);
        assert_eq!(size(&["--dapr-http-max-request-size", "16"]), 16 << 20);
        assert_eq!(size(&["--dapr-http-max-request-size", "16", "--max-body-size", "1Mi"]), 1 << 20);
        assert_eq!(size(&["--dapr-http-max-request-size", "0"]), u64::MAX);
        assert_eq!(size(&["--max-body-size", "0"]), u64::MAX);
    }

    #[test]
    fn config_files_and_listen_addresses() {
        let p = &args(&["-a", "x", "-c", "/a.yaml", "--config", "/b.yaml"]).plan(&[]).unwrap()[0];
        let files: Vec<_> = p.sidecar.config_files.iter().map(|c| (c.path.clone(), c.required)).collect();
        assert_eq!(files, vec![(PathBuf::from("/a.yaml"), true), (PathBuf::from("/b.yaml"), true)]);
        assert_eq!(p.sidecar.listen_addresses, vec![std::net::IpAddr::from([127, 0, 0, 1])]);
        let p = &args(&["-a", "x"]).plan(&[("HOME".into(), "/h".into())]).unwrap()[0];
        assert_eq!(p.sidecar.config_files[0].path, PathBuf::from("/h/.dapr/config.yaml"));
        assert!(!p.sidecar.config_files[0].required);
        let p = &args(&["-a", "x", "--dapr-listen-addresses", "0.0.0.0"]).plan(&[]).unwrap()[0];
        assert_eq!(p.sidecar.listen_addresses, vec![std::net::IpAddr::from([0, 0, 0, 0])]);
    }

    #[test]
    fn run_file_conflicts_with_app_flags() {
        assert!(Cli::try_parse_from(["sidecar", "run", "-f", "x.yaml", "-a", "y"]).is_err());
    }
}
