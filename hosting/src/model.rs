//! What hosting keeps: one [`ServiceRecord`] per installed service (its serving release, an
//! upgrade under way, its restart history and the processes it runs), all of it in the state
//! store, and the [`ServiceStatus`] a service is in.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

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

/// Where an archive is in the store: `chunks` values under [`ArchiveRef::chunk_key`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveRef {
    /// SHA-256 of the archive, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// How many chunks it is stored in.
    pub chunks: u32,
}

impl ArchiveRef {
    /// The store key of chunk `i` of `app_id`'s archive.
    pub fn chunk_key(&self, app_id: &str, i: u32) -> String {
        format!("hosting/archive/{app_id}/{}/{i}", self.sha256)
    }
}

/// One installable version of a service: what its `plugin.yaml` says, and its archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// `service.version`.
    pub version: String,
    /// `service.name`.
    pub name: String,
    /// The `web_service` ability's `root_route`.
    pub root_route: String,
    /// `start_file`, relative to `workspace/`.
    pub start_file: String,
    /// `is_open`: reachable without a login (hosting enforces it on what keel forwards).
    pub is_open: bool,
    /// `args`, passed as `--args=<args>`.
    pub args: String,
    /// The `plugin.yaml` as given.
    pub manifest: String,
    /// The archive.
    pub archive: ArchiveRef,
}

impl Release {
    /// The folder (under `data_dir/services/<app_id>/`) this release is unpacked in.
    pub fn dir_name(&self) -> String {
        format!("{}-{}", self.version, &self.archive.sha256[..12.min(self.archive.sha256.len())])
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

/// A process hosting started and must never leave behind: swept at boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// Its PID.
    pub pid: i32,
    /// Its process group (the start script's PID: every process the script starts is in it).
    pub pgid: i32,
    /// Its start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a recycled
    /// PID is never mistaken for it.
    pub start_ticks: u64,
    /// The port it was given.
    pub port: u16,
    /// The version it runs.
    pub version: String,
}

/// Everything kept about one installed service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// `service.app_id`.
    pub app_id: String,
    /// The release that serves (or is to serve) the route.
    pub current: Release,
    /// An upgrade under way: started beside `current`, it becomes `current` once it serves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Release>,
    /// When it was first installed.
    pub installed_at_ms: u64,
    /// When `current` became current.
    pub updated_at_ms: u64,
    /// Restarts after a crash, in total.
    pub restarts: u64,
    /// The latest exits, newest last (bounded).
    #[serde(default)]
    pub history: Vec<Exit>,
    /// Why the last upgrade was abandoned, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_upgrade_error: Option<String>,
    /// The processes running for it right now (two during an upgrade).
    #[serde(default)]
    pub processes: Vec<Tracked>,
}

/// Exits kept per service.
pub const HISTORY_LEN: usize = 20;

impl ServiceRecord {
    /// Notes an exit, keeping the history bounded.
    pub fn note_exit(&mut self, exit: Exit, restarted: bool) {
        if restarted {
            self.restarts += 1;
        }
        self.history.push(exit);
        if self.history.len() > HISTORY_LEN {
            let extra = self.history.len() - HISTORY_LEN;
            self.history.drain(..extra);
        }
    }
}

/// The whole state-store document: every record by app_id.
pub type Records = BTreeMap<String, ServiceRecord>;

/// The store key of [`Records`].
pub const RECORDS_KEY: &str = "hosting/services";

/// What a listing shows of one service.
#[derive(Debug, Clone, Serialize)]
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Its PID, while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<i32>,
    /// Restarts after a crash, in total.
    pub restarts: u64,
    /// How it ended last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<Exit>,
    /// An upgrade under way: its version and status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upgrading: Option<UpgradeView>,
    /// Why the last upgrade was abandoned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_upgrade_error: Option<String>,
    /// When it was first installed (ms since the epoch).
    pub installed_at_ms: u64,
    /// When the serving version became current.
    pub updated_at_ms: u64,
    /// `args`.
    pub args: String,
    /// `start_file`.
    pub start_file: String,
    /// The latest exits, newest last (only in `GET /v1/services/{app_id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Exit>>,
}

/// An upgrade under way, as listed.
#[derive(Debug, Clone, Serialize)]
pub struct UpgradeView {
    /// The version being started.
    pub version: String,
    /// Its status.
    pub status: ServiceStatus,
}
