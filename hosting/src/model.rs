//! What hosting keeps: one [`ServiceRecord`] per installed service (its serving release, an
//! upgrade under way, its restart history and the processes it runs), all of it in the state
//! store. What its API answers (the views, [`ServiceStatus`]) is the wire, in
//! `keel_sdk::management::hosting`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use keel_sdk::management::hosting::{Exit, ServiceStatus, ServiceView, UpgradeView};

/// Milliseconds since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
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

/// What hosting started and must never leave behind, swept at boot: noted as soon as the start
/// script is spawned (then `pid` is the script's), and again once the service runs (then `pid`
/// is the service's, from its PID file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    /// The service's PID, or the start script's while it starts.
    pub pid: i32,
    /// The process group (the start script's PID: every process the script starts is in it).
    pub pgid: i32,
    /// `pid`'s start time in clock ticks since boot (`/proc/<pid>/stat` field 22), so a
    /// recycled PID is never mistaken for it.
    pub start_ticks: u64,
    /// The start script's start time, the same for the group (0 in notes of older versions,
    /// which knew the group only through the service).
    #[serde(default)]
    pub group_ticks: u64,
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
