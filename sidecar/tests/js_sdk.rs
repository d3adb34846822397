//! The official Dapr JavaScript SDK (`@dapr/dapr`) as a client of the stand-in, over HTTP
//! (`CommunicationProtocolEnum.HTTP`): service invocation, state, and the SDK's wait for its
//! sidecar. Each test starts real sidecars and echo apps (tests/common), then runs one scenario of
//! `js/scenarios.js` with Node.js; the scenario prints what the SDK returned or threw, step by
//! step, and the assertions here hold it against daprd's behaviour (reference §§2, 4, 5).
//!
//! The SDK answers a status outside 200–399 by throwing an `Error` whose message is the JSON
//! `{"error": <status text>, "error_msg": <body>, "status": <code>}`, except that `state.save` and
//! `state.delete` resolve with `{error}` instead; `state.get` returns the parsed body (`""` for
//! daprd's 204), and its ETags come only from `getBulk`. Its sidecar wait polls `GET /v1.0/metadata`
//! (not `healthz`) every 500 ms, 60 times.
//!
//! The stand-in does not serve `/v1.0/secrets`, so the SDK's secret calls are not exercised.
//!
//! The SDK is pinned in `js/package.json` with its `js/package-lock.json` (names, versions and
//! integrity hashes only: no download addresses), and installed once with `npm ci` into
//! `target/js-sdk`; later runs use that install as it is and need no network.

mod common;

use common::http::get;
use common::run::{run_file, Workspace};
use keel_e2e::free_port;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// The SDK version pinned: the JavaScript SDK release that matches daprd 1.18.
const SDK_VERSION: &str = "3.18.0";
const PACKAGE_JSON: &str = include_str!("js/package.json");
const PACKAGE_LOCK: &str = include_str!("js/package-lock.json");

fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

/// The installed SDK's `node_modules`, installing it first if needed.
fn node_modules() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(install)
}

/// `npm ci` of the committed lock into `target/js-sdk/current`, unless the lock installed there
/// is this one. Tests run as parallel processes: one installs (in a folder of its own, renamed
/// into place when complete) while the others wait on a lock folder.
fn install() -> PathBuf {
    assert!(
        PACKAGE_JSON.contains(&format!("\"@dapr/dapr\": \"{SDK_VERSION}\"")),
        "js/package.json pins @dapr/dapr {SDK_VERSION}"
    );
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("target folder").join("js-sdk");
    let current = root.join("current");
    let stamp = current.join("installed-package-lock.json");
    let installed = || std::fs::read_to_string(&stamp).is_ok_and(|s| s == PACKAGE_LOCK);
    if installed() {
        return current.join("node_modules");
    }
    std::fs::create_dir_all(&root).unwrap();
    let _lock = InstallLock::acquire(&root.join("install.lock"));
    if installed() {
        return current.join("node_modules");
    }
    let fresh = root.join(format!("installing-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("package.json"), PACKAGE_JSON).unwrap();
    std::fs::write(fresh.join("package-lock.json"), PACKAGE_LOCK).unwrap();
    // --ignore-scripts: the only install script in the tree (protobufjs') checks versions of
    // tools the SDK does not use. --prefer-offline: what npm's cache holds is not asked for again.
    let out = Command::new("npm")
        .args(["ci", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&fresh)
        .output()
        .expect("run npm (Node.js 20 and npm are needed for this test)");
    assert!(
        out.status.success(),
        "npm ci of @dapr/dapr {SDK_VERSION} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = std::fs::read_to_string(fresh.join("node_modules/@dapr/dapr/package.json")).unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest["version"], SDK_VERSION, "the installed SDK's version");
    std::fs::write(fresh.join("installed-package-lock.json"), PACKAGE_LOCK).unwrap();
    if current.exists() {
        let old = root.join(format!("old-{}", std::process::id()));
        std::fs::rename(&current, &old).unwrap();
        let _ = std::fs::remove_dir_all(&old);
    }
    std::fs::rename(&fresh, &current).unwrap();
    current.join("node_modules")
}

/// A folder created atomically as a lock, holding the holder's pid; removed on drop. A lock whose
/// holder is gone (or that never got a pid within 10 s) is taken over.
struct InstallLock(PathBuf);

impl InstallLock {
    fn acquire(path: &Path) -> Self {
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            match std::fs::create_dir(path) {
                Ok(()) => {
                    std::fs::write(path.join("pid"), std::process::id().to_string()).unwrap();
                    return InstallLock(path.to_owned());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder =
                        std::fs::read_to_string(path.join("pid")).ok().and_then(|p| p.parse::<i32>().ok());
                    let age = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    let stale = match holder {
                        Some(pid) => !common::run::alive(pid),
                        None => age > Duration::from_secs(10),
                    };
                    if stale {
                        let _ = std::fs::remove_dir_all(path);
                        continue;
                    }
                }
                Err(e) => panic!("create {}: {e}", path.display()),
            }
            assert!(Instant::now() < deadline, "another test's npm ci held {} for 5 minutes", path.display());
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One `node js/scenarios.js <scenario>` process, its stdout read line by line as it comes.
struct Node {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

/// The printed steps of a scenario, by name.
struct Steps(HashMap<String, Value>);

impl Node {
    /// Starts `scenario` with the SDK pointed at `dapr_http_port` and, if given, a token.
    fn start(scenario: &str, dapr_http_port: u16, token: Option<&str>) -> Node {
        let mut cmd = Command::new("node");
        cmd.arg(js_dir().join("scenarios.js"))
            .arg(scenario)
            .env("NODE_PATH", node_modules())
            .env("DAPR_HTTP_PORT", dapr_http_port.to_string())
            .env_remove("DAPR_API_TOKEN")
            .env_remove("DAPR_HTTP_ENDPOINT")
            .env_remove("DAPR_HOST")
            .env_remove("NODE_OPTIONS")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(t) = token {
            cmd.env("DAPR_API_TOKEN", t);
        }
        let mut child = cmd.spawn().expect("start node (Node.js 20 is needed for this test)");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                l.lock().unwrap().push(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let e = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            e.lock().unwrap().push_str(&text);
        });
        Node { child, lines, stderr, readers: vec![out_reader, err_reader] }
    }

    fn output(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.lines.lock().unwrap().join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    fn steps(&self) -> Steps {
        let mut steps = HashMap::new();
        for line in self.lines.lock().unwrap().iter() {
            let v: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON step ({e}): {line:?}\n{}", self.output()));
            steps.insert(v["step"].as_str().expect("a step name").to_owned(), v);
        }
        Steps(steps)
    }

    /// Waits until step `name` was printed.
    fn wait_step(&mut self, name: &str) -> Value {
        let deadline = Instant::now() + common::PATIENCE;
        loop {
            if let Some(v) = self.steps().0.remove(name) {
                return v;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                // Whatever it printed last may still be in the pipe.
                std::thread::sleep(Duration::from_millis(100));
                if let Some(v) = self.steps().0.remove(name) {
                    return v;
                }
                panic!("node exited ({status}) before step {name}\n{}", self.output());
            }
            assert!(
                Instant::now() < deadline,
                "no step {name} after {:?}\n{}",
                common::PATIENCE,
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the scenario to end successfully and returns its steps.
    fn finish(mut self) -> Steps {
        let child = &mut self.child;
        let status = common::eventually("the node scenario to end", || child.try_wait().ok().flatten());
        for r in self.readers.drain(..) {
            r.join().unwrap();
        }
        assert!(status.success(), "node scenario failed ({status})\n{}", self.output());
        self.steps()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a scenario to its end.
fn scenario(name: &str, dapr_http_port: u16, token: Option<&str>) -> Steps {
    Node::start(name, dapr_http_port, token).finish()
}

impl Steps {
    fn line(&self, name: &str) -> &Value {
        self.0.get(name).unwrap_or_else(|| panic!("no step {name} in {:?}", self.0.keys()))
    }

    /// What step `name` returned (it must not have thrown).
    fn value(&self, name: &str) -> &Value {
        let line = self.line(name);
        assert!(line.get("thrown").is_none(), "step {name} threw: {line}");
        &line["value"]
    }

    /// What step `name` threw (it must have thrown).
    fn thrown(&self, name: &str) -> &Value {
        let line = self.line(name);
        assert!(line.get("thrown").is_some(), "step {name} did not throw: {line}");
        &line["thrown"]
    }
}

/// An SDK error for a status outside 200–399: (status, status text, body as JSON or a string).
fn http_error(e: &Value) -> (u64, &str, Value) {
    let body = e["error_msg"].as_str().unwrap_or_else(|| panic!("not an HTTP error: {e}"));
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    (e["status"].as_u64().unwrap(), e["error"].as_str().unwrap(), body)
}

/// What the echo app received, from the JSON it answered (which the SDK parsed).
struct Echo<'a>(&'a Value);

impl Echo<'_> {
    fn field(&self, name: &str) -> &str {
        self.0[name].as_str().unwrap_or_else(|| panic!("no {name} in {}", self.0))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.0["headers"].as_array().unwrap().iter().find(|h| h[0] == name).map(|h| h[1].as_str().unwrap())
    }
}

#[test]
fn invocation_through_the_sdk_reaches_the_app_as_daprd_sends_it() {
    let f = common::fleet("", &[("app1", "env:\n  DAPR_API_TOKEN: sdk-token"), ("app2", "")], &[]);
    let s = scenario("invoke", f.port(0), Some("sdk-token"));
    assert_eq!(s.value("start"), "(undefined)");

    // POST with a JSON body, a query and headers: the SDK serialises the object and sets
    // Content-Type; daprd passes the raw query verbatim, the caller's headers, its own
    // dapr-caller/callee headers, and drops the API token it checked.
    let e = Echo(s.value("post_json"));
    assert_eq!(e.field("method"), "POST");
    assert_eq!(e.field("path"), "/orders/42");
    assert_eq!(e.field("query"), "q=a%20b&q=c");
    assert_eq!(e.field("body"), r#"{"n":1,"s":"<x>"}"#);
    assert_eq!(e.header("content-type"), Some("application/json"));
    assert_eq!(e.header("x-custom"), Some("v1"));
    assert_eq!(e.header("traceparent"), Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"));
    assert_eq!(e.header("user-agent"), Some(format!("dapr-sdk-js/v{SDK_VERSION} http/1").as_str()));
    assert_eq!(e.header("dapr-caller-app-id"), Some("app1"));
    assert_eq!(e.header("dapr-caller-namespace"), Some("default"));
    assert_eq!(e.header("dapr-callee-app-id"), Some("app2"));
    assert_eq!(e.header("dapr-api-token"), None, "the SDK's token stays with the sidecar");
    assert_eq!(e.header("x-forwarded-for"), Some("127.0.0.1"), "a remote call");

    let e = Echo(s.value("get"));
    assert_eq!(
        (e.field("method"), e.field("path"), e.field("query"), e.field("body")),
        ("GET", "/orders", "page=2", "")
    );
    assert_eq!(e.header("content-type"), None, "no body, no Content-Type");

    // A string body goes as text/plain.
    let e = Echo(s.value("put_text"));
    assert_eq!((e.field("method"), e.field("path"), e.field("body")), ("PUT", "/notes/1", "hello"));
    assert_eq!(e.header("content-type"), Some("text/plain"));

    let e = Echo(s.value("patch"));
    assert_eq!((e.field("method"), e.field("body")), ("PATCH", r#"{"n":2}"#));
    let e = Echo(s.value("delete"));
    assert_eq!((e.field("method"), e.field("path")), ("DELETE", "/orders/42"));

    // Self-invocation: caller and callee are both app1.
    let e = Echo(s.value("self"));
    assert_eq!(e.field("path"), "/whoami");
    assert_eq!(e.header("dapr-caller-app-id"), Some("app1"));
    assert_eq!(e.header("dapr-callee-app-id"), Some("app1"));

    // The app's status comes through as it is: 2xx bodies are returned (text when not JSON, ""
    // for 204), others are thrown with the app's own body, not wrapped in a Dapr error.
    assert_eq!(s.value("created"), "status 201");
    assert_eq!(s.value("no_content"), "");
    assert_eq!(http_error(s.thrown("not_found")), (404, "Not Found", json!("status 404")));
    assert_eq!(http_error(s.thrown("unavailable")), (503, "Service Unavailable", json!("status 503")));

    // daprd passes the app's 302 through unfollowed; the SDK's fetch then follows it to
    // `/elsewhere` on the sidecar, which no route or app-id matches.
    let no_app_id = json!({"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"});
    assert_eq!(http_error(s.thrown("redirect")), (404, "Not Found", no_app_id));

    // An unknown app-id (the sqlite resolver's words).
    let no_host = json!({"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: nope, err: no host found with the given ID"});
    assert_eq!(http_error(s.thrown("unknown_app")), (500, "Internal Server Error", no_host));
}

/// daprd answers with the app's status through Go's net/http, which writes its own reason phrase
/// (`http.StatusText`, or `status code N` for a code it has no text for); the SDK shows that
/// phrase as the thrown error's `error`. actix-web's phrases differ (413 `Payload Too Large`), so
/// the stand-in writes Go's.
#[test]
fn an_app_status_reaches_the_sdk_with_gos_reason_phrase() {
    let f = common::fleet("", &[("app1", ""), ("app2", "")], &[]);
    let s = scenario("reasons", f.port(0), None);
    assert_eq!(http_error(s.thrown("status_413")).1, "Request Entity Too Large");
    assert_eq!(http_error(s.thrown("status_416")).1, "Requested Range Not Satisfiable");
    assert_eq!(http_error(s.thrown("status_599")).1, "status code 599");
}

#[test]
fn state_through_the_sdk_saves_reads_and_guards_etags_as_daprd() {
    let store = common::state_component("statestore", "state.in-memory", &[]);
    let f = common::fleet("", &[("app1", "")], &[("statestore.yaml", &store)]);
    let s = scenario("state", f.port(0), None);
    assert_eq!(s.value("start"), "(undefined)");

    // Saved values read back as the JSON they were (the SDK parses GET's body); a missing key
    // is daprd's 204, which the SDK returns as "".
    assert_eq!(s.value("save"), &json!({}));
    assert_eq!(s.value("get_order"), &json!({"a": "<&>", "b": 1}));
    assert_eq!(s.value("get_greeting"), "hello");
    assert_eq!(s.value("get_count"), 1);
    assert_eq!(s.value("get_missing"), "");

    // Bulk get: request order, `data` and an ETag per found key, the key alone when missing.
    let bulk = s.value("bulk").as_array().unwrap();
    let keys: Vec<&str> = bulk.iter().map(|i| i["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["order", "missing", "greeting", "count"]);
    assert_eq!(bulk[0]["data"], json!({"a": "<&>", "b": 1}));
    assert_eq!(bulk[1], json!({"key": "missing"}));
    assert_eq!(bulk[2]["data"], "hello");
    let etag = |items: &[Value], key: &str| -> String {
        let item = items.iter().find(|i| i["key"] == key).unwrap();
        item["etag"].as_str().unwrap_or_else(|| panic!("no etag in {item}")).to_owned()
    };
    let order_etag = etag(bulk, "order");
    assert_eq!(
        uuid::Uuid::parse_str(&order_etag).map(|u| u.get_version_num()),
        Ok(4),
        "in-memory ETags are UUIDv4"
    );
    assert_ne!(order_etag, etag(bulk, "greeting"));

    // first-write: a new key is written; an existing key without its ETag is a 409 (save
    // resolves with the error, it does not throw); with its ETag it is written.
    assert_eq!(s.value("first_write_new"), &json!({}));
    let conflict = http_error(&s.value("first_write_conflict")["error"]);
    assert_eq!(
        conflict,
        (
            409,
            "Conflict",
            json!({"errorCode":"ERR_STATE_SAVE","message":"failed saving state in state store statestore: possible etag mismatch. error from state store: item already exists and no etag was passed"})
        )
    );
    assert_eq!(s.value("first_write_with_etag"), &json!({}));
    let stale = http_error(&s.value("stale_etag_save")["error"]);
    assert_eq!(
        stale,
        (
            409,
            "Conflict",
            json!({"errorCode":"ERR_STATE_SAVE","message":format!("failed saving state in state store statestore: possible etag mismatch. error from state store: state etag not match for key=app1||order: current={order_etag}, expect=not-the-etag")})
        )
    );
    assert_eq!(
        s.value("get_after_conflicts"),
        &json!({"a": "<&>", "b": 1}),
        "neither conflicting write landed"
    );

    // A transaction with the ETags read: applied (it resolves with nothing), new ETag.
    assert_eq!(s.value("transaction"), "(undefined)");
    let after = s.value("bulk_after_transaction").as_array().unwrap();
    assert_eq!(after[0]["data"], json!({"v": 2}));
    assert_eq!(after[1], json!({"key": "greeting"}));
    let new_etag = etag(after, "order");
    assert_ne!(new_etag, order_etag);

    // With a stale ETag: daprd's 500 (not 409) ERR_STATE_TRANSACTION, thrown; nothing applied.
    assert_eq!(
        http_error(s.thrown("transaction_stale")),
        (
            500,
            "Internal Server Error",
            json!({"errorCode":"ERR_STATE_TRANSACTION","message":format!("error while executing state transaction: possible etag mismatch. error from state store: state etag not match for key=app1||order: current={new_etag}, expect={order_etag}")})
        )
    );
    let kept = s.value("bulk_after_stale").as_array().unwrap();
    assert_eq!(kept[0]["data"], json!({"v": 2}));
    assert_eq!(kept[1], json!({"key": "untouched"}), "the transaction is atomic");

    // Delete: a stale ETag (If-Match) is a 409, the current one deletes, a missing key is fine.
    assert_eq!(
        http_error(&s.value("delete_stale")["error"]),
        (
            409,
            "Conflict",
            json!({"errorCode":"ERR_STATE_DELETE","message":format!("failed deleting state with key order: possible etag mismatch. error from state store: state etag not match for key=app1||order: current={new_etag}, expect={order_etag}")})
        )
    );
    assert_eq!(s.value("delete"), &json!({}));
    assert_eq!(s.value("get_deleted"), "");
    assert_eq!(s.value("delete_missing"), &json!({}));

    // An unknown store: 400 ERR_STATE_STORE_NOT_FOUND with its details, thrown by get and
    // returned by save.
    let not_found = (
        400,
        "Bad Request",
        json!({"errorCode":"ERR_STATE_STORE_NOT_FOUND","message":"state store nostore is not found","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"dapr.io","metadata":{"appID":"app1"},"reason":"DAPR_STATE_NOT_FOUND"}]}),
    );
    assert_eq!(http_error(s.thrown("unknown_store_get")), not_found);
    assert_eq!(http_error(&s.value("unknown_store_save")["error"]), not_found);
}

/// The SDK's `start()` polls `GET /v1.0/metadata` until it answers, so it returns once the
/// sidecar's API serves — before daprd is ready while it still waits for the app's port (its
/// `/v1.0/healthz` is 500 then, reference §4.2), as with daprd.
#[test]
fn the_sdk_waits_for_a_sidecar_started_after_it() {
    let (http_port, app_port) = (free_port(), free_port());
    let mut node = Node::start("wait", http_port, None);
    assert_eq!(node.wait_step("waiting")["value"], json!({"refused": true}), "nothing listens yet");

    let ws = Workspace::new();
    std::fs::create_dir_all(ws.path("late")).unwrap();
    let entry = format!("appID: late\nappDirPath: ./late\nappPort: {app_port}\ndaprHTTPPort: {http_port}");
    let file = ws.write("dapr.yaml", &run_file("", &[entry]));
    let run = ws.run_file(&file).start();

    let s = node.finish();
    assert_eq!(s.value("start"), "(undefined)");
    let logs: Vec<(String, String)> = serde_json::from_value(s.value("logs").clone()).unwrap();
    let has = |level: &str, msg: &str| logs.iter().any(|(l, m)| l == level && m == msg);
    assert!(has("info", "[HTTPClient, HTTPClient] Awaiting Sidecar to be Started"), "{logs:?}");
    assert!(
        has("verbose", "[HTTPClient, HTTPClient] Waiting for the Dapr Sidecar to start, retry count: (#0)"),
        "{logs:?}"
    );
    assert_eq!(logs.last().unwrap(), &("info".into(), "[HTTPClient, HTTPClient] Sidecar Started".into()));
    assert_eq!(s.value("healthy"), true);
    let meta = s.value("metadata");
    assert_eq!(meta["id"], "late");
    assert_eq!(meta["runtimeVersion"], "1.18.3");
    assert_eq!(meta["appConnectionProperties"]["port"], app_port);

    // The app still does not listen: the sidecar is not ready, the SDK went ahead all the same.
    assert_eq!(get(http_port, "/v1.0/healthz").status, 500);
    assert!(run.stdout().iter().all(|l| !l.starts_with("sidecar ready")), "no readiness line yet");
}

/// A sidecar with `DAPR_API_TOKEN` answers the SDK's probe with 401 when the SDK has another
/// token (only `healthz` is exempt, reference §3.1), so the SDK never considers it started.
#[test]
fn the_sdk_with_the_wrong_token_never_sees_its_sidecar_started() {
    let f = common::fleet("", &[("app1", "env:\n  DAPR_API_TOKEN: sdk-token")], &[]);
    let s = scenario("wrong_token", f.port(0), Some("not-the-token"));
    assert_eq!(s.thrown("start"), &json!({"message": "DAPR_SIDECAR_COULD_NOT_BE_STARTED"}));
    assert_eq!(s.thrown("state_get"), &json!({"message": "DAPR_SIDECAR_COULD_NOT_BE_STARTED"}));
}
