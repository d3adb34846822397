//! The name registry: how a sidecar finds another app's sidecar, like daprd's sqlite name
//! resolver. Every sidecar upserts a row (app-id, namespace, internal address, pid, heartbeat)
//! into one shared sqlite file and refreshes its heartbeat every [`HEARTBEAT_INTERVAL`]; lookups
//! ignore rows whose heartbeat is older than [`STALE_AFTER`] or whose process is gone, so sidecars
//! of separate `run` invocations find each other and a crashed run is forgotten quickly.
//!
//! Every sqlite call runs on tokio's blocking pool (`spawn_blocking`), never on the async runtime.
//!
//! Several sidecars may register one app-id (replicas: two `sidecar run` of app `plugins`, say).
//! Each lookup picks one of the live rows at random, as daprd's sqlite resolver does (`ORDER BY
//! RANDOM() LIMIT 1` per call), so calls spread over the instances. The live rows of an app-id
//! are cached for [`CACHE_TTL`] (the pick is still made per call); a failed connection drops
//! the entry, and an instance that stops deletes its row, so it is no longer picked.

use rusqlite::{params, Connection, OpenFlags};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often a sidecar refreshes its row.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(2);
/// Rows not refreshed for this long are ignored (a few missed heartbeats).
pub const STALE_AFTER: Duration = Duration::from_secs(6);
/// Rows not refreshed for this long are deleted by the next registering sidecar.
const GARBAGE_AFTER: Duration = Duration::from_secs(60);
/// How long a lookup result is reused.
pub const CACHE_TTL: Duration = Duration::from_secs(1);
/// How long sqlite waits on another process's lock before failing: dozens of sidecars starting
/// at once on a loaded machine each take the write lock once (50 in the concurrency tests).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The env var that overrides the default registry path.
pub const ENV_REGISTRY: &str = "SIDECAR_REGISTRY";

/// A registry failure.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The sqlite file could not be opened, read or written.
    #[error("name registry {path}: {source}")]
    Sqlite {
        /// The registry file.
        path: PathBuf,
        /// The sqlite error (boxed: it is large and rare).
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// The registry's folder could not be created.
    #[error("name registry {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The blocking task was cancelled (the runtime is shutting down).
    #[error("name registry task cancelled")]
    Cancelled,
}

/// The default registry file: `~/.dapr/standin/registry.db`.
pub fn default_path() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir);
    home.join(".dapr").join("standin").join("registry.db")
}

/// A live entry for an app-id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// The sidecar's internal address, `127.0.0.1:<port>`.
    pub address: String,
}

/// A handle to the shared registry file. Cheap to clone.
#[derive(Clone)]
pub struct Registry {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

/// The live hosts of one app-id and when they were read.
type Cached = (Vec<Host>, Instant);

/// This sidecar's row, removed on [`Registry::deregister`].
#[derive(Debug, Clone)]
pub struct Registration {
    id: String,
    app_id: String,
    namespace: String,
    address: String,
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// True unless the process is known to be gone (`kill(pid, 0)` → ESRCH).
fn pid_alive(pid: i64) -> bool {
    let Ok(raw) = i32::try_from(pid) else { return false };
    if raw <= 0 {
        return false;
    }
    !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None), Err(nix::errno::Errno::ESRCH))
}

// === impl Registry ===

impl Registry {
    /// Opens (creating if needed) the registry file. Blocks: call before serving or off the
    /// runtime.
    pub fn open(path: &Path) -> Result<Self, RegistryError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| RegistryError::Folder { path: parent.to_owned(), source })?;
        }
        let err = |source| RegistryError::Sqlite { path: path.to_owned(), source: Box::new(source) };
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        // Many sidecars opening the file at once: the switch to WAL is retried (sqlite_lock).
        crate::sqlite_lock::retry_while_busy(BUSY_TIMEOUT, || {
            conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0))
        })
        .map_err(err)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS hosts (
                registration_id TEXT NOT NULL PRIMARY KEY,
                app_id TEXT NOT NULL,
                namespace TEXT NOT NULL,
                address TEXT NOT NULL,
                pid INTEGER NOT NULL,
                heartbeat_ms INTEGER NOT NULL
            );
            CREATE INDEX IF NOT EXISTS hosts_app_id ON hosts (app_id);",
        )
        .map_err(err)?;
        Ok(Registry {
            path: path.to_owned(),
            conn: Arc::new(Mutex::new(conn)),
            cache: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The registry file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let conn = self.conn.clone();
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn).map_err(|source| RegistryError::Sqlite { path, source: Box::new(source) })
        })
        .await
        .map_err(|_| RegistryError::Cancelled)?
    }

    /// Adds this sidecar's row (and deletes long-dead rows).
    pub async fn register(
        &self,
        app_id: &str,
        namespace: &str,
        address: &str,
    ) -> Result<Registration, RegistryError> {
        let reg = Registration {
            id: uuid::Uuid::new_v4().to_string(),
            app_id: app_id.to_owned(),
            namespace: namespace.to_owned(),
            address: address.to_owned(),
        };
        let r = reg.clone();
        self.blocking(move |c| {
            c.execute(
                "DELETE FROM hosts WHERE heartbeat_ms < ?1",
                [now_ms() - GARBAGE_AFTER.as_millis() as i64],
            )?;
            upsert(c, &r)
        })
        .await?;
        Ok(reg)
    }

    /// Refreshes this sidecar's heartbeat, re-inserting the row if someone deleted it.
    pub async fn heartbeat(&self, reg: &Registration) -> Result<(), RegistryError> {
        let r = reg.clone();
        self.blocking(move |c| upsert(c, &r)).await
    }

    /// Removes this sidecar's row (clean shutdown).
    pub async fn deregister(&self, reg: &Registration) -> Result<(), RegistryError> {
        let id = reg.id.clone();
        self.blocking(move |c| c.execute("DELETE FROM hosts WHERE registration_id = ?1", [id]).map(|_| ()))
            .await
    }

    /// A live sidecar for `app_id`, chosen at random among live rows like daprd's resolver;
    /// `None` when there is none ("no host found with the given ID").
    pub async fn lookup(&self, app_id: &str) -> Result<Option<Host>, RegistryError> {
        if let Some(hosts) = self.cached(app_id) {
            return Ok(pick(&hosts));
        }
        let id = app_id.to_owned();
        let rows: Vec<(String, i64)> = self
            .blocking(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT address, pid FROM hosts WHERE app_id = ?1 AND heartbeat_ms >= ?2",
                )?;
                let rows = stmt
                    .query_map(params![id, now_ms() - STALE_AFTER.as_millis() as i64], |r| {
                        Ok((r.get(0)?, r.get(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await?;
        let live: Vec<Host> = rows
            .into_iter()
            .filter(|(_, pid)| pid_alive(*pid))
            .map(|(address, _)| Host { address })
            .collect();
        if live.is_empty() {
            return Ok(None);
        }
        let host = pick(&live);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(app_id.to_owned(), (live, Instant::now()));
        Ok(host)
    }

    /// Forgets the cached address of `app_id` (after a failed connection).
    pub fn invalidate(&self, app_id: &str) {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).remove(app_id);
    }

    fn cached(&self, app_id: &str) -> Option<Vec<Host>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.get(app_id).filter(|(_, at)| at.elapsed() < CACHE_TTL).map(|(h, _)| h.clone())
    }
}

/// One of `hosts` at random: calls spread over the live sidecars of one app-id.
fn pick(hosts: &[Host]) -> Option<Host> {
    if hosts.is_empty() {
        return None;
    }
    let i = (uuid::Uuid::new_v4().as_u128() % hosts.len() as u128) as usize;
    Some(hosts[i].clone())
}

fn upsert(c: &Connection, r: &Registration) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO hosts (registration_id, app_id, namespace, address, pid, heartbeat_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (registration_id) DO UPDATE SET heartbeat_ms = excluded.heartbeat_ms",
        params![r.id, r.app_id, r.namespace, r.address, std::process::id() as i64, now_ms()],
    )
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn registered_sidecars_are_found_until_deregistered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reg.db");
        let a = Registry::open(&path).unwrap();
        let b = Registry::open(&path).unwrap();
        let reg = a.register("app1", "default", "127.0.0.1:4000").await.unwrap();
        assert_eq!(b.lookup("app1").await.unwrap(), Some(Host { address: "127.0.0.1:4000".into() }));
        assert_eq!(b.lookup("other").await.unwrap(), None);
        a.deregister(&reg).await.unwrap();
        b.invalidate("app1");
        assert_eq!(b.lookup("app1").await.unwrap(), None);
    }

    #[tokio::test]
    async fn lookups_spread_over_every_live_instance_of_an_app_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reg.db");
        let a = Registry::open(&path).unwrap();
        let b = Registry::open(&path).unwrap();
        let one = a.register("plugins", "default", "127.0.0.1:4001").await.unwrap();
        let _two = a.register("plugins", "default", "127.0.0.1:4002").await.unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..64 {
            seen.insert(b.lookup("plugins").await.unwrap().unwrap().address);
        }
        assert_eq!(seen.len(), 2, "both instances are picked, even from the cache: {seen:?}");
        a.deregister(&one).await.unwrap();
        b.invalidate("plugins");
        for _ in 0..16 {
            assert_eq!(b.lookup("plugins").await.unwrap().unwrap().address, "127.0.0.1:4002");
        }
    }

    #[tokio::test]
    async fn rows_of_dead_processes_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(&dir.path().join("reg.db")).unwrap();
        let conn = Connection::open(dir.path().join("reg.db")).unwrap();
        // pid 0x7ffffff0 does not exist on any test machine.
        conn.execute(
            "INSERT INTO hosts VALUES ('x', 'ghost', 'default', '127.0.0.1:1', 2147483632, ?1)",
            [now_ms()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO hosts VALUES ('y', 'stale', 'default', '127.0.0.1:2', ?1, 0)",
            [std::process::id()],
        )
        .unwrap();
        assert_eq!(reg.lookup("ghost").await.unwrap(), None);
        assert_eq!(reg.lookup("stale").await.unwrap(), None);
    }
}
