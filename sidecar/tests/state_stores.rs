//! The state API's store semantics (reference §5) on every store the stand-in runs — in-memory,
//! sqlite, Redis and PostgreSQL (real servers, started per test) — one suite, parameterised by
//! store. Where components-contrib's stores answer differently under daprd, the case says how each
//! one answers: that difference is what an app sees in production.

mod common;

use common::http::{get, post, req, Resp};
use keel_e2e::servers::{Postgres, Redis};
use serde_json::{json, Value};

const STORE: &str = "store";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Memory,
    Sqlite,
    Redis,
    Postgres,
}

/// One sidecar (app `app1`) with store `store` of one kind, and its server.
struct Env {
    // Dropped first: the sidecar goes before its server.
    fleet: common::Fleet,
    kind: Kind,
    redis: Option<Redis>,
    postgres: Option<Postgres>,
}

fn env(kind: Kind) -> Env {
    let (redis, postgres) = match kind {
        Kind::Redis => (Some(Redis::start()), None),
        Kind::Postgres => (None, Some(Postgres::start())),
        _ => (None, None),
    };
    let yaml = match kind {
        Kind::Memory => common::state_component(STORE, "state.in-memory", &[]),
        Kind::Sqlite => common::state_component(STORE, "state.sqlite", &[("connectionString", "state.db")]),
        Kind::Redis => {
            let host = redis.as_ref().unwrap().host();
            common::state_component(STORE, "state.redis", &[("redisHost", &host), ("redisPassword", "")])
        }
        Kind::Postgres => {
            let conn = postgres.as_ref().unwrap().connection_string();
            common::state_component(STORE, "state.postgresql", &[("connectionString", &conn)])
        }
    };
    let fleet = common::fleet("", &[("app1", "")], &[("store.yaml", &yaml)]);
    Env { fleet, kind, redis, postgres }
}

impl Env {
    fn port(&self) -> u16 {
        self.fleet.port(0)
    }
    fn save(&self, body: &str) -> Resp {
        post(self.port(), &format!("/v1.0/state/{STORE}"), body)
    }
    fn read(&self, key: &str) -> Resp {
        get(self.port(), &format!("/v1.0/state/{STORE}/{key}"))
    }
    fn etag(&self, key: &str) -> String {
        let r = self.read(key);
        r.header("etag").unwrap_or_else(|| panic!("no etag for {key}: {} {}", r.status, r.text())).to_owned()
    }
    fn del(&self, key: &str, etag: Option<&str>) -> Resp {
        let mut r = req("DELETE", &format!("/v1.0/state/{STORE}/{key}"));
        if let Some(e) = etag {
            r = r.header("If-Match", e);
        }
        r.send(self.port())
    }
    fn tx(&self, body: Value) -> Resp {
        post(self.port(), &format!("/v1.0/state/{STORE}/transaction"), &body.to_string())
    }
}

fn error(r: &Resp) -> (u16, String, String) {
    let v = r.json();
    (r.status, v["errorCode"].as_str().unwrap().to_owned(), v["message"].as_str().unwrap().to_owned())
}

/// Declares one test per store for each case.
macro_rules! for_every_store {
    ($($case:ident),* $(,)?) => {
        mod memory { $( #[test] fn $case() { super::$case(super::Kind::Memory) } )* }
        mod sqlite { $( #[test] fn $case() { super::$case(super::Kind::Sqlite) } )* }
        mod redis { $( #[test] fn $case() { super::$case(super::Kind::Redis) } )* }
        mod postgres { $( #[test] fn $case() { super::$case(super::Kind::Postgres) } )* }
    };
}

for_every_store!(
    values_read_back_as_the_store_renders_them,
    etags_guard_writes,
    first_write_refuses_to_overwrite_without_an_etag,
    ttls_expire,
    deletes_are_idempotent_and_guarded_by_if_match,
    bulk_get_uses_the_data_field,
    transactions_fail_whole_on_an_etag_mismatch_except_on_redis,
    metadata_reports_the_store_and_its_capabilities,
);

fn values_read_back_as_the_store_renders_them(kind: Kind) {
    let e = env(kind);
    let r = e.save(
        r#"[{"key":"obj","value":{"b":1.0,"a":"<x&y>","c":[1e21,0.0000001,"\u2028"]}},{"key":"str","value":"hello"},{"key":"nul"},{"key":"num","value":12345678901234567890}]"#,
    );
    assert_eq!((r.status, r.body.len()), (204, 0), "{}", r.text());
    let obj = e.read("obj");
    assert_eq!(obj.status, 200);
    assert_eq!(obj.header("content-type"), Some("application/json"));
    let want = match kind {
        // Go's encoding/json.
        Kind::Memory | Kind::Sqlite => {
            r#"{"a":"\u003cx\u0026y\u003e","b":1,"c":[1e+21,1e-7,"\u2028"]}"#.to_owned()
        }
        // json-iterator's fastest config: six decimals, no HTML escaping.
        Kind::Redis => "{\"a\":\"<x&y>\",\"b\":1,\"c\":[1e+21,0,\"\u{2028}\"]}".to_owned(),
        // PostgreSQL's jsonb rendering.
        Kind::Postgres => {
            "{\"a\": \"<x&y>\", \"b\": 1, \"c\": [1000000000000000000000, 0.0000001, \"\u{2028}\"]}"
                .to_owned()
        }
    };
    assert_eq!(obj.text(), want);
    let etag = obj.header("etag").unwrap();
    match kind {
        Kind::Memory | Kind::Sqlite => assert_eq!(etag.len(), 36, "a uuid: {etag}"),
        Kind::Redis => assert_eq!(etag, "1", "a version counter"),
        Kind::Postgres => assert!(etag.parse::<u32>().is_ok(), "xmin: {etag}"),
    }
    assert_eq!(e.read("str").text(), r#""hello""#);
    assert_eq!(e.read("nul").text(), "null");
    assert_eq!(e.read("num").text(), "12345678901234567000");
    assert_eq!(e.read("nothing").status, 204);
}

fn etags_guard_writes(kind: Kind) {
    let e = env(kind);
    assert_eq!(e.save(r#"[{"key":"k1","value":1}]"#).status, 204);
    let etag = e.etag("k1");
    let prefix = "failed saving state in state store store: ";
    // A well-formed but stale ETag is a mismatch everywhere (409).
    let (status, code, message) = error(&e.save(r#"[{"key":"k1","value":2,"etag":"999999"}]"#));
    assert_eq!((status, code.as_str()), (409, "ERR_STATE_SAVE"));
    let inner = match kind {
        Kind::Memory => format!(": state etag not match for key=app1||k1: current={etag}, expect=999999"),
        Kind::Sqlite | Kind::Postgres => String::new(),
        Kind::Redis => ": ERR failed to set key app1||k1".to_owned(),
    };
    assert_eq!(message, format!("{prefix}possible etag mismatch. error from state store{inner}"));
    // A malformed one is invalid (400) where the store's ETags are numbers.
    let (status, _, message) = error(&e.save(r#"[{"key":"k1","value":2,"etag":"bad"}]"#));
    match kind {
        Kind::Memory | Kind::Sqlite => assert_eq!(status, 409),
        Kind::Redis => assert_eq!(
            (status, message.as_str()),
            (
                400,
                r#"failed saving state in state store store: invalid etag value: strconv.Atoi: parsing "bad": invalid syntax"#
            )
        ),
        Kind::Postgres => assert_eq!(
            (status, message.as_str()),
            (
                400,
                r#"failed saving state in state store store: invalid etag value: strconv.ParseUint: parsing "bad": invalid syntax"#
            )
        ),
    }
    // The right ETag wins and changes the ETag.
    assert_eq!(e.save(&format!(r#"[{{"key":"k1","value":2,"etag":"{etag}"}}]"#)).status, 204);
    assert_eq!(e.read("k1").text(), "2");
    assert_ne!(e.etag("k1"), etag);
    // An ETag for a missing key: a mismatch, except on Redis, which creates the key.
    let r = e.save(r#"[{"key":"ghost","value":2,"etag":"7"}]"#);
    if kind == Kind::Redis {
        assert_eq!(r.status, 204);
        assert_eq!(e.etag("ghost"), "1");
    } else {
        assert_eq!(r.status, 409, "{}", r.text());
    }
    // Several items: all-ETag failures are one ETag error wrapping each (409).
    let r = e.save(r#"[{"key":"k1","value":3,"etag":"999998"},{"key":"k1","value":4,"etag":"999997"}]"#);
    let (status, _, message) = error(&r);
    assert_eq!(status, 409);
    assert!(message.starts_with(&format!("{prefix}possible etag mismatch. error from state store: possible etag mismatch. error from state store")), "{message}");
    assert_eq!(e.read("k1").text(), "2");
}

fn first_write_refuses_to_overwrite_without_an_etag(kind: Kind) {
    let e = env(kind);
    let fw = |key: &str, v: u32| {
        e.save(&format!(r#"[{{"key":"{key}","value":{v},"options":{{"concurrency":"first-write"}}}}]"#))
    };
    assert_eq!(fw("fresh", 1).status, 204);
    let (status, code, message) = error(&fw("fresh", 2));
    assert_eq!(code, "ERR_STATE_SAVE");
    let prefix = "failed saving state in state store store: ";
    match kind {
        Kind::Memory => assert_eq!((status, message), (409, format!("{prefix}possible etag mismatch. error from state store: item already exists and no etag was passed"))),
        Kind::Sqlite => assert_eq!((status, message), (409, format!("{prefix}possible etag mismatch. error from state store"))),
        Kind::Redis => assert_eq!((status, message), (500, format!("{prefix}failed to set key app1||fresh: ERR failed to set key app1||fresh"))),
        Kind::Postgres => assert_eq!((status, message), (500, format!("{prefix}no item was updated"))),
    }
    assert_eq!(e.read("fresh").text(), "1");
    // With the ETag, first-write writes.
    let etag = e.etag("fresh");
    let r = e.save(&format!(
        r#"[{{"key":"fresh","value":3,"etag":"{etag}","options":{{"concurrency":"first-write"}}}}]"#
    ));
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(e.read("fresh").text(), "3");
    let r = e.save(r#"[{"key":"x","value":1,"options":{"concurrency":"sometimes"}}]"#);
    assert_eq!(
        error(&r),
        (500, "ERR_STATE_SAVE".into(), format!("{prefix}unrecognized concurrency model 'sometimes'"))
    );
}

fn ttls_expire(kind: Kind) {
    let e = env(kind);
    assert_eq!(e.save(r#"[{"key":"t1","value":"v","metadata":{"ttlInSeconds":"1"}}]"#).status, 204);
    assert_eq!(
        post(
            e.port(),
            &format!("/v1.0/state/{STORE}?metadata.ttlInSeconds=1"),
            r#"[{"key":"t2","value":"v"}]"#
        )
        .status,
        204
    );
    let r = e.read("t1");
    assert_eq!(r.status, 200);
    let expiry = r.header("metadata.ttlexpiretime");
    if kind == Kind::Redis {
        assert_eq!(expiry, None, "contrib's Redis store reports no expiry");
    } else {
        let expiry = expiry.expect("ttl header");
        assert!(expiry.len() == 20 && expiry.ends_with('Z') && expiry.as_bytes()[10] == b'T', "{expiry}");
    }
    for key in ["t1", "t2"] {
        common::eventually(&format!("{key} to expire"), || (e.read(key).status == 204).then_some(()));
    }
    let (status, _, message) =
        error(&e.save(r#"[{"key":"t3","value":"v","metadata":{"ttlInSeconds":"soon"}}]"#));
    assert_eq!(status, 500);
    assert!(message.contains(r#"parsing "soon": invalid syntax"#), "{message}");
}

fn deletes_are_idempotent_and_guarded_by_if_match(kind: Kind) {
    let e = env(kind);
    assert_eq!(e.del("never", None).status, 204);
    e.save(r#"[{"key":"d","value":1}]"#);
    let etag = e.etag("d");
    let (status, code, message) = error(&e.del("d", Some("999999")));
    assert_eq!((status, code.as_str()), (409, "ERR_STATE_DELETE"));
    assert!(
        message
            .starts_with("failed deleting state with key d: possible etag mismatch. error from state store"),
        "{message}"
    );
    assert_eq!(e.del("d", Some(&etag)).status, 204);
    assert_eq!(e.read("d").status, 204);
    // An ETag for a missing key: a mismatch, except on Redis.
    let want = if kind == Kind::Redis { 204 } else { 409 };
    assert_eq!(e.del("d", Some(&etag)).status, want);
}

fn bulk_get_uses_the_data_field(kind: Kind) {
    let e = env(kind);
    e.save(r#"[{"key":"b1","value":{"x":1}},{"key":"b<2>","value":"two"}]"#);
    let e1 = e.etag("b1");
    let r = post(
        e.port(),
        &format!("/v1.0/state/{STORE}/bulk"),
        r#"{"keys":["b1","missing","b<2>"],"parallelism":2}"#,
    );
    assert_eq!(r.status, 200);
    assert!(r.text().ends_with("]\n"), "{:?}", r.text());
    let items = r.json();
    let items = items.as_array().unwrap();
    let by_key = |k: &str| items.iter().find(|i| i["key"] == k).unwrap_or_else(|| panic!("{k} in {items:?}"));
    assert_eq!(by_key("b1")["data"], json!({"x": 1}));
    assert_eq!(by_key("b1")["etag"], e1.as_str());
    assert_eq!(by_key("b<2>")["data"], "two");
    assert_eq!(by_key("missing").as_object().unwrap().len(), 1, "a missing key has only its key");
    assert!(r.text().contains(r#""key":"b\u003c2\u003e""#), "keys are Go-escaped: {}", r.text());
    let order: Vec<&str> = items.iter().map(|i| i["key"].as_str().unwrap()).collect();
    if kind == Kind::Postgres {
        // One query: found rows first, then the missing keys.
        assert_eq!(order[2], "missing", "{order:?}");
    } else {
        assert_eq!(order, ["b1", "missing", "b<2>"]);
    }
    let r = post(e.port(), &format!("/v1.0/state/{STORE}/bulk"), r#"{"keys":[]}"#);
    assert_eq!((r.status, r.text().as_str()), (200, "[]\n"));
}

fn transactions_fail_whole_on_an_etag_mismatch_except_on_redis(kind: Kind) {
    let e = env(kind);
    e.save(r#"[{"key":"a","value":1},{"key":"gone","value":1}]"#);
    let r = e.tx(json!({"operations": [
        {"operation": "upsert", "request": {"key": "new", "value": {"n": 1}}},
        {"operation": "delete", "request": {"key": "gone"}},
        {"operation": "upsert", "request": {"key": "a", "value": 2, "etag": "999999"}},
    ]}));
    let (status, code, message) = error(&r);
    assert_eq!((status, code.as_str()), (500, "ERR_STATE_TRANSACTION"));
    let want = match kind {
        Kind::Memory => "error while executing state transaction: possible etag mismatch. error from state store: state etag not match for key=app1||a",
        Kind::Sqlite | Kind::Postgres => "error while executing state transaction: possible etag mismatch. error from state store",
        Kind::Redis => "error while executing state transaction: ERR failed to set key app1||a",
    };
    assert!(message.starts_with(want), "{message}");
    assert_eq!(e.read("a").text(), "1");
    if kind == Kind::Redis {
        // MULTI/EXEC has no rollback: the other operations were applied (as under daprd).
        assert_eq!(e.read("new").status, 200);
        assert_eq!(e.read("gone").status, 204);
        e.save(r#"[{"key":"gone","value":1}]"#);
        e.del("new", None);
    } else {
        assert_eq!(e.read("new").status, 204, "nothing was applied");
        assert_eq!(e.read("gone").status, 200);
    }
    let etag = e.etag("a");
    let r = e.tx(json!({"operations": [
        {"operation": "upsert", "request": {"key": "new", "value": {"n": 1}}},
        {"operation": "delete", "request": {"key": "gone"}},
        {"operation": "upsert", "request": {"Key": "a", "Value": 2, "ETag": etag}},
    ]}));
    assert_eq!(r.status, 204, "{}", r.text());
    let n = e.read("new").text();
    assert!(n == r#"{"n":1}"# || n == r#"{"n": 1}"#, "{n}");
    assert_eq!(e.read("gone").status, 204);
    assert_eq!(e.read("a").text(), "2");
    assert_eq!(e.tx(json!({"operations": []})).status, 204);
}

fn metadata_reports_the_store_and_its_capabilities(kind: Kind) {
    let e = env(kind);
    let m = get(e.port(), "/v1.0/metadata").json();
    let c = &m["components"][0];
    let (type_name, caps) = match kind {
        Kind::Memory => (
            "state.in-memory",
            json!(["ETAG", "TRANSACTIONAL", "TTL", "DELETE_WITH_PREFIX", "KEYS_LIKE", "ACTOR"]),
        ),
        Kind::Sqlite => ("state.sqlite", json!(["ETAG", "TRANSACTIONAL", "TTL", "ACTOR"])),
        Kind::Redis => ("state.redis", json!(["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "ACTOR"])),
        Kind::Postgres => ("state.postgresql", json!(["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "ACTOR"])),
    };
    assert_eq!(
        (c["name"].as_str(), c["type"].as_str(), c["version"].as_str()),
        (Some(STORE), Some(type_name), Some("v1"))
    );
    assert_eq!(c["capabilities"], caps);
    // Data lands where daprd keeps it, so both can share the server.
    e.save(r#"[{"key":"k","value":{"v":1}}]"#);
    if let Some(redis) = &e.redis {
        assert_eq!(redis.cli(&["HGET", "app1||k", "data"]).trim(), r#"{"v":1}"#);
        assert_eq!(redis.cli(&["HGET", "app1||k", "version"]).trim(), "1");
    }
    if let Some(pg) = &e.postgres {
        assert_eq!(
            pg.psql("SELECT value::text, isbinary FROM state WHERE key = 'app1||k'").trim(),
            r#"{"v": 1}|f"#
        );
        assert_eq!(pg.psql("SELECT value FROM dapr_metadata WHERE key = 'migrations'").trim(), "3");
        let cols = pg.psql("SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'state'");
        assert_eq!(cols.trim(), "key,value,isbinary,insertdate,updatedate,expiredate,row_id");
        assert_eq!(
            pg.psql("SELECT count(*) FROM pg_indexes WHERE indexname = 'state_row_id_uidx'").trim(),
            "1"
        );
    }
    let _ = e.kind;
}

/// Starts one app with `component` as its only resource; returns the exit status and stderr of a
/// run that must stop before it is ready.
fn refused(component: &str) -> (Option<i32>, String) {
    let ws = common::run::Workspace::new();
    let file = ws.write("resources/store.yaml", component);
    std::fs::create_dir_all(ws.path("a")).unwrap();
    let run_file = ws.write(
        "dapr.yaml",
        &common::run::run_file("resourcesPath: ./resources", &["appID: a\nappDirPath: ./a".into()]),
    );
    let mut run = ws.run_file(&run_file).start();
    let status = run.wait_exit();
    let stderr = run.stderr();
    assert!(stderr.contains(&file.display().to_string()), "names the file: {stderr}");
    assert!(run.stdout().iter().all(|l| !l.starts_with("sidecar ready")), "{:?}", run.stdout());
    (status.code(), stderr)
}

#[test]
fn an_unreachable_redis_stops_the_sidecar_naming_the_field() {
    // A port nothing listens on.
    let port = keel_e2e::free_port();
    let (code, stderr) = refused(&common::state_component(
        STORE,
        "state.redis",
        &[("redisHost", &format!("127.0.0.1:{port}"))],
    ));
    assert_eq!(code, Some(64));
    assert!(
        stderr.contains(&format!(
            "redis store: error connecting to redis at 127.0.0.1:{port} (metadata redisHost)"
        )),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_postgres_stops_the_sidecar_naming_the_field() {
    let port = keel_e2e::free_port();
    let conn = format!("host=127.0.0.1 port={port} user=postgres sslmode=disable");
    let (code, stderr) =
        refused(&common::state_component(STORE, "state.postgresql", &[("connectionString", &conn)]));
    assert_eq!(code, Some(64));
    assert!(stderr.contains("failed to connect to the database (metadata connectionString)"), "{stderr}");
}

#[test]
fn bad_or_unsupported_metadata_stops_the_sidecar_naming_the_field() {
    for (type_name, meta, field) in [
        ("state.redis", vec![("redisHost", "localhost:1"), ("redisDB", "zero")], "metadata redisDB"),
        ("state.redis", vec![("redisHost", "localhost:1"), ("redisType", "cluster")], "metadata redisType"),
        ("state.redis", vec![("redisHost", "localhost:1"), ("enableTLS", "true")], "metadata enableTLS"),
        ("state.postgresql", vec![("connectionString", "host=db"), ("timeout", "500ms")], "metadata timeout"),
        (
            "state.postgresql",
            vec![("connectionString", "host=db"), ("tableName", "x;y")],
            "metadata tableName",
        ),
        (
            "state.postgresql",
            vec![("connectionString", "host=db sslmode=require")],
            "metadata connectionString",
        ),
    ] {
        let (code, stderr) = refused(&common::state_component(STORE, type_name, &meta));
        assert_eq!(code, Some(64), "{stderr}");
        assert!(
            stderr.contains(&format!("component {STORE} (")) && stderr.contains(field),
            "{field}: {stderr}"
        );
    }
}

#[test]
fn two_sidecars_share_one_redis_and_one_postgres() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let conn = pg.connection_string();
    let ws = common::run::Workspace::new();
    ws.write(
        "resources/r.yaml",
        &common::state_component("r", "state.redis", &[("redisHost", &redis.host()), ("keyPrefix", "name")]),
    );
    ws.write(
        "resources/p.yaml",
        &common::state_component(
            "p",
            "state.postgresql",
            &[("connectionString", &conn), ("keyPrefix", "name")],
        ),
    );
    for app in ["x", "y"] {
        std::fs::create_dir_all(ws.path(app)).unwrap();
    }
    let fx = ws.write(
        "x.yaml",
        &common::run::run_file("resourcesPath: ./resources", &["appID: x\nappDirPath: ./x".into()]),
    );
    let fy = ws.write(
        "y.yaml",
        &common::run::run_file("resourcesPath: ./resources", &["appID: y\nappDirPath: ./y".into()]),
    );
    let mut rx = ws.run_file(&fx).start();
    let mut ry = ws.run_file(&fy).start();
    let (px, py) = (rx.ready("x").http_port, ry.ready("y").http_port);
    for store in ["r", "p"] {
        assert_eq!(post(px, &format!("/v1.0/state/{store}"), r#"[{"key":"counter","value":0}]"#).status, 204);
        // Optimistic increments from both sidecars at once: no lost update, losers get 409.
        let done = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for port in [px, py, px, py] {
                let done = &done;
                s.spawn(move || {
                    for _ in 0..5 {
                        loop {
                            let r = get(port, &format!("/v1.0/state/{store}/counter"));
                            let etag = r.header("etag").unwrap().to_owned();
                            let n: i64 = r.text().parse().unwrap();
                            let body = format!(r#"[{{"key":"counter","value":{},"etag":"{etag}"}}]"#, n + 1);
                            match post(port, &format!("/v1.0/state/{store}"), &body).status {
                                204 => break,
                                409 => continue,
                                other => panic!("unexpected status {other}"),
                            }
                        }
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(done.load(std::sync::atomic::Ordering::SeqCst), 20);
        assert_eq!(get(py, &format!("/v1.0/state/{store}/counter")).text(), "20", "{store}");
    }
}
