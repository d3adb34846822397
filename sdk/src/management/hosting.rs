//! hosting's records on the wire (app-id `hosting`, `docs/hosting.md`): what `GET
//! /v1/services` and the other answers carry, read by `keelctl hosting` with the same types.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a hosted service is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    /// Started; waiting for its PID file and its port.
    Starting,
    /// Serving.
    Running,
    /// It exited; waiting out the backoff before the next start.
    Restarting,
    /// Crashed `crash_burst` times within `crash_window_ms`: not restarted any more.
    Failed,
    /// Being stopped (uninstall, upgrade, shutdown).
    Stopping,
}

impl ServiceStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "STARTING",
            Self::Running => "RUNNING",
            Self::Restarting => "RESTARTING",
            Self::Failed => "FAILED",
            Self::Stopping => "STOPPING",
        }
    }
}

impl fmt::Display for ServiceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exit {
    /// When it was noticed.
    pub at_ms: u64,
    /// The version that ran.
    pub version: String,
    /// Its exit code, when it exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that ended it, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<i32>,
    /// What happened, in words ("exited with 3", "did not write pid.txt within 30s", ...).
    pub reason: String,
}

/// What a listing shows of one service.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceView {
    /// `service.app_id`.
    pub app_id: String,
    /// `service.name`.
    pub name: String,
    /// The version serving.
    pub version: String,
    /// The route root: `/plugin_service/<root_route>/` outside, `/<root_route>/` on the local port.
    pub root_route: String,
    /// Reachable without a login (hosting enforces it on what keel forwards).
    pub is_open: bool,
    /// Where it is in its life.
    pub status: ServiceStatus,
    /// The port it listens on, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Its PID, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Restarts after a crash, in total.
    #[serde(default)]
    pub restarts: u64,
    /// How it ended last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<Exit>,
    /// An upgrade under way: its version and status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrading: Option<UpgradeView>,
    /// Why the last upgrade was abandoned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_upgrade_error: Option<String>,
    /// When it was first installed (ms since the epoch).
    #[serde(default)]
    pub installed_at_ms: u64,
    /// When the serving version became current.
    #[serde(default)]
    pub updated_at_ms: u64,
    /// `args`.
    #[serde(default)]
    pub args: String,
    /// `start_file`.
    #[serde(default)]
    pub start_file: String,
    /// The latest exits, newest last (only in `GET /v1/services/{app_id}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Exit>>,
}

/// An upgrade under way, as listed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UpgradeView {
    /// The version being started.
    pub version: String,
    /// Its status.
    pub status: ServiceStatus,
}

/// `GET /v1/services`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceList {
    /// Every installed service.
    pub services: Vec<ServiceView>,
}

/// The answers that carry one service (install, upgrade, show, uninstall, restart).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceAnswer {
    /// The service.
    pub service: ServiceView,
}
