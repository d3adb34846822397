//! `state.sqlite` (alias `state.sqlite3`): a sqlite file, laid out like components-contrib's
//! sqlite store (table `state`: key, value, is_binary, etag, expiration_time, update_time), so
//! data survives restarts and several sidecars (separate processes) may share one file.
//!
//! Sharing is safe because the file runs with a busy timeout, and every write — its ETag check
//! included — happens inside one `BEGIN IMMEDIATE` transaction: the check and the write cannot
//! interleave with another process's.
//!
//! The journal is WAL, as contrib's default, or with `disableWAL: "true"` a rollback journal
//! (the file is switched to it if an earlier run left it in WAL; daprd would leave it so). WAL
//! lets reads go on under a writer, but its `-shm` index is memory-mapped shared: when that file
//! cannot be written (a read-only or full disk), every process on the file dies of SIGBUS. A
//! rollback journal maps nothing, so such a fault is an error answered per request; the price is
//! that reads wait while another process writes. The repository's own components choose it.

use super::{
    new_etag, ttl_atoi, BlockingStore, Capabilities, Concurrency, DeleteOp, Item, OpenError, SetOp,
    StoreError, TxOp,
};
use crate::components::Component;
use crate::golang::duration;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};
use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// components-contrib's default `busyTimeout`.
const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes between two deletions of expired rows.
const CLEANUP_EVERY_WRITES: u32 = 1024;

/// "Now" in the text form stored in `expiration_time` (UTC, millisecond precision). Text
/// comparison of this form orders like time, and also against contrib's second-precision values.
const NOW: &str = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

/// The sqlite store.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    table: String,
    writes: Mutex<u32>,
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Other(e.to_string())
}

// === impl SqliteStore ===

impl SqliteStore {
    /// Opens (creating if needed) the database named by the component's `connectionString`: a
    /// path relative to the working directory, `file:` URI, or `:memory:`.
    pub fn open(c: &Component) -> Result<Self, OpenError> {
        let meta_err = |field: &str, reason: String| OpenError::Metadata {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            field: field.to_owned(),
            reason,
        };
        let conn_str = c.meta("connectionString").unwrap_or("").trim().to_owned();
        if conn_str.is_empty() {
            return Err(meta_err("connectionString", "missing: set it to a file path or :memory:".into()));
        }
        let table = c.meta("tableName").unwrap_or("state").to_owned();
        if table.is_empty() || !table.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            return Err(meta_err("tableName", format!("{table:?} must be letters, digits and underscores")));
        }
        let busy = match c.meta("busyTimeout") {
            Some(v) if !v.is_empty() => duration::parse(v)
                .ok_or_else(|| meta_err("busyTimeout", format!("{v:?} is not a duration")))?,
            _ => DEFAULT_BUSY_TIMEOUT,
        };
        let disable_wal = c.meta("disableWAL").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let sqlite_err = |source| OpenError::Sqlite {
            name: c.name.clone(),
            path: conn_str.clone(),
            source: Box::new(source),
        };

        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&conn_str, flags).map_err(sqlite_err)?;
        conn.busy_timeout(busy).map_err(sqlite_err)?;
        let in_memory = conn_str == ":memory:" || conn_str.contains("mode=memory");
        // Every set-up step is idempotent: retried while another sidecar opening the file holds it.
        crate::sqlite_lock::retry_while_busy(busy, || {
            Self::set_up(&conn, &c.name, &conn_str, &table, in_memory, disable_wal)
        })
        .map_err(sqlite_err)?;
        Ok(SqliteStore { conn: Mutex::new(conn), table, writes: Mutex::new(0) })
    }

    /// The file's journal mode, mapping and tables, as [`SqliteStore::open`] sets them up.
    fn set_up(
        conn: &Connection,
        name: &str,
        conn_str: &str,
        table: &str,
        in_memory: bool,
        disable_wal: bool,
    ) -> rusqlite::Result<()> {
        if !in_memory {
            // journal_mode returns a row; query it rather than execute.
            let mode = if disable_wal { "DELETE" } else { "WAL" };
            let now: String = conn.query_row(&format!("PRAGMA journal_mode={mode}"), [], |r| r.get(0))?;
            if !now.eq_ignore_ascii_case(mode) {
                // Leaving WAL needs the file to itself: another process still has it open.
                tracing::warn!(component = %name, file = %conn_str, journal = %now, wanted = mode,
                    "The sqlite file stays in its journal mode while another process has it open");
            }
        }
        if disable_wal {
            // Nothing of the file mapped either: a mapping turns an I/O fault into SIGBUS.
            conn.pragma_update(None, "mmap_size", 0)?;
        }
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (
                key TEXT NOT NULL PRIMARY KEY,
                value TEXT NOT NULL,
                is_binary BOOLEAN NOT NULL,
                etag TEXT NOT NULL,
                expiration_time TIMESTAMP DEFAULT NULL,
                update_time TIMESTAMP DEFAULT NULL
            );
            CREATE TABLE IF NOT EXISTS metadata (key TEXT NOT NULL PRIMARY KEY, value TEXT NOT NULL);
            DELETE FROM {table} WHERE expiration_time IS NOT NULL AND expiration_time <= {NOW};"
        ))?;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic cannot leave a half-applied write: sqlite rolls back an unfinished transaction.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` inside one `BEGIN IMMEDIATE` transaction, committing only if it succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql_err)?;
        let out = f(&tx)?; // dropping `tx` on error rolls back
        tx.commit().map_err(sql_err)?;
        drop(conn);
        self.maybe_cleanup();
        Ok(out)
    }

    fn maybe_cleanup(&self) {
        let mut n = self.writes.lock().unwrap_or_else(|p| p.into_inner());
        *n += 1;
        if *n >= CLEANUP_EVERY_WRITES {
            *n = 0;
            let sql = format!(
                "DELETE FROM {} WHERE expiration_time IS NOT NULL AND expiration_time <= {NOW}",
                self.table
            );
            if let Err(e) = self.lock().execute(&sql, []) {
                tracing::warn!(error = %e, "Expired state cleanup failed");
            }
        }
    }

    fn live_etag(&self, tx: &rusqlite::Transaction<'_>, key: &str) -> Result<Option<String>, StoreError> {
        let sql = format!(
            "SELECT etag FROM {} WHERE key = ?1 AND (expiration_time IS NULL OR expiration_time > {NOW})",
            self.table
        );
        tx.query_row(&sql, [key], |r| r.get(0)).optional().map_err(sql_err)
    }

    fn do_set(&self, tx: &rusqlite::Transaction<'_>, op: &SetOp) -> Result<(), StoreError> {
        let value = String::from_utf8_lossy(&op.value);
        let etag = new_etag();
        let expires = ttl_atoi(op.ttl.as_deref())?.map(|ttl| format!("+{} seconds", ttl.as_secs()));
        let expires_sql = "CASE WHEN ?3 IS NULL THEN NULL ELSE strftime('%Y-%m-%d %H:%M:%f', 'now', ?3) END";
        match op.etag.as_deref().filter(|e| !e.is_empty()) {
            Some(expect) => {
                let sql = format!(
                    "UPDATE {t} SET value = ?2, is_binary = 0, etag = ?4, expiration_time = {expires_sql},
                        update_time = {NOW}
                     WHERE key = ?1 AND etag = ?5 AND (expiration_time IS NULL OR expiration_time > {NOW})",
                    t = self.table
                );
                let n = tx.execute(&sql, params![op.key, value, expires, etag, expect]).map_err(sql_err)?;
                if n == 0 {
                    return Err(StoreError::EtagMismatch(None));
                }
            }
            None => {
                if op.concurrency == Concurrency::FirstWrite && self.live_etag(tx, &op.key)?.is_some() {
                    return Err(StoreError::EtagMismatch(None));
                }
                let sql = format!(
                    "INSERT INTO {t} (key, value, is_binary, etag, expiration_time, update_time)
                     VALUES (?1, ?2, 0, ?4, {expires_sql}, {NOW})
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, is_binary = 0,
                        etag = excluded.etag, expiration_time = excluded.expiration_time,
                        update_time = excluded.update_time",
                    t = self.table
                );
                tx.execute(&sql, params![op.key, value, expires, etag]).map_err(sql_err)?;
            }
        }
        Ok(())
    }

    fn do_delete(&self, tx: &rusqlite::Transaction<'_>, op: &DeleteOp) -> Result<(), StoreError> {
        match op.etag.as_deref().filter(|e| !e.is_empty()) {
            Some(expect) => {
                let sql = format!(
                    "DELETE FROM {} WHERE key = ?1 AND etag = ?2 AND (expiration_time IS NULL OR expiration_time > {NOW})",
                    self.table
                );
                if tx.execute(&sql, params![op.key, expect]).map_err(sql_err)? == 0 {
                    return Err(StoreError::EtagMismatch(None));
                }
            }
            None => {
                let sql = format!("DELETE FROM {} WHERE key = ?1", self.table);
                tx.execute(&sql, [&op.key]).map_err(sql_err)?;
            }
        }
        Ok(())
    }
}

impl BlockingStore for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let sql = format!(
            "SELECT value, etag, CAST(strftime('%s', expiration_time) AS INTEGER) FROM {}
             WHERE key = ?1 AND (expiration_time IS NULL OR expiration_time > {NOW})",
            self.table
        );
        let row: Option<(String, String, Option<i64>)> = self
            .lock()
            .query_row(&sql, [key], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .map_err(sql_err)?;
        Ok(row.map(|(value, etag, expires)| Item {
            data: value.into_bytes(),
            etag,
            expires_at: expires.map(|s| UNIX_EPOCH + Duration::from_secs(s.max(0) as u64)),
        }))
    }

    fn set(&self, op: &SetOp) -> Result<(), StoreError> {
        self.write(|tx| self.do_set(tx, op))
    }

    fn delete(&self, op: &DeleteOp) -> Result<(), StoreError> {
        self.write(|tx| self.do_delete(tx, op))
    }

    fn transact(&self, ops: &[TxOp]) -> Result<(), StoreError> {
        self.write(|tx| {
            for op in ops {
                match op {
                    TxOp::Set(s) => self.do_set(tx, s)?,
                    TxOp::Delete(d) => self.do_delete(tx, d)?,
                }
            }
            Ok(())
        })
    }

    fn capabilities(&self) -> Capabilities {
        &["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"]
    }
}
