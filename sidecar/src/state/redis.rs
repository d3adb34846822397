//! `state.redis`, as components-contrib's Redis store keeps data and answers, so that the
//! stand-in and daprd can share one Redis:
//!
//! - each key is a hash with the fields `data` (the value, as contrib's `jsoniter` marshals it),
//!   `version` (the ETag, an integer incremented on every write) and, once a key was written with
//!   `first-write`, `first-write` = `0`;
//! - a write is checked and applied by one Lua script: it goes through when the key has no
//!   version, when the given version matches, or when no ETag was given and the key was never
//!   written with first-write; a key written with first-write afterwards only takes writes that
//!   carry its ETag (without one the write fails with a 500, as in daprd);
//! - an ETag is only checked when the concurrency is not an explicit `last-write`, and a non-integer
//!   ETag is an invalid ETag (400); an ETag for a missing key creates it;
//! - a delete with an ETag succeeds on a missing key, fails (409) on another version;
//! - `ttlInSeconds` > 0 sets an expiry, ≤ 0 removes one, absent leaves the key's expiry as it
//!   was (the component's own `ttlInSeconds` is the default); GET reports no expiry;
//! - a transaction is `MULTI` … `EXEC` of the same scripts: like daprd's, it is **not atomic on an
//!   ETag mismatch** — Redis runs the other operations of the `EXEC` and the transaction still
//!   fails (500) with the first error. Only an invalid ETag or TTL stops it before anything runs.
//!
//! The connection is one multiplexed connection that reconnects on its own; every call has the
//! component's `readTimeout` (contrib's default 3 s) and connecting `dialTimeout` (5 s).

use super::{
    parse_int_error, BulkItem, Capabilities, Concurrency, DeleteOp, Item, OpenError, SetOp, StateStore,
    StoreError, StoreFuture, TxOp,
};
use crate::components::Component;
use crate::golang::json as gojson;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script, Value};
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// go-redis' default dial timeout.
const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// go-redis' default read timeout (writes default to the read timeout).
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(3);

/// Writes `ARGV[2]` as the key's data when the key's version allows it (see the module doc), sets
/// the first-write mark when `ARGV[3]` is `0`, applies the TTL in `ARGV[4]` (empty: leave it,
/// > 0: expire, otherwise persist) and returns the new version.
const SET_SCRIPT: &str = r#"
local version = redis.pcall("HGET", KEYS[1], "version")
if type(version) == "table" then
  -- Not a hash (a plain string from an older client): replace it.
  redis.call("DEL", KEYS[1])
  version = false
end
local marked = redis.call("HEXISTS", KEYS[1], "first-write") == 1
local free = (not version) or version == "" or version == ARGV[1]
if not free and not (ARGV[1] == "0" and not marked) then
  return redis.error_reply("ERR failed to set key " .. KEYS[1])
end
redis.call("HSET", KEYS[1], "data", ARGV[2])
if ARGV[3] == "0" then
  redis.call("HSET", KEYS[1], "first-write", 0)
end
local next = redis.call("HINCRBY", KEYS[1], "version", 1)
if ARGV[4] ~= "" then
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call("EXPIRE", KEYS[1], ttl)
  else
    redis.call("PERSIST", KEYS[1])
  end
end
return next
"#;

/// Deletes the key unless it has a version other than `ARGV[1]` (`0`: any version).
const DELETE_SCRIPT: &str = r#"
local version = redis.pcall("HGET", KEYS[1], "version")
if type(version) == "table" or (not version) or version == "" or ARGV[1] == "0" or version == ARGV[1] then
  return redis.call("DEL", KEYS[1])
end
return redis.error_reply("ERR failed to delete " .. KEYS[1])
"#;

/// Component settings (components-contrib's `Settings`, the part a state store uses).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `redisHost` (+ `redisPort`): `host:port`, `localhost:6379` when unset as go-redis does.
    pub host: String,
    /// `redisUsername`.
    pub username: String,
    /// `redisPassword`.
    pub password: String,
    /// `redisDB`.
    pub db: i64,
    /// `dialTimeout`.
    pub dial_timeout: Duration,
    /// `readTimeout` (and `writeTimeout`, the larger of the two bounding each call).
    pub call_timeout: Duration,
    /// `ttlInSeconds`: the default TTL of every write.
    pub ttl_in_seconds: Option<i64>,
}

/// The Redis store.
pub struct RedisStore {
    conn: ConnectionManager,
    settings: Settings,
    set_script: Arc<Script>,
    delete_script: Arc<Script>,
    /// Connected replicas at start (`INFO replication`), for `consistency: strong` writes.
    replicas: AtomicU64,
}

/// go-redis' error text: `CODE detail` for a server error, the cause otherwise.
fn go_text(e: &RedisError) -> String {
    match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("{code} {detail}"),
        (Some(code), None) => code.to_owned(),
        _ => e.to_string(),
    }
}

// === impl Settings ===

impl Settings {
    /// Reads the component's metadata as contrib decodes it; an error names the field.
    pub fn from_component(c: &Component) -> Result<Self, OpenError> {
        let bad = |field: &str, reason: String| OpenError::Metadata {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            field: field.to_owned(),
            reason,
        };
        let get = |k: &str| c.meta(k).map(str::trim).filter(|v| !v.is_empty());
        // Features the stand-in cannot provide stop it, as an unloadable component stops daprd.
        for field in ["failover", "useEntraID", "useAzureAD", "useOIDC", "enableTLS"] {
            if let Some(v) = get(field) {
                if go_bool(v).map_err(|r| bad(field, r))? {
                    return Err(bad(field, "is not supported by the local sidecar".into()));
                }
            }
        }
        if let Some(t) = get("redisType") {
            if !t.eq_ignore_ascii_case("node") {
                return Err(bad(
                    "redisType",
                    format!("{t:?} is not supported by the local sidecar; use node"),
                ));
            }
        }
        if get("queryIndexes").is_some() {
            return Err(bad(
                "queryIndexes",
                "needs RedisJSON and RediSearch, which the local sidecar does not use".into(),
            ));
        }
        let port = match get("redisPort") {
            Some(p) => Some(p.parse::<u16>().map_err(|e| bad("redisPort", e.to_string()))?),
            None => None,
        };
        let host = resolve_host(get("redisHost").unwrap_or(""), port).map_err(|r| bad("redisHost", r))?;
        if host.contains(',') {
            return Err(bad(
                "redisHost",
                "several hosts (cluster or sentinel) are not supported by the local sidecar".into(),
            ));
        }
        let db = match get("redisDB") {
            Some(v) => v.parse::<i64>().map_err(|_| bad("redisDB", format!("cannot parse {v:?} as int")))?,
            None => 0,
        };
        let duration = |field: &str, default: Duration| -> Result<Duration, OpenError> {
            match get(field) {
                None => Ok(default),
                Some(v) => match redis_duration(v) {
                    Some(d) if d.is_zero() => Ok(default),
                    Some(d) => Ok(d),
                    None => Err(bad(field, format!("{v:?} is not a duration"))),
                },
            }
        };
        let dial_timeout = duration("dialTimeout", DEFAULT_DIAL_TIMEOUT)?;
        let read = duration("readTimeout", DEFAULT_READ_TIMEOUT)?;
        let write = duration("writeTimeout", read)?;
        let ttl_in_seconds = match get("ttlInSeconds") {
            Some(v) => Some(
                v.parse::<i64>().map_err(|_| bad("ttlInSeconds", format!("cannot parse {v:?} as int")))?,
            ),
            None => None,
        };
        Ok(Settings {
            host,
            username: c.meta("redisUsername").unwrap_or("").to_owned(),
            password: c.meta("redisPassword").unwrap_or("").to_owned(),
            db,
            dial_timeout,
            call_timeout: read.max(write),
            ttl_in_seconds,
        })
    }

    fn url(&self) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let auth = match (self.username.is_empty(), self.password.is_empty()) {
            (true, true) => String::new(),
            (user_empty, _) => {
                let user = if user_empty {
                    String::new()
                } else {
                    utf8_percent_encode(&self.username, NON_ALPHANUMERIC).to_string()
                };
                format!("{user}:{}@", utf8_percent_encode(&self.password, NON_ALPHANUMERIC))
            }
        };
        format!("redis://{auth}{}/{}", self.host, self.db)
    }
}

/// contrib's `resolveHost` for one address: the port appended when missing (6379 by default), a
/// conflicting `redisPort` refused. Empty stays go-redis' default.
fn resolve_host(host: &str, port: Option<u16>) -> Result<String, String> {
    if host.is_empty() {
        return Ok(format!("localhost:{}", port.unwrap_or(6379)));
    }
    let has_port = host.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (!h.contains(':') || h.ends_with(']'))
    });
    if has_port {
        let existing = host.rsplit_once(':').map(|(_, p)| p).unwrap_or("");
        if let Some(p) = port.filter(|p| *p != 0) {
            if p.to_string() != existing {
                return Err(format!("redis host {host:?} already contains port {existing}, but redisPort is set to {p}; either remove the port from redisHost or remove the redisPort setting"));
            }
        }
        return Ok(host.to_owned());
    }
    let port = port.filter(|p| *p != 0).unwrap_or(6379);
    Ok(if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") })
}

/// contrib's redis `Duration`: an integer is milliseconds, otherwise a Go duration.
fn redis_duration(v: &str) -> Option<Duration> {
    if let Ok(ms) = v.parse::<i64>() {
        return Some(Duration::from_millis(ms.max(0) as u64));
    }
    crate::golang::duration::parse(v)
}

/// Go's `strconv.ParseBool`, as mapstructure's weak decoding uses it.
fn go_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        other => Err(format!("cannot parse {other:?} as bool")),
    }
}

// === impl RedisStore ===

impl RedisStore {
    /// Connects (within `dialTimeout`), pings and reads the replica count, as contrib's `Init`.
    pub async fn open(c: &Component) -> Result<Self, OpenError> {
        let settings = Settings::from_component(c)?;
        let init = |reason: String| OpenError::Init {
            name: c.name.clone(),
            file: c.file.display().to_string(),
            reason: format!(
                "redis store: error connecting to redis at {} (metadata redisHost): {reason}",
                settings.host
            ),
        };
        let client = redis::Client::open(settings.url()).map_err(|e| init(e.to_string()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.dial_timeout))
            .set_response_timeout(Some(settings.call_timeout))
            .set_number_of_retries(2);
        let connect = ConnectionManager::new_with_config(client, config);
        let mut conn = tokio::time::timeout(settings.dial_timeout + settings.call_timeout, connect)
            .await
            .map_err(|_| init(format!("no answer within {:?}", settings.dial_timeout)))?
            .map_err(|e| init(go_text(&e)))?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await.map_err(|e| init(go_text(&e)))?;
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query_async(&mut conn)
            .await
            .map_err(|e| init(go_text(&e)))?;
        let replicas = info
            .split("\r\n")
            .find_map(|l| l.strip_prefix("connected_slaves:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        Ok(RedisStore {
            conn,
            settings,
            set_script: Arc::new(Script::new(SET_SCRIPT)),
            delete_script: Arc::new(Script::new(DELETE_SCRIPT)),
            replicas: AtomicU64::new(replicas),
        })
    }

    /// Runs one call with the component's time limit.
    async fn timed<T>(&self, call: impl Future<Output = Result<T, RedisError>>) -> Result<T, String> {
        match tokio::time::timeout(self.settings.call_timeout, call).await {
            Ok(r) => r.map_err(|e| go_text(&e)),
            Err(_) => Err(format!("redis: i/o timeout after {:?}", self.settings.call_timeout)),
        }
    }

    /// The ARGV of the set script for `op`: expected version, data, first-write flag, TTL.
    fn set_args(&self, op: &SetOp, mark_first_write: bool) -> Result<[String; 4], StoreError> {
        // contrib's parseETag: an explicit last-write, or no ETag, checks nothing.
        let version = match op.etag.as_deref().filter(|e| !e.is_empty()) {
            Some(etag) if op.concurrency != Concurrency::LastWrite => etag
                .parse::<i64>()
                .map_err(|_| StoreError::EtagInvalid(Some(parse_int_error("Atoi", etag))))?
                .to_string(),
            _ => "0".to_owned(),
        };
        let ttl = match op.ttl.as_deref().filter(|t| !t.is_empty()) {
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| {
                StoreError::Other(format!(
                    "failed to parse ttl from metadata: {}",
                    parse_int_error("ParseInt", raw)
                ))
            })?),
            None => self.settings.ttl_in_seconds,
        };
        // The value as contrib stores it: jsoniter's "fastest" rendering of the decoded JSON.
        let data =
            gojson::marshal_fastest(&serde_json::from_slice(&op.value).unwrap_or(serde_json::Value::Null));
        let first_write =
            if mark_first_write && op.concurrency == Concurrency::FirstWrite { "0" } else { "1" };
        Ok([
            version,
            String::from_utf8_lossy(&data).into_owned(),
            first_write.to_owned(),
            ttl.map(|t| t.to_string()).unwrap_or_default(),
        ])
    }

    async fn do_get(&self, key: &str) -> Result<Option<Item>, StoreError> {
        let mut conn = self.conn.clone();
        let fields: Result<HashMap<String, Vec<u8>>, String> =
            self.timed(redis::cmd("HGETALL").arg(key).query_async(&mut conn)).await;
        let fields = match fields {
            Ok(f) => f,
            // Not a hash: contrib falls back to a plain GET (a value with no ETag).
            Err(e) if e.starts_with("WRONGTYPE") => {
                let value: Option<Vec<u8>> = self
                    .timed(redis::cmd("GET").arg(key).query_async(&mut conn))
                    .await
                    .map_err(StoreError::Other)?;
                return Ok(value.map(|data| Item { data, etag: String::new(), expires_at: None }));
            }
            Err(e) => return Err(StoreError::Other(e)),
        };
        if fields.is_empty() {
            return Ok(None);
        }
        match (fields.get("data"), fields.get("version")) {
            (Some(data), Some(version)) => Ok(Some(Item {
                data: data.clone(),
                etag: String::from_utf8_lossy(version).into_owned(),
                expires_at: None,
            })),
            _ => Err(StoreError::Other("required hash field 'data' or 'version' was not found".into())),
        }
    }

    async fn do_set(&self, op: &SetOp) -> Result<(), StoreError> {
        let args = self.set_args(op, true)?;
        let mut conn = self.conn.clone();
        let mut call = self.set_script.key(&op.key);
        call.arg(&args[0]).arg(&args[1]).arg(&args[2]).arg(&args[3]);
        let result: Result<i64, String> = self.timed(call.invoke_async(&mut conn)).await;
        if let Err(e) = result {
            if op.etag.as_deref().is_some_and(|e| !e.is_empty()) {
                return Err(StoreError::EtagMismatch(Some(e)));
            }
            return Err(StoreError::Other(format!("failed to set key {}: {e}", op.key)));
        }
        if op.consistency_strong {
            let replicas = self.replicas.load(Ordering::Relaxed);
            if replicas > 0 {
                let waited: Result<i64, String> =
                    self.timed(redis::cmd("WAIT").arg(replicas).arg(1000).query_async(&mut conn)).await;
                waited.map_err(|e| {
                    StoreError::Other(format!(
                        "redis waiting for {replicas} replicas to acknowledge write, err: {e}"
                    ))
                })?;
            }
        }
        Ok(())
    }

    fn delete_version(op: &DeleteOp) -> String {
        op.etag.clone().filter(|e| !e.is_empty()).unwrap_or_else(|| "0".to_owned())
    }

    async fn do_delete(&self, op: &DeleteOp) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let mut call = self.delete_script.key(&op.key);
        call.arg(Self::delete_version(op));
        let result: Result<i64, String> = self.timed(call.invoke_async(&mut conn)).await;
        result.map(|_| ()).map_err(|e| StoreError::EtagMismatch(Some(e)))
    }

    async fn do_transact(&self, ops: &[TxOp]) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic().ignore_errors();
        for op in ops {
            match op {
                TxOp::Set(s) => {
                    // contrib's Multi passes no first-write flag: a transaction never marks a key.
                    let args = self.set_args(s, false)?;
                    pipe.cmd("EVAL").arg(SET_SCRIPT).arg(1).arg(&s.key).arg(&args[..]);
                }
                TxOp::Delete(d) => {
                    pipe.cmd("EVAL").arg(DELETE_SCRIPT).arg(1).arg(&d.key).arg(Self::delete_version(d));
                }
            }
        }
        let mut conn = self.conn.clone();
        let results: Vec<Value> = self.timed(pipe.query_async(&mut conn)).await.map_err(StoreError::Other)?;
        // EXEC ran everything; the transaction fails with the first operation that failed.
        for value in results {
            if let Value::ServerError(e) = value {
                let text = match e.details() {
                    Some(d) => format!("{} {d}", e.code()),
                    None => e.code().to_owned(),
                };
                return Err(StoreError::Other(text));
            }
        }
        Ok(())
    }
}

impl StateStore for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Item>> {
        Box::pin(self.do_get(key))
    }

    fn bulk_get<'a>(&'a self, keys: &'a [String]) -> StoreFuture<'a, Vec<BulkItem>> {
        // contrib's Redis store has no native bulk get: one get per key, all at once.
        Box::pin(async move {
            let gets = keys.iter().map(|k| async move {
                BulkItem { key: k.clone(), result: self.do_get(k).await.map_err(|e| e.to_string()) }
            });
            Ok(futures_util::future::join_all(gets).await)
        })
    }

    fn set<'a>(&'a self, op: &'a SetOp) -> StoreFuture<'a, ()> {
        Box::pin(self.do_set(op))
    }

    fn delete<'a>(&'a self, op: &'a DeleteOp) -> StoreFuture<'a, ()> {
        Box::pin(self.do_delete(op))
    }

    fn transact<'a>(&'a self, ops: &'a [TxOp]) -> StoreFuture<'a, ()> {
        Box::pin(self.do_transact(ops))
    }

    fn capabilities(&self) -> Capabilities {
        // contrib's Features() without RedisJSON, plus ACTOR (ETAG + TRANSACTIONAL).
        &["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "ACTOR"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_get_contribs_default_port_and_conflicts_are_refused() {
        assert_eq!(resolve_host("", None).unwrap(), "localhost:6379");
        assert_eq!(resolve_host("redis", None).unwrap(), "redis:6379");
        assert_eq!(resolve_host("redis", Some(7000)).unwrap(), "redis:7000");
        assert_eq!(resolve_host("redis:6380", None).unwrap(), "redis:6380");
        assert_eq!(resolve_host("redis:6380", Some(6380)).unwrap(), "redis:6380");
        assert!(resolve_host("redis:6380", Some(7000)).unwrap_err().contains("already contains port 6380"));
    }

    #[test]
    fn durations_are_milliseconds_or_go_durations() {
        assert_eq!(redis_duration("250"), Some(Duration::from_millis(250)));
        assert_eq!(redis_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(redis_duration("soon"), None);
    }
}
