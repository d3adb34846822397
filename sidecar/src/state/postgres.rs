//! `state.postgresql` v1 (daprd's default version), laid out and answering as components-contrib's
//! v1 store, so that the stand-in and daprd can share one database:
//!
//! - the state table (`tableName`, default `state`): `key text` primary key, `value jsonb`,
//!   `isbinary boolean`, `insertdate`, `updatedate`, `expiredate` (timestamps with time zone) and
//!   `row_id` (a `bigint` identity with a unique index `<table>_row_id_uidx`), built by contrib's
//!   three migrations, whose level is kept under `migrations` in the metadata table
//!   (`metadataTableName`, default `dapr_metadata`), behind a row lock on its `lock` row;
//! - the ETag is the row's `xmin`; a non-numeric ETag is invalid (400), a stale one a mismatch
//!   (409 on save and delete; an ETag for a missing key too);
//! - first-write without an ETag only replaces an expired row: on a live one it fails with
//!   `no item was updated` (500), as in daprd;
//! - values are stored as `jsonb`, so a read returns PostgreSQL's rendering of the JSON
//!   (`{"a": 1, "b": 2}`), as it does under daprd;
//! - a transaction of several operations runs in one SQL transaction: the first failure (an ETag
//!   mismatch included) rolls everything back;
//! - bulk get is one `key = ANY($1)` query: found keys come first (in the database's order), then
//!   the missing ones, as daprd answers;
//! - expired rows are deleted every `cleanupInterval` (default 1 h; `0` turns it off) by whichever
//!   sidecar claims the `last-cleanup` row of the metadata table first.
//!
//! Every call is bounded by the component's `timeout` (default 20 s). TLS (`sslmode=require` and
//! stricter) and cloud identities (`useAzureAD`, `useAWSIAM`) are not supported: the store refuses
//! to open with the field named.

use super::{
    parse_int_error, BulkItem, Capabilities, Concurrency, DeleteOp, Item, OpenError, SetOp, StateStore,
    StoreError, StoreFuture, TxOp,
};
use crate::components::Component;
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::str::FromStr;
use std::time::{Duration, SystemTime};
use tokio_postgres::NoTls;

/// contrib's defaults.
const DEFAULT_TABLE: &str = "state";
const DEFAULT_METADATA_TABLE: &str = "dapr_metadata";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
const DEFAULT_CLEANUP_INTERVAL: Duration = Duration::from_secs(3600);

/// pgx's pool settings, which pgx reads from the connection string and libpq does not know.
const PGX_POOL_KEYS: &[&str] = &[
    "pool_max_conns",
    "pool_min_conns",
    "pool_max_conn_lifetime",
    "pool_max_conn_idle_time",
    "pool_health_check_period",
    "pool_max_conn_lifetime_jitter",
];

/// Component settings (contrib's `pgMetadata` and `PostgresAuthMetadata`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The connection settings, `connectionString` with `host`, `port`, ... applied over it.
    pub pg: tokio_postgres::Config,
    /// `tableName` (`schema.table` or `table`).
    pub table: String,
    /// `metadataTableName`.
    pub metadata_table: String,
    /// `timeout` (alias `timeoutInSeconds`).
    pub timeout: Duration,
    /// `cleanupInterval` (alias `cleanupIntervalInSeconds`); `None` turns cleanup off.
    pub cleanup_interval: Option<Duration>,
    /// `maxConns` (or pgx's `pool_max_conns`).
    pub max_conns: usize,
}

/// The PostgreSQL v1 store.
pub struct PostgresStore {
    pool: Pool,
    table: String,
    timeout: Duration,
    cleanup: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(task) = self.cleanup.take() {
            task.abort();
        }
    }
}

/// The text of a database error as pgx words it (`ERROR: ... (SQLSTATE xxxxx)`).
fn pg_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {} (SQLSTATE {})", db.severity(), db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// A table name contrib accepts (`schema.table`), checked here because it is put in the SQL.
fn valid_table(name: &str) -> bool {
    let parts: Vec<&str> = name.split('.').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !p.starts_with(|c: char| c.is_ascii_digit())
        })
}

/// A `time.Duration` as dapr/kit's metadata decoder reads it: a Go duration, or a number of
/// seconds.
fn kit_duration(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<i64>() {
        return Some(Duration::from_secs(secs.max(0) as u64));
    }
    crate::golang::duration::parse(v)
}

// === impl Settings ===

impl Settings {
    /// Reads the component's metadata; an error names the field.
    pub fn from_component(c: &Component) -> Result<Self, OpenError> {
        let bad = |field: &str, reason: String| OpenError::Metadata {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            field: field.to_owned(),
            reason,
        };
        let get =
            |keys: &[&str]| keys.iter().find_map(|k| c.meta(k)).map(str::trim).filter(|v| !v.is_empty());
        for field in ["useAzureAD", "useAWSIAM"] {
            if get(&[field]).is_some_and(|v| matches!(v, "1" | "t" | "T" | "true" | "TRUE" | "True")) {
                return Err(bad(field, "is not supported by the local sidecar".into()));
            }
        }
        let raw = get(&["connectionString", "url"]).unwrap_or("");
        let (conn_str, pool_max) = strip_pgx_pool_keys(raw);
        let mut pg = tokio_postgres::Config::from_str(&conn_str)
            .map_err(|e| bad("connectionString", format!("cannot be parsed: {e}")))?;
        if let Some(v) = get(&["host"]) {
            pg.host(v);
        }
        if let Some(v) = get(&["hostaddr"]) {
            let addr = v.parse().map_err(|_| bad("hostaddr", format!("{v:?} is not an IP address")))?;
            pg.hostaddr(addr);
        }
        if let Some(v) = get(&["port"]) {
            pg.port(v.parse().map_err(|_| bad("port", format!("{v:?} is not a port")))?);
        }
        if let Some(v) = get(&["database"]) {
            pg.dbname(v);
        }
        if let Some(v) = get(&["user"]) {
            pg.user(v);
        }
        if let Some(v) = c.meta("password").filter(|v| !v.is_empty()) {
            pg.password(v);
        }
        if pg.get_hosts().is_empty() && pg.get_hostaddrs().is_empty() {
            return Err(bad(
                "connectionString",
                "names no host (e.g. \"host=localhost user=postgres port=5432\")".into(),
            ));
        }
        if matches!(pg.get_ssl_mode(), tokio_postgres::config::SslMode::Require) {
            return Err(bad(
                "connectionString",
                "sslmode=require: TLS connections to PostgreSQL are not supported by the local sidecar; use sslmode=disable or prefer locally".into(),
            ));
        }
        if pg.get_connect_timeout().is_none() {
            pg.connect_timeout(DEFAULT_TIMEOUT);
        }
        let table = get(&["tableName"]).unwrap_or(DEFAULT_TABLE).to_owned();
        if !valid_table(&table) {
            return Err(bad(
                "tableName",
                format!("{table:?} must be table or schema.table, letters, digits and underscores"),
            ));
        }
        let metadata_table = get(&["metadataTableName"]).unwrap_or(DEFAULT_METADATA_TABLE).to_owned();
        if !valid_table(&metadata_table) {
            return Err(bad(
                "metadataTableName",
                format!("{metadata_table:?} must be table or schema.table, letters, digits and underscores"),
            ));
        }
        let timeout = match get(&["timeout", "timeoutInSeconds"]) {
            Some(v) => kit_duration(v).ok_or_else(|| bad("timeout", format!("{v:?} is not a duration")))?,
            None => DEFAULT_TIMEOUT,
        };
        if timeout < Duration::from_secs(1) {
            return Err(bad("timeout", "invalid value for 'timeout': must be greater than 1s".into()));
        }
        // contrib: present but empty is the default, `0` or negative turns cleanup off.
        let cleanup_interval =
            match ["cleanupInterval", "cleanupIntervalInSeconds"].iter().find_map(|k| c.meta(k)) {
                None => Some(DEFAULT_CLEANUP_INTERVAL),
                Some(v) if v.trim().is_empty() => Some(DEFAULT_CLEANUP_INTERVAL),
                Some(v) if v.trim().starts_with('-') => None,
                Some(v) => {
                    let d = kit_duration(v.trim())
                        .ok_or_else(|| bad("cleanupInterval", format!("{v:?} is not a duration")))?;
                    (!d.is_zero()).then_some(d)
                }
            };
        let max_conns = match get(&["maxConns"]) {
            Some(v) => {
                v.parse::<usize>().map_err(|_| bad("maxConns", format!("cannot parse {v:?} as int")))?
            }
            None => pool_max.unwrap_or(0),
        };
        // pgx's default pool size: the larger of 4 and the number of CPUs.
        let max_conns = if max_conns == 0 {
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).max(4)
        } else {
            max_conns
        };
        Ok(Settings { pg, table, metadata_table, timeout, cleanup_interval, max_conns: max_conns.max(2) })
    }
}

/// Removes pgx's `pool_*` settings from a key/value connection string (libpq, and so
/// tokio-postgres, refuses unknown keys) and spells pgx's `database` as libpq's `dbname`;
/// returns `pool_max_conns` when given.
fn strip_pgx_pool_keys(conn: &str) -> (String, Option<usize>) {
    if conn.starts_with("postgres://") || conn.starts_with("postgresql://") {
        return (conn.to_owned(), None);
    }
    let mut max = None;
    let kept: Vec<String> = conn
        .split_whitespace()
        .filter(|part| {
            let key = part.split_once('=').map(|(k, _)| k).unwrap_or(part);
            if key == "pool_max_conns" {
                max = part.split_once('=').and_then(|(_, v)| v.parse().ok());
            }
            !PGX_POOL_KEYS.contains(&key)
        })
        .map(|part| match part.strip_prefix("database=") {
            Some(db) => format!("dbname={db}"),
            None => part.to_owned(),
        })
        .collect();
    (kept.join(" "), max)
}

// === impl PostgresStore ===

impl PostgresStore {
    /// Connects, pings and migrates within the component's `timeout`, then starts the cleanup.
    pub async fn open(c: &Component) -> Result<Self, OpenError> {
        let s = Settings::from_component(c)?;
        let init = |reason: String| OpenError::Init {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            reason: format!("failed to connect to the database (metadata connectionString): {reason}"),
        };
        let manager = Manager::from_config(
            s.pg.clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(s.max_conns)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(s.timeout))
            .create_timeout(Some(s.timeout))
            .recycle_timeout(Some(s.timeout))
            .build()
            .map_err(|e| init(e.to_string()))?;
        let mut store = PostgresStore { pool, table: s.table.clone(), timeout: s.timeout, cleanup: None };
        store
            .timed(async { store.client().await?.simple_query("SELECT 1").await.map_err(|e| pg_text(&e)) })
            .await
            .map_err(init)?;
        store.migrate(&s.metadata_table).await.map_err(|reason| OpenError::Init {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            reason: format!("migrating tables {} and {}: {reason}", s.table, s.metadata_table),
        })?;
        store.cleanup = s.cleanup_interval.map(|every| {
            let pool = store.pool.clone();
            let (table, meta, timeout) = (s.table.clone(), s.metadata_table.clone(), s.timeout);
            tokio::spawn(cleanup_forever(pool, table, meta, every, timeout))
        });
        Ok(store)
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, String> {
        self.pool.get().await.map_err(|e| match e {
            deadpool_postgres::PoolError::Backend(e) => pg_text(&e),
            other => other.to_string(),
        })
    }

    /// Runs `f` with the component's time limit.
    async fn timed<T>(&self, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(format!("timeout: context deadline exceeded (after {:?})", self.timeout)),
        }
    }

    /// contrib's three v1 migrations, under the lock row of the metadata table.
    async fn migrate(&self, meta: &str) -> Result<(), String> {
        let timeout = self.timeout;
        let work = async {
            let admin = self.client().await?;
            let e = |e: tokio_postgres::Error| pg_text(&e);
            let create_meta = format!(
                "CREATE TABLE IF NOT EXISTS {meta} (key text NOT NULL PRIMARY KEY, value text NOT NULL)"
            );
            // Concurrent creators can collide on the type's unique index (23505): try again.
            let mut created = admin.batch_execute(&create_meta).await;
            for _ in 0..3 {
                match &created {
                    Err(err) if err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        created = admin.batch_execute(&create_meta).await;
                    }
                    _ => break,
                }
            }
            created.map_err(|err| format!("failed to create metadata table: {}", pg_text(&err)))?;
            admin
                .execute(&format!("INSERT INTO {meta} (key, value) VALUES ('lock', 'lock') ON CONFLICT (key) DO NOTHING"), &[])
                .await
                .map_err(e)?;
            // The lock: a transaction holding the lock row, rolled back once done.
            let mut locker = self.client().await?;
            let lock = locker.transaction().await.map_err(e)?;
            lock.query_one(&format!("SELECT value FROM {meta} WHERE key = 'lock' FOR UPDATE"), &[])
                .await
                .map_err(e)?;
            let level: u32 = match admin
                .query_opt(&format!("SELECT value FROM {meta} WHERE key = 'migrations'"), &[])
                .await
                .map_err(e)?
            {
                Some(row) => {
                    let v: String = row.get(0);
                    v.parse().map_err(|_| format!("invalid migration level found in metadata table: {v}"))?
                }
                None => 0,
            };
            for step in level..3 {
                self.migration(&admin, step)
                    .await
                    .map_err(|err| format!("failed to perform migration {step}: {err}"))?;
                admin
                    .execute(
                        &format!("INSERT INTO {meta} (key, value) VALUES ('migrations', $1) ON CONFLICT (key) DO UPDATE SET value = $1"),
                        &[&(step + 1).to_string()],
                    )
                    .await
                    .map_err(e)?;
            }
            lock.rollback().await.map_err(e)?;
            Ok(())
        };
        match tokio::time::timeout(timeout * 3, work).await {
            Ok(r) => r,
            Err(_) => Err(format!("timed out after {:?}", timeout * 3)),
        }
    }

    async fn migration(&self, db: &deadpool_postgres::Client, step: u32) -> Result<(), String> {
        let t = &self.table;
        let e = |e: tokio_postgres::Error| pg_text(&e);
        match step {
            0 => db
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {t} (
                        key text NOT NULL PRIMARY KEY,
                        value jsonb NOT NULL,
                        isbinary boolean NOT NULL,
                        insertdate TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
                        updatedate TIMESTAMP WITH TIME ZONE NULL
                    )"
                ))
                .await
                .map_err(e),
            1 => db
                .batch_execute(&format!("ALTER TABLE {t} ADD expiredate TIMESTAMP WITH TIME ZONE"))
                .await
                .map_err(e),
            _ => {
                // A row_id identity, numbered by insertion for existing rows, unique.
                let row = db
                    .query_one(
                        "SELECT format('%I.%I', n.nspname, c.relname), c.relname::text, n.nspname || '.' || c.relname
                         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                        &[t],
                    )
                    .await
                    .map_err(|err| format!("resolve table OID: {}", pg_text(&err)))?;
                let (fq, rel, reg): (String, String, String) = (row.get(0), row.get(1), row.get(2));
                db.batch_execute(&format!("ALTER TABLE {fq} ADD COLUMN IF NOT EXISTS row_id BIGINT"))
                    .await
                    .map_err(e)?;
                db.batch_execute(&format!(
                    "UPDATE {fq} AS t SET row_id = r.n
                     FROM (SELECT key, ROW_NUMBER() OVER (ORDER BY insertdate ASC, key ASC) AS n FROM {fq} WHERE row_id IS NULL) AS r
                     WHERE r.key = t.key;
                     ALTER TABLE {fq} ALTER COLUMN row_id SET NOT NULL"
                ))
                .await
                .map_err(e)?;
                let identity: bool = db
                    .query_one(
                        "SELECT attidentity <> '' FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'row_id' AND NOT attisdropped",
                        &[t],
                    )
                    .await
                    .map_err(e)?
                    .get(0);
                if !identity {
                    db.batch_execute(&format!(
                        "ALTER TABLE {fq} ALTER COLUMN row_id ADD GENERATED BY DEFAULT AS IDENTITY"
                    ))
                    .await
                    .map_err(e)?;
                }
                db.execute(
                    &format!("SELECT setval(pg_get_serial_sequence($1, 'row_id'), COALESCE((SELECT MAX(row_id) FROM {fq}), 0) + 1, false)"),
                    &[&reg],
                )
                .await
                .map_err(e)?;
                let index = format!("\"{}\"", format!("{rel}_row_id_uidx").replace('"', "\"\""));
                db.batch_execute(&format!("CREATE UNIQUE INDEX IF NOT EXISTS {index} ON {fq} (row_id)"))
                    .await
                    .map_err(e)
            }
        }
    }

    /// contrib's `ParseTTL` for an item.
    fn ttl(op: &SetOp) -> Result<i64, StoreError> {
        let Some(raw) = op.ttl.as_deref().filter(|t| !t.is_empty()) else { return Ok(0) };
        let n = raw.parse::<i64>().map_err(|_| {
            StoreError::Other(format!(
                "error parsing TTL: incorrect value for metadata 'ttlInSeconds': {}",
                parse_int_error("ParseInt", raw)
            ))
        })?;
        if !(-1..=i64::from(i32::MAX)).contains(&n) {
            return Err(StoreError::Other(
                "error parsing TTL: incorrect value for metadata 'ttlInSeconds': must be -1 or greater"
                    .into(),
            ));
        }
        Ok(n)
    }

    /// An ETag as contrib parses it (`strconv.ParseUint(etag, 10, 32)`).
    fn etag(etag: &str) -> Result<String, StoreError> {
        etag.parse::<u32>()
            .map(|n| n.to_string())
            .map_err(|_| StoreError::EtagInvalid(Some(parse_int_error("ParseUint", etag))))
    }

    async fn do_set<C: GenericClient + Sync>(&self, db: &C, op: &SetOp) -> Result<(), StoreError> {
        let ttl = Self::ttl(op)?;
        let value = String::from_utf8_lossy(&op.value).into_owned();
        let expires =
            if ttl > 0 { format!("CURRENT_TIMESTAMP + interval '{ttl} seconds'") } else { "NULL".to_owned() };
        let t = &self.table;
        let etag = op.etag.as_deref().filter(|e| !e.is_empty());
        let run = async {
            let n = match etag {
                None => {
                    // An upsert either way; first-write only replaces a row that has expired.
                    let only_expired = if op.concurrency == Concurrency::FirstWrite {
                        " WHERE (t.expiredate IS NOT NULL AND t.expiredate < CURRENT_TIMESTAMP)"
                    } else {
                        ""
                    };
                    let sql = format!(
                        "INSERT INTO {t} AS t (key, value, isbinary, expiredate)
                         VALUES ($1, CAST($2::text AS jsonb), false, {expires})
                         ON CONFLICT (key) DO UPDATE SET value = excluded.value, isbinary = excluded.isbinary,
                            updatedate = CURRENT_TIMESTAMP, expiredate = {expires}{only_expired}"
                    );
                    db.execute(&sql, &[&op.key, &value]).await
                }
                Some(etag) => {
                    let etag = Self::etag(etag)?;
                    let sql = format!(
                        "UPDATE {t} SET value = CAST($2::text AS jsonb), isbinary = false, updatedate = CURRENT_TIMESTAMP,
                            expiredate = {expires}
                         WHERE key = $1 AND xmin = $3::text::xid AND (expiredate IS NULL OR expiredate > CURRENT_TIMESTAMP)"
                    );
                    db.execute(&sql, &[&op.key, &value, &etag]).await
                }
            };
            n.map_err(|e| StoreError::Other(pg_text(&e)))
        };
        let n = match tokio::time::timeout(self.timeout, run).await {
            Ok(r) => r?,
            Err(_) => return Err(StoreError::Other("timeout: context deadline exceeded".into())),
        };
        if n != 1 {
            return Err(match etag {
                Some(_) => StoreError::EtagMismatch(None),
                None => StoreError::Other("no item was updated".into()),
            });
        }
        Ok(())
    }

    async fn do_delete<C: GenericClient + Sync>(&self, db: &C, op: &DeleteOp) -> Result<(), StoreError> {
        let t = &self.table;
        let etag = op.etag.as_deref().filter(|e| !e.is_empty());
        let run = async {
            match etag {
                None => db.execute(&format!("DELETE FROM {t} WHERE key = $1"), &[&op.key]).await,
                Some(etag) => {
                    let etag = Self::etag(etag)?;
                    db.execute(
                        &format!("DELETE FROM {t} WHERE key = $1 AND xmin = $2::text::xid"),
                        &[&op.key, &etag],
                    )
                    .await
                }
            }
            .map_err(|e| StoreError::Other(pg_text(&e)))
        };
        let n = match tokio::time::timeout(self.timeout, run).await {
            Ok(r) => r?,
            Err(_) => return Err(StoreError::Other("timeout: context deadline exceeded".into())),
        };
        if n != 1 && etag.is_some() {
            return Err(StoreError::EtagMismatch(None));
        }
        Ok(())
    }

    fn select(&self, filter: &str) -> String {
        format!(
            "SELECT key, value::text, isbinary, xmin::text, CAST(EXTRACT(EPOCH FROM expiredate) AS bigint)
             FROM {} WHERE {filter} AND (expiredate IS NULL OR expiredate >= CURRENT_TIMESTAMP)",
            self.table
        )
    }

    async fn do_get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let sql = self.select("key = $1");
        let row = self
            .timed(async { self.client().await?.query_opt(&sql, &[&key]).await.map_err(|e| pg_text(&e)) })
            .await
            .map_err(StoreError::Other)?;
        row.map(|r| read_row(&r).map(|(_, item)| item)).transpose().map_err(StoreError::Other)
    }

    async fn do_bulk_get(&self, keys: &[String]) -> Result<Vec<BulkItem>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let sql = self.select("key = ANY($1)");
        let rows = self
            .timed(async { self.client().await?.query(&sql, &[&keys]).await.map_err(|e| pg_text(&e)) })
            .await
            .map_err(StoreError::Other)?;
        let mut out = Vec::with_capacity(keys.len());
        for row in rows.iter().take(keys.len()) {
            let key: String = row.get(0);
            let result = read_row(row).map(|(_, item)| Some(item));
            out.push(BulkItem { key, result });
        }
        // The keys that were not found follow, as empty answers.
        let found: std::collections::HashSet<String> = out.iter().map(|b| b.key.clone()).collect();
        for key in keys {
            if out.len() >= keys.len() {
                break;
            }
            if !found.contains(key) {
                out.push(BulkItem { key: key.clone(), result: Ok(None) });
            }
        }
        Ok(out)
    }

    async fn do_transact(&self, ops: &[TxOp]) -> Result<(), StoreError> {
        let mut client = self.timed(self.client()).await.map_err(StoreError::Other)?;
        if ops.len() == 1 {
            // contrib runs a single operation without a transaction.
            return match &ops[0] {
                TxOp::Set(s) => self.do_set(&client, s).await,
                TxOp::Delete(d) => self.do_delete(&client, d).await,
            };
        }
        let tx = match tokio::time::timeout(self.timeout, client.transaction()).await {
            Ok(Ok(tx)) => tx,
            Ok(Err(e)) => {
                return Err(StoreError::Other(format!("failed to begin transaction: {}", pg_text(&e))))
            }
            Err(_) => {
                return Err(StoreError::Other(
                    "failed to begin transaction: context deadline exceeded".into(),
                ))
            }
        };
        for op in ops {
            // Dropping `tx` on an error rolls the transaction back.
            match op {
                TxOp::Set(s) => self.do_set(&tx, s).await?,
                TxOp::Delete(d) => self.do_delete(&tx, d).await?,
            }
        }
        match tokio::time::timeout(self.timeout, tx.commit()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StoreError::Other(format!("failed to commit transaction: {}", pg_text(&e)))),
            Err(_) => {
                Err(StoreError::Other("failed to commit transaction: context deadline exceeded".into()))
            }
        }
    }
}

/// One row of [`PostgresStore::select`]: its key and item (binary values are base64 in a JSON
/// string, as contrib stores `[]byte` values).
fn read_row(row: &tokio_postgres::Row) -> Result<(String, Item), String> {
    let key: String = row.get(0);
    let value: String = row.get(1);
    let is_binary: bool = row.get(2);
    let etag: String = row.get(3);
    let expires: Option<i64> = row.get(4);
    let data = if is_binary {
        use base64::Engine;
        let s: String =
            serde_json::from_str(&value).map_err(|e| format!("failed to unmarshal JSON data: {e}"))?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(|e| format!("failed to decode base64 data: {e}"))?
    } else {
        value.into_bytes()
    };
    let expires_at = expires.map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s.max(0) as u64));
    Ok((key, Item { data, etag, expires_at }))
}

/// Deletes expired rows every `every`, claimed through the `last-cleanup` row so that only one of
/// the sidecars sharing the database does it per interval.
async fn cleanup_forever(pool: Pool, table: String, meta: String, every: Duration, timeout: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let run = async {
            let db = pool.get().await.map_err(|e| e.to_string())?;
            let claim = format!(
                "INSERT INTO {meta} (key, value) VALUES ('last-cleanup', now()::text)
                 ON CONFLICT (key) DO UPDATE SET value = now()::text
                 WHERE (EXTRACT('epoch' FROM now() - {meta}.value::timestamp with time zone) * 1000)::bigint > $1"
            );
            let claimed =
                db.execute(&claim, &[&(every.as_millis() as i64 - 100)]).await.map_err(|e| pg_text(&e))?;
            if claimed == 0 {
                return Ok(0);
            }
            db.execute(
                &format!("DELETE FROM {table} WHERE expiredate IS NOT NULL AND expiredate < now()"),
                &[],
            )
            .await
            .map_err(|e| pg_text(&e))
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(Ok(n)) if n > 0 => tracing::debug!(table = %table, deleted = n, "Expired state deleted"),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(table = %table, error = %e, "Expired state cleanup failed"),
            Err(_) => tracing::warn!(table = %table, "Expired state cleanup timed out"),
        }
    }
}

impl StateStore for PostgresStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        Box::pin(self.do_get(key))
    }

    fn bulk_get<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<BulkItem>> {
        Box::pin(self.do_bulk_get(keys))
    }

    fn set<'a>(&'a self, op: &'a SetOp) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let client = self.timed(self.client()).await.map_err(StoreError::Other)?;
            self.do_set(&client, op).await
        })
    }

    fn delete<'a>(&'a self, op: &'a DeleteOp) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let client = self.timed(self.client()).await.map_err(StoreError::Other)?;
            self.do_delete(&client, op).await
        })
    }

    fn transact<'a>(&'a self, ops: &'a [TxOp]) -> StoreFuture<'a, ()> {
        Box::pin(self.do_transact(ops))
    }

    fn capabilities(&self) -> Capabilities {
        // contrib's v1 Features() plus ACTOR; QUERY_API is left out: the stand-in has no query API.
        &["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "ACTOR"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgx_pool_settings_are_taken_out_of_the_connection_string() {
        let (s, max) =
            strip_pgx_pool_keys("host=db user=u pool_max_conns=8 pool_min_conns=1 sslmode=disable");
        assert_eq!(s, "host=db user=u sslmode=disable");
        assert_eq!(max, Some(8));
    }

    #[test]
    fn table_names_are_table_or_schema_dot_table() {
        assert!(valid_table("state"));
        assert!(valid_table("keel.state_v1"));
        assert!(!valid_table("a.b.c"));
        assert!(!valid_table("state; DROP TABLE x"));
        assert!(!valid_table(""));
    }
}
